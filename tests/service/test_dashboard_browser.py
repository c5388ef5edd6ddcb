"""The dashboard and the customer's page in a real browser: headless Chromium (Debian's, driven by Playwright)
against a real ``fairserve serve`` on 127.0.0.1 (SQLite in the test's folder, stopped by its pid at the end),
seeded through the public API with customers, a shadow policy and contacts, social posts with text among them.

Every page is checked for what it shows (charts drawn with the seeded numbers, tables with rows), the click path
queue -> contact -> customer -> explanation, an agent taking their next contact from the page, the queue updating
without a reload, no console error, nothing fetched from another host, keyboard reach and focus, no horizontal
scroll at 200% zoom and on a phone. Screenshots go to the test's folder (and to ``$FAIRSERVE_ARTIFACTS``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from service_fixtures import server

from browser_helpers import browser_fixture

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")
httpx = pytest.importorskip("httpx")


CUSTOMERS = (Path(__file__).parent / "fixtures" / "dashboard_customers.csv").read_text()  # shared with docs/

# (channel, who, text, reach, hours ago)
POSTS = [
    ("social", "bob_loud", "Flight delayed five hours and nobody at the gate tells us anything. Worst airline ever.",
     480000, 5.5),
    ("social", "cat_travels", "My bag never arrived in Lisbon, still waiting for news after three days", 1200, 5.0),
    ("social", "dan_d", "Charged twice for the same ticket, I want a refund today", 90, 4.6),
    ("social", "eve_e", "Love the new lounge, the staff were wonderful", 25000, 4.2),
    ("social", "fay_f", "Locked out of my account again, cannot check in", 15, 3.9),
    ("social", "bob_loud", "Another delay, we are stranded at the airport with no hotel. Disgraceful service.",
     480000, 3.5),
    ("social", "cat_travels", "Lost baggage claim ignored for a week, terrible", 1200, 3.0),
    ("social", "ann_flies", "Great crew on my flight to Oslo, thank you", 310, 2.6),
    ("social", "dan_d", "Flight cancelled with no explanation, need rebooking asap", 90, 2.2),
    ("social", "eve_e", "The app is down and I cannot see my boarding pass", 25000, 1.8),
    ("social", "fay_f", "Refund still not processed after two billing complaints", 15, 1.4),
    ("social", "cat_travels", "Delayed again, missed my connection", 1200, 1.0),
    ("social", "dan_d", "Thanks for the quick help with my seat", 90, 0.6),
    ("social", "bob_loud", "My suitcase was damaged and nobody cares. Never flying with you again.", 480000, 0.3),
    ("email", "c-ann", "Please change my booking to the later flight", None, 0.5),
    ("phone", "c-eve", "", None, 0.2),
    ("chat", "c-cat", "Where is my refund for the cancelled flight?", None, 0.15),
    ("phone", "c-fay", "", None, 0.1),
    ("email", "c-dan", "I was charged twice, please fix the billing", None, 0.05),
]


@dataclass
class Site:
    """A running service with keys of every role and the contacts seeded into it."""

    base: str
    keys: dict[str, str]
    folder: Path
    pid: int
    texts: list[str] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def _seed(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=30) as http:
        r = http.post("/v1/customers/bulk", content=CUSTOMERS, headers={**site.h("admin"), "content-type": "text/csv"})
        assert r.status_code == 200 and r.json()["upserted"] == 6, r.text
        text = resources.files("fairserve.policy").joinpath("policies", "influence-first.toml").read_text("utf-8")
        up = http.post("/v1/policies", content=text, headers=site.h("admin"))
        assert up.status_code == 201, up.text
        assert http.post(f"/v1/policies/{up.json()['hash']}/shadow", headers=site.h("admin")).status_code == 200
        now = time.time()
        for i, (channel, who, words, reach, hours) in enumerate(POSTS):
            body: dict[str, Any] = {"channel": channel, "text": words, "arrival": now - hours * 3600,
                                    "external_id": f"seed-{i}"}
            if who.startswith("c-"):
                body["customer_id"] = who
            else:
                body.update(handle=who, platform="generic", public=True, reach=reach)
            r = http.post("/v1/contacts", json=body, headers=site.h("intake"))
            assert r.status_code == 201, r.text
            site.contacts.append(r.json())
            if words:
                site.texts.append(words)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``fairserve serve`` on a free loopback port, a fresh SQLite file, keys of each role, seeded data."""
    from fairserve.service.auth import create_key
    from fairserve.service.store import make_engine, upgrade, write

    folder = tmp_path_factory.mktemp("dashboard")
    db = f"sqlite:///{folder / 'fairserve.db'}"
    engine = make_engine(db)
    upgrade(engine)
    with write(engine) as conn:
        keys = {role: create_key(conn, role) for role in ("admin", "agent", "intake")}
    engine.dispose()
    # the SLA clock ticks every second and texts are read, as in production
    live = {"FAIRSERVE_SLA_CHECK_SECONDS": "1", "FAIRSERVE_CLASSIFY_TEXT": "true"}
    with server(db, 1, folder, ("--host", "127.0.0.1", "--policy", "balanced"), env=live) as (base, proc):
        s = Site(base, keys, folder, proc.pid)
        _seed(s)
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_fixture()


