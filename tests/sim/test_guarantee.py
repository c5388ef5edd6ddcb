"""The wait guarantee in the event loop: a contact waiting past its guarantee is served before every contact still
within its own, the one whose guarantee ran out first before the others; the loops agree on it; with no finite
guarantee nothing changes."""

from __future__ import annotations

import numpy as np
import pytest

from fairserve.sim import _kernel
from fairserve.sim.engine import _lanes, key_function, run_replication, serve
from fairserve.sim.scenario import scenario_from_dict

LOOPS = {"reference": _kernel.serve_reference, "arrays": _kernel.serve_arrays, "numba": _kernel.serve}


def _instance(
    n: int, agents: int, seed: int, *, load: float, patience: bool, ties: bool = False
) -> tuple[np.ndarray, ...]:
    """A queue whose key starves: strict ranks plus random head starts; three channels with guarantees 1, 3, none.

    Handling times are uniform on [0.5, 1.5] (bounded, mean 1). ``ties`` rounds arrivals to 0.1 so that
    deadlines of the two lanes coincide (guarantees 1 and 3 apart by whole tenths) and the tie-breaks matter.
    """
    rng = np.random.default_rng(seed)
    arrival = np.sort(rng.uniform(0, n / (agents * load), n))
    if ties:
        arrival = np.round(arrival, 1)
    channel = rng.integers(0, 3, n)
    guarantee = np.array([1.0, 3.0, np.inf])[channel]
    rank = rng.integers(0, 2, n)
    key = rank * 1e9 + arrival - rng.exponential(2.0, n)
    who = np.lexsort((np.arange(n), arrival, key))
    order = np.empty(n, dtype=np.int64)
    order[who] = np.arange(n)
    service = rng.uniform(0.5, 1.5, n)
    pat = rng.exponential(4.0, n) if patience else np.full(n, np.inf)
    return arrival, order, who, service, pat, guarantee


def _violations(
    arrival: np.ndarray,
    start: np.ndarray,
    patience: np.ndarray,
    guarantee: np.ndarray,
    forced: np.ndarray,
    real: np.ndarray,
) -> int:
    """How many starts broke the guarantee order (one queue's contacts, in arrival order).

    For every contact ``j`` still waiting after its deadline ``d_j = arrival_j + guarantee_j``, each start in the
    queue between ``d_j`` and the end of its wait (its start, or its abandonment) must have gone to a contact
    ``k`` served by the guarantee whose guarantee ran out before ``j``'s: ``(d_k, arrival_k, k) < (d_j,
    arrival_j, j)``.
    """
    served = ~np.isnan(start)
    end = np.where(served, start, arrival + patience)
    deadline = arrival + guarantee
    by_time = np.flatnonzero(served)[np.argsort(start[served], kind="stable")]
    times = start[by_time]
    bad = 0
    for j in np.flatnonzero(real & np.isfinite(deadline) & (end > deadline)):
        lo = np.searchsorted(times, deadline[j], side="right")
        hi = np.searchsorted(times, end[j], side="left")
        k = by_time[lo:hi]
        k = k[k != j]
        earlier = (deadline[k] < deadline[j]) | (
            (deadline[k] == deadline[j]) & ((arrival[k] < arrival[j]) | ((arrival[k] == arrival[j]) & (k < j)))
        )
        bad += int(np.sum(~(forced[k] & earlier)))
    return bad


@pytest.mark.parametrize(
    ("load", "patience", "ties"),
    [(1.1, True, False), (0.9, False, False), (1.1, True, True), (0.95, False, True)],
)
def test_every_loop_gives_identical_starts_with_guarantees(load: float, patience: bool, ties: bool) -> None:
    arrival, order, who, service, pat, guarantee = _instance(8_000, 6, 1, load=load, patience=patience, ties=ties)
    parent = np.full(arrival.size, -1, dtype=np.int64)
    runs = {
        name: loop(arrival, order, who, service, pat, 6, parent, *_lanes(guarantee))
        for name, loop in LOOPS.items()
        if name != "numba" or _kernel.HAVE_NUMBA
    }
    ref_start, ref_real, ref_forced = runs.pop("reference")
    for name, (start, real, forced) in runs.items():
        np.testing.assert_array_equal(start, ref_start, err_msg=name)
        np.testing.assert_array_equal(real, ref_real, err_msg=name)
        np.testing.assert_array_equal(forced, ref_forced, err_msg=name)
    assert ref_forced.sum() > 100  # the guarantee really served contacts
    plain, _, _ = _kernel.serve_reference(arrival, order, who, service, pat, 6, parent, *_lanes(None))
    assert not np.array_equal(plain, ref_start, equal_nan=True)  # and that changed the order


def test_loops_agree_with_guarantees_and_call_backs() -> None:
    from test_engine import _instance_with_callbacks

    arrival, order, who, service, pat, parent = _instance_with_callbacks(3_000, 4, 9)
    guarantee = np.random.default_rng(2).choice([0.5, 1.0, np.inf], arrival.size)
    args = (arrival, order, who, service, pat, 4, parent, *_lanes(guarantee))
    ref = _kernel.serve_reference(*args)
    for name, loop in LOOPS.items():
        if name == "numba" and not _kernel.HAVE_NUMBA:
            continue
        for got, want in zip(loop(*args), ref, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=name)
    assert ref[2].any() and not ref[1].all()  # guarantees fired and some call-backs never happened


