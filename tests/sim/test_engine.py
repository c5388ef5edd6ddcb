"""The event loop: the compiled kernel equals the reference, displacements are counted right, simpy agrees, and
the wait guarantee serves a contact past its guarantee before every contact within it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import simpy

from fairserve.sim import _kernel
from fairserve.sim.engine import _lanes, run_replication, serve
from fairserve.sim.scenario import scenario_from_dict


def _instance(n: int, agents: int, seed: int, patience: bool = True) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    arrival = np.sort(rng.uniform(0, n / (agents * 1.1), n))
    key = rng.integers(0, 3, n) * 1e6 + arrival - rng.exponential(0.5, n)  # ranks and head starts
    who = np.argsort(key, kind="stable")
    order = np.empty(n, dtype=np.int64)
    order[who] = np.arange(n)
    service = rng.exponential(1.0, n)
    pat = rng.exponential(1.5, n) if patience else np.full(n, np.inf)
    return arrival, order, who, service, pat


@pytest.mark.parametrize("patience", [True, False])
def test_numba_kernel_gives_identical_starts_to_the_python_reference(patience: bool) -> None:
    if not _kernel.HAVE_NUMBA:
        pytest.skip("numba not installed")
    args = _instance(20_000, 7, 1, patience)
    ref = serve(*args, 7, kernel="python")
    fast = serve(*args, 7, kernel="numba")
    np.testing.assert_array_equal(np.isnan(ref), np.isnan(fast))
    np.testing.assert_array_equal(ref[~np.isnan(ref)], fast[~np.isnan(fast)])
    assert np.isnan(ref).any() == patience


def test_every_contact_is_served_or_abandons_and_never_starts_before_arrival() -> None:
    arrival, order, who, service, pat = _instance(5_000, 4, 2)
    start = serve(arrival, order, who, service, pat, 4, kernel="python")
    served = ~np.isnan(start)
    assert np.all(start[served] >= arrival[served])
    assert np.all(start[served] - arrival[served] < pat[served])
    # never more than 4 in service at once: check at every start instant
    ends = start[served] + service[served]
    for s in start[served][::97]:
        assert np.sum((start[served] <= s) & (ends > s)) <= 4


def _brute_overtakes(arrival, wait_end, start, rank, vkey, vplain):  # type: ignore[no-untyped-def]
    n = arrival.size
    cnt = np.zeros(n, dtype=int)
    inf = np.zeros(n, dtype=int)
    for i in range(n):
        for j in range(n):
            if arrival[j] > arrival[i] and start[j] < wait_end[i]:
                cnt[i] += 1
                if rank[j] == rank[i] and vplain[j] > vkey[i]:
                    inf[i] += 1
    return cnt, inf


def test_overtakes_match_brute_force_and_numba() -> None:
    arrival, order, who, service, pat = _instance(600, 3, 3)
    start = serve(arrival, order, who, service, pat, 3, kernel="python")
    rng = np.random.default_rng(4)
    real = rng.uniform(size=arrival.size) < 0.95  # a call-back that never happened waited no time
    start[~real] = np.nan
    forced = ~np.isnan(start) & (rng.uniform(size=arrival.size) < 0.1)  # served by the guarantee: not influence
    wait_end = np.where(np.isnan(start), arrival + np.where(real, pat, 0.0), start)
    rank = rng.integers(0, 2, arrival.size)
    vkey = arrival - rng.exponential(0.3, arrival.size)
    vplain = vkey + rng.uniform(0, 0.5, arrival.size) * (rng.uniform(size=arrival.size) < 0.3)
    want = _brute_overtakes(arrival, wait_end, start, rank, vkey, np.where(forced, -np.inf, vplain))
    got = _kernel._overtakes(arrival, start, pat, real, forced, rank, vkey, vplain)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert want[0].sum() > 0 and want[1].sum() > 0
    assert _brute_overtakes(arrival, wait_end, start, rank, vkey, vplain)[1].sum() > want[1].sum()  # forced count
    fast = _kernel.overtakes(arrival, start, pat, real, forced, rank, vkey, vplain)
    np.testing.assert_array_equal(fast[0], want[0])
    np.testing.assert_array_equal(fast[1], want[1])


def _simpy_starts(arrival, order, service, patience, agents):  # type: ignore[no-untyped-def]
    """The same queue written the simpy way: PriorityResource, a request raced against a patience timeout."""
    env = simpy.Environment()
    desk = simpy.PriorityResource(env, capacity=agents)
    start = np.full(arrival.size, np.nan)

    def contact(i: int):  # type: ignore[no-untyped-def]
        yield env.timeout(arrival[i] - env.now)
        with desk.request(priority=int(order[i])) as req:
            got = yield req | env.timeout(patience[i])
            if req in got:
                start[i] = env.now
                yield env.timeout(service[i])

    def source():  # type: ignore[no-untyped-def]
        for i in range(arrival.size):
            yield env.timeout(arrival[i] - env.now)
            env.process(contact(i))

    env.process(source())
    env.run()
    return start


def test_same_inputs_give_the_same_starts_as_a_simpy_model() -> None:
    arrival, order, who, service, pat = _instance(4_000, 5, 5)
    ours = serve(arrival, order, who, service, pat, 5, kernel="python")
    theirs = _simpy_starts(arrival, order, service, pat, 5)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=1e-9)


def test_pools_by_channel_serve_their_own_queues() -> None:
    from fairserve.sim.engine import key_function

    scen = scenario_from_dict(
        {
            "center": {"agents": 2, "duration": 200.0},
            "pools": [{"name": "chat-desk", "agents": 30, "channels": ["chat"]}],
            "segments": [
                {"name": "phone", "arrival_rate": 1.9, "handle_mean": 1.0},
                {"name": "chat", "arrival_rate": 10.0, "handle_mean": 1.0, "channel": "chat"},
            ],
        }
    )
    frame = run_replication(scen, key_function(lambda f: np.zeros(len(f))), np.random.default_rng(6))
    by = frame.groupby("segment")["wait"].mean()
    assert by["chat"] < 0.01 < by["phone"]  # 30 agents for load 10 vs 2 agents for load 1.9
    assert set(frame.loc[frame.segment == "chat", "pool"]) == {1}


def test_deciding_one_contact_per_profile_equals_deciding_every_contact() -> None:
    import pandas as pd

    from fairserve.policy import decide_batch, load_policy
    from fairserve.sim.engine import decide_contacts
    from fairserve.sim.scenario import draw_contacts

    rng = np.random.default_rng(0)
    n = 300
    base = pd.DataFrame(
        {
            "customer_id": [f"{i:03d}" for i in range(n)],
            "clv": rng.lognormal(4.5, 1, n),
            "loyalty": rng.uniform(size=n),
            "influence": rng.uniform(size=n),
            "followers": rng.integers(0, 100000, n),
            "status": rng.choice(["gold", "basic"], n),
        }
    )
    base["value_percentile"] = base["clv"].rank(pct=True)
    scen = scenario_from_dict(
        {
            "center": {"agents": 5, "duration": 200.0},
            "segments": [
                {"name": "a", "arrival_rate": 5.0, "handle_mean": 1.0, "customers": "base"},
                {
                    "name": "b",
                    "arrival_rate": 2.0,
                    "handle_mean": 1.0,
                    "channel": "social",
                    "sentiment": -0.9,
                    "reach": 50000.0,
                    "severity": 2,
                    "complaint": True,
                    "tier": "gold",
                },
            ],
        }
    )
    contacts = draw_contacts(scen, np.random.default_rng(1), base)
    assert contacts["profile"].nunique() < len(contacts) / 2
    for name in ("fifo", "value-first", "influence-first", "balanced", "tier-strict"):
        policy = load_policy(name)
        fast = decide_contacts(contacts, policy)
        cols = [c for c in contacts.columns if c not in ("t", "handle", "patience", "segment", "profile")]
        full = decide_batch(contacts[cols], policy)
        for col in full.columns:
            a, b = fast[col].to_numpy(), full[col].to_numpy()
            if col in ("tier", "queue"):
                assert list(a) == list(b), (name, col)
            else:
                np.testing.assert_array_equal(a.astype(float), b.astype(float), err_msg=f"{name}: {col}")


def test_a_scenario_replication_equals_simpy_on_the_same_contacts_and_policy() -> None:
    from fairserve.sim.engine import resolve_policy

    scen = scenario_from_dict(
        {
            "center": {"agents": 6, "duration": 300.0},
            "segments": [
                {
                    "name": "vip",
                    "arrival_rate": 1.5,
                    "handle_mean": 1.0,
                    "patience_mean": 3.0,
                    "clv": 5000.0,
                    "loyalty": 0.9,
                    "value_percentile": 0.99,
                },
                {
                    "name": "mass",
                    "arrival_rate": 4.0,
                    "handle_mean": 1.0,
                    "patience_mean": 2.0,
                    "clv": 20.0,
                    "influence": 0.95,
                    "followers": 200000,
                },
            ],
        }
    )
    for name in ("value-first", "influence-first"):
        _, policy = resolve_policy(name)
        frame = run_replication(scen, policy, np.random.default_rng(7), kernel="python")
        # the queue order the engine used, rebuilt from the decisions it reports
        key = np.lexsort((np.arange(len(frame)), frame["arrival"], frame["virtual_arrival"], frame["rank"]))
        order = np.empty(len(frame), dtype=np.int64)
        order[key] = np.arange(len(frame))
        theirs = _simpy_starts(
            frame["t"].to_numpy(), order, frame["handle"].to_numpy(), frame["patience"].to_numpy(), 6
        )
        ours = frame["start"].to_numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=1e-9)
        assert frame["overtaken"].sum() > 0  # the policy really reorders the queue


def _instance_with_callbacks(n: int, agents: int, seed: int) -> tuple[np.ndarray, ...]:
    """First calls plus, for half of them, the call-back they would make after abandoning."""
    rng = np.random.default_rng(seed)
    t0 = np.sort(rng.uniform(0, n / (agents * 0.9), n))
    p0 = rng.exponential(1.0, n)
    back = np.flatnonzero(rng.uniform(size=n) < 0.5)
    t1 = t0[back] + p0[back] + rng.exponential(2.0, back.size)
    arrival = np.concatenate([t0, t1])
    parent = np.concatenate([np.full(n, -1), back])
    patience = np.concatenate([p0, rng.exponential(1.0, back.size)])
    srt = np.argsort(arrival, kind="stable")
    new_of_old = np.empty(srt.size, dtype=np.int64)
    new_of_old[srt] = np.arange(srt.size)
    parent = np.where(parent[srt] >= 0, new_of_old[np.maximum(parent[srt], 0)], -1)
    arrival, patience = arrival[srt], patience[srt]
    key = rng.integers(0, 2, srt.size) * 1e6 + arrival - rng.exponential(0.3, srt.size)
    who = np.argsort(key, kind="stable")
    order = np.empty(srt.size, dtype=np.int64)
    order[who] = np.arange(srt.size)
    service = rng.exponential(1.0, srt.size)
    return arrival, order, who, service, patience, parent


def _simpy_starts_with_callbacks(arrival, order, service, patience, parent, agents):  # type: ignore[no-untyped-def]
    env = simpy.Environment()
    desk = simpy.PriorityResource(env, capacity=agents)
    start = np.full(arrival.size, np.nan)
    callbacks: dict[int, list[int]] = {}
    for i, q in enumerate(parent):
        if q >= 0:
            callbacks.setdefault(int(q), []).append(i)

    def contact(i: int):  # type: ignore[no-untyped-def]
        with desk.request(priority=int(order[i])) as req:
            got = yield req | env.timeout(patience[i])
            if req in got:
                start[i] = env.now
                yield env.timeout(service[i])
                return
        for j in callbacks.get(i, []):  # abandoned: the customer calls again, at the drawn moment
            env.process(later(j))

    def later(j: int):  # type: ignore[no-untyped-def]
        yield env.timeout(arrival[j] - env.now)
        yield env.process(contact(j))

    def source():  # type: ignore[no-untyped-def]
        for i in np.flatnonzero(parent < 0):
            yield env.timeout(arrival[i] - env.now)
            env.process(contact(int(i)))

    env.process(source())
    env.run()
    return start


def test_callbacks_match_simpy_and_the_numba_kernel() -> None:
    from fairserve.sim.engine import existing

    arrival, order, who, service, pat, parent = _instance_with_callbacks(3_000, 4, 9)
    ours = serve(arrival, order, who, service, pat, 4, kernel="python", parent=parent)
    theirs = _simpy_starts_with_callbacks(arrival, order, service, pat, parent, 4)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=1e-9)
    if _kernel.HAVE_NUMBA:
        fast = serve(arrival, order, who, service, pat, 4, kernel="numba", parent=parent)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(fast))
        np.testing.assert_array_equal(ours[~np.isnan(ours)], fast[~np.isnan(fast)])
    real = existing(parent, ours)
    happened = np.flatnonzero(real & (parent >= 0))
    skipped = np.flatnonzero(~real)
    assert happened.size > 0 and skipped.size > 0
    assert np.all(np.isnan(ours[parent[happened]]))  # a call-back follows an abandoned call
    assert np.all(~np.isnan(ours[parent[skipped]]) | ~real[parent[skipped]])


def test_scenario_callbacks_follow_abandoned_calls() -> None:
    seg = {"name": "a", "arrival_rate": 9.5, "handle_mean": 1.0, "patience_mean": 1.0}
    base = {"center": {"agents": 10, "duration": 400.0}, "segments": [seg]}
    again = {**base, "segments": [{**seg, "retrial_prob": 1.0, "retrial_delay_mean": 2.0, "max_retrials": 2}]}
    plain = run_replication(scenario_from_dict(base), _fifo(), np.random.default_rng(3))
    retry = run_replication(scenario_from_dict(again), _fifo(), np.random.default_rng(3))
    first = retry[retry["parent"] < 0]
    assert len(first) == len(plain)  # the first calls are the same draw
    happened = retry[retry["happened"] & (retry["parent"] >= 0)]
    parents = retry.loc[happened["parent"].to_numpy()]
    assert parents["abandoned"].all() and (happened["repeat"] == parents["repeat"].to_numpy() + 1).all()
    # with prob 1, every abandoned call below the last level calls again
    assert len(happened) == int((retry["abandoned"] & (retry["repeat"] < 2)).sum())
    assert retry["abandoned"].sum() > plain["abandoned"].sum()  # call-backs add load


def _fifo():  # type: ignore[no-untyped-def]
    from fairserve.sim.engine import key_function

    return key_function(lambda f: np.zeros(len(f)))


def test_whole_comparison_is_identical_on_the_python_and_numba_paths() -> None:
    scen = scenario_from_dict(
        {
            "center": {"agents": 8, "duration": 150.0, "warmup": 10.0},
            "segments": [
                {
                    "name": "gold",
                    "arrival_rate": 2.0,
                    "handle_mean": 1.0,
                    "patience_mean": 2.0,
                    "tier": "gold",
                    "influence": 0.9,
                    "clv": 800.0,
                },
                {
                    "name": "basic",
                    "arrival_rate": 6.0,
                    "handle_mean": 1.0,
                    "patience_mean": 1.5,
                    "tier": "basic",
                    "retrial_prob": 0.5,
                },
            ],
        }
    )
    from fairserve.sim.engine import compare_policies

    policies = ["fifo", "balanced", "influence-first", "tier-strict"]
    ref = compare_policies(scen, policies, replications=2, seed=8, kernel="python")
    fast = compare_policies(scen, policies, replications=2, seed=8, kernel="numba")
    for name in policies:
        assert ref["policies"][name]["segments"] == fast["policies"][name]["segments"]


def _plain(func):  # type: ignore[no-untyped-def]
    """The Python function behind a numba dispatcher (the function itself without numba)."""
    return getattr(func, "py_func", func)


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_heap_push_pop_and_replace_keep_the_order_of_heapq(dtype: type) -> None:
    import heapq

    rng = np.random.default_rng(11)
    for push, pop, replace in (
        (_kernel._heap_push, _kernel._heap_pop, _kernel._heap_replace),
        (_plain(_kernel._heap_push), _plain(_kernel._heap_pop), _plain(_kernel._heap_replace)),
    ):
        heap = np.empty(400, dtype=dtype)
        size = 0
        ref: list[float] = []
        popped, want = [], []
        for step in range(3_000):
            u = rng.uniform()
            if size < heap.size and (size == 0 or u < 0.45):
                value = dtype(rng.integers(0, 50))  # many ties
                size = push(heap, size, value)
                heapq.heappush(ref, value)
            elif u < 0.75:  # the least leaves and a new value comes in its place (a completion and a start)
                value = dtype(rng.integers(0, 50))
                popped.append(heap[0])
                replace(heap, size, value)
                want.append(heapq.heapreplace(ref, value))
            else:
                popped.append(heap[0])
                size = pop(heap, size)
                want.append(heapq.heappop(ref))
            assert size == len(ref) and (size == 0 or heap[0] == ref[0]), step
            assert sorted(heap[:size].tolist()) == sorted(ref), step
        assert popped == want and len(popped) > 1_000


def test_the_array_loop_in_plain_python_equals_the_reference_and_numba() -> None:
    arrival, order, who, service, pat, parent = _instance_with_callbacks(1_500, 3, 12)
    args = (arrival, order, who, service, pat, 3, parent, *_lanes(None))
    ref_start, ref_real, ref_forced = _kernel.serve_reference(*args)
    for loop in (_kernel.serve_arrays, _kernel.serve):
        start, real, forced = loop(*args)
        np.testing.assert_array_equal(start, ref_start)  # NaN where NaN, equal elsewhere
        np.testing.assert_array_equal(real, ref_real)
        assert not forced.any()
    assert np.isnan(ref_start).any() and not ref_real.all() and not ref_forced.any()


def test_queue_order_is_the_lexsort_of_rank_virtual_arrival_arrival_position() -> None:
    from fairserve.sim.engine import queue_order

    rng = np.random.default_rng(13)
    n = 5_000
    arrival = np.round(np.sort(rng.uniform(0, 100, n)), 1)  # ties in arrival
    cases = {
        "head starts": (rng.integers(0, 3, n), arrival - np.round(rng.exponential(2.0, n), 0)),
        "no head start": (rng.integers(0, 3, n), arrival.copy()),
        "one rank": (np.zeros(n, dtype=np.int64), arrival - rng.choice([0.0, 5.0], n)),
        "wide ranks": (rng.choice([-(2**20), 0, 2**40], n), arrival - rng.choice([0.0, 5.0], n)),
        "missing keys": (rng.integers(0, 2, n), np.where(rng.uniform(size=n) < 0.1, np.nan, arrival - 3.0)),
    }
    for name, (rank, va) in cases.items():
        for arr in (arrival, rng.permutation(arrival)):  # the second is not in arrival order: lexsort itself
            who, order = queue_order(rank, va, arr)
            want = np.lexsort((np.arange(n), arr, va, rank))
            np.testing.assert_array_equal(who, want, err_msg=name)
            np.testing.assert_array_equal(order[who], np.arange(n))
    for n_small in (0, 1):
        who, order = queue_order(np.zeros(n_small, np.int64), np.zeros(n_small), np.zeros(n_small))
        assert who.tolist() == order.tolist() == list(range(n_small))


def test_first_of_each_finds_first_rows_and_maps_every_row_back() -> None:
    from fairserve.sim.engine import first_of_each

    rng = np.random.default_rng(14)
    cases = (
        rng.integers(0, 40, 3_000),  # small integers: the compiled pass
        rng.integers(-7, 3, 1_000).astype(np.int8),
        rng.integers(0, 2**40, 50).repeat(3),  # a range too wide for a table: the hash factorisation
        rng.choice(np.array(["b", "a", "c"], dtype=object), 500),
    )
    for values in cases:
        first, inverse = first_of_each(values)
        np.testing.assert_array_equal(values[first][inverse], values)
        assert np.all(np.diff(first) > 0)  # in order of first appearance
        for k, row in enumerate(first):
            assert np.flatnonzero(values == values[row])[0] == row and inverse[row] == k
    first, inverse = first_of_each(np.empty(0, dtype=np.int64))
    assert first.size == inverse.size == 0


def test_existing_follows_chains_of_callbacks_like_the_loop_does() -> None:
    from fairserve.sim.engine import existing

    # 0 abandons -> 1 (happens) abandons -> 2 (happens) is served -> 3 (skipped) -> 4 (skipped: parent skipped)
    parent = np.array([-1, 0, 1, 2, 3, -1, 5])
    start = np.array([np.nan, np.nan, 1.0, np.nan, np.nan, 2.0, np.nan])
    assert existing(parent, start).tolist() == [True, True, True, False, False, True, False]
    assert existing(np.full(3, -1), np.full(3, np.nan)).all()
    arrival, order, who, service, pat, parent = _instance_with_callbacks(2_000, 3, 15)
    start, real, _ = _kernel.serve_reference(arrival, order, who, service, pat, 3, parent, *_lanes(None))
    np.testing.assert_array_equal(existing(parent, start), real)


def test_per_replication_metrics_equal_a_pandas_groupby_of_the_replication() -> None:
    """``replication_metrics`` (what ``compare_policies`` records) against pandas grouping the same frame."""
    from fairserve.sim.engine import resolve_policy
    from fairserve.sim.metrics import add_outcomes, replication_metrics

    scen = scenario_from_dict(
        {
            "center": {"agents": 5, "duration": 300.0, "warmup": 10.0},
            "segments": [
                {"name": "vip", "arrival_rate": 1.0, "handle_mean": 1.0, "patience_mean": 3.0, "tier": "gold"},
                {
                    "name": "chat",
                    "arrival_rate": 3.5,
                    "handle_mean": 1.0,
                    "patience_mean": 2.0,
                    "channel": "chat",
                    "influence": 0.95,
                    "clv": 50.0,
                    "value_percentile": 0.35,
                },
            ],
        }
    )
    _, policy = resolve_policy("influence-first")
    frame = add_outcomes(run_replication(scen, policy, np.random.default_rng(16)), scen)
    got = replication_metrics(frame)
    m = frame[frame["measured"]]

    def want(g):  # type: ignore[no-untyped-def]
        w = g["wait"].to_numpy(dtype=float)
        return {
            "arrivals": len(g),
            "mean_wait": w.mean(),
            "p90_wait": np.percentile(w, 90),
            "p95_wait": np.percentile(w, 95),
            "sla": g["sla_ok"].mean(),
            "abandon_rate": 1.0 - g["served"].mean(),
            "displacements": g["overtaken"].sum(),
            "revenue_at_risk": g["revenue_at_risk"].sum(),
        }

    def check(section, labels):  # type: ignore[no-untyped-def]
        groups = dict(m.groupby(labels, sort=False, observed=True).__iter__())
        assert sorted(got[section]) == sorted(str(k) for k in groups)
        for k, g in groups.items():
            for metric, value in want(g).items():
                assert got[section][str(k)][metric] == pytest.approx(value, rel=1e-12), (section, k, metric)

    check("segments", "segment")
    check("tiers", "tier")
    check("channels", "channel")
    vp = m["value_percentile"].to_numpy(dtype=float)
    decile = (np.minimum(np.floor(np.nan_to_num(vp) * 10), 9) + 1).astype(int)
    check("value_deciles", np.where(np.isnan(vp), "unknown", np.char.add("D", decile.astype(str))))
    assert list(got["value_deciles"]) == ["D4", "unknown"] and list(got["influence_deciles"]) == ["D10", "unknown"]
    assert set(got["tiers"]) == {"everyone", "known"} and set(got["channels"]) == {"phone", "chat"}
    assert got["all"]["all"]["arrivals"] == len(m)


ACME_POLICY = """
name = "acme-first"
version = "1"
strict = true

