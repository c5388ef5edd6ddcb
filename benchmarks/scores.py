"""How long do the commands that read a whole scored customer base take? Whole processes on a million customers.

Usage::

    python benchmarks/scores.py [--customers 1000000] [--runs 3] [--dir DIR]

``policy audit``, ``policy explain``, ``policy decide``, ``simulate --customers`` and ``whatif`` all start by
reading and validating the scores file (:func:`fairserve.io.read_scores`: every row and field checked, bad rows
named). The script writes a scores file with the columns ``fairserve value score`` writes (drawn with NumPy,
seeded) as CSV and as Parquet, then times, as whole processes from start to exit:

- ``fairserve policy audit --policy balanced --scores S --json`` (read, validate, tier every customer twice: with
  and without influence, decile tables);
- ``fairserve.io.read_scores(S)`` alone (read and validate, in a ``python -c`` process), and with
  ``--baseline-src DIR`` the same from another checkout's ``src`` folder (``git worktree add /tmp/old REV``;
  ``--baseline-src /tmp/old/src``): what a change of the reader gained, in the same runs;
- the peer, in the same rounds: ``python -c "import pandas; pandas.read_csv(S)"`` (or ``read_parquet``), the
  field's library reading the same file with no validation and no work: the floor any pandas-based command pays.

It prints the median of ``--runs`` runs of each, the peak resident memory, and the ratio command / peer.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _peak import run_measured

BIN = Path(sys.executable).with_name("fairserve")


def write_scores(n: int, folder: Path, seed: int = 7) -> tuple[Path, Path]:
    """A scored base of ``n`` customers as CSV and Parquet, with ``fairserve value score``'s columns."""
    rng = np.random.default_rng(seed)
    frequency = rng.poisson(3.0, n)
    clv = rng.gamma(1.5, 80.0, n)
    first = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    frame = pd.DataFrame({
        "customer_id": [f"C{i:07d}" for i in range(n)],
        "frequency": frequency,
        "recency": rng.uniform(0, 100, n) * (frequency > 0),
        "T": rng.uniform(50, 104, n),
        "monetary_value": rng.gamma(4.0, 10.0, n) * (frequency > 0),
        "p_alive": rng.uniform(0, 1, n),
        "expected_purchases": rng.gamma(1.0, 1.0, n),
        "expected_spend": rng.gamma(4.0, 10.0, n),
        "clv": clv,
        "margin": 0.3,
        "expected_contacts": rng.gamma(1.0, 0.5, n),
        "cost_to_serve": rng.gamma(1.0, 5.0, n),
        "profit": clv * 0.3,
        "tenure_years": rng.uniform(0, 2, n),
        "active_share": rng.uniform(0, 1, n),
        "loyalty": rng.uniform(0, 1, n),
        "value_percentile": pd.Series(clv).rank(pct=True).to_numpy(),
        "first_purchase": first.strftime("%Y-%m-%d"),
        "last_purchase": first.strftime("%Y-%m-%d"),
        "followers": rng.pareto(1.2, n).astype(np.int64) * 10,
    })
    csv, parquet = folder / "scores.csv", folder / "scores.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    return csv, parquet


def run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and the process's own peak resident MiB (benchmarks/_peak.py) of one whole process."""
    measured = run_measured(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if measured["returncode"] != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {measured['returncode']})")
    return measured["wall"], measured["peak_rss_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="keep the files here (default: a temporary folder)")
    parser.add_argument("--baseline-src", type=Path, help="also time read_scores from this src folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairserve-scores-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        csv, parquet = write_scores(args.customers, folder)
        cases = {}
        for path, reader in ((csv, "read_csv"), (parquet, "read_parquet")):
            kind = path.suffix.lstrip(".")
            cases[f"{kind}: `fairserve policy audit --policy balanced --scores S --json`"] = (
                kind, [str(BIN), "policy", "audit", "--policy", "balanced", "--scores", str(path), "--json"])
            for tag, src in (("", Path(__file__).resolve().parents[1] / "src"), (" at baseline", args.baseline_src)):
                if src is not None:
                    code = (f"import sys; sys.path.insert(0, {str(src)!r}); from fairserve.io import read_scores; "
                            f"read_scores({str(path)!r})")
                    cases[f"{kind}: `fairserve.io.read_scores(S)`{tag}"] = (kind, [sys.executable, "-c", code])
            cases[f"{kind}: peer `pandas.{reader}(S)`"] = (
                kind, [sys.executable, "-c", f"import pandas; pandas.{reader}({str(path)!r})"])
        load_start = os.getloadavg()
        results: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
        for _ in range(args.runs):
            for label, (_, argv) in cases.items():
                results[label].append(run(argv))
        load_end = os.getloadavg()
        sizes = {"csv": csv.stat().st_size / 2**20, "parquet": parquet.stat().st_size / 2**20}
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, pandas "
          f"{pd.__version__}; {args.customers:,} customers (CSV {sizes['csv']:.0f} MiB, Parquet "
          f"{sizes['parquet']:.0f} MiB); {args.runs} runs; load average {load_start[0]:.2f} at the start, "
          f"{load_end[0]:.2f} at the end")
    print("| input: command (whole process) | median wall | peak RSS (MiB) | this / peer, time |")
    print("|---|---|---|---|")
    peers = {cases[label][0]: statistics.median(t for t, _ in results[label]) for label in cases if "peer" in label}
    for label, (kind, _) in cases.items():
        wall = statistics.median(t for t, _ in results[label])
        rss = max(m for _, m in results[label])
        print(f"| {label} | {wall:.2f} s | {rss:,.0f} | {wall / peers[kind]:.1f}x |")


if __name__ == "__main__":
    main()
