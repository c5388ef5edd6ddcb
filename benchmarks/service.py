"""How fast is the live service? Sustained intakes a second with p50/p99 latency, then agents' ``next`` calls a
second, against real ``fairserve serve`` processes on loopback, on SQLite and on PostgreSQL.

Usage::

    python benchmarks/service.py [--seconds 15] [--clients 32] [--agents 16] [--workers 2] [--repeat 1]
                                 [--pg-url URL] [--only sqlite|postgresql]

Each run makes a fresh database (a SQLite file; on PostgreSQL a new database on ``--pg-url``, or on a private
cluster started here with initdb on a loopback port and stopped by its pid at the end), migrates it, creates
keys, starts ``fairserve serve`` (``--workers`` processes; 1 on SQLite, whose writes are serialised anyway), and
then, bounded in time: ``--clients`` concurrent clients post contacts (e-mail channel, 500 customers, signals
given so no text is classified; with ``--text`` a text instead, whose signals the server reads) for
``--seconds``; then ``--agents`` agents take (``next``) and resolve contacts
for ``--seconds``. Every intake answered 2xx is checked to be stored exactly once. Prints a table, with the CPU
spent per answered intake by the server processes, by the PostgreSQL cluster started here and by this load
generator (from ``/proc``: steadier than the rates when others share the machine); results go in
docs/service.md. Goal on the 2-core machine: 1,000 intakes a second with p99 under 50 ms, nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from fairserve.service.store import contacts, normalise_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "fairserve", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) spent so far by process ``pid`` and every process below it, with the children
    that have ended (a PostgreSQL backend whose connection closed): Linux /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += times.get(p, 0.0)
        todo.extend(c for c, parent in parents.items() if parent == p)
    return total


@contextlib.contextmanager
def private_postgres() -> Iterator[tuple[str, int]]:
    """A throwaway PostgreSQL cluster on a loopback port (as ``nobody`` when run as root), stopped by its pid."""
    import glob
    import pwd

    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="fairserve-bench-pg-"))
    wrap: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        wrap = ["runuser", "-u", "nobody", "--"]
    port = free_port()
    subprocess.run([*wrap, str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust",
                    "--no-sync"], check=True, capture_output=True, cwd=root)
    subprocess.run([*wrap, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=200", "start"],
                   check=True, capture_output=True, cwd=root)
    pid = int((root / "data" / "postmaster.pid").read_text().splitlines()[0])
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", pid
    finally:
        os.kill(pid, signal.SIGINT)
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def new_pg_db(admin_url: str) -> str:
    import uuid

    import psycopg

    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def server(db: str, workers: int, text: bool = False) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, "FAIRSERVE_SLA_CHECK_SECONDS": "0", "FAIRSERVE_CLASSIFY_TEXT": "true" if text else "false"}
    proc = subprocess.Popen([sys.executable, "-m", "fairserve", "serve", "--db", db, "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


class Conn:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol to post JSON and read the answer.

    The load generator shares the machine with the server, so it is kept lean: a request is one ``write`` of
    prepared bytes and the answer is read by its Content-Length (httpx costs several times more per request).
    """

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.head = (f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
                     "Content-Type: application/json\r\n").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\n" + self.head
                          + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        """Close the connection; the next ``post`` opens a new one (after an error: a fresh start)."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


TEXTS = ["My parcel never arrived and nobody answers, this is the third time I write. Terrible service!",
         "Hi, could you tell me when my order ships? Thanks", "URGENT: I was charged twice for the same order",
         "Love the new app, but the login keeps failing since the update", "Please cancel my subscription"]


async def intake_load(base: str, key: str, seconds: float, clients: int, text: bool = False
                      ) -> tuple[list[float], dict[str, str], int]:
    import json

    host, port = base.removeprefix("http://").split(":")
    lat: list[float] = []
    answered: dict[str, str] = {}
    errors = 0
    deadline = time.perf_counter() + seconds

    async def one(c: int) -> None:
        nonlocal errors
        conn = Conn(host, int(port), key)
        i = 0
        try:
            while time.perf_counter() < deadline:
                ext = f"b{c}-{i}"
                i += 1
                sender = {"channel": "email", "email": f"user{(c * 7919 + i) % 500}@example.com", "external_id": ext}
                if text:  # the need signals are read from the text by the server
                    body = json.dumps({**sender, "text": TEXTS[i % len(TEXTS)]}).encode()
                else:
                    body = json.dumps({**sender, "severity": i % 4, "sentiment": 0.0, "complaint": False}).encode()
                t = time.perf_counter()
                try:
                    status, answer = await conn.post("/v1/contacts", body)
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    conn.close()
                    continue
                lat.append(time.perf_counter() - t)
                if status in (200, 201):
                    answered[ext] = json.loads(answer)["id"]
                else:
                    errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(one(c) for c in range(clients)))
    return lat, answered, errors


async def agent_load(base: str, key: str, seconds: float, agents: int) -> tuple[list[float], int, int]:
    """Agents take (``next``) and resolve contacts until ``seconds`` pass or nothing waits; the same lean client."""
    import json

    host, port = base.removeprefix("http://").split(":")
    lat: list[float] = []
    taken = errors = 0
    deadline = time.perf_counter() + seconds

    async def one(a: int) -> None:
        nonlocal taken, errors
        conn = Conn(host, int(port), key)
        try:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    status, answer = await conn.post(f"/v1/agents/bench{a}/next", b"")
                    lat.append(time.perf_counter() - t)
                    if status == 204:
                        return
                    if status != 200:
                        errors += 1
                        continue
                    taken += 1
                    status, _ = await conn.post(f"/v1/contacts/{json.loads(answer)['id']}/resolve", b"")
                    errors += status != 200
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    conn.close()
        finally:
            conn.close()

    await asyncio.gather(*(one(a) for a in range(agents)))
    return lat, taken, errors


COLUMNS = ["database", "workers", "load", "intakes/s", "p50 ms", "p99 ms", "errors", "lost", "server cpu ms",
           "db cpu ms", "client cpu ms", "next/s", "next p50 ms", "next p99 ms", "next errors"]
FORMATS = ["{}", "{}", "{:.1f}", "{:,.0f}", "{:.1f}", "{:.1f}", "{:.0f}", "{:.0f}", "{:.2f}", "{:.2f}", "{:.2f}",
           "{:,.0f}", "{:.1f}", "{:.1f}", "{:.0f}"]


def run(db: str, label: str, workers: int, seconds: float, clients: int, agents: int, db_pid: int | None = None,
        text: bool = False) -> list[object]:
    """One run on a fresh database: the row of :data:`COLUMNS` (load is the 1-minute load average at its start)."""
    cli("db", "upgrade", "--db", db)
    ikey = cli("keys", "create", "--role", "intake", "--db", db)
    akey = cli("keys", "create", "--role", "agent", "--db", db)
    load = os.getloadavg()[0]
    with server(db, workers, text) as (base, pid):
        cpu = (tree_cpu(pid), tree_cpu(db_pid) if db_pid else 0.0, time.process_time())
        t = time.perf_counter()
        lat, answered, errors = asyncio.run(intake_load(base, ikey, seconds, clients, text))
        intake_s = time.perf_counter() - t
        used = (tree_cpu(pid) - cpu[0], (tree_cpu(db_pid) - cpu[1]) if db_pid else float("nan"),
                time.process_time() - cpu[2])
        t = time.perf_counter()
        nlat, taken, nerrors = asyncio.run(agent_load(base, akey, seconds, agents))
        next_s = time.perf_counter() - t
    engine = create_engine(normalise_url(db))
    with engine.connect() as conn:
        stored = {r.external_id: r.id for r in conn.execute(select(contacts.c.external_id, contacts.c.id))}
        total = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
    engine.dispose()
    lost = sum(1 for ext, cid in answered.items() if stored.get(ext) != cid)
    assert total == len(stored)
    per = max(len(answered), 1) / 1000
    return [label, workers, load, len(answered) / intake_s, pct(lat, 0.5) * 1000, pct(lat, 0.99) * 1000, errors,
            lost, used[0] / per, used[1] / per, used[2] / per, taken / next_s, pct(nlat, 0.5) * 1000,
            pct(nlat, 0.99) * 1000, nerrors]


def median_row(runs: list[list[object]]) -> list[object]:
    """The median of each figure over repeated runs (errors and lost: the sum)."""
    import statistics

    out: list[object] = ["median", runs[0][1]]
    for i in range(2, len(COLUMNS)):
        values = [float(r[i]) for r in runs]  # type: ignore[arg-type]
        out.append(sum(values) if COLUMNS[i] in ("errors", "lost", "next errors") else statistics.median(values))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--agents", type=int, default=16)
    p.add_argument("--workers", default="2", help="PostgreSQL's worker counts, comma-separated (e.g. 1,2)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each configuration (a median row follows)")
    p.add_argument("--pg-url", default=None, help="an admin URL of a running PostgreSQL (default: start one)")
    p.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    p.add_argument("--text", action="store_true", help="contacts carry a text and no need signals: the server reads "
                   "them from the text (VADER and the rules)")
    args = p.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; {args.seconds:.0f} s each, {args.clients} clients, {args.agents} agents"
          + ("; signals read from texts" if args.text else ""))
    rows: list[list[object]] = []

    def repeated(make: Any) -> None:
        runs = [make() for _ in range(args.repeat)]
        rows.extend(runs)
        if len(runs) > 1:
            rows.append(median_row(runs))

    if args.only in (None, "sqlite"):
        def on_sqlite() -> list[object]:
            with tempfile.TemporaryDirectory() as tmp:
                return run(f"sqlite:///{tmp}/bench.db", "sqlite", 1, args.seconds, args.clients, args.agents,
                           text=args.text)

        repeated(on_sqlite)
    if args.only in (None, "postgresql"):
        with contextlib.ExitStack() as stack:
            admin, pg_pid = (args.pg_url, None) if args.pg_url else stack.enter_context(private_postgres())
            for workers in (int(w) for w in str(args.workers).split(",")):
                repeated(lambda w=workers: run(new_pg_db(admin), "postgresql", w, args.seconds, args.clients,
                                               args.agents, pg_pid, args.text))
    text = [[f.format(v) for f, v in zip(FORMATS, r, strict=True)] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(COLUMNS)]
    print("  ".join(h.rjust(w) for h, w in zip(COLUMNS, widths, strict=True)))
    for r in text:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    print(f"# cpu ms: CPU per answered intake during the intake phase (server: the fairserve serve processes; db: the "
          f"PostgreSQL cluster started here; client: this load generator); load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
