"""The dashboard's server side, without a browser: sign-in and its cookie, roles, CSRF, escaping, the take-next
button against the API's own hand-out, the policy diff against ``fairserve policy diff``'s function, and the
static files (small, ours, shipped in the wheel)."""

from __future__ import annotations

import io
import re
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

pytest.importorskip("jinja2")

from service_fixtures import Api, Clock, make_api
from sqlalchemy import update

from fairserve.service.store import api_keys
from fairserve.service.web import STATIC, TEMPLATES

ROOT = Path(__file__).resolve().parents[2]

CUSTOMERS = """customer_id,clv,profit,loyalty,value_percentile,followers,influence,status,handle
c1,5000,800,0.9,0.97,120,0.3,gold,ann
c2,40,5,0.1,0.2,250000,0.99,,bigvoice
c3,300,40,0.4,0.5,900,0.5,,cee
"""


def _seed(api: Api) -> None:
    r = api.client.post("/v1/customers/bulk", content=CUSTOMERS, headers={**api.h(), "content-type": "text/csv"})
    assert r.status_code == 200
    bodies = [
        {"channel": "social", "handle": "bigvoice", "public": True, "reach": 250000,
         "text": "Lost my bag again, worst airline ever, still waiting for a refund"},
        {"channel": "phone", "customer_id": "c1", "severity": 1},
        {"channel": "email", "customer_id": "c3", "text": "Please rebook my flight"},
        {"channel": "phone", "customer_id": "c3"},
        {"channel": "chat", "customer_id": "c2", "text": "<script>alert('x')</script> where is my refund"},
    ]
    for i, body in enumerate(bodies):
        api.clock.advance(7)
        r = api.client.post("/v1/contacts", json={**body, "external_id": f"e{i}"}, headers=api.h("intake"))
        assert r.status_code == 201, r.text


@pytest.fixture
def site(db_url: str) -> Iterator[Api]:
    """The app on SQLite and on PostgreSQL (the dashboard's queries run on both)."""
    yield from make_api(db_url)


