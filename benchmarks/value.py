"""Benchmark the value pipeline: fairserve vs lifetimes vs pymc-marketing (MAP) on a simulated log.

A log of ``--customers`` customers (default 1,000,000, about 10 transactions each) is drawn from a BG/NBD process
with Gamma-Gamma spend (vectorised NumPy, seeded) and written to Parquet. Each library then runs the same pipeline
in its own subprocess, timed by stage:

* ``rfm``: read the log and build the (frequency, recency, T, monetary_value) summary;
* ``fit``: fit BG/NBD and Gamma-Gamma (pymc-marketing: ``fit(method="map")``);
* ``clv``: p_alive and 12-month discounted CLV (monthly rate 0.01, 30-day months) for every customer;

plus ``end to end`` (their sum) and the process's own peak resident memory (``benchmarks/_peak.py``).
Parameters are compared with lifetimes' (relative difference). Times are medians of ``--repeats``
runs. pymc-marketing is run with ``--pymc-python`` (a separate environment; it is not a fairserve dependency) and
reported as not installed when that interpreter cannot import it.

    python benchmarks/value.py --customers 1000000 --repeats 1 --out-md /tmp/value.md

The first table (``--mode whole``, the default) times what a user runs, as whole processes from start to exit,
imports and file reading included: the ``fairserve value`` commands on the log as CSV and as Parquet (``fit``
then ``score``, two processes; and ``fit --scores-out``, one), against lifetimes run as one whole script on the
same file (read, RFM summary, BG/NBD + Gamma-Gamma fit, p_alive and 12-month CLV, scores written to Parquet), in
the same run. Each is the median of ``--repeats`` runs; the ratio is lifetimes' time (or peak memory) over
fairserve's. ``--mode library`` gives the per-stage table of library calls described above; ``--mode both`` both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _peak import run_measured

TRUE = {"r": 1.0, "alpha": 30.0, "a": 0.9, "b": 9.0, "p": 6.0, "q": 4.0, "gamma": 15.0}
START = dt.date(2020, 1, 1)
DAYS = 730  # the log covers two years; customers join uniformly during the first
END = START + dt.timedelta(days=DAYS)
LIBS = ("fairserve", "lifetimes", "pymc-marketing")
STAGES = ("rfm", "fit", "clv")


# ------------------------------------------------------------------------------------------------- data


def generate(n_customers: int, path: Path, seed: int = 2024) -> int:
    """Draw a BG/NBD + Gamma-Gamma transaction log and write it to ``path`` (Parquet); return its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    birth = rng.integers(0, 365, n_customers)
    horizon = (DAYS - birth).astype(np.float64)
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n_customers)
    drop = rng.beta(TRUE["a"], TRUE["b"], n_customers)
    nu = rng.gamma(TRUE["q"], 1.0 / TRUE["gamma"], n_customers)
    who = [np.arange(n_customers)]
    when = [np.zeros(n_customers)]
    clock = np.zeros(n_customers)
    active = np.arange(n_customers)
    while active.size:  # one round per purchase number; the active set shrinks geometrically
        clock[active] += rng.exponential(1.0, active.size) / lam[active]
        active = active[clock[active] <= horizon[active]]
        who.append(active)
        when.append(clock[active].copy())
        active = active[rng.random(active.size) >= drop[active]]
    cust = np.concatenate(who)
    day = birth[cust] + np.floor(np.concatenate(when)).astype(np.int64)
    amount = np.round(rng.gamma(TRUE["p"], 1.0 / nu[cust]), 2).clip(min=0.01)
    ids = np.char.add("C", np.char.zfill(cust.astype("U7"), 7))
    dates = (np.datetime64(START.isoformat(), "D") + day).astype("datetime64[D]")
    table = pa.table({"customer_id": pa.array(ids), "date": pa.array(dates), "amount": pa.array(amount)})
    pq.write_table(table, path, row_group_size=1_000_000)
    return len(cust)


# --------------------------------------------------------------------------------------- the pipelines


def _timer() -> tuple[dict[str, float], Any]:
    times: dict[str, float] = {}
    last = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        times[stage] = now - last[0]
        last[0] = now

    return times, lap


