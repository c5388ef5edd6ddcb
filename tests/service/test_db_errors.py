"""A database URL or a port the service cannot use is the user's input: exit 2 with one clear line, never a crash.

Each case runs the real command in a subprocess, as a new user would, and checks the exit code, the message, that
no password is printed and that the CLI did not call it a bug (nor promise to serve first).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from fairserve.service.store import shown_url


def _fs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fairserve", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def _refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound for a moment to find it, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clear_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "bug in fairserve" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "serving on" not in r.stderr, r.stderr
    for needle in needles:
        assert needle in r.stderr, (needle, r.stderr)


def test_an_unreachable_postgresql_server_is_named_with_its_password_masked(tmp_path: Path) -> None:
    port = _refused_port()
    r = _fs("serve", "--db", f"postgresql://x:s3cret@127.0.0.1:{port}/x", cwd=tmp_path)
    _clear_error(r, f"cannot connect to the database postgresql://x:***@127.0.0.1:{port}/x: connection refused")
    assert "s3cret" not in r.stderr + r.stdout
    r = _fs("db", "upgrade", "--db", f"postgresql://x@127.0.0.1:{port}/x", cwd=tmp_path)
    _clear_error(r, f"cannot connect to the database postgresql://x@127.0.0.1:{port}/x: connection refused")


def test_an_unknown_scheme_is_not_understood(tmp_path: Path) -> None:
    _clear_error(_fs("serve", "--db", "foo://bar", cwd=tmp_path),
                 "database URL foo://bar not understood: no database kind 'foo'")
    _clear_error(_fs("keys", "list", "--db", "foo://x", cwd=tmp_path),
                 "database URL foo://x not understood", "sqlite:///PATH")
    _clear_error(_fs("db", "upgrade", "--db", "not a url", cwd=tmp_path), "database URL not a url not understood")


def test_a_sqlite_file_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    r = _fs("db", "upgrade", "--db", f"sqlite:///{missing / 'x.db'}", cwd=tmp_path)
    _clear_error(r, f"cannot connect to the database sqlite:///{missing / 'x.db'}: the folder {missing} does "
                    "not exist")
    assert not missing.exists()


def test_a_busy_port_is_refused_before_serving(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        r = _fs("serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--host", "127.0.0.1", "--port", str(port),
                cwd=tmp_path)
    _clear_error(r, f"port {port} on 127.0.0.1 is already in use")


def test_shown_url_masks_only_the_password() -> None:
    assert shown_url("postgresql://ann:pw@db.example:5432/fs") == "postgresql://ann:***@db.example:5432/fs"
    assert shown_url("postgresql://ann@db.example/fs") == "postgresql://ann@db.example/fs"
    assert shown_url("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"
    assert "pw" not in shown_url("weird scheme://ann:pw@host/x")