def sign_in(api: Api, role: str = "admin") -> None:
    r = api.client.post("/signin", data={"key": api.keys[role], "next": "/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def csrf(api: Api, path: str = "/") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', api.client.get(path).text)
    assert found
    return found.group(1)


def test_pages_ask_for_a_key_and_a_wrong_key_gets_a_message_not_a_traceback(site: Api) -> None:
    r = site.client.get("/listening", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Flistening"
    assert site.client.get("/", headers={"x-fairserve-live": "1"}).status_code == 401  # a live fetch: no redirect
    r = site.client.post("/signin", data={"key": "fsk_wrong", "next": "/"})
    assert r.status_code == 401 and "text/html" in r.headers["content-type"]
    assert "That key is not known to this service" in r.text and "Traceback" not in r.text
    r = site.client.post("/signin", data={"key": site.keys["intake"], "next": "/"})
    assert r.status_code == 403 and "may only post contacts" in r.text
    # the next page must be on this site
    r = site.client.post("/signin", data={"key": site.keys["agent"], "next": "//evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_the_session_cookie_is_httponly_samesite_signed_and_ends_with_its_key(site: Api) -> None:
    r = site.client.post("/signin", data={"key": site.keys["agent"], "next": "/"}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    value = site.client.cookies["fairserve_session"]
    assert site.keys["agent"] not in value  # the key itself is never in the cookie
    assert site.client.get("/").status_code == 200
    # a cookie changed by hand opens nothing
    site.client.cookies.clear()
    site.client.cookies.set("fairserve_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert site.client.get("/", follow_redirects=False).status_code == 303
    site.client.cookies.clear()
    site.client.cookies.set("fairserve_session", value)
    assert site.client.get("/").status_code == 200
    # revoking the key ends its sessions at once
    from fairserve.service.auth import hash_key
    from fairserve.service.store import write

    with write(site.engine) as conn:
        conn.execute(update(api_keys).where(api_keys.c.hash == hash_key(site.keys["agent"])).values(revoked=True))
    assert site.client.get("/", follow_redirects=False).status_code == 303


def test_an_agent_gets_403_on_the_policy_page_and_forms_need_their_token(site: Api) -> None:
    sign_in(site, "agent")
    r = site.client.get("/policy")
    assert r.status_code == 403 and "for admin keys" in r.text
    assert 'href="/policy"' not in site.client.get("/").text
    r = site.client.post("/next", data={"agent_id": "a1"})  # no CSRF token
    assert r.status_code == 403 and "security token" in r.text
    r = site.client.post("/next", data={"agent_id": "a1", "csrf": csrf(site)},
                         headers={"origin": "https://evil.example"})
    assert r.status_code == 403


def test_every_page_is_escaped_and_sends_a_strict_content_security_policy(site: Api) -> None:
    _seed(site)
    sign_in(site)
    for path in ("/", "/queues/service", "/queues/social-care", "/listening", "/policy", "/customers/c2"):
        r = site.client.get(path)
        assert r.status_code == 200, path
        assert "<script>alert" not in r.text, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        # nothing from another host: every src and href is on this site (or an in-page anchor)
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', r.text):
            assert url.startswith(("/", "#")), (path, url)
    assert "&lt;script&gt;alert" in site.client.get("/customers/c2").text


def test_the_take_next_button_hands_out_what_the_api_would(tmp_path: Path) -> None:
    """Two services with the same contacts at the same instants: the page's button and the API's route hand the
    same contacts, in the same order, to an agent."""
    taken: dict[str, list[str]] = {}
    for how in ("page", "api"):
        for api in make_api(f"sqlite:///{tmp_path / how}.db", Clock()):
            _seed(api)
            api.clock.advance(60)
            order = []
            if how == "page":
                sign_in(api, "agent")
            for _ in range(4):
                if how == "page":
                    r = api.client.post("/next", data={"agent_id": "a1", "csrf": csrf(api)}, follow_redirects=False)
                    assert r.status_code == 303
                    contact_id = r.headers["location"].removeprefix("/contacts/")
                    page = api.client.get(f"/contacts/{contact_id}").text
                    assert "assigned (agent a1)" in page
                    r = api.client.post(f"/contacts/{contact_id}/resolve", data={"csrf": csrf(api)},
                                        follow_redirects=False)
                    assert r.headers["location"] == "/?note=resolved"
                else:
                    r = api.client.post("/v1/agents/a1/next", headers=api.h("agent"))
                    assert r.status_code == 200
                    contact_id = r.json()["id"]
                    api.client.post(f"/v1/contacts/{contact_id}/resolve", headers=api.h("agent"))
                got = api.client.get(f"/v1/contacts/{contact_id}", headers=api.h("agent")).json()
                assert got["state"] == "resolved" and got["agent_id"] == "a1"
                order.append(got["external_id"])
            # nothing waits now for a1 (the flagged post went to the social-care queue, which is not theirs)
            if how == "page":
                r = api.client.post("/next", data={"agent_id": "a1", "csrf": csrf(api)}, follow_redirects=False)
                assert r.headers["location"] == "/?note=empty"
                assert "Nothing waits for you" in api.client.get(r.headers["location"]).text
            else:
                assert api.client.post("/v1/agents/a1/next", headers=api.h("agent")).status_code == 204
            taken[how] = order
    assert taken["page"] == taken["api"]
    assert sorted(taken["page"]) == ["e1", "e2", "e3", "e4"]


def test_the_policy_diff_is_fairserve_policy_diffs_on_the_stored_customers(site: Api) -> None:
    import pandas as pd

    from fairserve.policy import load_policy
    from fairserve.policy.audit import diff_policies, prepare_scores

    _seed(site)
    sign_in(site)
    page = site.client.get("/policy", params={"candidate": "value-first"}).text
    scores = prepare_scores(pd.read_csv(io.StringIO(CUSTOMERS)))
    want = diff_policies(scores, load_policy("balanced"), load_policy("value-first"))
    table = page[page.index('id="diff-table"'):]
    table = table[:table.index("</table>")]
    cells = [[int(c) for c in re.findall(r'<td class="n">(\d+)</td>', row)]
             for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table)]
    assert cells == want.matrix.to_numpy().tolist()
    assert f"<strong>{want.changed}</strong> of 3 stored customers change tier" in page


def test_the_listening_view_says_so_when_no_contact_has_text(site: Api) -> None:
    sign_in(site)
    r = site.client.get("/listening")
    assert r.status_code == 200 and "No stored contact carries text yet" in r.text


def test_the_static_files_are_small_ours_and_shipped_in_the_wheel() -> None:
    total = sum(p.stat().st_size for p in STATIC.iterdir())
    assert total < 20_000  # a few KB of our own CSS and script
    for p in [*STATIC.iterdir(), *TEMPLATES.iterdir()]:
        text = p.read_text(encoding="utf-8")
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", text), p  # nothing loaded from another host
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs: list[str] = data["tool"]["setuptools"]["package-data"]["fairserve"]
    base = ROOT / "src" / "fairserve"
    for p in [*STATIC.iterdir(), *TEMPLATES.iterdir()]:
        rel = p.relative_to(base).as_posix()
        assert any(fnmatch(rel, g) for g in globs), rel

