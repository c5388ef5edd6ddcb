"""Where ``fairserve value fit LOG --scores-out SCORES`` spends its wall time: a timeline of one whole run.

The command runs in this process, as the ``fairserve`` script runs it, with the stages of the summary, the fit
and the scoring wrapped so that each prints when it starts and ends (no profiler: its overhead would move the
Python-heavy stages). Each line gives the time since the process started and since the line before.

    python benchmarks/value_stages.py LOG.csv [--runs 3]

With ``--runs N`` the command runs N times in fresh processes and the run with the shortest total is printed
(the machine's other work only ever adds time). Make a 10-million-row log with ``benchmarks/value.py --dir``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

T0 = time.perf_counter()
_MARKS: list[tuple[str, float]] = []


def _mark(label: str) -> None:
    _MARKS.append((label, time.perf_counter() - T0))


def _wrap(module: Any, name: str) -> None:
    inner: Callable[..., Any] = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        _mark(f"{name} starts")
        result = inner(*args, **kwargs)
        _mark(f"{name} ends")
        return result

    setattr(module, name, timed)


def one_run(log: str, out: str) -> float:
    """Run the command once here; print the timeline; return its total seconds."""
    from fairserve.cli import main

    _mark("fairserve.cli imported")
    import fairserve.io as io
    import fairserve.value as value
    import fairserve.value.rfm as rfm
    import fairserve.value.rfm_native as native

    _mark("fairserve.value imported")
    for module, name in ((native, "native_summary"), (native, "_read"), (native, "_partition"),
                         (native, "_customers"), (native, "_frame"), (rfm, "_summary"),
                         (value, "fit_value_model"), (value, "score_customers"), (io, "write_table")):
        _wrap(module, name)
    sys.argv = ["fairserve", "value", "fit", log, "--scores-out", out]
    try:
        main()
    except SystemExit as done:
        if done.code not in (0, None):
            raise
    _mark("end")
    before = 0.0
    for label, at in _MARKS:
        print(f"{at:7.3f} s  +{at - before:6.3f} s  {label}")
        before = at
    return _MARKS[-1][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--out", default="/tmp/value_stages_scores.parquet")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.once:
        one_run(args.log, args.out)
        return
    best: tuple[float, str] | None = None
    for _ in range(args.runs):
        text = subprocess.run([sys.executable, __file__, args.log, "--out", args.out, "--once"], check=True,
                              capture_output=True, text=True).stdout
        lines = [ln for ln in text.splitlines() if " s  +" in ln]
        total = float(lines[-1].split()[0])
        if best is None or total < best[0]:
            best = (total, "\n".join(lines))
    assert best is not None
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"fastest of {args.runs} run(s), load average {load}:\n{best[1]}")


if __name__ == "__main__":
    main()
