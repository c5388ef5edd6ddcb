"""Benchmark the value commands at scale: 10M customers / 100M transactions on one 2-core, 24 GiB machine.

A transaction log is generated as Parquet (``--customers``, default 10,000,000, about ``--per-customer`` 10
transactions each, so about 100M rows), cached under ``--cache`` so that later runs reuse it. Each contender is
then run as the user runs it, a whole process on the file, timed from start to exit with the peak resident memory
of its whole process tree (the Python process and, for Spark, the JVMs it starts; the standalone cluster's
master, workers and executors are added to the tree):

* ``duckdb``: ``fairserve value fit LOG --out MODEL`` (summary + fit) then ``fairserve value score LOG --model
  MODEL --out SCORES.parquet`` (summary + score), and ``fairserve value fit LOG --scores-out SCORES.parquet``
  (one pass: summary, fit and score);
* ``spark local[*]``: the same commands with ``--engine spark`` (and ``--spark-master 'local[*]'`` when the
  commands take it);
* ``spark cluster``: the same against a loopback standalone cluster (``tests/spark_cluster.py``:
  a master and two workers of one core each), when the commands take ``--spark-master``;
* ``lifetimes``: the field's library as one script (read, ``summary_data_from_transaction_data``, BG/NBD +
  Gamma-Gamma fit, P(alive) and CLV, written to Parquet; the script of ``benchmarks/value.py``) on the first
  1M, 2M, 4M, ... customers of the same log, doubling until a run takes longer than ``--lifetimes-limit``
  seconds (15 minutes) or would need more memory than ``--memory-cap``.

Every run is stopped (its process tree killed) past ``--timeout`` seconds or ``--memory-cap`` GiB of resident
memory, and reported as such. Times are medians of ``--repeats`` runs. The table is printed and the results
written as JSON (``--out-json``).

The log: customer ``i`` joins on a day uniform over the first half year of 2024-01-01 .. 2025-06-30 (547 days)
and buys on that day; its purchase rate is Gamma distributed (shape 0.9) across customers, its lifetime
exponential (mean 400 days), and its number of further purchases Poisson with mean rate x (days alive in the
window), scaled so that the log has ``--per-customer`` transactions a customer on average; those purchases fall
on days uniform over the customer's time alive; each amount is Gamma(4) with a customer-specific mean
(Gamma distributed across customers). The per-customer draws are NumPy's (seeded); the per-transaction draws
are DuckDB SQL hashing (seed, customer, purchase number), so the log is the same whatever the thread count; rows
are written in date order, as a log accrues.

    python benchmarks/scale.py                      # full size: 10M customers, ~100M transactions
    python benchmarks/scale.py --small              # 200k customers, ~2M transactions: a quick check
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

START = dt.date(2024, 1, 1)
DAYS = 547  # 2024-01-01 .. 2025-06-30, about a year and a half
END = START + dt.timedelta(days=DAYS - 1)
JOIN_DAYS = 182
SEED = 2026
GiB = 2**30


# ------------------------------------------------------------------------------------------------- data


def generate(n_customers: int, per_customer: float, path: Path, seed: int = SEED, threads: int | None = None,
             memory_limit: str = "8GiB") -> dict[str, Any]:
    """Write the log of ``n_customers`` customers to ``path`` (Parquet, date order); return its facts."""
    import duckdb
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    birth = rng.integers(0, JOIN_DAYS, n_customers).astype(np.int32)
    lifetime = rng.exponential(400.0, n_customers)
    alive = np.minimum(lifetime, DAYS - 1 - birth).astype(np.float64)  # days alive after the first purchase
    rate = rng.gamma(0.9, 1.0, n_customers)
    exposure = rate * alive
    scale = (per_customer - 1.0) / float(exposure.mean())
    extra = rng.poisson(exposure * scale).astype(np.int32)
    spend_mean = rng.gamma(3.0, 15.0, n_customers)  # mean amount per purchase, by customer
    customers = pa.table({
        "id": pa.array(np.arange(n_customers, dtype=np.int64)),
        "birth": pa.array(birth),
        "alive": pa.array(alive),
        "n": pa.array(extra + 1),
        "spend": pa.array(spend_mean),
    })
    del birth, lifetime, alive, rate, exposure, extra, spend_mean
    tmp = path.with_name(path.name + ".part")
    con = duckdb.connect()
    spill = tempfile.TemporaryDirectory(prefix="scale-gen-", dir=path.parent)
    try:
        con.execute("SET temp_directory = ?", [spill.name])
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = true")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.register("customers", customers)
        width = max(7, len(str(n_customers - 1)))
        # u(k): a uniform in (0, 1) from a hash of (seed, customer, purchase number, k): no shared generator
        u = "((hash({s}, id, j, {k}) >> 11)::DOUBLE + 0.5) / 9007199254740992.0"
        uk = [u.format(s=seed, k=k) for k in range(5)]
        amount = f"round(greatest(0.01, -ln({uk[1]} * {uk[2]} * {uk[3]} * {uk[4]}) * spend / 4.0), 2)"
        con.execute(f"""
            COPY (
                SELECT 'C' || lpad(id::VARCHAR, {width}, '0') AS customer_id,
                       DATE '{START.isoformat()}' + (birth + CASE WHEN j = 0 THEN 0
                           ELSE least(floor({uk[0]} * (alive + 1)), alive)::INTEGER END) AS date,
                       {amount} AS amount
                FROM (SELECT id, birth, alive, spend, unnest(range(n)) AS j FROM customers)
                ORDER BY date
            ) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000, COMPRESSION zstd)
        """)
        rows, n_cust, first, last = con.execute(
            f"SELECT count(*), count(DISTINCT customer_id), min(date), max(date) FROM read_parquet('{tmp}')"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
        spill.cleanup()
    tmp.rename(path)
    facts = {"customers": int(n_cust), "transactions": int(rows), "first_date": str(first), "last_date": str(last),
             "bytes": path.stat().st_size, "seed": seed}
    path.with_suffix(".json").write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def cached_log(cache: Path, n_customers: int, per_customer: float, log: Callable[[str], None]) -> tuple[Path, dict]:
    """The log of ``n_customers`` under ``cache`` (generated once; the facts beside it in a .json)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"scale-{n_customers}-{per_customer:g}-{SEED}.parquet"
    if path.exists() and path.with_suffix(".json").exists():
        return path, json.loads(path.with_suffix(".json").read_text())
    log(f"generating {n_customers:,} customers x ~{per_customer:g} transactions -> {path}")
    start = time.perf_counter()
    facts = generate(n_customers, per_customer, path)
    facts["generate_s"] = time.perf_counter() - start
    path.with_suffix(".json").write_text(json.dumps(facts, indent=2) + "\n")
    log(f"  {facts['transactions']:,} transactions, {facts['bytes'] / 2**20:,.0f} MiB, "
        f"{facts['generate_s']:.0f} s")
    return path, facts


