"""A small comparison with a customer base (so deciles exist) and two what-ifs, shared by the report's tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fairserve.policy import load_policy
from fairserve.sim import compare_policies, whatif
from fairserve.sim.scenario import Scenario, scenario_from_dict

POLICIES = ["fifo", "value-first", "influence-first"]


def small_base(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "clv": rng.lognormal(4.5, 1.0, n),
            "profit": rng.lognormal(3.0, 1.0, n),
            "loyalty": rng.uniform(size=n),
            "followers": np.where(rng.uniform(size=n) < 0.5, 0, rng.lognormal(6, 2, n)).astype(int),
        }
    )
    frame["value_percentile"] = frame["clv"].rank(pct=True)
    frame["influence"] = frame["followers"].rank(pct=True)
    return frame


def small_scenario() -> Scenario:
    return scenario_from_dict(
        {
            "name": "small",
            "center": {"agents": 6, "duration": 240.0, "warmup": 20.0},
            "segments": [
                {"name": "phone", "arrival_rate": 5.5, "handle_mean": 1.0, "patience_mean": 2.0, "customers": "base"},
                {"name": "social", "channel": "social", "arrival_rate": 0.4, "handle_mean": 1.0, "sentiment": -0.5,
                 "customers": "base"},
            ],
        }
    )


@pytest.fixture(scope="session")
def comparison() -> dict[str, Any]:
    """``result``, ``scenario``, ``policies`` and ``whatifs`` of a small three-policy comparison."""
    base, scen = small_base(), small_scenario()
    result = compare_policies(scen, POLICIES, replications=3, seed=0, customers=base)
    whatifs = {
        "loyal": whatif("c0001", scen, POLICIES, base, segment="phone", replications=3, seed=0),
        "influencer": whatif("c0002", scen, POLICIES, base, segment="phone", replications=3, seed=0),
    }
    return {
        "result": result,
        "scenario": scen,
        "policies": {p: load_policy(p) for p in POLICIES},
        "whatifs": whatifs,
    }
