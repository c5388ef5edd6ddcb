"""One evaluator: decide() on one contact and decide_batch() on a table agree on random policies, field for field.

The policies are drawn at random from everything the policy file can say: every condition kind, strict tiers,
influence caps and ``may_change_tier``, need head starts, risk routing, per-channel SLAs, head starts per
channel or in units of the channel's target, channel targets and guarantees. Customers and contacts carry
None, NaN and unknown sender (no customer at all).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairserve.errors import FairserveError
from fairserve.model import Channel, Contact, Customer
from fairserve.policy import Policy, decide, decide_batch
from fairserve.policy.engine import BATCH_OUTPUT_COLUMNS
from fairserve.policy.schema import CHANNELS, PolicyError, parse_policy

STATUSES = ["gold", "silver", "basic"]
ACCOUNTS = ["ACME", "Globex", "Initech"]
minutes = st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 30.0]) | st.floats(0, 120, allow_nan=False)


def head_starts() -> st.SearchStrategy[Any]:
    """A head start as the file says it: one number, or a (partial) table per channel."""
    table = st.dictionaries(st.sampled_from(list(CHANNELS)), minutes, min_size=1)
    return st.one_of(minutes, table)


def slas() -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries({ch: st.floats(0.1, 3000, allow_nan=False) for ch in CHANNELS})


@st.composite
def conditions(draw: st.DrawFn, influence_ok: bool) -> dict[str, Any]:
    kinds = ["clv_min", "profit_min", "loyalty_min", "value_percentile_min", "status_in", "account_in"]
    if influence_ok:
        kinds += ["influence_min", "followers_min"]
    out: dict[str, Any] = {}
    for kind in draw(st.lists(st.sampled_from(kinds), unique=True, max_size=3)):
        if kind in ("loyalty_min", "value_percentile_min", "influence_min"):
            out[kind] = draw(st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]) | st.floats(0, 1))
        elif kind == "followers_min":
            out[kind] = draw(st.sampled_from([0, 1000, 100_000]))
        elif kind in ("clv_min", "profit_min"):
            out[kind] = draw(st.sampled_from([-10.0, 0.0, 25.0, 100.0, 1000.0]))
        elif kind == "status_in":
            out[kind] = draw(st.lists(st.sampled_from(STATUSES), unique=True, min_size=1))
        else:
            out[kind] = draw(st.lists(st.sampled_from(ACCOUNTS), unique=True, min_size=1))
    return out


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    strict = draw(st.booleans())
    may_change = not strict and draw(st.booleans())
    unit = draw(st.sampled_from(["minute", "target"]))
    channels: dict[str, Any] = {}
    for ch in CHANNELS:
        rule: dict[str, float] = {}
        if unit == "target" or draw(st.booleans()):
            rule["target"] = draw(st.sampled_from([0.33, 1.0, 2.0, 60.0, 240.0]))
        if draw(st.booleans()):
            rule["guarantee"] = draw(st.sampled_from([1.0, 3.0, 30.0, 1440.0]))
        if rule:
            channels[ch] = rule
    tiers = [
        {
            "name": f"t{i}",
            "when": draw(conditions(may_change)),
            "head_start": draw(head_starts()),
            "sla": draw(slas()),
        }
        for i in range(draw(st.integers(1, 4)))
    ]
    repeat_each = draw(head_starts())
    need = {
        "severity": [draw(head_starts()) for _ in range(4)],
        "negative_sentiment": draw(head_starts()),
        "negative_below": draw(st.sampled_from([-0.5, -0.3, 0.0])),
        "complaint": draw(head_starts()),
        "repeat_each": repeat_each,
        "repeat_max": 5.0,  # a cap on every channel, whatever repeat_each is
    }
    slope = draw(head_starts())
    influence: dict[str, Any] = {"slope": slope, "cap": draw(head_starts()), "may_change_tier": may_change}
    data: dict[str, Any] = {
        "name": "random",
        "version": "1",
        "strict": strict,
        "head_start_unit": unit,
        "channels": channels,
        "tiers": tiers,
        "need": need,
        "influence": influence,
    }
    entitlements = []
    for i in range(draw(st.integers(0, 3))):
        by_influence = draw(st.booleans())
        ent: dict[str, Any] = {"name": f"e{i}", "by_influence": by_influence,
                               "when": draw(conditions(by_influence))}
        if draw(st.booleans()):
            ent["tiers"] = draw(st.lists(st.sampled_from([t["name"] for t in tiers]), unique=True, min_size=1))
        if draw(st.booleans()):
            ent["amount"] = draw(st.sampled_from([0.0, 25.0, 100.0]))
            if by_influence and draw(st.booleans()):
                ent["influence_amount"] = {"slope": draw(st.sampled_from([0.0, 10.0, 50.0])),
                                           "cap": draw(st.sampled_from([0.0, 5.0, 20.0]))}
        entitlements.append(ent)
    if draw(st.booleans()):
        route = draw(st.sampled_from(["service", "social-care"]))
        risk: dict[str, Any] = {
            "threshold": draw(st.sampled_from([0.5, 2.0, 3.0])),
            "channels": draw(st.lists(st.sampled_from(list(CHANNELS)), unique=True, min_size=1)),
            "route": route,
            "head_start": draw(head_starts()),
        }
        if route == "social-care":
            risk["sla"] = draw(slas())
        data["risk"] = risk
    data["entitlements"] = entitlements
    try:
        return Policy(parse_policy(data, "random.toml"))
    except PolicyError as exc:  # pragma: no cover - the strategy only draws valid policies
        raise AssertionError(f"the strategy drew an invalid policy: {exc}") from None


unknown = st.sampled_from([None, math.nan])
unit_value = unknown | st.floats(0, 1)


@st.composite
def customers(draw: st.DrawFn) -> Customer | None:
    if draw(st.integers(0, 7)) == 0:
        return None  # an unknown sender
    money = unknown | st.sampled_from([-10.0, 0.0, 25.0, 100.0, 1000.0]) | st.floats(-50, 5000)
    return Customer(
        customer_id=draw(st.sampled_from(["c1", "c2"])),
        clv=draw(money),
        profit=draw(money),
        loyalty=draw(unit_value),
        status=draw(st.sampled_from([*STATUSES, "platinum", None])),
        account=draw(st.sampled_from([*ACCOUNTS, None])),
        influence=draw(unit_value | st.sampled_from([0.9, 0.99, 1.0])),
        followers=draw(st.one_of(st.none(), st.sampled_from([0, 1000, 100_000]), st.integers(0, 10_000_000))),
        value_percentile=draw(unit_value),
    )


@st.composite
def contacts(draw: st.DrawFn, cid: str) -> Contact:
    return Contact(
        contact_id=cid,
        channel=draw(st.sampled_from(list(Channel))),
        arrival=draw(st.floats(0, 100_000, allow_nan=False)),
        severity=draw(st.integers(0, 3)),
        sentiment=draw(st.one_of(st.none(), st.sampled_from([-1.0, -0.5, -0.3, 0.0]), st.floats(-1, 1))),
        complaint=draw(st.booleans()),
        repeat=draw(st.integers(0, 6)),
        reach=draw(st.one_of(st.none(), st.sampled_from([0.0, 999.0, 1e6]), st.floats(0, 1e7))),
        public=draw(st.sampled_from([None, True, False])),
    )


def frame_of(pairs: list[tuple[Contact, Customer | None]]) -> pd.DataFrame:
    """The batch form of the same contacts: one row each, the customer's columns merged in (None -> NaN)."""
    rows = []
    for k, c in pairs:
        row: dict[str, Any] = {
            "contact_id": k.contact_id,
            "channel": str(k.channel),
            "arrival": k.arrival,
            "severity": k.severity,
            "sentiment": np.nan if k.sentiment is None else k.sentiment,
            "complaint": k.complaint,
            "repeat": k.repeat,
            "reach": np.nan if k.reach is None else k.reach,
            "public": np.nan if k.public is None else float(k.public),
        }
        for col in ("clv", "profit", "loyalty", "value_percentile", "influence", "followers"):
            v = getattr(c, col) if c is not None else None
            row[col] = np.nan if v is None else v
        for col in ("customer_id", "status", "account"):
            row[col] = getattr(c, col) if c is not None else None
        rows.append(row)
    return pd.DataFrame(rows, index=pd.RangeIndex(100, 100 + len(rows)))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def check_agreement(policy: Policy, pairs: list[tuple[Contact, Customer | None]]) -> None:
    out = decide_batch(frame_of(pairs), policy, reasons=True)
    assert list(out.index) == list(range(100, 100 + len(pairs)))
    for (k, c), (_, row) in zip(pairs, out.iterrows(), strict=True):
        d = decide(k, c, policy, k.arrival)
        got = {
            "tier": d.tier,
            "rank": d.key.rank,
            "queue": d.queue,
            "head_start_min": d.head_start_min,
            "influence_min": d.influence_min,
            "virtual_arrival": d.key.virtual_arrival,
            "sla_seconds": d.sla_seconds,
            "sla_deadline": d.sla_deadline,
            "guarantee_seconds": d.guarantee_seconds,
            "pass_window_min": d.pass_window_min,
        }
        assert set(got) == set(BATCH_OUTPUT_COLUMNS)
        for col, value in got.items():
            if isinstance(value, str):
                assert row[col] == value, col
            else:
                assert _same(float(row[col]), float(value)), (col, row[col], value)
        assert row["reasons"] == d.reasons
        assert row["flags"] == d.flags
        assert row["entitlements"] == d.entitlements
        for g in d.entitlements:
            assert row[f"entitled:{g.name}"]
            assert row[f"entitled_by_influence:{g.name}"] == g.owed_to_influence
            if g.amount is not None:
                assert row[f"entitled_amount:{g.name}"] == g.amount
        granted = {g.name for g in d.entitlements}
        for e in policy.entitlements:
            assert bool(row[f"entitled:{e.name}"]) == (e.name in granted)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(policy=policies(), pairs=st.lists(st.tuples(contacts("k"), customers()), min_size=1, max_size=12))
