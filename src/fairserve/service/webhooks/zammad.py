"""Zammad trigger webhooks (the default payload: the ticket and its article).

Signature, as Zammad documents it (admin docs, "Webhook > Payload"): ``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the
raw body>`` under the webhook's signature token. Zammad signs no timestamp, so staleness cannot be checked; the
ticket id makes a replay harmless (it answers the stored contact). ``X-Zammad-Delivery`` is a random id per
delivery.

Payload: ``{"ticket": {"id", "number", "title", "priority": {"name": "2 normal", "id": 2}, "state": {"name"},
"create_article_type": "phone" | "email" | "web" | "chat" | "twitter status" | ..., "customer": {"email", "phone",
"mobile", ...}, ...}, "article": {"body", "sender": "Customer", "internal", ...}}``. A closed or merged ticket
makes no contact.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fairserve.service.intake import ContactIn
from fairserve.service.webhooks import WebhookError, build, check_mac, header, load_json, need_secret, obj
from fairserve.service.webhooks import severity_of as _severity

__all__ = ["channel_of", "parse", "sign"]

SIG = "X-Hub-Signature"
_CLOSED = {"closed", "merged", "removed"}


def sign(secret: str, body: bytes) -> str:
    """Zammad's ``sha1=`` signature of ``body``."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def channel_of(article_type: Any) -> str:
    """Zammad's ``create_article_type`` as a fairserve channel."""
    t = str(article_type or "").lower()
    if t == "phone":
        return "phone"
    if t in ("chat", "sms", "telegram personal-message", "whatsapp message"):
        return "chat"
    if t.startswith(("twitter", "facebook")):
        return "social"
    return "email"


def _name(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value


def parse(headers: dict[str, str], body: bytes, secret: str | None, now: float, tolerance: float
          ) -> ContactIn | None:
    """Verify and read one Zammad delivery."""
    key = need_secret(secret, "zammad")
    check_mac(sign(key, body), header(headers, SIG), SIG)
    data = load_json(body)
    ticket = obj(data.get("ticket"))
    if ticket.get("id") in (None, ""):
        raise WebhookError("a Zammad delivery needs ticket.id", "ticket.id")
    if str(_name(ticket.get("state")) or "").lower() in _CLOSED:
        return None
    customer = obj(ticket.get("customer"))
    email = customer.get("email") or None
    phone = customer.get("phone") or customer.get("mobile") or None
    handle = None if email or phone or customer.get("id") is None else str(customer["id"])
    if not (email or phone or handle):
        raise WebhookError("the ticket has no customer", "ticket.customer")
    article = obj(data.get("article"))
    text = "\n".join(s for s in (str(ticket.get("title") or ""), str(article.get("body") or "")) if s).strip()
    channel = channel_of(ticket.get("create_article_type"))
    return build("zammad", channel=channel, email=email, phone=phone, handle=handle,
                 platform="zammad" if handle else None, text=text, external_id=f"ticket:{ticket['id']}",
                 severity=_severity(_name(ticket.get("priority"))))
