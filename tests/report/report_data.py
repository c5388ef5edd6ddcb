"""A small scenario and customer base with value and influence (so deciles exist), for the report's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


