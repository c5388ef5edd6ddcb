"""Make the dashboard's screenshots in docs/: dashboard.png, dashboard-listening.png and customer-page.png.

Run from the repository root (needs the ``service`` extra, Playwright's Python package and Debian's chromium:
``make browser``)::

    .venv/bin/python docs/dashboard_screenshots.py [--out docs]

It starts ``fairserve serve`` on a free loopback port with a new SQLite file in a temporary folder, makes an admin,
an agent and an intake key, seeds it through the public API (six customers, a policy in shadow, 40 contacts over
the last 24 hours, social posts with text among them, two agents taking a contact each), opens the pages in
headless Chromium (never a downloaded browser) and stops the server by its pid. The contacts' times are relative
to now, so the clocks on the pictures differ from run to run; the data do not (seed 7).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "service")]
# Debian's chromium and the served process, as the tests launch them
from service_fixtures import server  # noqa: E402

from browser_helpers import chromium  # noqa: E402

# the customers of the browser test, so the pictures show what the test checks
CUSTOMERS = (ROOT / "tests" / "service" / "fixtures" / "dashboard_customers.csv").read_text()
HANDLES = {"ann_flies": 310, "bob_loud": 480000, "cat_travels": 1200, "dan_d": 90, "eve_e": 25000, "fay_f": 15}
POSTS = [  # (handle, text)
    ("bob_loud", "Flight delayed five hours and nobody at the gate tells us anything. Worst airline ever."),
    ("cat_travels", "My bag never arrived in Lisbon, still waiting for news after three days"),
    ("dan_d", "Charged twice for the same ticket, I want a refund today"),
    ("eve_e", "Love the new lounge, the staff were wonderful"),
    ("fay_f", "Locked out of my account again, cannot check in"),
    ("cat_travels", "Delayed again, missed my connection"),
    ("ann_flies", "Great crew on my flight to Oslo, thank you"),
    ("eve_e", "The app is down and I cannot see my boarding pass"),
    ("dan_d", "Flight cancelled with no explanation, need rebooking asap"),
    ("fay_f", "Refund still not processed after two billing complaints"),
    ("cat_travels", "Lost baggage claim ignored for a week, terrible"),
    ("dan_d", "Thanks for the quick help with my seat"),
    ("bob_loud", "Another delay, we are stranded at the airport with no hotel. Disgraceful service."),
    ("eve_e", "My suitcase was damaged and nobody cares. Never flying with you again."),
]
SERVICE = [("email", "Please change my booking to the later flight"), ("phone", ""),
           ("chat", "Where is my refund for the cancelled flight?"), ("email", "I was charged twice, please fix it")]


def _seed(base: str, keys: dict[str, str]) -> None:
    rng = random.Random(7)
    admin, intake, agent = ({"Authorization": f"Bearer {keys[r]}"} for r in ("admin", "intake", "agent"))
    with httpx.Client(base_url=base, timeout=30) as http:
        http.post("/v1/customers/bulk", content=CUSTOMERS, headers={**admin, "content-type": "text/csv"}
                  ).raise_for_status()
        text = resources.files("fairserve.policy").joinpath("policies", "influence-first.toml").read_text("utf-8")
        up = http.post("/v1/policies", content=text, headers=admin)
        up.raise_for_status()
        http.post(f"/v1/policies/{up.json()['hash']}/shadow", headers=admin).raise_for_status()
        now = time.time()
        for i in range(40):
            hours = 24 * (1 - i / 40) - rng.random() * 0.5
            body: dict[str, Any] = {"arrival": now - max(hours, 0.02) * 3600, "external_id": f"shot-{i}"}
            if i % 4 == 3:
                channel, words = SERVICE[(i // 4) % len(SERVICE)]
                body.update(channel=channel, text=words, customer_id=rng.choice(["c-ann", "c-cat", "c-dan", "c-eve"]))
            else:
                handle, words = POSTS[(i - i // 4) % len(POSTS)]
                body.update(channel="social", text=words, handle=handle, public=True, reach=HANDLES[handle])
            http.post("/v1/contacts", json=body, headers=intake).raise_for_status()
        for name, channels in (("ines", ["phone", "email", "chat"]), ("omar", ["social"])):
            http.put(f"/v1/agents/{name}", json={"channels": channels, "queues": ["service", "social-care"]},
                     headers=agent).raise_for_status()
            http.post(f"/v1/agents/{name}/next", headers=agent).raise_for_status()


def _sign_in(page: Any, base: str, key: str) -> None:
    page.goto(base + "/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def main() -> None:
    """Start, seed, photograph, stop."""

    from fairserve.service.auth import create_key
    from fairserve.service.store import make_engine, upgrade, write

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fairserve-shots-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'fairserve.db'}"
        engine = make_engine(db)
        upgrade(engine)
        with write(engine) as conn:
            keys = {role: create_key(conn, role, "screenshots") for role in ("admin", "agent", "intake")}
        engine.dispose()
        live = {"FAIRSERVE_CLASSIFY_TEXT": "true"}  # the listening page reads the posts' texts
        with server(db, 1, Path(tmp), ("--policy", "balanced"), env=live) as (base, _proc):
            _seed(base, keys)
            link = httpx.post(base + "/v1/customers/c-bob/link", headers={"Authorization": f"Bearer {keys['agent']}"})
            link.raise_for_status()
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                _sign_in(page, base, keys["admin"])
                page.screenshot(path=str(args.out / "dashboard.png"), full_page=True,
                                clip={"x": 0, "y": 0, "width": 1280, "height": 2000})
                page.goto(base + "/listening")
                page.screenshot(path=str(args.out / "dashboard-listening.png"), full_page=True)
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                phone.goto(link.json()["url"])
                phone.screenshot(path=str(args.out / "customer-page.png"), full_page=True)
    for name in ("dashboard.png", "dashboard-listening.png", "customer-page.png"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
