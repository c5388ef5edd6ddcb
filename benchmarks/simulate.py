"""Benchmark: the simulator's event loop against simpy and ciw on the same queue.

Model: M/M/50, two classes with strict non-preemptive priority (class 0 first), arrival rates 15 and 30 per
unit (load 0.9), handle mean 1; optionally exponential patience (mean 2) for both classes. We time:

* ``fairserve (policy)``: the whole replication as ``compare_policies`` runs it -- draw arrivals, ONE
  ``decide_batch`` call of the built-in ``tier-strict`` policy, the numba event loop, the displacement count;
* ``fairserve (policy+metrics)``: the replication as ``compare_policies`` times it (its ``elapsed_s``): the draw,
  the decisions, the loop, the outcomes and the per-replication metrics;
* ``fairserve loop (numba)`` and ``fairserve loop (python)``: the event loop alone, on the same inputs;
* ``fairserve loop (numba, guarantee)``: the same with a wait guarantee of 0.5 for class 1, so that the
  guarantee probe runs at every dispatch (and serves the class-1 contacts that wait past it);
* ``simpy``: a ``PriorityResource`` with one process per contact (a request raced against a patience timeout);
* ``ciw``: a ``priority_classes`` network (``reneging_time_distributions`` for patience).

``--whole`` first prints the table a user sees: ``fairserve simulate`` on a scenario file of this model (the
built-in ``tier-strict`` policy, one replication, ``--json``), timed as a whole process from start to exit, with
the ``elapsed_s`` it reports, against simpy run as one whole script (imports, drawing the contacts, the run) in
the same run; medians of ``--repeat`` runs, and simpy's time over fairserve's. Each process's CPU time (user +
system, ``getrusage``) is shown too: on a shared, loaded machine it is the steadier figure.

Each engine runs the requested number of arrivals (ciw, much slower, on fewer unless ``--ciw-arrivals`` says
otherwise); with ``--repeat K`` every timing is the best of K runs (the machine is shared, so the best run is the
least disturbed one). Engines are compared in arrivals per second. Run:

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/simulate.py --arrivals 1000000
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

import numpy as np

RATES = (15.0, 30.0)
AGENTS = 50
PATIENCE = 2.0


def _inputs(n: int, seed: int, patience: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lam = sum(RATES)
    arrival = np.cumsum(rng.exponential(1 / lam, n))
    klass = (rng.uniform(size=n) >= RATES[0] / lam).astype(np.int64)
    service = rng.exponential(1.0, n)
    pat = rng.exponential(PATIENCE, n) if patience else np.full(n, np.inf)
    who = np.lexsort((np.arange(n), arrival, klass))
    order = np.empty(n, dtype=np.int64)
    order[who] = np.arange(n)
    return arrival, klass, order, who, service, pat


def bench_loop(n: int, patience: bool, kernel: str, guarantee: float | None = None) -> tuple[float, float]:
    """The event loop alone; ``guarantee``: a wait guarantee (time units) for class 1, which runs the probe."""
    from fairserve.sim.engine import serve

    arrival, klass, order, who, service, pat = _inputs(n, 1, patience)
    g = None if guarantee is None else np.where(klass == 1, guarantee, np.inf)
    if kernel == "numba":
        small = _inputs(1000, 2, patience)
        small_g = None if guarantee is None else np.full(1000, guarantee)
        serve(small[0], small[2], small[3], small[4], small[5], AGENTS, kernel="numba", guarantee=small_g)
    t0 = time.perf_counter()
    start = serve(arrival, order, who, service, pat, AGENTS, kernel=kernel, guarantee=g)  # type: ignore[arg-type]
    dt = time.perf_counter() - t0
    return dt, float(np.nanmean(np.where(np.isnan(start), pat, start - arrival)))


def bench_policy(n: int, patience: bool, with_metrics: bool = False) -> tuple[float, float]:
    from fairserve.sim.engine import resolve_policy, run_replication
    from fairserve.sim.scenario import scenario_from_dict

    lam = sum(RATES)
    segs = [
        {
            "name": n_,
            "arrival_rate": r,
            "handle_mean": 1.0,
            "tier": n_,
            **({"patience_mean": PATIENCE} if patience else {}),
        }
        for n_, r in zip(("gold", "basic"), RATES, strict=True)
    ]
    scen = scenario_from_dict({"center": {"agents": AGENTS, "duration": n / lam}, "segments": segs})
    _, decider = resolve_policy("tier-strict")  # its own file: gold before basic, FIFO within a tier
    if with_metrics:  # what compare_policies times per replication and policy: draw, decide, loop, metrics
        from fairserve.sim.engine import compare_policies

        result = compare_policies(scen, [decider], replications=1, seed=1, jobs=1)["policies"][decider.name]
        return result["elapsed_s"], result["all"]["all"]["mean_wait"], result["arrivals"]  # type: ignore[return-value]
    small = scenario_from_dict({"center": {"agents": AGENTS, "duration": 50.0}, "segments": segs})
    run_replication(small, decider, np.random.default_rng(0))  # compile the kernels outside the timing
    t0 = time.perf_counter()
    frame = run_replication(scen, decider, np.random.default_rng(1))
    dt = time.perf_counter() - t0
    return dt, float(frame["wait"].mean()), len(frame)  # type: ignore[return-value]


def bench_simpy(n: int, patience: bool) -> tuple[float, float]:
    import simpy

    arrival, klass, _o, _w, service, pat = _inputs(n, 1, patience)
    a, k, s, p = arrival.tolist(), klass.tolist(), service.tolist(), pat.tolist()
    waits = []
    env = simpy.Environment()
    desk = simpy.PriorityResource(env, capacity=AGENTS)

    def contact(i: int):  # type: ignore[no-untyped-def]
        with desk.request(priority=k[i]) as req:
            if patience:
                got = yield req | env.timeout(p[i])
                if req not in got:
                    waits.append(p[i])
                    return
            else:
                yield req
            waits.append(env.now - a[i])
            yield env.timeout(s[i])

    def source():  # type: ignore[no-untyped-def]
        for i in range(n):
            yield env.timeout(a[i] - env.now)
            env.process(contact(i))

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0, float(np.mean(waits))


def bench_ciw(n: int, patience: bool) -> tuple[float, float]:
    import ciw

    lam = sum(RATES)
    horizon = n / lam
    kwargs = {}
    if patience:
        kwargs["reneging_time_distributions"] = {
            "Class 0": [ciw.dists.Exponential(1 / PATIENCE)],
            "Class 1": [ciw.dists.Exponential(1 / PATIENCE)],
        }
    net = ciw.create_network(
        arrival_distributions={
            "Class 0": [ciw.dists.Exponential(RATES[0])],
            "Class 1": [ciw.dists.Exponential(RATES[1])],
        },
        service_distributions={"Class 0": [ciw.dists.Exponential(1.0)], "Class 1": [ciw.dists.Exponential(1.0)]},
        number_of_servers=[AGENTS],
        priority_classes={"Class 0": 0, "Class 1": 1},
        **kwargs,
    )
    ciw.seed(1)
    t0 = time.perf_counter()
    q = ciw.Simulation(net)
    q.simulate_until_max_time(horizon)
    dt = time.perf_counter() - t0
    recs = q.get_all_records()
    return dt, float(np.mean([r.waiting_time for r in recs])), len(recs)  # type: ignore[return-value]


SIMPY_SCRIPT = """
import sys, time
t_start = time.perf_counter()
import numpy as np
import simpy