def test_decide_and_decide_batch_agree_on_random_policies(
    policy: Policy, pairs: list[tuple[Contact, Customer | None]]
) -> None:
    check_agreement(policy, pairs)


@pytest.mark.slow
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(policy=policies(), pairs=st.lists(st.tuples(contacts("k"), customers()), min_size=1, max_size=12))
def test_decide_and_decide_batch_agree_on_2500_random_policies(
    policy: Policy, pairs: list[tuple[Contact, Customer | None]]
) -> None:
    check_agreement(policy, pairs)


def test_the_cases_the_review_found_agree() -> None:
    """A tier on account, and influence NaN against ``influence_min = 0``: the two paths once disagreed."""
    text = {
        "name": "acme",
        "version": "1",
        "influence": {"may_change_tier": True},
        "tiers": [
            {"name": "acme", "when": {"account_in": ["ACME"]}, "sla": dict.fromkeys(CHANNELS, 1.0)},
            {"name": "reach", "when": {"influence_min": 0.0}, "sla": dict.fromkeys(CHANNELS, 2.0)},
            {"name": "rest", "sla": dict.fromkeys(CHANNELS, 3.0)},
        ],
    }
    policy = Policy(parse_policy(text))
    pairs: list[tuple[Contact, Customer | None]] = [
        (Contact("a", Channel.PHONE, 0.0), Customer("1", account="ACME")),
        (Contact("b", Channel.PHONE, 0.0), Customer("2", influence=math.nan)),
        (Contact("c", Channel.PHONE, 0.0), Customer("3", influence=None)),
        (Contact("d", Channel.PHONE, 0.0), Customer("4", influence=0.0)),
    ]
    check_agreement(policy, pairs)
    tiers = [decide(k, c, policy, 0.0).tier for k, c in pairs]
    assert tiers == ["acme", "rest", "rest", "reach"]  # unknown reach never meets a condition, NaN or None


def test_a_missing_column_is_an_error_not_a_false_condition() -> None:
    policy = Policy(
        parse_policy(
            {
                "name": "acme",
                "version": "1",
                "tiers": [
                    {"name": "acme", "when": {"account_in": ["ACME"]}, "sla": dict.fromkeys(CHANNELS, 1.0)},
                    {"name": "rest", "sla": dict.fromkeys(CHANNELS, 3.0)},
                ],
            }
        )
    )
    frame = pd.DataFrame({"contact_id": ["x"], "channel": ["phone"], "arrival": [0.0], "status": ["gold"]})
    with pytest.raises(FairserveError, match="'account'"):
        decide_batch(frame, policy)
    frame["account"] = [None]  # present and unknown: the condition is unmet, said by the data
    assert decide_batch(frame, policy)["tier"].tolist() == ["rest"]
    assert policy.required_signals == ("channel", "arrival", "account")