def subset_log(source: Path, n_customers: int, width: int) -> Path:
    """The first ``n_customers`` customers of ``source`` (all their transactions), cached beside it."""
    import duckdb

    path = source.with_name(source.stem + f".first{n_customers}.parquet")
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".part")
    bound = "C" + str(n_customers).zfill(width)
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"COPY (SELECT * FROM read_parquet('{source}') WHERE customer_id < '{bound}') "
                    f"TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000, COMPRESSION zstd)")
    finally:
        con.close()
    tmp.rename(path)
    return path


# ------------------------------------------------------------------------------------------- measuring


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, of every process on the machine (from /proc)."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree(roots: Sequence[int]) -> list[int]:
    """``roots`` and all their descendants."""
    kids = _children()
    seen: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo.extend(kids.get(pid, []))
    return seen


def rss_bytes(pids: Sequence[int]) -> int:
    """The resident memory of ``pids`` together."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * page
        except OSError:
            continue
    return total


def run_measured(cmd: list[str], timeout: float, memory_cap: float, env: dict[str, str] | None = None,
                 also: Sequence[int] = (), log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run ``cmd`` to its end; its wall time and the peak resident memory of its process tree.

    The tree is sampled every 0.2 s (plus ``also``: processes outside the tree that work for it, such as a
    standalone cluster's). Past ``timeout`` seconds or ``memory_cap`` bytes the tree is killed and the run
    reported as such.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})},
                                start_new_session=True)
        peak = 0
        stopped = ""
        while proc.poll() is None:
            pids = tree([proc.pid, *also])
            peak = max(peak, rss_bytes(pids))
            elapsed = time.perf_counter() - start
            if elapsed > timeout:
                stopped = f"stopped after {timeout:.0f} s (the time limit)"
            elif peak > memory_cap:
                stopped = f"stopped at {peak / GiB:.1f} GiB resident (the memory cap)"
            if stopped:
                for pid in tree([proc.pid]):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.2)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if stopped:
        return {"error": stopped, "wall": wall, "peak_rss_gib": peak / GiB}
    if proc.returncode != 0:
        tail = [line for line in errors.strip().splitlines() if line.strip()][-3:]
        log(f"    exit {proc.returncode}: {' | '.join(tail)}")
        return {"error": f"exit {proc.returncode}: {tail[-1] if tail else ''}", "wall": wall,
                "peak_rss_gib": peak / GiB}
    return {"wall": wall, "peak_rss_gib": peak / GiB, "stdout": text}


# ------------------------------------------------------------------------------------------- contenders


def _fairserve() -> list[str]:
    cli = Path(sys.executable).with_name("fairserve")
    return [str(cli)] if cli.exists() else [sys.executable, "-m", "fairserve"]


def spark_flags() -> bool:
    """Whether ``fairserve value fit`` takes ``--spark-master`` (the Spark path of issue 15, item 1)."""
    done = subprocess.run([*_fairserve(), "value", "fit", "--help"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    return "--spark-master" in done.stdout


def commands(data: Path, work: Path, engine: list[str], one_pass_only: bool = False, name: str = "duckdb"
             ) -> dict[str, list[list[str]]]:
    """The commands a user types for fit and score, as lists of whole processes run one after the other.

    The scores go to ``SCORES.parquet`` (DuckDB: one file; Spark: a folder of part files), named after the engine.
    """
    fs = _fairserve()
    model, scores = str(work / f"model-{name}.json"), str(work / f"scores-{name}.parquet")
    out = {"fit --scores-out": [[*fs, "value", "fit", str(data), *engine, "--out", model, "--scores-out", scores]]}
    if not one_pass_only:
        out["fit"] = [[*fs, "value", "fit", str(data), *engine, "--out", model]]
        out["score"] = [[*fs, "value", "score", str(data), *engine, "--model", model, "--out", scores]]
    return out


def lifetimes_script(work: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).parent))
    from value import LIFETIMES_SCRIPT  # the same script as the whole-process benchmark of value.py

    script = work / "lifetimes_clv.py"
    script.write_text(LIFETIMES_SCRIPT)
    return script


STAGES_SCRIPT = """
import json, sys, time
from pathlib import Path
from fairserve import io
from fairserve.value import fit_value_model, score_customers, summarise

