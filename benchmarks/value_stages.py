"""Where ``fairserve value fit LOG --scores-out SCORES`` spends its wall time: a timeline of one whole run.

The command runs in this process, as the ``fairserve`` script runs it, with the stages of the summary, the fit
and the scoring wrapped so that each prints when it starts and ends (no profiler: its overhead would move the
Python-heavy stages). Each line gives the time since the process started and since the line before.

    python benchmarks/value_stages.py LOG.csv [--runs 3]

With ``--runs N`` the command runs N times in fresh processes and the run with the shortest total is printed
(the machine's other work only ever adds time). Make a 10-million-row log with ``benchmarks/value.py --dir``.

Two more lines follow the timeline: the time Python's cycle collector ran during the command (``gc.callbacks``,
every collection, on any thread), and the process's exit: the wall time from its start to its end as this
script's parent process sees it, less the timeline's end (the interpreter's start before the first line and its
shutdown after the last).
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
_GC: dict[str, float] = {"seconds": 0.0, "collections": 0.0, "started": 0.0}


def _gc_timer(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _GC["started"] = time.perf_counter()
    else:
        _GC["seconds"] += time.perf_counter() - _GC["started"]
        _GC["collections"] += 1


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
    import gc

    gc.callbacks.append(_gc_timer)
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
    print(f"cycle collections during the command: {int(_GC['collections'])}, {_GC['seconds']:.3f} s")
    sys.stdout.flush()
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
        started = time.perf_counter()
        text = subprocess.run([sys.executable, __file__, args.log, "--out", args.out, "--once"], check=True,
                              capture_output=True, text=True).stdout
        wall = time.perf_counter() - started
        lines = [ln for ln in text.splitlines() if " s  +" in ln or ln.startswith("cycle collections")]
        total = float([ln for ln in lines if " s  +" in ln][-1].split()[0])
        lines.append(f"whole process {wall:.3f} s: interpreter start and exit {wall - total:.3f} s")
        if best is None or total < best[0]:
            best = (total, "\n".join(lines))
    assert best is not None
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"fastest of {args.runs} run(s), load average {load}:\n{best[1]}")


if __name__ == "__main__":
    main()
