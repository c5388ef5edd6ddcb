"""Fixtures of the service tests: a real PostgreSQL server (a private cluster made with initdb, on a loopback port,
as an unprivileged user when the tests run as root, stopped by its pid at the end), a fresh database per test on
SQLite and on PostgreSQL, an app with keys of every role, and a clock the test moves.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient

from fairserve.service.app import create_app
from fairserve.service.auth import create_key
from fairserve.service.settings import Settings
from fairserve.service.store import write


def _pg_bindir() -> Path | None:
    for exe in ("pg_ctl", "initdb"):
        found = shutil.which(exe)
        if found:
            real = Path(found).resolve().parent
            if (real / "initdb").exists() and (real / "pg_ctl").exists() and (real / "postgres").exists():
                return real
    hits = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(hits[-1]).parent if hits else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(db: str, workers: int, tmp: Path, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
           ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``fairserve serve`` as a separate process on a free loopback port, until it answers ``/healthz``; stopped
    by its pid (SIGTERM, then SIGKILL of its process group) at the end. ``env`` adds to or overrides the defaults
    (no SLA clock, no text reading). Yields the base URL and the process; its log is ``tmp/server-PORT.log``."""
    port = _free_port()
    env = {**os.environ, "FAIRSERVE_SLA_CHECK_SECONDS": "0", "FAIRSERVE_CLASSIFY_TEXT": "false", **(env or {})}
    log = (tmp / f"server-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "fairserve", "serve", "--db", db, "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning", *extra],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / f"server-{port}.log").read_text()[-3000:])
            time.sleep(0.2)
        yield base, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test made: any worker left behind
        log.close()


@dataclass
class PgServer:
    """A private PostgreSQL cluster on 127.0.0.1:port."""

    port: int
    pid: int
    root: Path
    made: list[str] = field(default_factory=list)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self) -> str:
        import psycopg

        name = "fs_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self.url(name)


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return cmd if user is None else ["runuser", "-u", user, "--", *cmd]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server for the session (skipped only where no PostgreSQL is installed; `make test`
    installs Debian's)."""
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: `make postgres` installs it")
        pytest.skip("PostgreSQL is not installed (make postgres)")
    user = None
    root = Path(tempfile.mkdtemp(prefix="fairserve-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "nobody"
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data = root / "data"
    port = _free_port()
    subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                             "-E", "UTF8", "--no-sync"], user), check=True, capture_output=True, cwd=root)
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200")
    subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                             "-w", "-t", "60", "start"], user), check=True, capture_output=True, cwd=root)
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    server = PgServer(port, pid, root)
    try:
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown (the cluster is thrown away), by its pid
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


class Clock:
    """A clock the test sets and moves (POSIX seconds)."""

    def __init__(self, t: float = 1_750_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fairserve.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_db()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'fairserve.db'}"


@dataclass
class Api:
    """A running app with a client, a key of each role and the clock."""

    client: TestClient
    app: Any
    clock: Clock
    keys: dict[str, str]

    def h(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    @property
    def engine(self) -> Any:
        return self.app.state.service.engine


def make_api(url: str, clock: Clock | None = None, **settings: Any) -> Iterator[Api]:
    clock = clock or Clock()
    opts: dict[str, Any] = {"db_url": url, "sla_check_seconds": 0, "classify_text": True}
    opts.update(settings)
    app = create_app(Settings(**opts), clock=clock)
    keys = {}
    with write(app.state.service.engine) as conn:
        for role in ("admin", "agent", "intake"):
            keys[role] = create_key(conn, role, now=clock())
    with TestClient(app) as client:
        yield Api(client, app, clock, keys)


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    """The app on SQLite and on PostgreSQL, the built-in balanced policy active."""
    yield from make_api(db_url)


@pytest.fixture
def sqlite_api(sqlite_url: str) -> Iterator[Api]:
    """The app on SQLite only (for checks that do not depend on the database)."""
    yield from make_api(sqlite_url)
