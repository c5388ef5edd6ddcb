"""Zendesk ticket events (webhooks subscribed to ``zen:event-type:ticket.created``).

Signature, as Zendesk documents it ("Verifying webhook authenticity"): ``X-Zendesk-Webhook-Signature`` is the
base64 HMAC-SHA256, under the webhook's signing secret, of ``X-Zendesk-Webhook-Signature-Timestamp`` (ISO 8601)
joined directly to the raw body. A timestamp older than the tolerance is refused as stale (a replay).

Payload (developer.zendesk.com, Webhooks > Event types > Ticket events): ``{"type": "zen:event-type:ticket.created",
"id": <event id>, "subject": "zen:ticket:<id>", "time", "detail": {"id": "<ticket id, a string>", "subject",
"description", "priority": "LOW" | "NORMAL" | "HIGH" | "URGENT", "requester_id": "<string>", "via": {"channel"},
"tags", ...}, "event": {...}}``. The detail carries no e-mail address, so the sender is the requester id as a
``zendesk`` handle (link it to a customer with ``POST /v1/customers/{id}/identities``). The ticket id is the
idempotency key; every other ticket event is accepted without a contact.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any

from fairserve.service.intake import ContactIn
from fairserve.service.webhooks import (
    SignatureError,
    WebhookError,
    build,
    load_json,
    need_secret,
    obj,
    verify_stamped,
)
from fairserve.service.webhooks import severity_of as _severity

__all__ = ["channel_of", "parse", "sign"]

SIG = "X-Zendesk-Webhook-Signature"
TS = "X-Zendesk-Webhook-Signature-Timestamp"
_CHANNELS = {"voice": "phone", "phone": "phone", "chat": "chat", "native_messaging": "chat", "messaging": "chat",
             "sms": "chat", "whatsapp": "chat", "twitter": "social", "facebook": "social", "instagram": "social",
             "instagram_dm": "chat", "facebook_messenger": "chat", "any_channel": "social"}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's signature of ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def channel_of(via: Any) -> str:
    """Zendesk's ``via.channel`` as a fairserve channel (web forms and e-mail are e-mail)."""
    return _CHANNELS.get(str(via or "").lower(), "email")


def _when(value: str) -> float:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise SignatureError(f"{TS} is not an ISO 8601 time", TS) from None


def parse(headers: dict[str, str], body: bytes, secret: str | None, now: float, tolerance: float
          ) -> ContactIn | None:
    """Verify and read one Zendesk delivery."""
    key = need_secret(secret, "zendesk")
    verify_stamped(headers, body, sign, key, SIG, TS, _when, now, tolerance)
    data = load_json(body)
    if data.get("type") != "zen:event-type:ticket.created":
        return None
    detail = data.get("detail")
    if not isinstance(detail, dict) or detail.get("id") in (None, ""):
        raise WebhookError("a ticket.created event needs detail.id", "detail.id")
    requester = detail.get("requester_id")
    if requester in (None, ""):
        raise WebhookError("a ticket.created event needs detail.requester_id", "detail.requester_id")
    text = "\n".join(str(detail.get(k) or "") for k in ("subject", "description")).strip()
    via = obj(detail.get("via"))
    return build("zendesk", channel=channel_of(via.get("channel")), handle=str(requester), platform="zendesk",
                 text=text, external_id=f"ticket:{detail['id']}", severity=_severity(detail.get("priority")),
                 public=bool(detail.get("is_public")) if channel_of(via.get("channel")) == "social" else None)
