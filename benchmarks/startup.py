"""How fast do the everyday commands start? Whole processes, timed from start to exit, with their imports.

Usage::

    python benchmarks/startup.py [--scores fairserve-demo/scores.csv] [--runs 9] [--json out.json]

Issue 9 asks that ``fairserve --help``, ``fairserve policy list`` and ``fairserve policy explain`` start in under
0.5 s, measured with ``python -X importtime``. For each command the script reports:

- ``median`` and ``best``: wall time of ``--runs`` whole processes (the ``fairserve`` console script, stdout to
  /dev/null), run in turn with the others so that a change of load touches every command alike;
- ``imports``: the median over three runs of the time ``python -X importtime -m fairserve ...`` spends importing
  (the sum of the top-level imports' cumulative times): the part of the start-up a command's own choice of
  modules decides.

The peers, measured in the same rounds: the bare interpreter (``python -c pass``) and ``python -c "import
pandas"``: what any Python command pays, and what a command that reads a table with pandas pays before its first
line of work. Without ``--scores`` the script first runs ``fairserve demo --out TMP`` (the command a new user
runs first) and explains one of the customers of the ``scores.csv`` it wrote.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).with_name("fairserve")


def commands(scores: Path, customer: str) -> dict[str, list[str]]:
    """The timed commands, by the label the table shows; the peers are plain interpreters."""
    return {
        "fairserve --help": [str(BIN), "--help"],
        "fairserve policy list": [str(BIN), "policy", "list"],
        "fairserve policy explain --policy balanced --scores S --customer C": [
            str(BIN), "policy", "explain", "--policy", "balanced", "--scores", str(scores), "--customer", customer],
        "fairserve value --help": [str(BIN), "value", "--help"],
        "fairserve simulate --help": [str(BIN), "simulate", "--help"],
        "peer: python -c pass": [sys.executable, "-c", "pass"],
        "peer: python -c 'import pandas'": [sys.executable, "-c", "import pandas"],
    }


def wall(argv: list[str]) -> float:
    """Seconds from start to exit of one process; a failing command stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return took


def import_seconds(argv: list[str]) -> float:
    """The seconds ``python -X importtime`` counts for the imports of ``argv`` (a fairserve or python command)."""
    args = ["-m", "fairserve", *argv[1:]] if argv[0] == str(BIN) else argv[1:]
    done = subprocess.run([sys.executable, "-X", "importtime", *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=True)
    total = 0
    for line in done.stderr.splitlines():  # "import time: self | cumulative | name", nested names indented
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if cumulative.strip().isdigit() and not name.startswith("  "):
                total += int(cumulative)
    return total / 1e6


def first_customer(scores: Path) -> str:
    with scores.open(newline="", encoding="utf-8") as handle:
        return next(csv.DictReader(handle))["customer_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scores", type=Path, help="a scores file (default: the one `fairserve demo` writes)")
    parser.add_argument("--runs", type=int, default=9, help="whole processes per command (default 9)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairserve-startup-") as tmp:
        scores = args.scores
        if scores is None:
            print("running `fairserve demo` once for a scores file ...", file=sys.stderr)
            subprocess.run([str(BIN), "demo", "--out", tmp, "--replications", "1", "--whatif-replications", "1"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            scores = Path(tmp) / "scores.csv"
        cmds = commands(scores, first_customer(scores))
        with scores.open(encoding="utf-8") as handle:
            customers = sum(1 for _ in handle) - 1
        for argv in cmds.values():  # warm the file cache and the compiled bytecode; not timed
            wall(argv)
        load_start = os.getloadavg()
        times: dict[str, list[float]] = {label: [] for label in cmds}
        for _ in range(args.runs):
            for label, argv in cmds.items():
                times[label].append(wall(argv))
        imports = {label: statistics.median(import_seconds(argv) for _ in range(3)) for label, argv in cmds.items()}
        load_end = os.getloadavg()
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{args.runs} runs each; load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end")
    print(f"# scores: {scores.name} ({customers:,} customers)")
    print("| command | median | best | of which imports |")
    print("|---|---|---|---|")
    rows = {}
    for label in cmds:
        med, best = statistics.median(times[label]), min(times[label])
        rows[label] = {"median_s": med, "best_s": best, "imports_s": imports[label], "runs_s": times[label]}
        print(f"| `{label}` | {med:.2f} s | {best:.2f} s | {imports[label]:.2f} s |")
    if args.json is not None:
        args.json.write_text(json.dumps({"load_average": [load_start, load_end], "commands": rows}, indent=2))


if __name__ == "__main__":
    main()