n, agents, rates = int(sys.argv[1]), int(sys.argv[2]), (float(sys.argv[3]), float(sys.argv[4]))
rng = np.random.default_rng(1)
lam = sum(rates)
a = np.cumsum(rng.exponential(1 / lam, n)).tolist()
k = (rng.uniform(size=n) >= rates[0] / lam).astype(int).tolist()
s = rng.exponential(1.0, n).tolist()
waits = [[], []]
env = simpy.Environment()
desk = simpy.PriorityResource(env, capacity=agents)

def contact(i):
    with desk.request(priority=k[i]) as req:
        yield req
        waits[k[i]].append(env.now - a[i])
        yield env.timeout(s[i])

def source():
    for i in range(n):
        yield env.timeout(a[i] - env.now)
        env.process(contact(i))

env.process(source())
t0 = time.perf_counter()
env.run()
print("run_s", time.perf_counter() - t0, "mean_wait", [sum(w) / len(w) for w in waits])
"""


def _scenario_toml(n: int) -> str:
    lam = sum(RATES)
    segments = "".join(
        f'[[segments]]\nname = "{name}"\narrival_rate = {rate}\nhandle_mean = 1.0\ntier = "{name}"\n'
        for name, rate in zip(("gold", "basic"), RATES, strict=True)
    )
    return f'name = "mm{AGENTS}"\n[center]\nagents = {AGENTS}\nduration = {n / lam!r}\nwarmup = 0.0\n{segments}'


def _process(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd``; its wall time, its CPU time (user + system, from ``getrusage``) and its stdout."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, run.stdout


def bench_whole(n: int, repeat: int, skip_simpy: bool) -> list[tuple[str, float, float, float, str]]:
    """Median whole-process times: ``fairserve simulate`` (and its ``elapsed_s``) and simpy's whole script.

    Each row: name, wall time, CPU time (user + system) of the process, the in-process run, the mean waits.
    """
    import json
    import statistics
    import sys
    import tempfile
    from pathlib import Path

    cli = Path(sys.executable).with_name("fairserve")
    fairserve = [str(cli)] if cli.exists() else [sys.executable, "-m", "fairserve"]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "mm50.toml"
        scenario.write_text(_scenario_toml(n))
        script = Path(tmp) / "simpy_mm50.py"
        script.write_text(SIMPY_SCRIPT)
        runs: dict[str, list[tuple[float, float, float, str]]] = {"fairserve": [], "simpy": []}
        for _ in range(max(1, repeat)):
            wall, cpu, out = _process([*fairserve, "simulate", str(scenario), "--policy", "tier-strict",
                                       "--replications", "1", "--json"])
            payload = json.loads(out)
            segs = payload["policies"]["tier-strict"]["segments"]
            waits = ", ".join(f"{name} {segs[name]['mean_wait']:.4f}" for name in ("gold", "basic"))
            runs["fairserve"].append((wall, cpu, float(payload["elapsed_s"]), waits))
            if not skip_simpy:
                wall, cpu, out = _process([sys.executable, str(script), str(n), str(AGENTS), *map(str, RATES)])
                words = out.split()
                runs["simpy"].append((wall, cpu, float(words[1]), " ".join(words[3:])))
    medians: list[tuple[str, float, float, float, str]] = []
    for name, got in runs.items():
        if got:
            wall, cpu, inner = (statistics.median(float(r[i]) for r in got) for i in range(3))  # type: ignore[arg-type]
            medians.append((name, wall, cpu, inner, got[0][3]))
    return medians


def bench_stages(n: int, repeat: int) -> list[tuple[str, float, float]]:
    """Where one warmed replication of the whole-process model spends its time: per stage, the median CPU seconds
    (user + system) and minor page faults (first writes to fresh memory) over ``repeat`` replications.

    The stages are those of ``fairserve.sim.engine._replicate``, the function ``compare_policies`` times as
    ``elapsed_s``: drawing the contacts; deciding, ordering, the event loop and the overtakes; the outcomes; the
    metrics. ``_replicate`` counts the overtakes on a second thread while it computes the outcomes and the
    wait percentiles; here they are counted in their stage, in this thread, so each stage's CPU is its own.
    """
    import itertools
    import resource
    import statistics
    import tempfile
    from collections import ChainMap
    from pathlib import Path

    from fairserve.sim import load_scenario
    from fairserve.sim.engine import _METRIC_DECISIONS, _simulate, _warm, resolve_policy
    from fairserve.sim.metrics import outcome_columns, replication_metrics
    from fairserve.sim.scenario import draw_contacts

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mm50.toml"
        path.write_text(_scenario_toml(n))
        scenario = load_scenario(path)
    label, policy = resolve_policy("tier-strict")
    _warm((scenario, [(label, policy)], None, "auto", None))
    seen: dict[str, list[tuple[float, float]]] = {}

    def clock() -> tuple[float, float]:
        use = resource.getrusage(resource.RUSAGE_SELF)
        return use.ru_utime + use.ru_stime, float(use.ru_minflt)

    for rep in range(max(1, repeat)):
        marks = [("start", clock())]
        contacts = draw_contacts(scenario, np.random.default_rng(rep), shared=True)
        marks.append(("draw the contacts", clock()))
        drawn = {str(c): contacts[c] for c in contacts.columns}
        cols = ChainMap(_simulate(scenario, policy, contacts, "auto", _METRIC_DECISIONS), drawn)
        marks.append(("decide, order, event loop, overtakes", clock()))
        cols = cols.new_child(outcome_columns(cols, scenario, for_metrics=True))
        marks.append(("outcomes", clock()))
        replication_metrics(cols)
        marks.append(("metrics", clock()))
        for (_, (c0, f0)), (name, (c1, f1)) in itertools.pairwise(marks):
            seen.setdefault(name, []).append((c1 - c0, f1 - f0))
    return [(name, statistics.median(c for c, _ in v), statistics.median(f for _, f in v)) for name, v in seen.items()]


def best(run: Any, repeat: int, *args: Any) -> Any:
    """The run with the least time of ``repeat`` runs of ``run(*args)`` (its other outputs with it)."""
    runs = [run(*args) for _ in range(max(1, repeat))]
    return min(runs, key=lambda r: r[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arrivals", type=int, default=1_000_000)
    ap.add_argument("--ciw-arrivals", type=int, default=50_000)
    ap.add_argument("--python-arrivals", type=int, default=None, help="default: --arrivals")
    ap.add_argument("--skip", nargs="*", default=[], help="any of: simpy ciw python")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many runs per engine")
    ap.add_argument("--whole", action="store_true", help="first the whole-process table (fairserve simulate)")
    ap.add_argument("--only-whole", action="store_true", help="the whole-process table alone")
    ap.add_argument("--stages", action="store_true", help="only where one replication's time goes (CPU, faults)")
    args = ap.parse_args()
    n = args.arrivals
    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__}"
    )
    if args.stages:
        rows = bench_stages(n, args.repeat)
        print(f"\none warmed replication, {n:,} arrivals, tier-strict; medians of {max(1, args.repeat)}")
        print("| stage | CPU (user+sys) | minor page faults |\n|---|---|---|")
        for name, cpu, faults in rows:
            print(f"| {name} | {cpu:.3f} s | {faults:,.0f} |")
        print(f"| all | {sum(r[1] for r in rows):.3f} s | {sum(r[2] for r in rows):,.0f} |")
        return
    if args.whole or args.only_whole:
        import datetime as dt
        import os

        whole = bench_whole(n, args.repeat, "simpy" in args.skip)
        simpy_row = next((r for r in whole if r[0] == "simpy"), None)
        print(f"\nwhole processes, {n:,} arrivals, M/M/{AGENTS}, two strict-priority classes, load 0.9; "
              f"medians of {max(1, args.repeat)} run(s), {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
              f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("| command | whole process | its CPU (user+sys) | in-process run | simpy / this, whole | "
              "simpy / this, CPU | simpy / this, run | mean waits |")
        print("|---|---|---|---|---|---|---|---|")
        for name, wall, cpu, inner, waits in whole:
            label = ("`fairserve simulate mm50.toml --policy tier-strict --replications 1 --json` (run: elapsed_s)"
                     if name == "fairserve" else "simpy, one script (run: env.run())")
            ratios = [f"{peer / x:.1f}x" if simpy_row else "n/a"
                      for peer, x in zip(simpy_row[1:4] if simpy_row else (1.0,) * 3, (wall, cpu, inner), strict=True)]
            print(f"| {label} | {wall:.2f} s | {cpu:.2f} s | {inner:.3f} s | {' | '.join(ratios)} | {waits} |")
        if args.only_whole:
            return
    print(f"M/M/{AGENTS}, two strict-priority classes, load 0.9, handle mean 1")
    print(
        f"{'patience':<9}{'engine':<35}{'arrivals':>10}{'seconds':>10}{'arrivals/s':>13}{'mean wait':>11}{'x simpy':>9}"
    )
    for patience in (False, True):
        rows = []
        dt, w, m = best(bench_policy, args.repeat, n, patience)  # type: ignore[misc]
        rows.append(("fairserve (policy)", m, dt, w))
        dt, w, m = best(bench_policy, args.repeat, n, patience, True)  # type: ignore[misc]
        rows.append(("fairserve (policy+metrics)", m, dt, w))
        dt, w = best(bench_loop, args.repeat, n, patience, "numba")
        rows.append(("fairserve loop (numba)", n, dt, w))
        dt, w = best(bench_loop, args.repeat, n, patience, "numba", 0.5)
        rows.append(("fairserve loop (numba, guarantee)", n, dt, w))
        if "python" not in args.skip:
            pn = args.python_arrivals or n
            dt, w = best(bench_loop, args.repeat, pn, patience, "python")
            rows.append(("fairserve loop (python)", pn, dt, w))
        simpy_rate = float("nan")
        if "simpy" not in args.skip:
            dt, w = best(bench_simpy, args.repeat, n, patience)
            simpy_rate = n / dt
            rows.append(("simpy", n, dt, w))
        if "ciw" not in args.skip:
            dt, w, m = best(bench_ciw, args.repeat, args.ciw_arrivals, patience)  # type: ignore[misc]
            rows.append(("ciw", m, dt, w))
        for name, m, dt, w in rows:
            rate = m / dt
            print(
                f"{'on' if patience else 'off':<9}{name:<35}{m:>10,}{dt:>10.2f}{rate:>13,.0f}{w:>11.4f}"
                f"{rate / simpy_rate:>9.1f}"
            )


if __name__ == "__main__":
    main()
