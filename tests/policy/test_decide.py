"""decide() and decide_batch(): ordering, bounds, caps, determinism and the batch twin, as properties."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_strategies import contacts, customers

from fairserve.model import Channel, Contact, Customer
from fairserve.policy import builtin_names, decide, decide_batch, load_policy

POLICIES = builtin_names()

def test_builtin_policies_are_the_five_named() -> None:
    assert POLICIES == ["balanced", "fifo", "influence-first", "tier-strict", "value-first"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(contacts(), customers()), min_size=2, max_size=30))
def test_fifo_serves_in_arrival_order(pairs: list[tuple[Contact, Customer | None]]) -> None:
    policy = load_policy("fifo")
    pairs = [(dataclasses.replace(k, contact_id=f"k{i:03d}"), c) for i, (k, c) in enumerate(pairs)]
    decisions = [decide(k, c, policy, 0.0) for k, c in pairs]
    served = sorted(decisions, key=lambda d: d.key)
    arrivals = [d.key.arrival for d in served]
    assert arrivals == sorted(arrivals)
    assert all(d.head_start_min == 0.0 and d.key.virtual_arrival == d.key.arrival for d in decisions)


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=80, deadline=None)
@given(a=st.tuples(contacts("a"), customers("ca")), b=st.tuples(contacts("b"), customers("cb")))
def test_nobody_is_overtaken_by_a_contact_arriving_more_than_the_largest_head_start_later(
    name: str, a: tuple[Contact, Customer | None], b: tuple[Contact, Customer | None]
) -> None:
    policy = load_policy(name)
    da, db = decide(*a, policy, 0.0), decide(*b, policy, 0.0)
    assert 0.0 <= da.head_start_min <= policy.max_head_start_min
    assert 0.0 <= db.head_start_min <= policy.max_head_start_min
    first, later = (da, db) if (da.key.arrival, "a") <= (db.key.arrival, "b") else (db, da)
    overtaken = later.key < first.key
    if overtaken and first.key.rank == later.key.rank:
        gap_min = (later.key.arrival - first.key.arrival) / 60.0
        assert gap_min <= policy.max_head_start_min + 1e-9
    if overtaken and first.key.rank != later.key.rank:
        assert policy.strict and later.key.rank < first.key.rank


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=80, deadline=None)
@given(pair=st.tuples(contacts(), customers()))
def test_influence_never_moves_a_contact_by_more_than_its_cap(
    name: str, pair: tuple[Contact, Customer | None]
) -> None:
    policy = load_policy(name)
    contact, customer = pair
    d = decide(contact, customer, policy, 0.0)
    assert 0.0 <= d.influence_min <= policy.influence_cap_min + 1e-12
    if customer is None:
        return
    no_reach = dataclasses.replace(customer, influence=0.0, followers=0)
    d0 = decide(contact, no_reach, policy, 0.0)
    assert d0.influence_min == 0.0
    assert abs(d.head_start_min - d0.head_start_min) <= policy.influence_cap_min + 1e-9
    if not policy.influence_may_change_tier:
        assert d.tier == d0.tier
    if d.tier != d0.tier:
        assert "tier-by-influence" in d.flags
        assert any(r.signal == "influence" and r.effect == f"tier={d.tier}" for r in d.reasons)


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=100, deadline=None)
@given(pair=st.tuples(contacts(), customers()), now=st.floats(0, 200_000, allow_nan=False))
def test_the_same_inputs_always_give_the_same_decision(
    name: str, pair: tuple[Contact, Customer | None], now: float
) -> None:
    policy = load_policy(name)
    assert decide(*pair, policy, now) == decide(*pair, policy, now)
    again = load_policy(name)
    assert again.content_hash == policy.content_hash
    assert decide(*pair, again, now) == decide(*pair, policy, now)


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=80, deadline=None)
@given(pair=st.tuples(contacts(), customers()))
def test_reasons_add_up_to_the_head_start_and_the_key(name: str, pair: tuple[Contact, Customer | None]) -> None:
    policy = load_policy(name)
    d = decide(*pair, policy, 0.0)
    assert math.isclose(sum(r.minutes for r in d.reasons), d.head_start_min, abs_tol=1e-9)
    assert d.key.virtual_arrival == d.key.arrival - d.head_start_min * 60.0
    assert d.sla_deadline == d.key.arrival + d.sla_seconds
    assert d.tier in policy.tier_names
    assert (d.policy_name, d.policy_version, d.policy_hash) == (policy.name, policy.version, policy.content_hash)
    assert d.queue in ("service", "social-care")
    assert (d.queue == "social-care") <= ("reputational-risk" in d.flags)


def _frame(pairs: list[tuple[Contact, Customer | None]]) -> pd.DataFrame:
    rows = []
    for k, c in pairs:
        row: dict[str, object] = {
            "contact_id": k.contact_id,
            "channel": str(k.channel),
            "arrival": k.arrival,
            "severity": k.severity,
            "sentiment": np.nan if k.sentiment is None else k.sentiment,
            "complaint": k.complaint,
            "repeat": k.repeat,
            "reach": np.nan if k.reach is None else k.reach,
        }
        for col in ("customer_id", "clv", "profit", "loyalty", "status", "influence", "followers", "value_percentile"):
            v = getattr(c, col) if c is not None else None
            row[col] = (np.nan if col != "status" and col != "customer_id" else None) if v is None else v
        rows.append(row)
    return pd.DataFrame(rows, index=pd.RangeIndex(100, 100 + len(rows)))


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=30, deadline=None)
@given(pairs=st.lists(st.tuples(contacts(), customers()), min_size=1, max_size=25))
def test_decide_batch_equals_decide_row_for_row(name: str, pairs: list[tuple[Contact, Customer | None]]) -> None:
    policy = load_policy(name)
    out = decide_batch(_frame(pairs), policy)
    assert list(out.index) == list(range(100, 100 + len(pairs)))
    for (k, c), (_, row) in zip(pairs, out.iterrows(), strict=True):
        d = decide(k, c, policy, 0.0)
        assert row["tier"] == d.tier
        assert row["rank"] == d.key.rank
        assert row["queue"] == d.queue
        assert row["head_start_min"] == d.head_start_min
        assert row["influence_min"] == d.influence_min
        assert row["virtual_arrival"] == d.key.virtual_arrival
        assert row["sla_seconds"] == d.sla_seconds
        assert row["sla_deadline"] == d.sla_deadline


def test_decide_batch_treats_missing_columns_as_unknown() -> None:
    policy = load_policy("value-first")
    frame = pd.DataFrame({"contact_id": ["x"], "channel": ["phone"], "arrival": [10.0]})
    out = decide_batch(frame, policy)
    d = decide(Contact("x", Channel.PHONE, 10.0), None, policy, 10.0)
    assert out.loc[0, "tier"] == d.tier == policy.tier_names[-1]
    assert out.loc[0, "sla_seconds"] == d.sla_seconds


def test_unknown_channel_in_batch_is_refused() -> None:
    frame = pd.DataFrame({"contact_id": ["x"], "channel": ["fax"], "arrival": [0.0]})
    with pytest.raises(Exception, match="fax"):
        decide_batch(frame, load_policy("fifo"))


def test_balanced_sends_a_high_reach_angry_post_to_social_care_without_a_service_head_start() -> None:
    policy = load_policy("balanced")
    post = Contact("p", Channel.SOCIAL, 0.0, sentiment=-0.9, reach=2_000_000)
    quiet = Contact("q", Channel.SOCIAL, 0.0, sentiment=-0.9, reach=10)
    customer = Customer("c", clv=10.0, influence=0.999)
    d, dq = decide(post, customer, policy, 0.0), decide(quiet, customer, policy, 0.0)
    assert d.queue == "social-care" and "reputational-risk" in d.flags
    assert dq.queue == "service" and "reputational-risk" not in dq.flags
    # the flag moves the queue, not the service head start; reach adds at most the 2-minute cap
    assert d.head_start_min == dq.head_start_min
    assert d.influence_min <= 2.0
    assert d.tier == "standard"


def test_the_motivating_question_under_balanced_and_influence_first() -> None:
    """A basic customer with 100k followers vs a 20-year customer with high value, same call, same minute."""
    influencer = Customer("i", clv=5.0, loyalty=0.05, influence=0.995, followers=100_000)
    stalwart = Customer("s", clv=900.0, loyalty=0.95, influence=0.10, followers=12)
    call_i = Contact("ki", Channel.PHONE, 60.0)
    call_s = Contact("ks", Channel.PHONE, 60.0)
    balanced = load_policy("balanced")
    assert decide(call_s, stalwart, balanced, 60.0).key < decide(call_i, influencer, balanced, 60.0).key
    klout = load_policy("influence-first")
    assert decide(call_i, influencer, klout, 60.0).key < decide(call_s, stalwart, klout, 60.0).key


def test_tier_strict_with_a_given_order_serves_strictly_and_first_come_within_a_tier() -> None:
    policy = load_policy("tier-strict").with_tier_order(["vip", "regular"])
    assert policy.strict and policy.tier_names == ["vip", "regular"]
    assert policy.version.endswith("+order=vip>regular")
    assert policy.content_hash != load_policy("tier-strict").content_hash
    vip_late = decide(Contact("a", Channel.PHONE, 10_000.0), Customer("1", status="vip"), policy, 0.0)
    reg_early = decide(Contact("b", Channel.PHONE, 0.0), Customer("2", status="regular"), policy, 0.0)
    stranger = decide(Contact("c", Channel.PHONE, 5.0), Customer("3", status="other"), policy, 0.0)
    assert vip_late.key.rank == 0 and reg_early.key.rank == 1 and stranger.tier == "regular"
    assert vip_late.key < reg_early.key < stranger.key
    assert policy.max_head_start_min == 0.0


def test_default_tier_strict_order_is_gold_silver_bronze_basic() -> None:
    assert load_policy("tier-strict").tier_names == ["gold", "silver", "bronze", "basic"]
