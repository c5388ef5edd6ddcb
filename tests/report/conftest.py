"""A small comparison with a customer base (so deciles exist) and two what-ifs, shared by the report's tests."""

from __future__ import annotations

from typing import Any

import pytest
from report_data import POLICIES, small_base, small_scenario

from fairserve.policy import load_policy
from fairserve.sim import compare_policies, whatif


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
        "customers": base,
        "result": result,
        "scenario": scen,
        "policies": {p: load_policy(p) for p in POLICIES},
        "whatifs": whatifs,
    }