src, out, limit = sys.argv[1], sys.argv[2], sys.argv[3] or None
laps, last = {}, time.perf_counter()
def lap(name):
    global last
    now = time.perf_counter()
    laps[name] = now - last
    last = now
lap("start")
summary = summarise(src, memory_limit=limit)
lap("summary")
model = fit_value_model(summary)
lap("fit")
scores = score_customers(summary.customers, model)
lap("score")
io.write_table(scores, out)
lap("write")
print("RESULT " + json.dumps({"stages": laps, "customers": len(scores), "clv_total": float(scores["clv"].sum())}))
"""


def bench_stages(data: Path, work: Path, limits: Sequence[str], timeout: float, cap: float,
                 log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Summary, fit, score and write timed inside one process per DuckDB memory limit ('' = fairserve's own)."""
    script = work / "stages.py"
    script.write_text(STAGES_SCRIPT)
    out: dict[str, dict[str, Any]] = {}
    for limit in limits:
        log(f"  duckdb stages, memory limit {limit or 'default'} ...")
        run = run_measured([sys.executable, str(script), str(data), str(work / "stages.parquet"), limit],
                           timeout, cap, None, (), log)
        line = next((x for x in run.pop("stdout", "").splitlines() if x.startswith("RESULT ")), "")
        if line:
            run.update(json.loads(line[len("RESULT "):]))
        log(f"    {run.get('error', '')} {run['wall']:.1f} s, peak {run['peak_rss_gib']:.2f} GiB, "
            f"{run.get('stages')}")
        out[limit or "default"] = run
    return out


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {k: v for k, v in runs[-1].items() if k != "stdout"}
    return {"wall": statistics.median(r["wall"] for r in ok), "peak_rss_gib": statistics.median(
        r["peak_rss_gib"] for r in ok), "runs": len(ok), "walls": [round(r["wall"], 2) for r in ok]}


