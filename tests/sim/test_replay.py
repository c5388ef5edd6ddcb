"""What the simulator did is what decide() says: replayed decisions, and overtakes the explanations allowed.

After a simulated day under each built-in policy, every contact is decided again, one at a time, with
:func:`fairserve.policy.decide` (what the live service calls). Its tier, queue and queue key must be the ones the
simulator used, and every later contact that was served before it must be one its explanation allowed: a
higher strict tier, a contact that arrived within the stated window, or one served past its own guarantee.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fairserve.model import Channel, Contact, Customer, customer_from_record
from fairserve.policy import builtin_names, decide, load_policy
from fairserve.sim.engine import run_replication
from fairserve.sim.scenario import scenario_from_dict


def _base(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    clv = rng.lognormal(3.5, 1.3, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(n)],
            "clv": clv,
            "profit": clv * 0.3,
            "loyalty": rng.uniform(size=n),
            "value_percentile": pd.Series(clv).rank(pct=True).to_numpy(),
            "followers": rng.lognormal(5, 2.5, n).astype(int),
            "status": rng.choice(["gold", "silver", "bronze", "basic"], n, p=[0.1, 0.2, 0.3, 0.4]),
            "account": rng.choice(["ACME", "Globex", None], n),
        }
    )
    frame["influence"] = frame["followers"].rank(pct=True)
    return frame


# one busy day of the demo's centre: a voice desk (phone and social), a digital desk (chat and email), and a
# social-care team for policies that route reputational risk to it
SCENARIO = scenario_from_dict(
    {
        "name": "busy-day",
        "center": {"agents": 10, "social_care_agents": 1, "duration": 600.0, "warmup": 30.0},
        "pools": [{"name": "digital", "agents": 8, "channels": ["chat", "email"]}],
        "segments": [
            {"name": "phone", "channel": "phone", "arrival_rate": 1.9, "handle_mean": 5.0, "handle": "lognormal",
             "handle_cv": 0.8, "patience_mean": 4.0, "retrial_prob": 0.3, "customers": "base"},
            {"name": "angry", "channel": "phone", "arrival_rate": 0.2, "handle_mean": 8.0, "patience_mean": 6.0,
             "severity": 2, "complaint": True, "sentiment": -0.6, "customers": "base"},
            {"name": "chat", "channel": "chat", "arrival_rate": 0.8, "handle_mean": 6.0, "patience_mean": 5.0,
             "customers": "base"},
            {"name": "email", "channel": "email", "arrival_rate": 0.5, "handle_mean": 8.0, "customers": "base"},
            {"name": "social", "channel": "social", "arrival_rate": 0.15, "handle_mean": 6.0, "sentiment": -0.7,
             "complaint": True, "customers": "base"},
        ],
    }
)


def _none(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _objects(row: Any) -> tuple[Contact, Customer | None]:
    contact = Contact(
        contact_id=str(row["contact_id"]),
        channel=Channel(str(row["channel"])),
        arrival=float(row["arrival"]),
        severity=int(row["severity"]),
        sentiment=_none(float(row["sentiment"])),
        complaint=bool(row["complaint"]),
        repeat=int(row["repeat"]),
        reach=_none(float(row["reach"])),
        public=None if _none(row["public"]) is None else bool(row["public"]),
    )
    if _none(row["customer_id"]) is None:
        return contact, None
    return contact, customer_from_record(row)


@pytest.fixture(scope="module")
def runs() -> dict[str, pd.DataFrame]:
    base = _base()
    out = {}
    for name in builtin_names():
        frame = run_replication(SCENARIO, load_policy(name), np.random.default_rng(5), customers=base)
        out[name] = frame[frame["happened"].to_numpy(dtype=bool)]
    return out


@pytest.mark.parametrize("name", builtin_names())
def test_replaying_every_simulated_contact_through_decide_gives_what_the_simulator_used(
    name: str, runs: dict[str, pd.DataFrame]
) -> None:
    policy = load_policy(name)
    frame = runs[name]
    assert len(frame) > 1500
    for _, row in frame.iterrows():
        contact, customer = _objects(row)
        d = decide(contact, customer, policy, contact.arrival)
        assert d.tier == row["tier"], row["contact_id"]
        assert d.queue == row["queue"]
        assert d.key.rank == row["rank"]
        assert d.key.virtual_arrival == row["virtual_arrival"]
        assert d.key.arrival == row["arrival"]
        assert d.guarantee_seconds == row["guarantee_seconds"]
        assert d.head_start_min == row["head_start_min"]


@pytest.mark.parametrize("name", builtin_names())
def test_every_overtake_in_simulation_is_one_the_explanation_allowed(
    name: str, runs: dict[str, pd.DataFrame]
) -> None:
    policy = load_policy(name)
    frame = runs[name].reset_index(drop=True)
    t = frame["t"].to_numpy(dtype=float)
    start = frame["start"].to_numpy(dtype=float)
    wait_end = t + frame["wait"].to_numpy(dtype=float)
    pool = frame["pool"].to_numpy()
    rank = frame["rank"].to_numpy()
    arrival = frame["arrival"].to_numpy(dtype=float)
    by_guarantee = frame["by_guarantee"].to_numpy(dtype=bool)
    unit = SCENARIO.unit_seconds
    checked = 0
    for i in np.flatnonzero(frame["overtaken"].to_numpy() > 0):
        contact, customer = _objects(frame.iloc[i])
        told = decide(contact, customer, policy, contact.arrival)  # what this contact was told
        later = np.flatnonzero((t > t[i]) & (t < wait_end[i]) & (start < wait_end[i]) & (pool == pool[i]))
        assert later.size >= 1  # the simulator counted them; they must be there
        for j in later:
            checked += 1
            if rank[j] < rank[i]:
                order = next(r.text for r in told.reasons if r.signal == "order")
                assert policy.strict and "higher tier" in order  # the explanation said higher tiers go first
                continue
            if by_guarantee[j]:
                assert math.isfinite(frame["guarantee_seconds"].iloc[j])
                assert (start[j] - t[j]) * unit > frame["guarantee_seconds"].iloc[j] - 1e-6
                continue
            gap_min = (arrival[j] - arrival[i]) / 60.0
            assert gap_min <= told.pass_window_min + 1e-9, (i, j, gap_min, told.pass_window_min)
    if policy.strict or policy.max_head_start_min > 0:
        assert checked > 50  # the policy really reordered the queue, and each reordering was checked
    else:
        assert checked == 0  # first come, first served: nobody passes anybody
