"""Erlang B/C/A and Cobham's priority formula: published values, identities and limits."""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq

from fairserve.errors import FairserveError
from fairserve.sim.erlang import (
    StaffingError,
    agents_needed,
    erlang_a,
    erlang_b,
    erlang_c,
    priority_waits,
    staffing,
)

# Avaya, "Basic Call Management System (BCMS) Operations", 07-300061 Issue 5.0 (May 2005), "Average service time
# engineering tables", pp. 111-112: calls per hour that 5 and 6 agents carry at 60 s average service time, with
# 10% of calls waiting longer than 30, 40 and 45 seconds (tables "prepared by exact calculations").
AVAYA_60S = [(5, 30, 186), (5, 40, 197), (5, 45, 202), (6, 30, 238), (6, 40, 251), (6, 45, 257)]


@pytest.mark.parametrize(("agents", "seconds", "calls_per_hour"), AVAYA_60S)
def test_erlang_c_reproduces_the_published_engineering_table(agents: int, seconds: int, calls_per_hour: int) -> None:
    def late_share(calls: float) -> float:
        return 1.0 - staffing(calls / 3600.0, 60.0, agents, target_time=seconds).service_level - 0.10

    root = brentq(late_share, 50.0, agents * 60.0 - 1.0)
    assert abs(root - calls_per_hour) < 1.0  # the table lists whole calls per hour


def test_erlang_b_small_case_by_hand() -> None:
    # B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2 ; C(2, 1) = 2 B / (2 - 1 (1 - B)) = 0.4 / 1.2 = 1/3
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0)


def test_mm1_closed_forms() -> None:
    r = staffing(0.8, 1.0, 1, target_time=2.0)
    assert r.p_wait == pytest.approx(0.8)
    assert r.mean_wait == pytest.approx(0.8 / 0.2)
    assert r.service_level == pytest.approx(1 - 0.8 * math.exp(-0.2 * 2.0))


def test_erlang_b_is_stable_for_thousands_of_agents() -> None:
    b = erlang_b(5000, 4900.0)
    assert 0 < b < 0.05
    assert math.isfinite(erlang_c(5000, 4900.0))


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c = staffing(45, 1.0, 50, target_time=0.1)
    a = staffing(45, 1.0, 50, patience_mean=1e9, target_time=0.1)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert a.mean_wait == pytest.approx(c.mean_wait, rel=1e-5)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.abandon_rate < 1e-8


def test_erlang_a_with_patience_equal_to_service_is_the_infinite_server_queue() -> None:
    # theta == mu: every customer leaves at rate mu whether served or not, so the number in system is
    # Poisson(lam / mu) (the M/M/infinity law), a check independent of the chain's construction.
    from scipy.stats import poisson

    lam, c = 12.0, 10
    r = erlang_a(lam, 1.0, 1.0, c)
    assert r.p_wait == pytest.approx(poisson.sf(c - 1, lam), rel=1e-9)
    mean_queue = sum((n - c) * poisson.pmf(n, lam) for n in range(c, 200))
    assert r.mean_wait == pytest.approx(mean_queue / lam, rel=1e-9)
    assert r.abandon_rate == pytest.approx(mean_queue / lam, rel=1e-9)


def test_erlang_a_is_finite_in_overload() -> None:
    r = staffing(60, 1.0, 50, patience_mean=1.0, target_time=0.2)
    assert 0 < r.abandon_rate < 1 and r.p_wait > 0.9
    # flow balance: what the agents serve is what is not abandoned
    assert r.occupancy * 50 == pytest.approx(60 * (1 - r.abandon_rate), rel=1e-9)


def test_agents_needed_is_the_smallest_meeting_the_target() -> None:
    r = agents_needed(45, 1.0, 0.8, 1 / 3)
    assert r.service_level >= 0.8
    assert staffing(45, 1.0, r.agents - 1, target_time=1 / 3).service_level < 0.8


def test_unstable_erlang_c_is_a_user_error() -> None:
    with pytest.raises(StaffingError, match="unstable"):
        staffing(50, 1.0, 50)
    assert issubclass(StaffingError, FairserveError)


def test_cobham_class_waits_average_to_erlang_c() -> None:
    rates = [10.0, 15.0, 20.0]
    waits = priority_waits(rates, 1.0, 50)
    weighted = sum(r * w for r, w in zip(rates, waits, strict=True)) / sum(rates)
    assert weighted == pytest.approx(staffing(45, 1.0, 50).mean_wait, rel=1e-12)
    assert waits[0] < waits[1] < waits[2]


def test_agents_needed_by_tier_is_the_smallest_meeting_every_tier() -> None:
    from fairserve.sim.erlang import agents_needed_by_tier

    rates, targets = [15.0, 30.0], [0.01, 0.05]
    c, waits = agents_needed_by_tier(rates, 1.0, targets)
    assert all(w <= t for w, t in zip(waits, targets, strict=True))
    assert any(w > t for w, t in zip(priority_waits(rates, 1.0, c - 1), targets, strict=True))
    # the low tier binds: FIFO with the same agents would give everyone the same, larger-than-gold wait
    assert waits[1] > staffing(45.0, 1.0, c).mean_wait > waits[0]