def run_fairserve(data: Path) -> dict[str, Any]:
    from fairserve.value import BetaGeoModel, GammaGammaModel, discounted_clv, summarise

    times, lap = _timer()
    s = summarise(data, calibration_end=END, period="day", memory_limit=os.environ.get("BENCH_MEMORY_LIMIT") or None)
    lap("rfm")
    c, sp = s.compressed, s.spend
    bg = BetaGeoModel().fit(c["frequency"], c["recency"], c["T"], weights=c["weight"])
    gg = GammaGammaModel().fit(sp["frequency"], sp["monetary_value"], weights=sp["weight"])
    lap("fit")
    cu = s.customers
    f, r, t, m = (cu[k].to_numpy(np.float64) for k in ("frequency", "recency", "T", "monetary_value"))
    alive = bg.p_alive(f, r, t)
    clv = discounted_clv(bg, gg, f, r, t, m, horizon_months=12, discount_rate=0.01, period_days=1.0)
    lap("clv")
    return {"times": times, "params": {**bg.params_, **gg.params_}, "customers": len(cu),
            "clv_total": float(clv.sum()), "p_alive_mean": float(alive.mean())}


def run_lifetimes(data: Path) -> dict[str, Any]:
    import warnings

    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    warnings.filterwarnings("ignore")
    times, lap = _timer()
    log = pd.read_parquet(data)
    s = summary_data_from_transaction_data(log, "customer_id", "date", monetary_value_col="amount",
                                           observation_period_end=END.isoformat(), freq="D")
    lap("rfm")
    bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    lap("fit")
    alive = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    clv = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                      time=12, discount_rate=0.01, freq="D")
    lap("clv")
    params = {k: float(v) for k, v in bgf.params_.items()}
    params.update({k: float(v) for k, v in ggf.params_.items()})
    params = {"r": params["r"], "alpha": params["alpha"], "a": params["a"], "b": params["b"],
              "p": params["p"], "q": params["q"], "gamma": params["v"]}
    return {"times": times, "params": params, "customers": len(s), "clv_total": float(np.sum(clv)),
            "p_alive_mean": float(np.mean(alive))}


def run_pymc(data: Path) -> dict[str, Any]:
    import warnings

    import pandas as pd
    from pymc_marketing import clv as pclv

    warnings.filterwarnings("ignore")
    times, lap = _timer()
    log = pd.read_parquet(data)
    s = pclv.rfm_summary(log, "customer_id", "date", monetary_value_col="amount",
                         observation_period_end=END.isoformat(), time_unit="D")
    lap("rfm")
    bg = pclv.BetaGeoModel(data=s[["customer_id", "frequency", "recency", "T"]])
    bg.fit(method="map", progressbar=False)
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gg = pclv.GammaGammaModel(data=rep[["customer_id", "frequency", "monetary_value"]])
    gg.fit(method="map", progressbar=False)
    lap("fit")
    alive = bg.expected_probability_alive(data=s)
    clv = gg.expected_customer_lifetime_value(transaction_model=bg, data=s, future_t=12, discount_rate=0.01,
                                              time_unit="D")
    lap("clv")
    post_bg, post_gg = bg.idata.posterior, gg.idata.posterior  # MAP: one draw
    params = {k: float(post_bg[k].values.mean()) for k in ("r", "alpha", "a", "b")}
    params.update({k: float(post_gg[v].values.mean()) for k, v in (("p", "p"), ("q", "q"), ("gamma", "v"))})
    return {"times": times, "params": params, "customers": len(s), "clv_total": float(clv.values.sum()),
            "p_alive_mean": float(alive.values.mean())}


RUNNERS = {"fairserve": run_fairserve, "lifetimes": run_lifetimes, "pymc-marketing": run_pymc}


def child(lib: str, data: Path) -> None:
    """Run one library's pipeline and print its result as JSON (the parent reads the peak RSS)."""
    try:
        result = RUNNERS[lib](data)
    except ImportError as exc:
        result = {"error": f"not installed ({str(exc).splitlines()[0]})"}
    print("RESULT " + json.dumps(result))


