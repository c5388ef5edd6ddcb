"""The contact-centre simulator: the live service's policy function, run on simulated contacts.

See :mod:`fairserve.sim.engine` (why our own event loop), :mod:`fairserve.sim.scenario` (the scenario file),
:mod:`fairserve.sim.metrics` (what is measured), :mod:`fairserve.sim.whatif` (one customer's view) and
:mod:`fairserve.sim.erlang` (staffing formulas).
"""

from __future__ import annotations

from fairserve.sim.engine import compare_policies, run_replication
from fairserve.sim.erlang import (
    StaffingError,
    StaffingResult,
    agents_needed,
    agents_needed_by_tier,
    erlang_a,
    erlang_c,
    priority_waits,
    staffing,
)
from fairserve.sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from fairserve.sim.whatif import whatif

__all__ = [
    "Scenario",
    "ScenarioError",
    "StaffingError",
    "StaffingResult",
    "agents_needed",
    "agents_needed_by_tier",
    "compare_policies",
    "erlang_a",
    "erlang_c",
    "load_scenario",
    "priority_waits",
    "run_replication",
    "scenario_from_dict",
    "staffing",
    "whatif",
]
