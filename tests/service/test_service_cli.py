"""The service's commands as a new user runs them: ``fairserve serve``'s links, ``fairserve keys``, bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from service_fixtures import Api, _free_port, server

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


def test_keys_list_and_revoke_end_the_keys_api_calls_and_dashboard_sessions(sqlite_url: str) -> None:
    import json
    import time

    from service_fixtures import make_api

    from fairserve.service.auth import hash_key

    for api in make_api(sqlite_url):
        agent = api.keys["agent"]
        r = api.client.post("/signin", data={"key": agent, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        assert api.client.get("/", follow_redirects=False).status_code == 200
        assert api.client.get("/v1/customers/nobody", headers=api.h("agent")).status_code == 404
        listed = json.loads(_fs("keys", "list", "--db", sqlite_url, "--json").stdout)
        assert sorted(k["role"] for k in listed) == ["admin", "agent", "intake"]
        assert not any(k["revoked"] for k in listed) and all(agent not in json.dumps(k) for k in listed)
        key_id = next(k["id"] for k in listed if k["role"] == "agent")
        assert hash_key(agent).startswith(key_id)
        table = _fs("keys", "list", "--db", sqlite_url).stdout
        assert key_id in table and "agent" in table

        bad = _fs("keys", "revoke", "abcdef012345", "--db", sqlite_url)
        assert bad.returncode == 2 and "no key with id 'abcdef012345'" in bad.stderr and "Traceback" not in bad.stderr
        done = _fs("keys", "revoke", key_id, "--db", sqlite_url)
        assert done.returncode == 0, done.stderr
        # the dashboard session ends at once
        assert api.client.get("/", follow_redirects=False).status_code == 303
        # the API refuses the key (another process revoked it: within the key cache's ttl)
        deadline = time.monotonic() + 5
        while api.client.get("/v1/customers/nobody", headers=api.h("agent")).status_code != 401:
            assert time.monotonic() < deadline, "the revoked key still opens the API"
            time.sleep(0.2)
        r = api.client.get("/v1/customers/nobody", headers=api.h("agent"))
        assert r.json()["error"] == "unknown or revoked API key"
        assert api.client.get("/v1/customers/nobody", headers=api.h("admin")).status_code == 404  # others work
        listed = json.loads(_fs("keys", "list", "--db", sqlite_url, "--json").stdout)
        assert [k["revoked"] for k in listed if k["id"] == key_id] == [True]


def test_a_customers_file_without_customer_id_is_refused_whole(tmp_path: Path, sqlite_api: Api) -> None:
    nocid = tmp_path / "nocid.csv"
    nocid.write_text("id,clv,loyalty\nz1,300,0.8\nz2,20,0.1\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    run = subprocess.run([sys.executable, "-m", "fairserve", "serve", "--db", db, "--port", str(_free_port()),
                          "--customers", str(nocid)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert str(nocid) in run.stderr and "'customer_id'" in run.stderr and "missing" in run.stderr
    assert "Traceback" not in run.stderr and "serving on" not in run.stderr

    h = {**sqlite_api.h(), "content-type": "text/csv"}
    r = sqlite_api.client.post("/v1/customers/bulk", content=nocid.read_bytes(), headers=h)
    assert r.status_code == 422 and r.json()["field"] == "customer_id", r.text
    assert "'customer_id' is missing" in r.json()["error"]
    lines = '{"id": "z1", "clv": 3}\n{"id": "z2"}\n'
    r = sqlite_api.client.post("/v1/customers/bulk?format=jsonl", content=lines, headers=sqlite_api.h())
    assert r.status_code == 422 and r.json()["field"] == "customer_id", r.text
    # a file that has the column still keeps its good rows and names the bad ones
    r = sqlite_api.client.post("/v1/customers/bulk", content="customer_id,clv\nz1,300\n,5\n", headers=h)
    assert r.status_code == 200 and r.json()["upserted"] == 1 and r.json()["rejected"] == 1, r.text


def test_messages_say_an_intake_key_and_one_row(sqlite_api: Api) -> None:
    from fairserve.service.web import environment
    from fairserve.service.words import count, with_article

    r = sqlite_api.client.post("/signin", data={"key": sqlite_api.keys["intake"], "next": "/"})
    assert r.status_code == 403 and "An intake key may only post contacts" in r.text
    r = sqlite_api.client.post("/v1/customers/bulk", content="customer_id\nz1\n",
                               headers={**sqlite_api.h("agent"), "content-type": "text/csv"})
    assert r.status_code == 403 and r.json()["error"].startswith("an agent key may not call this route"), r.text
    r = sqlite_api.client.post("/v1/customers/z1/link", headers=sqlite_api.h("intake"))
    assert r.status_code == 403 and r.json()["error"].startswith("an intake key may not call this route"), r.text
    assert [with_article(w) for w in ("admin", "agent", "intake", "role")] == ["an admin", "an agent", "an intake",
                                                                                 "a role"]
    assert [count(n, "row") for n in (0, 1, 2)] == ["0 rows", "1 row", "2 rows"]
    assert count(1, "person", "people") == "1 person" and count(3, "person", "people") == "3 people"
    page = environment().from_string("{{ 1 | count('contact') }}, {{ 4 | count('place') }}").render()
    assert page == "1 contact, 4 places"


def test_a_set_public_url_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAIRSERVE_PUBLIC_URL", raising=False)
    settings = tmp_path / "fairserve.env"
    settings.write_text("FAIRSERVE_PUBLIC_URL=https://help.example.com\n", encoding="utf-8")
    scores = tmp_path / "scores.csv"
    scores.write_text("customer_id,clv\nz1,300\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    with server(db, 1, tmp_path, ("--customers", str(scores), "--settings", str(settings))) as (base, _):
        key = _fs("keys", "create", "--role", "agent", "--db", db).stdout.strip()
        r = httpx.post(base + "/v1/customers/z1/link", headers={"Authorization": f"Bearer {key}"})
        assert r.json()["url"].startswith("https://help.example.com/v1/me/explanation?token="), r.text


def test_serve_says_which_policy_it_serves(tmp_path: Path) -> None:
    from fairserve.policy import load_policy

    db = f"sqlite:///{tmp_path / 's.db'}"

    def start_line(*extra: str) -> str:
        with server(db, 1, tmp_path, extra) as (base, _):
            log = (tmp_path / f"server-{base.rsplit(':', 1)[1]}.log").read_text()
        return next(line for line in log.splitlines() if "serving on" in line)

    first = load_policy("value-first")
    assert f"policy value-first {first.version} ({first.content_hash[:12]})" in start_line("--policy", "value-first")
    # without --policy the active one stays: the line names it, not the default (balanced)
    kept = start_line()
    assert f"policy value-first {first.version} ({first.content_hash[:12]})" in kept and "balanced" not in kept