def spawn_measured(lib: str, data: Path, python: str, timeout: float, memory_limit: str = "") -> dict[str, Any]:
    """Run ``lib`` in a fresh subprocess and read its own peak RSS (benchmarks/_peak.py)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", "BENCH_MEMORY_LIMIT": memory_limit}
    cmd = [python, str(Path(__file__).resolve()), "--child", lib, "--data", str(data)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        measured = run_measured(cmd, timeout, stdout=out, stderr=err, text=True, env=env)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if "error" in measured:
        return measured
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        tail = errors.strip().splitlines()[-1] if errors.strip() else ""
        return {"error": f"failed (exit {measured['returncode']}): {tail}"}
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    result["wall"] = measured["wall"]
    result["peak_rss_mb"] = measured["peak_rss_mb"]
    return result


# ---------------------------------------------------------------------------- whole processes (the CLI)

LIFETIMES_SCRIPT = """
import sys, warnings
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

warnings.filterwarnings("ignore")
src, out = sys.argv[1], sys.argv[2]
if src.endswith(".parquet"):
    log = pd.read_parquet(src)
else:
    log = pd.read_csv(src, dtype={"customer_id": str}, parse_dates=["date"])
s = summary_data_from_transaction_data(log, "customer_id", "date", monetary_value_col="amount", freq="D")
bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
s["p_alive"] = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
s["clv"] = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                       time=12, discount_rate=0.01, freq="D")
s.to_parquet(out)
print("clv_total", float(s["clv"].sum()), "customers", len(s))
"""


def run_process(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run ``cmd`` as a whole process; its wall time from start to exit and its own peak RSS (benchmarks/_peak.py)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        measured = run_measured(cmd, timeout, stdout=out, stderr=err, text=True, env=env)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if "error" in measured:
        return measured
    if measured["returncode"] != 0:
        tail = errors.strip().splitlines()[-1] if errors.strip() else ""
        return {"error": f"exit {measured['returncode']}: {tail}"}
    return {"wall": measured["wall"], "peak_rss_mb": measured["peak_rss_mb"], "stdout": text}


def whole_commands(data: Path, work: Path) -> dict[str, list[list[str]]]:
    """What each contender types, as lists of whole processes run one after the other."""
    cli = Path(sys.executable).with_name("fairserve")
    fairserve = [str(cli)] if cli.exists() else [sys.executable, "-m", "fairserve"]
    model, scores = str(work / "model.json"), str(work / "scores.parquet")
    script = work / "lifetimes_clv.py"
    script.write_text(LIFETIMES_SCRIPT)
    return {
        "fairserve value fit --scores-out": [[*fairserve, "value", "fit", str(data), "--scores-out", scores]],
        "fairserve value fit; value score": [
            [*fairserve, "value", "fit", str(data), "--out", model],
            [*fairserve, "value", "score", str(data), "--model", model, "--out", scores],
        ],
        "lifetimes (one script)": [[sys.executable, str(script), str(data), str(work / "lifetimes.parquet")]],
    }


def bench_whole(data: Path, repeats: int, timeout: float, skip: set[str]) -> dict[str, dict[str, Any]]:
    """Median wall time and peak RSS of each contender's processes on ``data`` (runs interleaved)."""
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        commands = whole_commands(data, Path(tmp))
        for i in range(repeats):
            for name, steps in commands.items():
                if any(s in name for s in skip) or "error" in (results.get(name) or [{}])[-1]:
                    continue
                print(f"  {data.suffix[1:]}: {name} ({i + 1}/{repeats}) ...", file=sys.stderr, flush=True)
                runs = [run_process(cmd, timeout) for cmd in steps]
                bad = next((r for r in runs if "error" in r), None)
                results.setdefault(name, []).append(bad or {
                    "wall": sum(r["wall"] for r in runs),
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                })
    out: dict[str, dict[str, Any]] = {}
    for name, runs in results.items():
        ok = [r for r in runs if "error" not in r]
        out[name] = runs[-1] if not ok else {
            "wall": statistics.median(r["wall"] for r in ok),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in ok),
            "runs": len(ok),
        }
    return out


