"""Run a command as a whole process and measure its wall time and its own peak resident memory.

Why not ``os.wait4`` on the child directly: on Linux a child's ``ru_maxrss`` includes the resident memory of the
process it was forked (or vforked, or posix_spawned) from, because the kernel records the old address space's
high-water mark at ``exec``. A benchmark that has a million-row log or frame in memory would report at least its
own size for every command it measures (measured: a 1.2 GB parent gave ``python -c pass`` a 1,169 MiB peak).
So the command is started by a small launcher process (a bare interpreter, ~10 MiB), which waits for it and
writes its ``ru_maxrss`` to a file; the wall time is the launcher's, a few milliseconds more than the command's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run_measured"]

_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(cmd: list[str], timeout: float | None = None, **popen: Any) -> dict[str, Any]:
    """Run ``cmd``; return ``returncode``, ``wall`` (seconds) and ``peak_rss_mb`` (MiB, the command alone).

    ``popen`` goes to :class:`subprocess.Popen` (``stdout``, ``stderr``, ``env``, ``text``, ...). Past ``timeout``
    seconds the command is killed and ``{"error": "timed out after N s"}`` returned.
    """
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(peak_file), *cmd],
                                start_new_session=True, **popen)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"error": f"timed out after {timeout:.0f} s"}
        wall = time.perf_counter() - start
        peak = int(peak_file.read_text() or 0) / 1024.0 if peak_file.exists() else 0.0
    return {"returncode": proc.returncode, "wall": wall, "peak_rss_mb": peak}
