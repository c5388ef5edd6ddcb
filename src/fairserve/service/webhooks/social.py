"""A generic social-mention webhook for any listener (fairserve's own shape, signed like Chatwoot signs).

Signature: ``X-Fairserve-Signature: sha256=<hex HMAC-SHA256 of "<X-Fairserve-Timestamp>.<raw body>">``, the
timestamp in Unix seconds; older than the tolerance is stale.

Payload: ``{"id": "<the post's id on its platform>", "platform": "twitter", "handle": "@someone", "text": "...",
"reach": <audience, optional>, "followers": <optional, used as reach when reach is absent>, "public": true}``.
``platform:id`` is the idempotency key. Every mention is a ``social`` contact, public unless it says otherwise,
so the policy's reputational-risk rule sees it.
"""

from __future__ import annotations

import hashlib
import hmac

from fairserve.service.intake import ContactIn
from fairserve.service.webhooks import WebhookError, build, load_json, need_secret, unix_seconds, verify_stamped

__all__ = ["parse", "sign"]

SIG = "X-Fairserve-Signature"
TS = "X-Fairserve-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``sha256=`` signature of ``body`` at ``timestamp``."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def parse(headers: dict[str, str], body: bytes, secret: str | None, now: float, tolerance: float
          ) -> ContactIn | None:
    """Verify and read one mention."""
    key = need_secret(secret, "social")
    verify_stamped(headers, body, sign, key, SIG, TS, unix_seconds(TS), now, tolerance)
    data = load_json(body)
    for field in ("id", "platform", "handle"):
        if data.get(field) in (None, ""):
            raise WebhookError(f"a mention needs {field}", field)
    reach = data.get("reach") if data.get("reach") is not None else data.get("followers")
    public = data.get("public")
    return build("social", channel="social", handle=str(data["handle"]), platform=str(data["platform"]).lower(),
                 text=str(data.get("text") or ""), external_id=f"{str(data['platform']).lower()}:{data['id']}",
                 reach=reach, public=True if public is None else public)