def whole_table(by_format: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = ["| input | command (whole processes) | wall time | peak RSS (MiB) | lifetimes / this, time "
             "| lifetimes / this, memory |", "|---|---|---|---|---|---|"]
    for fmt, results in by_format.items():
        peer = results.get("lifetimes (one script)", {})
        for name, r in results.items():
            if "error" in r:
                lines.append(f"| {fmt} | {name} | {r['error']} | | | |")
                continue
            ratio_t = ratio_m = "n/a"
            if "wall" in peer:
                ratio_t = f"{peer['wall'] / r['wall']:.1f}x"
                ratio_m = f"{peer['peak_rss_mb'] / r['peak_rss_mb']:.2f}x"
            lines.append(f"| {fmt} | `{name}` | {r['wall']:.2f} s | {r['peak_rss_mb']:,.0f} | {ratio_t} "
                         f"| {ratio_m} |")
    return "\n".join(lines)


def write_csv(parquet: Path, csv: Path) -> None:
    """The same log as CSV (``customer_id,date,amount``, dates YYYY-MM-DD), as a user would have it."""
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    table = table.set_column(1, "date", pc.strftime(table["date"], "%Y-%m-%d"))
    pcsv.write_csv(table, csv, pcsv.WriteOptions(quoting_style="none"))


# -------------------------------------------------------------------------------------------- report


def _median_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    out = dict(ok[0])
    out["times"] = {s: statistics.median(r["times"][s] for r in ok) for s in STAGES}
    out["times"]["end to end"] = statistics.median(sum(r["times"][s] for s in STAGES) for r in ok)
    out["peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in ok)
    out["runs"] = len(ok)
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    libs = [lib for lib in LIBS if lib in results]
    columns = ["stage", *libs, *(f"{peer} / fairserve" for peer in libs if peer != "fairserve")]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    fs = results.get("fairserve", {})
    for stage in (*STAGES, "end to end", "peak RSS (MiB)"):
        cells, ratios = [], []
        for lib in libs:
            r = results[lib]
            if "error" in r:
                cells.append(r["error"])
                continue
            value = r["peak_rss_mb"] if stage.startswith("peak") else r["times"][stage]
            cells.append(f"{value:,.0f}" if stage.startswith("peak") else f"{value:,.2f} s")
        for lib in libs:
            if lib == "fairserve":
                continue
            r = results[lib]
            if "error" in r or "error" in fs:
                ratios.append("n/a")
                continue
            key = "peak_rss_mb"
            mine = fs[key] if stage.startswith("peak") else fs["times"][stage]
            theirs = r[key] if stage.startswith("peak") else r["times"][stage]
            ratios.append(f"{theirs / mine:,.1f}x")
        lines.append("| " + " | ".join([stage, *cells, *ratios]) + " |")
    return "\n".join(lines)


def loglik_at(data: Path, results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """BG/NBD log-likelihood of the same summary at each library's parameters: which optimum is higher."""
    from fairserve.value import summarise
    from fairserve.value.bgnbd import _Data, _loglik  # the likelihood itself, to judge the optima

    c = summarise(data, calibration_end=END, period="day").compressed
    d = _Data(*(c[k].to_numpy(np.float64) for k in ("frequency", "recency", "T", "weight")))
    return {lib: float(_loglik(np.array([r["params"][k] for k in ("r", "alpha", "a", "b")]), d)[0])
            for lib, r in results.items() if "params" in r}


def param_table(results: dict[str, dict[str, Any]]) -> str:
    ref = results.get("lifetimes", {})
    libs = [lib for lib in LIBS if lib in results and "error" not in results[lib]]
    lines = ["| parameter | true | " + " | ".join(libs) + " | fairserve vs lifetimes (rel. diff) |",
             "|---|---|" + "---|" * len(libs) + "---|"]
    for k in ("r", "alpha", "a", "b", "p", "q", "gamma"):
        cells = [f"{results[lib]['params'][k]:.5g}" for lib in libs]
        rel = "n/a"
        if "params" in ref and "fairserve" in libs:
            rel = f"{abs(results['fairserve']['params'][k] / ref['params'][k] - 1):.1e}"
        lines.append(f"| {k} | {TRUE[k]:g} | " + " | ".join(cells) + f" | {rel} |")
    lls = [results[lib].get("bgnbd_loglik") for lib in libs]
    if all(v is not None for v in lls):
        lines.append("| BG/NBD log-likelihood at these parameters | | " + " | ".join(f"{v:,.4f}" for v in lls)
                     + " | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=1, help="runs per library; the median is reported")
    ap.add_argument("--dir", type=Path, default=None, help="where to write the log (default: a temp dir)")
    ap.add_argument("--libs", default=",".join(LIBS), help="comma-separated subset of " + ",".join(LIBS))
    ap.add_argument("--pymc-python", default=sys.executable, help="interpreter with pymc-marketing installed")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per library run")
    ap.add_argument("--memory-limit", default="",
                    help="DuckDB memory limit for fairserve, e.g. 1GB (default: summarise sizes it from the log)")
    ap.add_argument("--out-md", type=Path, default=None, help="append the tables to this Markdown file")
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--mode", choices=("whole", "library", "both"), default="whole",
                    help="whole processes (the CLI), library calls by stage, or both")
    ap.add_argument("--formats", default="csv,parquet", help="inputs of the whole-process table")
    ap.add_argument("--skip", default="", help="comma-separated contenders to leave out of the whole table "
                    "(their names' words: lifetimes, 'value score', ...)")
    ap.add_argument("--child", choices=LIBS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--generate-to", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.dir is not None and not args.dir.is_dir():
        ap.error(f"--dir {args.dir}: no such folder")
    if args.child:
        child(args.child, args.data)
        return
    if args.generate_to:
        rows = generate(args.customers, args.generate_to)
        write_csv(args.generate_to, args.generate_to.with_suffix(".csv"))
        print(rows)
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        data = Path(tmp) / f"log_{args.customers}.parquet"
        t0 = time.perf_counter()
        # drawn and written by a child process, so that this one stays small (see benchmarks/_peak.py)
        rows = int(subprocess.run([sys.executable, __file__, "--customers", str(args.customers),
                                   "--generate-to", str(data)], check=True, capture_output=True,
                                  text=True).stdout.split()[-1])
        print(f"generated {rows:,} transactions for {args.customers:,} customers in "
              f"{time.perf_counter() - t0:.1f} s -> {data}", file=sys.stderr)
        whole: dict[str, dict[str, dict[str, Any]]] = {}
        if args.mode in ("whole", "both"):
            for fmt in args.formats.split(","):
                path = data
                if fmt == "csv":
                    path = data.with_suffix(".csv")
                whole[f"{fmt} ({path.stat().st_size / 2**20:,.0f} MiB)"] = bench_whole(
                    path, args.repeats, args.timeout, {s for s in args.skip.split(",") if s})
        results: dict[str, dict[str, Any]] = {}
        for lib in args.libs.split(",") if args.mode in ("library", "both") else []:
            python = args.pymc_python if lib == "pymc-marketing" else sys.executable
            runs = []
            for i in range(args.repeats):
                print(f"running {lib} ({i + 1}/{args.repeats}) ...", file=sys.stderr, flush=True)
                runs.append(spawn_measured(lib, data, python, args.timeout, args.memory_limit))
                if "error" in runs[-1]:
                    print(f"  {lib}: {runs[-1]['error']}", file=sys.stderr)
                    break
            results[lib] = _median_runs(runs)
            if "error" not in results[lib]:
                print(f"  {lib}: end to end {results[lib]['times']['end to end']:.1f} s, "
                      f"peak {results[lib]['peak_rss_mb']:.0f} MiB", file=sys.stderr, flush=True)
        if results:
            for lib, ll in loglik_at(data, results).items():
                results[lib]["bgnbd_loglik"] = ll
    cmd = "python benchmarks/value.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    report = (
        f"### {args.customers:,} customers, {rows:,} transactions\n\n"
        f"`{cmd}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; medians of {args.repeats} run(s); load average at the end "
        f"{load}.\n\n"
    )
    if whole:
        report += f"{whole_table(whole)}\n\n"
    if results:
        report += f"{table(results)}\n\n{param_table(results)}\n"
    print(report)
    if args.out_md is not None:
        with args.out_md.open("a") as handle:
            handle.write("\n" + report)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps({"customers": args.customers, "rows": rows, "results": results},
                                            indent=2))


if __name__ == "__main__":
    main()
