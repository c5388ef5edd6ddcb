"""The service's commands as a new user runs them: ``fairserve serve``'s links, ``fairserve keys``, bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_service_concurrency import server

from fairserve.cli.serve import public_base


def _fs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fairserve", *args], capture_output=True, text=True, timeout=120)


def test_a_customers_link_points_at_the_port_serve_listens_on(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAIRSERVE_PUBLIC_URL", raising=False)
    monkeypatch.delenv("FAIRSERVE_SETTINGS_FILE", raising=False)
    scores = tmp_path / "scores.csv"
    scores.write_text("customer_id,clv,loyalty\nz1,300,0.8\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    with server(db, 1, tmp_path, ("--customers", str(scores))) as (base, _):
        key = _fs("keys", "create", "--role", "agent", "--db", db).stdout.strip()
        r = httpx.post(base + "/v1/customers/z1/link", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201, r.text
        url = r.json()["url"]
        assert url.startswith(base + "/v1/me/explanation?token="), (url, base)
        assert httpx.get(url).status_code == 200  # the link opens, as it is


def test_the_public_url_follows_the_bind_address() -> None:
    assert public_base("127.0.0.1", 53933) == ("http://127.0.0.1:53933", None)
    assert public_base("localhost", 8001) == ("http://127.0.0.1:8001", None)
    assert public_base("10.1.2.3", 80) == ("http://10.1.2.3:80", None)
    url, notice = public_base("0.0.0.0", 9000)
    assert url.endswith(":9000") and "127.0.0.1" not in url
    assert notice is not None and "FAIRSERVE_PUBLIC_URL" in notice and url in notice
    assert os.linesep not in notice
