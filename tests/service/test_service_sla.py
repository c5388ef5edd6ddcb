"""SLA clocks: near-breach and breach raised once each while contacts wait, written to the audit log, delivered
as signed webhooks with their own delivery ids, retried with back-off when the receiver fails."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from service_fixtures import Api, make_api
from sqlalchemy import select

from fairserve.service.sla import deliver, sweep
from fairserve.service.store import outbox


class Receiver:
    """A webhook receiver on loopback that answers with the status it is told."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sla_api(db_url: str, receiver: Receiver) -> Iterator[Api]:
    yield from make_api(db_url, events_url=receiver.url, events_secret="ev-secret", sla_near_fraction=0.8)


def test_near_breach_and_breach_are_raised_once_each_and_delivered_signed(sla_api: Api, receiver: Receiver) -> None:
    api = sla_api
    c = api.client.post("/v1/contacts", json={"channel": "phone", "email": "w@example.com"},
                        headers=api.h("intake")).json()
    sla = c["decision"]["sla_seconds"]  # standard tier on the phone: 3 minutes
    clock = api.app.state.service.extra["sla_clock"]
    assert clock.tick() == (0, 0)
    api.clock.advance(0.85 * sla)
    assert clock.tick() == (1, 1)
    assert clock.tick() == (0, 0)  # raised once
    api.clock.advance(0.2 * sla)
    assert clock.tick() == (1, 1)
    assert api.client.get(f"/v1/contacts/{c['id']}", headers=api.h("agent")).json()["sla_state"] == "breached"
    kinds = [json.loads(body)["type"] for _, body in receiver.got]
    assert kinds == ["sla.near_breach", "sla.breached"]
    ids = set()
    for headers, body in receiver.got:
        ts = headers["x-fairserve-timestamp"]
        want = "sha256=" + hmac.new(b"ev-secret", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        assert headers["x-fairserve-signature"] == want
        assert json.loads(body)["contact_id"] == c["id"]
        ids.add(headers["x-fairserve-delivery"])
    assert len(ids) == 2
    audit = [x["action"] for x in api.client.get(f"/v1/audit?contact_id={c['id']}", headers=api.h()).json()]
    assert audit[:2] == ["sla.breached", "sla.near_breach"]
    metrics = api.client.get("/metrics").text
    assert 'fairserve_sla_events_total{state="breached"} 1' in metrics


def test_a_failed_delivery_is_retried_with_back_off_then_delivered(sla_api: Api, receiver: Receiver) -> None:
    api = sla_api
    engine = api.engine
    api.client.post("/v1/contacts", json={"channel": "phone", "email": "w@example.com"}, headers=api.h("intake"))
    api.clock.advance(400)
    receiver.status = 500
    assert sweep(engine, api.clock(), 0.8) == 1
    assert deliver(engine, receiver.url, "ev-secret", api.clock()) == 0
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
        conn.rollback()
    assert row.attempts == 1 and row.last_error == "HTTP 500" and row.next_attempt == api.clock() + 5.0
    assert deliver(engine, receiver.url, "ev-secret", api.clock() + 1) == 0  # not due yet
    assert len(receiver.got) == 1
    receiver.status = 204
    assert deliver(engine, receiver.url, "ev-secret", api.clock() + 5) == 1
    first, second = receiver.got
    assert first[0]["x-fairserve-delivery"] == second[0]["x-fairserve-delivery"]  # the same delivery, retried
    assert deliver(engine, receiver.url, "ev-secret", api.clock() + 100) == 0


def test_assigned_contacts_raise_no_sla_events(sla_api: Api) -> None:
    api = sla_api
    api.client.post("/v1/contacts", json={"channel": "chat", "email": "w@example.com"}, headers=api.h("intake"))
    assert api.client.post("/v1/agents/a/next", headers=api.h("agent")).status_code == 200
    api.clock.advance(10_000)
    assert sweep(api.engine, api.clock(), 0.8) == 0
