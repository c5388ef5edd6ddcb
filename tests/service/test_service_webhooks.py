"""Helpdesk webhooks in the vendors' own shapes (fixtures/README.md says where each shape comes from), signed as
each vendor signs: a new contact answers 201 then 200 with the same id, bad or stale signatures 401, other events
2xx with no contact."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_fixtures import Api, make_api
from test_service_intake import load_customers

FIXTURES = Path(__file__).with_name("fixtures")
SECRETS = {"zendesk_secret": "zd-secret", "chatwoot_secret": "cw-secret", "zammad_secret": "zm-secret",
           "social_secret": "so-secret"}


@pytest.fixture
def hooks(db_url: str) -> Iterator[Api]:
    yield from make_api(db_url, **SECRETS)


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def zendesk_headers(body: bytes, at: float, secret: str = "zd-secret") -> dict[str, str]:
    ts = dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sig = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
    return {"X-Zendesk-Webhook-Signature": sig, "X-Zendesk-Webhook-Signature-Timestamp": ts,
            "X-Zendesk-Webhook-Id": "01GK8E6BKWMJZD2T8Y5AXJQMG5", "content-type": "application/json"}


def chatwoot_headers(body: bytes, at: float, secret: str = "cw-secret", prefix: str = "X-Chatwoot"
                     ) -> dict[str, str]:
    ts = str(int(at))
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {f"{prefix}-Signature": f"sha256={sig}", f"{prefix}-Timestamp": ts, "content-type": "application/json"}


def zammad_headers(body: bytes, secret: str = "zm-secret") -> dict[str, str]:
    sig = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={sig}", "X-Zammad-Trigger": "fairserve", "X-Zammad-Delivery": "b5b0f1a9",
            "content-type": "application/json"}


def severity_reason(contact: dict[str, Any]) -> list[Any]:
    return [r["value"] for r in contact["decision"]["reasons"] if r["signal"] == "severity"]


def test_zendesk_ticket_created_makes_one_contact_and_a_redelivery_the_same(hooks: Api) -> None:
    body = raw("zendesk_ticket_created.json")
    r = hooks.client.post("/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, hooks.clock()))
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["external_id"] == "ticket:35436" and c["channel"] == "email" and c["source"] == "zendesk"
    assert severity_reason(c) == [2.0]  # "HIGH"
    hooks.clock.advance(30)
    again = hooks.client.post("/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, hooks.clock()))
    assert again.status_code == 200 and again.json()["id"] == c["id"] and again.json()["created"] is False


def test_zendesk_other_events_are_accepted_without_a_contact(hooks: Api) -> None:
    body = raw("zendesk_ticket_status_changed.json")
    r = hooks.client.post("/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, hooks.clock()))
    assert r.status_code == 202 and r.json() == {"accepted": True, "contact": None}


def test_zendesk_bad_and_stale_signatures_are_refused(hooks: Api) -> None:
    body = raw("zendesk_ticket_created.json")
    bad = zendesk_headers(body, hooks.clock(), secret="wrong")
    r = hooks.client.post("/v1/webhooks/zendesk", content=body, headers=bad)
    assert r.status_code == 401 and r.json()["field"] == "X-Zendesk-Webhook-Signature"
    stale = zendesk_headers(body, hooks.clock() - 3600)
    r = hooks.client.post("/v1/webhooks/zendesk", content=body, headers=stale)
    assert r.status_code == 401 and r.json()["field"] == "X-Zendesk-Webhook-Signature-Timestamp"
    tampered = body.replace(b"Charged twice", b"Charged thrice")
    r = hooks.client.post("/v1/webhooks/zendesk", content=tampered, headers=zendesk_headers(body, hooks.clock()))
    assert r.status_code == 401


def test_chatwoot_conversation_then_its_messages_are_one_contact(hooks: Api) -> None:
    load_customers(hooks)
    conv = raw("chatwoot_conversation_created.json")
    r = hooks.client.post("/v1/webhooks/chatwoot", content=conv, headers=chatwoot_headers(conv, hooks.clock()))
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["channel"] == "chat" and c["customer_id"] == "c2"  # the sender's e-mail is c2's identity
    assert severity_reason(c) == [3.0]  # newer Chatwoot's "priority": "urgent"
    msg = raw("chatwoot_message_created.json")
    r2 = hooks.client.post("/v1/webhooks/chatwoot", content=msg, headers=chatwoot_headers(msg, hooks.clock()))
    assert r2.status_code == 200 and r2.json()["id"] == c["id"]
    outgoing = json.loads(msg)
    outgoing["message_type"] = "outgoing"
    out = json.dumps(outgoing).encode()
    r3 = hooks.client.post("/v1/webhooks/chatwoot", content=out, headers=chatwoot_headers(out, hooks.clock()))
    assert r3.status_code == 202 and r3.json()["contact"] is None


def test_chatwoot_bad_and_stale_signatures_are_refused(hooks: Api) -> None:
    conv = raw("chatwoot_conversation_created.json")
    r = hooks.client.post("/v1/webhooks/chatwoot", content=conv,
                          headers=chatwoot_headers(conv, hooks.clock(), secret="nope"))
    assert r.status_code == 401 and r.json()["field"] == "X-Chatwoot-Signature"
    r = hooks.client.post("/v1/webhooks/chatwoot", content=conv, headers=chatwoot_headers(conv, hooks.clock() - 900))
    assert r.status_code == 401 and r.json()["field"] == "X-Chatwoot-Timestamp"
    r = hooks.client.post("/v1/webhooks/chatwoot", content=conv, headers={"content-type": "application/json"})
    assert r.status_code == 401


def test_zammad_ticket_webhook_makes_a_phone_contact_with_its_priority(hooks: Api) -> None:
    load_customers(hooks)
    body = raw("zammad_ticket.json")
    r = hooks.client.post("/v1/webhooks/zammad", content=body, headers=zammad_headers(body))
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["channel"] == "phone" and c["customer_id"] == "c1" and c["external_id"] == "ticket:31"
    assert severity_reason(c) == [2.0]  # {"name": "3 high"}
    r2 = hooks.client.post("/v1/webhooks/zammad", content=body, headers=zammad_headers(body))
    assert r2.status_code == 200 and r2.json()["id"] == c["id"]
    r3 = hooks.client.post("/v1/webhooks/zammad", content=body, headers=zammad_headers(body, secret="x"))
    assert r3.status_code == 401 and r3.json()["field"] == "X-Hub-Signature"
    closed = json.loads(body)
    closed["ticket"]["id"] = 32
    closed["ticket"]["state"] = {"id": 4, "name": "closed"}
    cb = json.dumps(closed).encode()
    assert hooks.client.post("/v1/webhooks/zammad", content=cb, headers=zammad_headers(cb)).status_code == 202


def test_social_mentions_are_public_social_contacts_and_risky_ones_go_to_social_care(hooks: Api) -> None:
    post = {"id": "1790000000000000001", "platform": "twitter", "handle": "@loud_voice",
            "text": "Worst airline ever. Lost my bag, rude staff, never again. Disgusting and useless!",
            "reach": 2_000_000, "url": "https://example.com/p/1"}
    body = json.dumps(post).encode()
    h = chatwoot_headers(body, hooks.clock(), secret="so-secret", prefix="X-Fairserve")
    r = hooks.client.post("/v1/webhooks/social", content=body, headers=h)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["channel"] == "social" and c["external_id"] == "twitter:1790000000000000001"
    assert c["decision"]["queue"] == "social-care" and "reputational-risk" in c["decision"]["flags"]
    r2 = hooks.client.post("/v1/webhooks/social", content=body, headers=h)
    assert r2.status_code == 200 and r2.json()["id"] == c["id"]
    # the social-care queue is served only to agents who take it
    assert hooks.client.post("/v1/agents/svc/next", headers=hooks.h("agent")).status_code == 204
    hooks.client.put("/v1/agents/care", json={"channels": ["social"], "queues": ["social-care"]},
                     headers=hooks.h("agent"))
    got = hooks.client.post("/v1/agents/care/next", headers=hooks.h("agent"))
    assert got.status_code == 200 and got.json()["id"] == c["id"]


def test_a_vendor_without_a_secret_refuses_every_delivery(sqlite_api: Api) -> None:
    body = raw("zammad_ticket.json")
    r = sqlite_api.client.post("/v1/webhooks/zammad", content=body, headers=zammad_headers(body))
    assert r.status_code == 401 and "FAIRSERVE_ZAMMAD_SECRET" in r.json()["error"]


def test_a_signed_payload_of_the_wrong_shape_is_422_naming_the_field(hooks: Api) -> None:
    body = json.dumps({"type": "zen:event-type:ticket.created", "detail": {"id": "9"}}).encode()
    r = hooks.client.post("/v1/webhooks/zendesk", content=body, headers=zendesk_headers(body, hooks.clock()))
    assert r.status_code == 422 and r.json()["field"] == "detail.requester_id"
    body = b"not json"
    r = hooks.client.post("/v1/webhooks/zammad", content=body, headers=zammad_headers(body))
    assert r.status_code == 422 and r.json()["field"] == "body"


def test_a_vendor_secret_can_come_from_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from fairserve.service.app import create_app

    settings = tmp_path / "fairserve.env"
    settings.write_text(f"FAIRSERVE_DB_URL=sqlite:///{tmp_path / 'f.db'}\nFAIRSERVE_ZAMMAD_SECRET=from-file\n"
                        "FAIRSERVE_SLA_CHECK_SECONDS=0\n", encoding="utf-8")
    monkeypatch.setenv("FAIRSERVE_SETTINGS_FILE", str(settings))
    monkeypatch.delenv("FAIRSERVE_ZAMMAD_SECRET", raising=False)
    app = create_app()
    body = raw("zammad_ticket.json")
    with TestClient(app) as client:
        assert client.post("/v1/webhooks/zammad", content=body, headers=zammad_headers(body, "from-file")
                           ).status_code == 201
        assert client.post("/v1/webhooks/zammad", content=body, headers=zammad_headers(body, "zm-secret")
                           ).status_code == 401


def test_an_unknown_vendor_is_404_naming_the_known_ones(hooks: Api) -> None:
    from fairserve.service.webhooks import NAMES

    body = raw("zammad_ticket.json")
    r = hooks.client.post("/v1/webhooks/nosuchvendor", content=body, headers=zammad_headers(body))
    assert r.status_code == 404, r.text
    assert r.json()["field"] == "vendor" and "'nosuchvendor'" in r.json()["error"]
    assert set(NAMES) == {"zendesk", "chatwoot", "zammad", "social"}
    assert all(name in r.json()["error"] for name in NAMES)
    # the route still documents the vendors it knows
    schema = hooks.client.get("/openapi.json").json()["paths"]["/v1/webhooks/{vendor}"]["post"]
    assert next(p for p in schema["parameters"] if p["name"] == "vendor")["schema"]["enum"] == list(NAMES)
