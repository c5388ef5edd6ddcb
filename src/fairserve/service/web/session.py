"""Sign-in to the dashboard: an API key is exchanged for a signed session cookie, and forms carry a CSRF token.

The cookie (``fairserve_session``: HttpOnly, SameSite=Strict, Path=/, Secure when the request came over HTTPS) is
``<payload>.<signature>``: the payload is URL-safe base64 of ``{"h": sha256 of the key, "e": expiry, "a": agent
id}`` and the signature its HMAC-SHA256 under a key derived from the service's token secret (a separate purpose
from customer links, so neither token opens the other). The key itself is never kept: every request looks the
key's hash up again, so revoking the key ends its sessions at once. The CSRF token of a form is an HMAC of the
cookie, so a page of another site can neither read nor forge it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from fairserve.service.auth import hash_key
from fairserve.service.store import api_keys

__all__ = ["COOKIE", "SESSION_SECONDS", "Session", "csrf_token", "key_role", "make_cookie", "read_cookie"]

COOKIE = "fairserve_session"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """A signed-in person: the role of their key, an id fit for the audit log, and their agent id (may be empty)."""

    role: str
    actor: str
    key_hash: str
    agent_id: str
    cookie: str


def _purpose_key(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_role(engine: Engine, *, key: str | None = None, key_hash: str | None = None) -> str | None:
    """The role of an API key (given as the key or as its hash), or None when it is unknown or revoked."""
    h = key_hash if key_hash is not None else hash_key(key or "")
    with engine.connect() as conn:
        row = conn.execute(select(api_keys.c.role, api_keys.c.revoked).where(api_keys.c.hash == h)).first()
        conn.rollback()
    return None if row is None or row.revoked else str(row.role)


def make_cookie(secret: bytes, key_hash: str, agent_id: str = "", now: float | None = None,
                seconds: float = SESSION_SECONDS) -> str:
    """The signed cookie value of a session of the key with hash ``key_hash``."""
    expires = int((time.time() if now is None else now) + seconds)
    payload = _b64(json.dumps({"h": key_hash, "e": expires, "a": agent_id[:100]}, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_purpose_key(secret, "dashboard-session"), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_cookie(secret: bytes, engine: Engine, value: str | None, now: float | None = None) -> Session | None:
    """The session a cookie opens, or None when it is missing, forged, expired or its key is revoked."""
    if not value or len(value) > 1000:
        return None
    payload, _, sig = value.partition(".")
    want = _b64(hmac.new(_purpose_key(secret, "dashboard-session"), payload.encode(), hashlib.sha256).digest())
    if not payload or not hmac.compare_digest(want, sig):
        return None
    try:
        data = json.loads(_unb64(payload))
        key_hash, expires, agent = str(data["h"]), float(data["e"]), str(data.get("a", ""))
    except (ValueError, KeyError, TypeError):
        return None
    if (time.time() if now is None else now) >= expires:
        return None
    role = key_role(engine, key_hash=key_hash)
    if role is None:
        return None
    return Session(role, f"{role}:{key_hash[:10]}", key_hash, agent, value)


def csrf_token(secret: bytes, cookie: str) -> str:
    """The token a form of this session must send back."""
    return _b64(hmac.new(_purpose_key(secret, "dashboard-csrf"), cookie.encode(), hashlib.sha256).digest())[:32]