def bench_commands(label: str, cmds: dict[str, list[list[str]]], repeats: int, timeout: float, cap: float,
                   env: dict[str, str] | None, also: Sequence[int], log: Callable[[str], None]
                   ) -> dict[str, dict[str, Any]]:
    results: dict[str, list[dict[str, Any]]] = {}
    for i in range(repeats):
        for name, steps in cmds.items():
            if results.get(name) and "error" in results[name][-1]:
                continue
            log(f"  {label}: {name} ({i + 1}/{repeats}) ...")
            runs = [run_measured(cmd, timeout, cap, env, also, log) for cmd in steps]
            bad = next((r for r in runs if "error" in r), None)
            run = bad or {"wall": sum(r["wall"] for r in runs), "peak_rss_gib": max(r["peak_rss_gib"] for r in runs)}
            log(f"    {run.get('error', '')} {run['wall']:.1f} s, peak {run['peak_rss_gib']:.2f} GiB")
            results.setdefault(name, []).append(run)
    return {name: _median(runs) for name, runs in results.items()}


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _line(a: dict[str, Any], b: dict[str, Any], key: str, n: int) -> float:
    """``key`` at ``n`` customers on the line through runs ``a`` and ``b``."""
    slope = (b[key] - a[key]) / (b["customers"] - a["customers"])
    return float(b[key] + slope * (n - b["customers"]))


def bench_lifetimes(data: Path, facts: dict[str, Any], work: Path, limit: float, cap: float, start: int,
                    log: Callable[[str], None]) -> list[dict[str, Any]]:
    """lifetimes on the first ``start``, 2 x ``start``, ... customers, until a run passes ``limit`` seconds."""
    script = lifetimes_script(work)
    width = max(7, len(str(facts["customers"] - 1)))
    out: list[dict[str, Any]] = []
    n = start
    while True:
        if n >= facts["customers"]:
            n, path = facts["customers"], data
        else:
            path = subset_log(data, n, width)
        ok = [r for r in out if "error" not in r]
        if len(ok) >= 2:  # memory and time grow about linearly with the customers: a line through the last two
            projected, wall = (_line(ok[-2], ok[-1], key, n) for key in ("peak_rss_gib", "wall"))
            if projected * GiB > cap:
                out.append({"customers": n, "error": f"not run: projected {projected:.1f} GiB resident (a line "
                            f"through the runs of {ok[-2]['customers']:,} and {ok[-1]['customers']:,} customers) "
                            f"is over the memory cap of {cap / GiB:.1f} GiB",
                            "projected_wall": wall, "projected_peak_rss_gib": projected})
                log(f"  lifetimes {n:,}: {out[-1]['error']}")
                break
        log(f"  lifetimes: first {n:,} customers ...")
        run = run_measured([sys.executable, str(script), str(path), str(work / "lifetimes.parquet")], limit, cap,
                           {"PYTHONWARNINGS": "ignore"}, (), log)
        run.pop("stdout", None)
        run["customers"] = n
        run["transactions"] = _rows(path)
        log(f"    {run.get('error', '')} {run['wall']:.1f} s, peak {run['peak_rss_gib']:.2f} GiB")
        out.append(run)
        if "error" in run or n >= facts["customers"]:
            break
        n *= 2
    return out