[[tiers]]
name = "acme"
when = { account_in = ["ACME"] }
sla = { phone = 1, email = 1440, chat = 2, social = 240 }

[[tiers]]
name = "others"
sla = { phone = 2, email = 1440, chat = 4, social = 240 }
"""


def test_the_policy_sees_every_signal_and_an_account_tier_matches_in_the_simulator(tmp_path: Path) -> None:
    import pandas as pd

    from fairserve.policy import load_policy
    from fairserve.sim.engine import _POLICY_COLUMNS, decide_contacts, key_function
    from fairserve.sim.scenario import draw_contacts

    base = pd.DataFrame({"customer_id": ["1", "2", "3"], "account": ["ACME", "Initech", None], "clv": [5.0, 6, 7]})
    scen = scenario_from_dict(
        {
            "center": {"agents": 3, "duration": 100.0},
            "segments": [
                {"name": "b2b", "arrival_rate": 2.0, "handle_mean": 1.0, "customers": "base"},
                {"name": "walk-in", "arrival_rate": 1.0, "handle_mean": 1.0, "channel": "social"},
            ],
        }
    )
    contacts = draw_contacts(scen, np.random.default_rng(8), base)
    seen: list[pd.DataFrame] = []

    def spy(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(frame)
        return key_function(lambda f: np.zeros(len(f)))(frame)

    decide_contacts(contacts, spy)
    assert list(seen[0].columns) == list(_POLICY_COLUMNS) and len(_POLICY_COLUMNS) == 18
    assert seen[0]["profit"].isna().all()  # a signal nobody gives is unknown, not absent
    path = tmp_path / "acme.toml"
    path.write_text(ACME_POLICY)
    tier = decide_contacts(contacts, load_policy(path))["tier"].astype(str)
    acme = (contacts["account"].astype(object) == "ACME").to_numpy()
    assert acme.any() and (~acme).any()
    assert (tier[acme] == "acme").all() and (tier[~acme] == "others").all()
    frame = run_replication(scen, load_policy(path), np.random.default_rng(8), customers=base)
    assert set(frame.loc[frame["account"].astype(object) == "ACME", "tier"].astype(str)) == {"acme"}


def test_a_decider_that_leaves_out_a_decision_column_is_refused_by_name() -> None:
    from fairserve.errors import FairserveError
    from fairserve.sim.engine import key_function

    def no_guarantee(frame):  # type: ignore[no-untyped-def]
        return key_function(lambda f: np.zeros(len(f)))(frame).drop(columns=["guarantee_seconds"])

    scen = scenario_from_dict(
        {"center": {"agents": 1, "duration": 5.0}, "segments": [{"name": "a", "arrival_rate": 1.0, "handle_mean": 1.0}]}
    )
    with pytest.raises(FairserveError, match="no guarantee_seconds column"):
        run_replication(scen, no_guarantee, np.random.default_rng(0))


def test_overtakes_counted_on_another_thread_arrive_when_read_and_errors_come_back() -> None:
    from fairserve.sim.engine import _Columns, _Later

    cols = _Columns({"wait": np.zeros(3)}, _Later(lambda: (np.arange(3), np.zeros(3, dtype=np.int64))))
    assert "overtaken" not in cols and cols["overtaken"].tolist() == [0, 1, 2] and "overtaken_influence" in cols
    with pytest.raises(KeyError):
        cols["other"]

    def fails() -> tuple[np.ndarray, np.ndarray]:
        raise ZeroDivisionError("on the other thread")

    with pytest.raises(ZeroDivisionError, match="other thread"):
        _Columns({}, _Later(fails))["overtaken_influence"]


def test_every_column_of_a_replication_frame_can_be_set() -> None:
    """The frame given to users has arrays of its own (pandas cannot set a value in a read-only column), also
    where the simulator shares one internally (no head start: the virtual arrival is the arrival)."""
    from fairserve.sim import load_scenario
    from fairserve.sim.engine import resolve_policy, run_replication

    scen = load_scenario("two-tiers")
    scen = scen.model_copy(update={"center": scen.center.model_copy(update={"duration": 30.0, "warmup": 0.0})})
    frame = run_replication(scen, resolve_policy("tier-strict")[1], np.random.default_rng(0))
    assert (frame["virtual_arrival"] == frame["arrival"]).all()
    for col in frame.columns:
        frame.loc[0, col] = frame[col].iloc[1]
        assert frame[col].iloc[0] == frame[col].iloc[1] or frame[col].iloc[[0, 1]].isna().all(), col
    from fairserve.sim.engine import decide_contacts
    from fairserve.sim.scenario import draw_contacts

    decisions = decide_contacts(draw_contacts(scen, np.random.default_rng(1)), resolve_policy("tier-strict")[1])
    for col in decisions.columns:
        decisions.loc[0, col] = decisions[col].iloc[1]