@pytest.mark.parametrize(("load", "patience"), [(1.1, True), (0.9, False), (0.8, True)])
def test_a_contact_past_its_guarantee_is_served_before_any_within_it(load: float, patience: bool) -> None:
    arrival, order, who, service, pat, guarantee = _instance(6_000, 5, 3, load=load, patience=patience)
    parent = np.full(arrival.size, -1, dtype=np.int64)
    start, real, forced = _kernel.serve(arrival, order, who, service, pat, 5, parent, *_lanes(guarantee))
    assert forced.any()
    assert _violations(arrival, start, pat, guarantee, forced, real) == 0
    # the check can fail: without the guarantee, the same queue breaks it many times
    start0, real0, forced0 = _kernel.serve(arrival, order, who, service, pat, 5, parent, *_lanes(None))
    assert _violations(arrival, start0, pat, guarantee, forced0, real0) > 100


def test_no_contact_waits_longer_than_its_guarantee_plus_one_handling_time_when_capacity_allows() -> None:
    # occupancy 0.9, bounded handling: capacity allows it, yet without a guarantee the strict key starves some
    arrival, order, who, service, pat, guarantee = _instance(20_000, 10, 4, load=0.9, patience=False)
    longest = float(service.max())
    start = serve(arrival, order, who, service, pat, 10, guarantee=guarantee)
    wait = start - arrival
    on = np.isfinite(guarantee)
    assert np.all(wait[on] <= guarantee[on] + longest)
    assert wait[on].max() > guarantee[on].min()  # some did wait past their guarantee: the bound is not idle
    without = serve(arrival, order, who, service, pat, 10) - arrival
    assert np.max(without[on] - guarantee[on]) > 3 * longest  # the guarantee is what keeps the bound (3.8x)


def test_an_infinite_guarantee_changes_nothing() -> None:
    from test_engine import _instance as plain_instance

    arrival, order, who, service, pat = plain_instance(3_000, 5, 21)
    n = arrival.size
    parent = np.full(n, -1, dtype=np.int64)
    start = serve(arrival, order, who, service, pat, 5, guarantee=np.full(n, np.inf))
    # pinned: what the loop gave for this seed before the guarantee existed (commit 581b76b)
    assert int(np.isnan(start).sum()) == 625
    assert float(np.nansum(start)) == pytest.approx(650454.5129063658, rel=1e-13)
    # a finite guarantee that is never reached runs the probe and changes nothing either
    for name, loop in LOOPS.items():
        if name == "numba" and not _kernel.HAVE_NUMBA:
            continue
        got, _, forced = loop(arrival, order, who, service, pat, 5, parent, *_lanes(np.full(n, 1e12)))
        np.testing.assert_array_equal(got, start, err_msg=name)
        assert not forced.any()


def _moderate_scenario() -> object:
    bounded = {"handle": "empirical", "handle_samples": [0.5, 1.0, 1.5]}
    return scenario_from_dict(
        {
            "center": {"agents": 9, "duration": 600.0, "warmup": 20.0},
            "segments": [
                {"name": "vip", "arrival_rate": 3.0, "handle_mean": 1.0, "tier": "gold", **bounded},
                {"name": "phone", "arrival_rate": 3.5, "handle_mean": 1.0, **bounded},
                {"name": "chat", "arrival_rate": 0.6, "handle_mean": 1.0, "channel": "chat", **bounded},
            ],
        }
    )


def test_the_simulator_applies_each_channels_guarantee_to_a_starving_key() -> None:
    # strict priority for gold, guarantees of 2 minutes on phone and 1 on chat
    scen = _moderate_scenario()
    decider = key_function(
        lambda f: (f["status"].astype(str) != "gold").to_numpy(dtype=np.int64),
        guarantee_seconds={"phone": 120.0, "chat": 60.0},
    )
    frame = run_replication(scen, decider, np.random.default_rng(5))
    g = frame["guarantee_seconds"].to_numpy() / scen.unit_seconds  # type: ignore[attr-defined]
    t, start = frame["t"].to_numpy(), frame["start"].to_numpy()
    forced = frame["by_guarantee"].to_numpy()
    assert forced.any() and set(np.unique(g)) == {1.0, 2.0}
    assert _violations(t, start, frame["patience"].to_numpy(), g, forced, frame["happened"].to_numpy()) == 0
    assert np.all(frame["wait"].to_numpy() <= g + 1.5)  # the longest handling time is 1.5


@pytest.mark.parametrize("name", ["fifo", "value-first", "influence-first", "balanced", "tier-strict"])
def test_every_built_in_keeps_its_guarantees_when_capacity_allows(name: str) -> None:
    from fairserve.policy import load_policy

    scen = _moderate_scenario()
    frame = run_replication(scen, load_policy(name), np.random.default_rng(6))
    g = frame["guarantee_seconds"].to_numpy(dtype=float) / scen.unit_seconds  # type: ignore[attr-defined]
    t, start = frame["t"].to_numpy(), frame["start"].to_numpy()
    for pool in np.unique(frame["pool"]):
        on = (frame["pool"] == pool).to_numpy()
        args = (t[on], start[on], frame["patience"].to_numpy()[on], g[on])
        assert _violations(*args, frame["by_guarantee"].to_numpy()[on], frame["happened"].to_numpy()[on]) == 0
    wait = frame["wait"].to_numpy()
    assert np.all(wait[np.isfinite(g)] <= g[np.isfinite(g)] + 1.5)  # the longest handling time is 1.5
    if name in ("value-first", "influence-first", "balanced"):  # they reorder, so they state guarantees
        assert np.isfinite(g).all()