# ------------------------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    import duckdb
    import pandas as pd

    cpu = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        mem = int(fh.readline().split()[1]) * 1024
    try:
        import pyspark

        spark = pyspark.__version__
    except ImportError:
        spark = None
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem / GiB, 1), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pd.__version__, "pyspark": spark, "load_average": os.getloadavg(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def table(results: dict[str, Any]) -> str:
    facts = results["log"]
    lines = [f"{facts['customers']:,} customers, {facts['transactions']:,} transactions "
             f"(Parquet, {facts['bytes'] / 2**20:,.0f} MiB)", "",
             "| engine | command (whole processes) | wall time | peak RSS of the process tree (GiB) | runs |",
             "|---|---|---|---|---|"]
    for engine, cmds in results["commands"].items():
        for name, r in cmds.items():
            shown = f"`fairserve value {name}`"
            if "error" in r:
                lines.append(f"| {engine} | {shown} | {r['error']} | {r.get('peak_rss_gib', 0):.2f} | |")
            else:
                lines.append(f"| {engine} | {shown} | {r['wall']:.1f} s | {r['peak_rss_gib']:.2f} | {r['runs']} |")
    stages = results.get("stages") or {}
    if stages:
        lines += ["", "| DuckDB memory limit (one process, library calls; a limit sends the log to DuckDB) | summary "
                  "| fit | score | write | total | peak RSS (GiB) |", "|---|---|---|---|---|---|---|"]
        for limit, r in stages.items():
            if "stages" not in r:
                lines.append(f"| {limit} | {r.get('error', '')} | | | | | |")
                continue
            st = r["stages"]
            shown = ("none given (a log that fits in memory: the native summary, docs/value.md)"
                     if limit == "default" else limit)
            lines.append(f"| {shown} | {st['summary']:.1f} s | {st['fit']:.1f} s | {st['score']:.1f} s "
                         f"| {st['write']:.1f} s | {r['wall']:.1f} s | {r['peak_rss_gib']:.2f} |")
    life = results.get("lifetimes") or []
    if life:
        lines += ["", "| lifetimes, one script, first N customers of the log | transactions | wall time "
                  "| peak RSS (GiB) |", "|---|---|---|---|"]
        for r in life:
            if "projected_wall" in r:
                lines.append(f"| {r['customers']:,} | | not run, projected {r['projected_wall']:.0f} s "
                             f"| projected {r['projected_peak_rss_gib']:.1f}, over the cap of "
                             f"{results['memory_cap_gib']:.1f} |")
            elif "error" in r:
                lines.append(f"| {r['customers']:,} | {r.get('transactions', 0):,} | {r['error']} | |")
            else:
                lines.append(f"| {r['customers']:,} | {r.get('transactions', 0):,} | {r['wall']:.1f} s "
                             f"| {r['peak_rss_gib']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--customers", type=int, default=10_000_000)
    p.add_argument("--per-customer", type=float, default=10.0, help="mean transactions a customer [10]")
    p.add_argument("--small", action="store_true", help="200,000 customers, ~2M transactions: a quick check")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "fairserve-scale",
                   help="where the generated logs are kept [%(default)s]")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--only", default="duckdb,lifetimes,spark-local,spark-cluster",
                   help="comma-separated contenders [%(default)s]")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds a command may run [%(default)s]")
    p.add_argument("--lifetimes-limit", type=float, default=900.0, help="seconds a lifetimes run may take")
    p.add_argument("--lifetimes-start", type=int, default=1_000_000, help="customers of the first lifetimes run")
    p.add_argument("--memory-cap", type=float, default=None,
                   help="GiB of resident memory at which a run is stopped [80%% of the memory available]")
    p.add_argument("--spark-memory", default="8g",
                   help="the Spark driver's memory (local[*]: the executors' too) [%(default)s]")
    p.add_argument("--driver-memory", default="4g", help="the Spark driver's memory on the cluster [%(default)s]")
    p.add_argument("--worker-memory", default="3g", help="each cluster worker's (and executor's) memory [%(default)s]")
    p.add_argument("--one-pass-spark", action="store_true",
                   help="Spark: only `fit --scores-out` (not fit and score as two commands)")
    p.add_argument("--stage-limits", default=",3GiB",
                   help="DuckDB memory limits of the per-stage runs, comma-separated ('' = fairserve's own, "
                        "sized from the log) [%(default)s]")
    p.add_argument("--out-json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.small:
        args.customers = 200_000
        args.lifetimes_start = 50_000
    only = set(args.only.split(","))

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    with open("/proc/meminfo") as fh:
        available = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable"))
    cap = args.memory_cap * GiB if args.memory_cap else 0.8 * available
    data, facts = cached_log(args.cache, args.customers, args.per_customer, log)
    results: dict[str, Any] = {"machine": machine(), "log": facts, "memory_cap_gib": cap / GiB,
                               "repeats": args.repeats, "commands": {}, "notes": []}
    log(f"log: {data} ({facts['customers']:,} customers, {facts['transactions']:,} transactions); "
        f"memory cap {cap / GiB:.1f} GiB")
    with tempfile.TemporaryDirectory(prefix="scale-", dir=args.cache) as tmp:
        work = Path(tmp)
        if "duckdb" in only:
            results["commands"]["duckdb"] = bench_commands(
                "duckdb", commands(data, work, []), args.repeats, args.timeout, cap, None, (), log)
            results["stages"] = bench_stages(data, work, args.stage_limits.split(","), args.timeout, cap, log)
        if "lifetimes" in only:
            results["lifetimes"] = bench_lifetimes(data, facts, work, args.lifetimes_limit, cap,
                                                   args.lifetimes_start, log)
        flags = spark_flags() if {"spark-local", "spark-cluster"} & only else False
        if "spark-local" in only:
            if flags:
                engine = ["--engine", "spark", "--spark-master", "local[*]",
                          "--spark-conf", f"spark.driver.memory={args.spark_memory}"]
                label, env = "spark local[*]", None
            else:
                engine, label = ["--engine", "spark"], "spark (the session's own master)"
                env = {"PYSPARK_SUBMIT_ARGS": f"--driver-memory {args.spark_memory} pyspark-shell"}
                results["notes"].append("value fit has no --spark-master: Spark ran with the session's "
                                        "hard-wired master")
            results["commands"][label] = bench_commands(
                label, commands(data, work, engine, args.one_pass_spark, "spark-local"), args.repeats,
                args.timeout, cap, env, (), log)
        if "spark-cluster" in only:
            if not flags:
                results["notes"].append("value fit has no --spark-master: the loopback cluster was not run")
                log("  spark cluster: skipped (no --spark-master flag)")
            else:
                sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
                from spark_cluster import start_cluster

                cluster = start_cluster(workers=2, cores=1, memory=args.worker_memory)
                try:
                    engine = ["--engine", "spark", "--spark-master", cluster.url,
                              "--spark-conf", f"spark.executor.memory={args.worker_memory}",
                              "--spark-conf", f"spark.driver.memory={args.driver_memory}"]
                    results["commands"]["spark cluster (2 workers x 1 core)"] = bench_commands(
                        "spark cluster", commands(data, work, engine, args.one_pass_spark, "spark-cluster"),
                        args.repeats, args.timeout, cap, cluster.env(), [c.pid for c in cluster.processes], log)
                finally:
                    cluster.stop()
    results["machine"]["load_average_end"] = os.getloadavg()
    print(table(results))
    for note in results["notes"]:
        print(f"note: {note}")
    if args.out_json is not None:
        args.out_json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