@dataclass
class Tab:
    """A page and what it did: requests refused for leaving the host, console errors."""

    page: Any
    offhost: list[str]
    errors: list[str]


@contextlib.contextmanager
def tab(browser: Any, site: Site, width: int = 1280, height: int = 900) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    seen = Tab(page, [], [])

    def route(r: Any) -> None:
        if r.request.url.startswith(site.base + "/") or r.request.url.startswith(("data:", "about:")):
            r.continue_()
        else:  # another host: record it and refuse it
            seen.offhost.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    try:
        yield seen
    finally:
        context.close()
    assert seen.offhost == [], seen.offhost
    assert seen.errors == [], seen.errors


def sign_in(t: Tab, site: Site, role: str, target: str = "/") -> None:
    t.page.goto(site.base + target)
    assert "/signin" in t.page.url  # not signed in: sent to the sign-in form, then back
    t.page.get_by_label("API key").fill(site.keys[role])
    t.page.get_by_role("button", name="Sign in").click()
    t.page.wait_for_load_state()
    assert "/signin" not in t.page.url


def shot(t: Tab, site: Site, name: str, full: bool = True) -> Path:
    path = site.folder / f"{name}.png"
    t.page.screenshot(path=str(path), full_page=full)
    extra = os.environ.get("FAIRSERVE_ARTIFACTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    assert path.stat().st_size > 5_000
    return path


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def marks(page: Any, chart: str) -> list[float]:
    return [float(v) for v in page.eval_on_selector_all(f"#{chart} .mark", "els => els.map(e => e.dataset.value)")]


def rows(page: Any, table: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr", "trs => trs.map(tr => [...tr.children].map(td => td.textContent.trim()))")


# ------------------------------------------------------------------------------------------------------ tests


def test_a_wrong_key_gets_a_clear_message_and_an_agent_gets_403_on_the_policy_page(browser: Any, site: Site) -> None:
    with tab(browser, site) as t:
        t.page.goto(site.base + "/signin")
        t.page.get_by_label("API key").fill("fsk_not-a-real-key")
        t.page.get_by_role("button", name="Sign in").click()
        alert = t.page.get_by_role("alert")
        assert "not known to this service" in alert.inner_text()
        assert "Traceback" not in t.page.content()
        assert t.page.get_by_label("API key").get_attribute("aria-invalid") == "true"
        # an intake key may not open the dashboard
        t.page.get_by_label("API key").fill(site.keys["intake"])
        t.page.get_by_role("button", name="Sign in").click()
        assert "may only post contacts" in t.page.get_by_role("alert").inner_text()
        t.errors.clear()  # the 401 and 403 answers above are logged by Chromium as failed loads; they are the point
    with tab(browser, site) as t:
        sign_in(t, site, "agent")
        assert t.page.get_by_role("link", name="Policy").count() == 0  # not offered to an agent
        answer = t.page.goto(site.base + "/policy")
        assert answer is not None and answer.status == 403
        assert "for admin keys" in t.page.get_by_role("alert").inner_text()
        t.errors.clear()
        # sign out: the dashboard asks for a key again
        t.page.get_by_role("button", name="Sign out").click()
        t.page.goto(site.base + "/")
        assert "/signin" in t.page.url


def test_the_overview_shows_queues_clocks_breaches_social_care_and_agents_and_updates_without_a_reload(
        browser: Any, site: Site) -> None:
    with tab(browser, site) as t:
        sign_in(t, site, "admin")
        page = t.page
        queue_rows = rows(page, "queues-table")
        waiting = sum(int(r[3]) for r in queue_rows)
        assert waiting >= len(POSTS) - 1  # every seeded contact waits (one may have been taken by another test)
        # the chart draws the table's numbers
        assert sum(marks(page, "chart-waiting")) == waiting
        # the seeded contacts of five hours ago are past their SLA: listed as breaches, with a running clock
        breaches = rows(page, "breaches-table")
        assert any("breached" in r[4] for r in breaches)
        clock = page.locator("#breaches-table .clock").first
        first = clock.inner_text()
        assert first.startswith("breached") and first.endswith("ago")
        # social care: the loud customer's negative posts carry the reputational flag
        social = rows(page, "social-table")
        flagged = [r for r in social if "reputational risk" in r[2]]
        assert flagged and all(r[3] == "social-care" for r in flagged)
        page.evaluate("() => { window.__noReload = true; }")
        with httpx.Client(base_url=site.base) as http:
            r = http.post("/v1/contacts", json={"channel": "chat", "customer_id": "c-ann", "text": "Hello, my seat?"},
                          headers=site.h("intake"))
            assert r.status_code == 201
            site.texts.append("Hello, my seat?")
        count = ("n => [...document.querySelectorAll('#queues-table tbody tr')]"
                 ".reduce((s, tr) => s + Number(tr.children[3].textContent), 0) === n")
        page.wait_for_function(count, arg=waiting + 1, timeout=10_000)
        assert page.evaluate("() => window.__noReload === true")  # the same document: updated, not reloaded
        assert "Updated" in page.locator("#live-status").inner_text()
        # "Pause live updates" stops them (and says so) until resumed
        page.get_by_role("button", name="Pause live updates").click()
        assert page.locator("#live-alert").inner_text() == "Live updates paused."
        with httpx.Client(base_url=site.base) as http:
            http.post("/v1/contacts", json={"channel": "email", "customer_id": "c-fay", "text": "Paused?"},
                      headers=site.h("intake")).raise_for_status()
            site.texts.append("Paused?")
        page.wait_for_timeout(3_000)
        assert sum(int(r[3]) for r in rows(page, "queues-table")) == waiting + 1
        page.get_by_role("button", name="Resume live updates").click()
        page.wait_for_function(count, arg=waiting + 2, timeout=10_000)
        assert len(rows(page, "agents-table")) >= 0
        shot(t, site, "dashboard")


def test_queue_to_contact_to_customer_to_the_explanation_by_clicks(browser: Any, site: Site) -> None:
    with tab(browser, site) as t:
        sign_in(t, site, "agent")
        page = t.page
        page.locator("#queues-table a", has_text="service").first.click()
        page.wait_for_url("**/queues/service")
        places = rows(page, "queue-table")
        assert [int(r[0]) for r in places] == list(range(1, len(places) + 1))
        page.locator("#queue-table tbody tr a.mono").first.click()
        page.wait_for_url("**/contacts/*")
        assert page.locator("#place").inner_text() == "1"
        reasons = rows(page, "reasons-table")
        assert reasons and any(r[0] == "tier" for r in reasons)
        page.locator("#contact-state dd a[href^='/customers/']").click()
        page.wait_for_url("**/customers/*")
        tier = page.locator("#tier").inner_text()
        assert tier in ("priority", "loyal", "standard")
        assert page.locator("#statement").inner_text().startswith(f"You are in the {tier} tier.")
        shot(t, site, "dashboard-customer")
        page.get_by_role("button", name="Open the customer's own page (makes their signed link)").click()
        page.wait_for_url("**/v1/me/explanation?token=*")
        assert page.locator("h1").inner_text() == f"Your tier: {tier}"
        assert page.locator("#followers").inner_text() in ("Yes.", "No.")


def test_an_agent_takes_their_next_contact_from_the_page(browser: Any, site: Site) -> None:
    with httpx.Client(base_url=site.base) as http:  # no chats for this agent: one contact at a time
        r = http.put("/v1/agents/web-agent", json={"channels": ["phone", "email", "social"]}, headers=site.h("agent"))
        assert r.status_code == 200
    with tab(browser, site) as t:
        sign_in(t, site, "agent")
        page = t.page
        page.get_by_label("Your agent id").fill("web-agent")
        page.get_by_role("button", name="Take my next contact").click()
        page.wait_for_url("**/contacts/*")
        contact_id = page.url.rsplit("/", 1)[1]
        assert "assigned (agent web-agent)" in page.locator("#contact-state").inner_text()
        with httpx.Client(base_url=site.base) as http:
            api = http.get(f"/v1/contacts/{contact_id}", headers=site.h("agent")).json()
            assert api["state"] == "assigned" and api["agent_id"] == "web-agent"
            lines = http.get("/v1/audit", params={"contact_id": contact_id}, headers=site.h("admin")).json()
            assert any(line["action"] == "contact_assigned" and line["actor"] == "agent:web-agent" for line in lines)
        # a phone, e-mail or social contact is served one at a time: the page says so instead of a second hand-out
        assert api["channel"] in ("phone", "email", "social")
        page.goto(site.base + "/")
        assert page.get_by_label("Your agent id").input_value() == "web-agent"  # remembered in the session
        page.get_by_role("button", name="Take my next contact").click()
        page.wait_for_url("**/?note=busy")
        assert "resolve one first" in page.get_by_role("status").first.inner_text()
        page.goto(site.base + f"/contacts/{contact_id}")
        page.get_by_role("button", name="Resolve this contact").click()
        page.wait_for_url("**/?note=resolved")
        with httpx.Client(base_url=site.base) as http:
            assert http.get(f"/v1/contacts/{contact_id}", headers=site.h("agent")).json()["state"] == "resolved"
        assert "web-agent" in [r[0] for r in rows(page, "agents-table")]


def test_the_listening_view_draws_sentiment_and_topics_over_time_and_real_anecdotes(browser: Any, site: Site) -> None:
    with tab(browser, site) as t:
        sign_in(t, site, "agent", "/listening")
        page = t.page
        posts = int(page.locator(".summary strong").first.inner_text())
        assert posts >= len(site.texts)
        sentiment = marks(page, "chart-sentiment")
        assert sum(sentiment) == posts  # every contact with text, once
        table = rows(page, "sentiment-table")
        assert sum(int(c) for r in table for c in r[1:]) == posts
        topics = rows(page, "topics-table")
        assert sum(int(r[1]) for r in topics) == posts
        shown = marks(page, "chart-topics")
        top = {r[0]: int(r[1]) for r in topics[:5]}
        assert sum(shown) == sum(top.values())
        anecdotes = page.locator("#anecdotes blockquote").all_inner_texts()
        assert anecdotes and all(a in site.texts for a in anecdotes)  # real posts, word for word
        assert rows(page, "risks-table")[0][3] == "c-bob"  # the loudest negative posts: the 480,000-follower customer
        shot(t, site, "dashboard-listening")


def test_the_policy_page_shows_the_active_version_audit_shadow_disagreements_and_a_diff(browser: Any,
                                                                                       site: Site) -> None:
    health = httpx.get(site.base + "/healthz").json()
    with tab(browser, site) as t:
        sign_in(t, site, "admin", "/policy")
        page = t.page
        assert health["policy"]["hash"] in page.locator("#active-policy").inner_text()
        audit = rows(page, "audit-table")
        lines = httpx.get(site.base + "/v1/audit", params={"limit": 1000}, headers=site.h("admin")).json()
        assert 20 <= len(audit) <= 50 and audit[0][2] == "dashboard_signin"
        stored = {(line["actor"], line["action"], line["contact_id"] or "") for line in lines}
        assert all((r[1], r[2], r[3]) in {(a, b, c[:8]) for a, b, c in stored} for r in audit)
        assert "influence-first" in page.locator("#active-policy").inner_text()  # in shadow
        summary = page.locator("#shadow-summary").inner_text()
        assert f"Over the {len(POSTS)}" in summary or "contacts both decided" in summary
        assert rows(page, "shadow-table")
        diff = rows(page, "diff-table")
        assert sum(int(c) for r in diff for c in r[1:]) == 6  # the six stored customers, each once
        page.get_by_label("Candidate policy").select_option("value-first")
        page.get_by_role("button", name="Compare").click()
        page.wait_for_url("**/policy?candidate=value-first")
        assert "value-first" in page.locator("#diff-table caption").inner_text()
        shot(t, site, "dashboard-policy")


def test_keyboard_reaches_every_control_with_a_visible_focus(browser: Any, site: Site) -> None:
    with tab(browser, site) as t:
        sign_in(t, site, "admin")
        page = t.page
        page.goto(site.base + "/")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Skip to main content"
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"
        page.goto(site.base + "/")
        reached: list[str] = []
        for _ in range(40):
            page.keyboard.press("Tab")
            info = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
                return {label: (e.id || e.getAttribute('href') || e.textContent || '').trim(),
                        outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")
            assert info["outline"] != "none" and info["width"] >= 2, info  # focus is visible
            reached.append(info["label"])
        for want in ("#main", "/", "/queues/service", "/listening", "/policy", "agent_id", "take-next"):
            assert want in reached, (want, reached)
        assert any(label == "Sign out" for label in reached)
        # every control has a label
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select')]
            .filter(e => !(e.labels && e.labels.length)).map(e => e.name)""")
        assert unlabelled == []


def test_readable_at_200_percent_zoom_without_horizontal_scroll(browser: Any, site: Site) -> None:
    # a 1280 px wide window at 200% zoom lays the page out in 640 CSS pixels
    with tab(browser, site, width=640, height=450) as t:
        sign_in(t, site, "admin")
        for path in ("/", "/queues/service", "/listening", "/policy", "/customers/c-bob"):
            t.page.goto(site.base + path)
            assert no_horizontal_scroll(t.page), path
        t.page.goto(site.base + "/")
        shot(t, site, "dashboard-zoom-200")


def test_the_customer_page_on_a_phone(browser: Any, site: Site) -> None:
    with httpx.Client(base_url=site.base) as http:
        link = http.post("/v1/customers/c-bob/link", headers=site.h("agent")).json()
        me = http.get("/v1/me/explanation", params={"token": link["token"]}).json()
    with tab(browser, site, width=390, height=844) as t:
        page = t.page
        page.goto(link["url"])
        assert page.locator("h1").inner_text() == f"Your tier: {me['tier']}"
        assert f"You are in the {me['tier']} tier" in page.locator("#tier-plain").inner_text()
        assert page.locator("#followers").inner_text() == ("Yes." if me["followers_played_a_part"] else "No.")
        for fact in me["facts"]:
            assert fact in page.locator("#facts").inner_text()
        for change in me["what_would_change_it"]:
            assert change in page.locator("#changes").inner_text()
        place = page.locator("#place").inner_text()
        oc = me["open_contact"]
        assert (f"number {oc['position']} in line" in place) if oc and oc["position"] else place
        assert no_horizontal_scroll(page)
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('body *')]
            .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
            .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
        assert smallest >= 16
        shot(t, site, "customer-page")
