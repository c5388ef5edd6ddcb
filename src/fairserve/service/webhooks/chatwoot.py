"""Chatwoot webhooks: ``conversation_created`` and incoming ``message_created``.

Signature (Chatwoot 4.11 and later, per-webhook secret): ``X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of
"<X-Chatwoot-Timestamp>.<raw body>">``, the timestamp in Unix seconds; older than the tolerance is stale.

Payload (Chatwoot docs, "Webhook events"; ``app/models/conversation.rb`` ``webhook_data`` and
``app/presenters/conversations/event_data_presenter.rb``): ``conversation_created`` is the conversation itself
(``{"event", "id", "inbox_id", "channel": "Channel::WebWidget", "meta": {"sender": {"id", "email",
"phone_number", ...}}, "messages": [...], "status", "priority", "waiting_since", ...}``); ``message_created`` is the
message (``{"event", "id", "content", "message_type": "incoming" | "outgoing" | "template", "sender": {...},
"conversation": {"id", "channel", "meta": {"sender": ...}, "priority", ...}, "inbox", "account"}``).
The conversation id is the idempotency key: the conversation's first delivery creates the contact, every later
one (a redelivery, the customer's next message) answers with the same contact. Outgoing messages, templates and
other events are accepted without a contact.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fairserve.service.intake import ContactIn
from fairserve.service.webhooks import (
    WebhookError,
    build,
    load_json,
    need_secret,
    obj,
    unix_seconds,
    verify_stamped,
)
from fairserve.service.webhooks import severity_of as _severity

__all__ = ["channel_of", "parse", "sign"]

SIG = "X-Chatwoot-Signature"
TS = "X-Chatwoot-Timestamp"
_CHANNELS = {"Channel::WebWidget": "chat", "Channel::Api": "chat", "Channel::Email": "email",
             "Channel::TwilioSms": "chat", "Channel::Sms": "chat", "Channel::Whatsapp": "chat",
             "Channel::Telegram": "chat", "Channel::Line": "chat", "Channel::Voice": "phone",
             "Channel::FacebookPage": "social", "Channel::TwitterProfile": "social", "Channel::Instagram": "social"}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Chatwoot's ``sha256=`` signature of ``body`` at ``timestamp``."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def channel_of(name: Any) -> str:
    """A Chatwoot inbox channel class as a fairserve channel (unknown inboxes are chats)."""
    return _CHANNELS.get(str(name or ""), "chat")


def _sender(meta_sender: Any) -> dict[str, Any]:
    s = meta_sender if isinstance(meta_sender, dict) else {}
    return {"email": s.get("email") or None, "phone": s.get("phone_number") or None,
            "handle": None if s.get("email") or s.get("phone_number") or s.get("id") is None else str(s["id"])}


def parse(headers: dict[str, str], body: bytes, secret: str | None, now: float, tolerance: float
          ) -> ContactIn | None:
    """Verify and read one Chatwoot delivery."""
    key = need_secret(secret, "chatwoot")
    verify_stamped(headers, body, sign, key, SIG, TS, unix_seconds(TS), now, tolerance)
    data = load_json(body)
    event = data.get("event")
    if event == "conversation_created":
        conv: dict[str, Any] = data
        raw = data.get("messages")
        messages: list[Any] = raw if isinstance(raw, list) else []
        text = " ".join(str(m.get("content") or "") for m in messages if isinstance(m, dict)
                        and m.get("message_type") in (0, "incoming")).strip()
    elif event == "message_created":
        if data.get("message_type") not in ("incoming", 0) or data.get("private"):
            return None
        conv = obj(data.get("conversation"))
        text = str(data.get("content") or "")
    else:
        return None
    if conv.get("id") in (None, ""):
        raise WebhookError("the conversation has no id", "conversation.id" if event == "message_created" else "id")
    meta = obj(conv.get("meta"))
    who = _sender(meta.get("sender") or data.get("sender"))
    if not any(who.values()):
        raise WebhookError("the conversation has no sender", "meta.sender")
    return build("chatwoot", channel=channel_of(conv.get("channel")), text=text,
                 external_id=f"conversation:{conv['id']}", severity=_severity(conv.get("priority")),
                 platform="chatwoot" if who["handle"] else None, **who)
