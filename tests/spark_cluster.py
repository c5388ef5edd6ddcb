"""A real Apache Spark standalone cluster on loopback: one master and N workers, each its own process.

Used by the cluster tests (``tests/value/test_spark_cluster.py``, ``tests/policy/test_spark_cluster.py``) and by
``benchmarks/scale.py``; plain functions, no pytest::

    cluster = start_cluster(workers=2, cores=1, memory="1g")
    try:
        subprocess.run([..., "--spark-master", cluster.url], env=cluster.env())
    finally:
        cluster.stop()

The master and the workers are started with PySpark's own ``spark-class`` (the launcher inside the installed
``pyspark`` package, so no separate Spark download), each in its own process group, listening on 127.0.0.1 only,
on free ports, with their work and log directories in a private temporary directory. :func:`start_cluster`
returns once every worker has registered with the master (polled on the master's JSON page,
``http://127.0.0.1:<webui>/json/``); :meth:`Cluster.stop` ends the processes by their process group id and
removes the directory. A driver that runs against the cluster must reach it on loopback and run its Python
workers with the driver's own interpreter: :meth:`Cluster.env` gives that environment (``SPARK_LOCAL_IP``,
``PYSPARK_PYTHON``, ``PYSPARK_DRIVER_PYTHON``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "TEST_CONF",
    "Cluster",
    "ClusterError",
    "free_port",
    "java_available",
    "run_fairserve",
    "shared_cluster",
    "spark_home",
    "spark_options",
    "start_cluster",
]

HOST = "127.0.0.1"


class ClusterError(RuntimeError):
    """The cluster did not come up (no Java, no PySpark, a process died, or workers did not register in time)."""


@dataclass
class Cluster:
    """A running standalone cluster: ``url`` (``spark://127.0.0.1:PORT``) for drivers, ``webui`` for its JSON."""

    url: str
    webui: str
    workers: int
    cores: int
    memory: str
    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment for a driver process: loopback only, and this interpreter on the executors."""
        env = dict(os.environ if base is None else base)
        env.update(_child_env())
        return env

    def state(self) -> dict[str, Any]:
        """The master's JSON status page (workers, their state, cores and memory, running applications)."""
        with urllib.request.urlopen(f"{self.webui}/json/", timeout=5) as reply:
            return dict(json.loads(reply.read().decode()))

    def alive_workers(self) -> int:
        """How many workers the master counts as ALIVE."""
        return sum(1 for w in self.state().get("workers", []) if w.get("state") == "ALIVE")

    def logs(self) -> str:
        """The processes' log files, concatenated (for a failure message)."""
        parts = []
        for path in sorted(self.directory.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """End the workers, then the master, by process group id; remove the work directory. Idempotent."""
        for proc in reversed(self.processes):
            _kill_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
        self.processes.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the process was started in a new session: its group id is its pid


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def spark_home() -> Path:
    """The installed PySpark package directory, which holds ``bin/spark-class`` and Spark's jars."""
    try:
        import pyspark
    except ImportError as exc:
        raise ClusterError("PySpark is not installed (pip install 'fairserve[spark]')") from exc
    return Path(pyspark.__file__).resolve().parent


def java_available() -> bool:
    """Whether a Java runtime is on the PATH (or JAVA_HOME is set)."""
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def _child_env() -> dict[str, str]:
    return {
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOCAL_HOSTNAME": HOST,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


def start_cluster(workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 120.0) -> Cluster:
    """Start a standalone master and ``workers`` workers on 127.0.0.1; return once all have registered.

    Parameters
    ----------
    workers:
        Number of worker processes (each a separate JVM).
    cores, memory:
        What each worker offers to executors (``--cores``, ``--memory``, e.g. ``"1g"``).
    timeout:
        Seconds to wait for the master to answer and every worker to register.

    Raises
    ------
    ClusterError
        No Java or PySpark, a process exited early, or the workers did not register within ``timeout``
        (the message carries the processes' logs). Whatever was started is stopped first.
    """
    if not java_available():
        raise ClusterError("no Java runtime on the PATH (make java installs one)")
    home = spark_home()
    launcher = home / "bin" / "spark-class"
    directory = Path(tempfile.mkdtemp(prefix="fairserve-spark-cluster-"))
    env = dict(os.environ)
    env.update(_child_env())
    env.update({
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(directory / "logs"),
        "SPARK_WORKER_DIR": str(directory / "work"),
        "SPARK_NO_DAEMONIZE": "1",
        # the master and the workers themselves need little heap
        "SPARK_DAEMON_MEMORY": "256m",
    })
    master_port, master_ui = free_port(), free_port()
    cluster = Cluster(url=f"spark://{HOST}:{master_port}", webui=f"http://{HOST}:{master_ui}", workers=workers,
                      cores=cores, memory=memory, directory=directory)

    def launch(name: str, args: list[str]) -> None:
        log = open(directory / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it open
        try:
            proc = subprocess.Popen([str(launcher), *args], env=env, cwd=directory, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        cluster.processes.append(proc)

    try:
        launch("master", ["org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(master_port),
                          "--webui-port", str(master_ui)])
        _wait(cluster, lambda: cluster.state().get("status") == "ALIVE", timeout, "the master to start")
        for i in range(workers):
            work = directory / f"worker-{i}"
            work.mkdir()
            launch(f"worker-{i}", ["org.apache.spark.deploy.worker.Worker", "--host", HOST, "--cores", str(cores),
                                   "--memory", memory, "--webui-port", str(free_port()),
                                   "--work-dir", str(work), cluster.url])
        _wait(cluster, lambda: cluster.alive_workers() >= workers, timeout, f"{workers} workers to register")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait(cluster: Cluster, ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        dead = [p for p in cluster.processes if p.poll() is not None]
        if dead:
            raise ClusterError(f"a Spark process exited (code {dead[0].returncode}) while waiting for {what}:\n"
                               f"{cluster.logs()}")
        try:
            if ready():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass  # not listening yet
        if time.monotonic() > deadline:
            logs = cluster.logs()
            raise ClusterError(f"timed out after {timeout:g} s waiting for {what}:\n{logs}")
        time.sleep(0.5)


_SHARED: list[Cluster] = []


def shared_cluster() -> Cluster:
    """One cluster for the whole process (every test module that asks gets the same one), started on first use
    and stopped when the process exits; :func:`start_cluster`'s defaults (two workers of one core, 1 GiB)."""
    if not _SHARED:
        cluster = start_cluster()
        atexit.register(cluster.stop)
        _SHARED.append(cluster)
    return _SHARED[0]


# Settings for a driver in the tests: small memory, few shuffle partitions (kept apart, so that a dataset is
# written in several part files and the engine-side percentile crosses partitions), no UI.
TEST_CONF = (
    "spark.driver.memory=512m",
    "spark.executor.memory=512m",
    "spark.executor.cores=1",
    "spark.sql.shuffle.partitions=4",
    "spark.sql.adaptive.coalescePartitions.enabled=false",
    "spark.ui.enabled=false",
)


def spark_options(cluster: Cluster, conf: tuple[str, ...] = TEST_CONF) -> list[str]:
    """The fairserve CLI options that run a command on ``cluster``: ``--engine spark --spark-master URL ...``."""
    return ["--engine", "spark", "--spark-master", cluster.url, *[a for c in conf for a in ("--spark-conf", c)]]


def run_fairserve(args: list[str], env: dict[str, str] | None = None,
                  timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fairserve ARGS`` as a separate process (this interpreter), capturing its output."""
    return subprocess.run([sys.executable, "-m", "fairserve", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


if __name__ == "__main__":  # a quick manual check: start, print the status, stop
    with start_cluster() as running:
        print(running.url, running.alive_workers(), "workers alive")
