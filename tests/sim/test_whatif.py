"""What if that was you: a high-value customer waits less under value-first, and is told why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairserve.sim import whatif
from fairserve.sim.scenario import ScenarioError, scenario_from_dict


def _base() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame(
        {
            "customer_id": [f"{i:04d}" for i in range(n)],
            "clv": rng.lognormal(4.5, 1.0, n),
            "profit": rng.lognormal(3.0, 1.0, n),
            "loyalty": rng.uniform(size=n),
            "influence": rng.uniform(size=n),
            "followers": rng.lognormal(5, 2, n).astype(int),
        }
    )
    frame["value_percentile"] = frame["clv"].rank(pct=True)
    frame.loc[0, ["clv", "loyalty", "value_percentile", "influence"]] = [5000.0, 0.9, 1.0, 0.1]
    frame.loc[1, ["clv", "loyalty", "value_percentile", "influence"]] = [2.0, 0.1, 0.0, 0.1]
    return frame


SCENARIO = scenario_from_dict(
    {
        "center": {"agents": 20, "duration": 60.0, "warmup": 10.0},
        "segments": [
            {"name": "all", "arrival_rate": 21.0, "handle_mean": 1.0, "patience_mean": 4.0, "customers": "base"}
        ],
    }
)


def test_value_first_serves_the_valuable_customer_sooner_and_says_why() -> None:
    base = _base()
    rich = whatif("0000", SCENARIO, ["fifo", "value-first"], base, replications=8, seed=3)
    poor = whatif("0001", SCENARIO, ["fifo", "value-first"], base, replications=8, seed=3)
    assert rich["customer"]["customer_id"] == "0000" and rich["segment"] == "all"
    vf_rich, vf_poor = rich["policies"]["value-first"], poor["policies"]["value-first"]
    assert vf_rich["mean_wait"] < vf_poor["mean_wait"]
    assert vf_rich["overtaken"] <= vf_poor["overtaken"] and vf_poor["overtaken"] > 0
    assert vf_rich["tier"] != vf_poor["tier"]
    assert any("CLV" in text for text in vf_rich["reasons"])  # the policy's own words
    assert rich["policies"]["fifo"]["overtaken"] == 0.0  # nobody passes anyone under FIFO
    who = vf_poor["overtakers"]
    assert who and all(o["arrived_after"] > 0 and o["reasons"] for o in who)
    # the gap is not noise: the valuable customer's whole 95% interval lies below the other's mean wait
    assert vf_rich["mean_wait_ci95"][1] < vf_poor["mean_wait"]
    # and FIFO, which reads no value, gives the two customers the very same waits on the same contacts
    assert rich["policies"]["fifo"]["mean_wait"] == poor["policies"]["fifo"]["mean_wait"]
    # both are measured against the scenario's phone target (20 s), not each policy's own promise
    assert rich["target"] == poor["target"] == pytest.approx(1 / 3)
    assert vf_rich["p_sla"] >= vf_poor["p_sla"]


def test_only_contacts_of_the_same_queue_are_listed_as_overtakers() -> None:
    # a busy chat desk of its own: its contacts start service while a phone caller waits, but they never
    # passed the caller, who waits in another queue
    scenario = scenario_from_dict(
        {
            "center": {"agents": 10, "duration": 60.0, "warmup": 10.0},
            "pools": [{"name": "chat-desk", "agents": 10, "channels": ["chat"]}],
            "segments": [
                {"name": "phone", "arrival_rate": 10.5, "handle_mean": 1.0, "patience_mean": 4.0, "customers": "base"},
                {"name": "chat", "channel": "chat", "arrival_rate": 10.5, "handle_mean": 1.0, "customers": "base"},
            ],
        }
    )
    poor = whatif("0001", scenario, ["value-first"], _base(), segment="phone", replications=8, seed=3)
    who = poor["policies"]["value-first"]["overtakers"]
    assert poor["policies"]["value-first"]["overtaken"] > 0 and who
    assert {o["channel"] for o in who} == {"phone"}


def test_unknown_customer_or_segment_is_a_user_error() -> None:
    with pytest.raises(ScenarioError, match="not in the customer base"):
        whatif("nobody", SCENARIO, ["fifo"], _base(), replications=1)
    with pytest.raises(ScenarioError, match="no segment"):
        whatif("0000", SCENARIO, ["fifo"], _base(), segment="vip", replications=1)


def test_progress_is_reported_once_a_replication_and_changes_nothing() -> None:
    """The demo's what-if bar read 0/5 and never moved while 20 replications ran (new-user review)."""
    seen: list[int] = []
    told = whatif("0000", SCENARIO, ["fifo", "value-first"], _base(), replications=6, seed=3, progress=seen.append)
    quiet = whatif("0000", SCENARIO, ["fifo", "value-first"], _base(), replications=6, seed=3)
    assert seen == [1, 2, 3, 4, 5, 6]
    assert told == quiet
