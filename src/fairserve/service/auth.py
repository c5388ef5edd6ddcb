"""API keys with roles, and the signed, expiring customer tokens of transparency links.

Keys are ``fsk_`` + 32 random bytes (URL-safe base64); only their sha256 is stored (a key has 256 bits of entropy,
so a plain hash is enough: no dictionary can guess it). Roles: ``admin`` (everything), ``agent`` (take and move
contacts, make a customer's link), ``intake`` (post contacts). Sent as ``Authorization: Bearer KEY``.

A customer token is ``<payload>.<signature>``: the payload is URL-safe base64 of ``{"c": customer_id, "e":
expiry}`` and the signature URL-safe base64 of its HMAC-SHA256 under the service's token secret. A token opens only
the customer it names, and only until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from fairserve.service.store import api_keys, kv, write

__all__ = [
    "ROLES",
    "BadTokenError",
    "Principal",
    "create_key",
    "hash_key",
    "list_keys",
    "lookup_key",
    "make_token",
    "read_token",
    "revoke_key",
    "token_secret",
]

KEY_ID_CHARS = 12  # a key's id in listings: the first characters of its hash

ROLES = ("admin", "agent", "intake")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and an id fit for the audit log (a key's hash prefix, never the key)."""

    role: str
    actor: str


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: Connection, role: str, label: str = "", now: float | None = None) -> str:
    """Make a key of ``role``, store its hash, and return the key (shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    key = "fsk_" + secrets.token_urlsafe(32)
    conn.execute(api_keys.insert().values(hash=hash_key(key), role=role, label=label[:100],
                                          created_at=time.time() if now is None else now, revoked=False))
    return key


def list_keys(conn: Connection) -> list[dict[str, object]]:
    """Every key, oldest first: its id (the first characters of its hash), role, label, created_at and revoked."""
    rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.hash)).all()
    return [{"id": r.hash[:KEY_ID_CHARS], "role": r.role, "label": r.label, "created_at": float(r.created_at),
             "revoked": bool(r.revoked)} for r in rows]


def revoke_key(conn: Connection, key_id: str) -> str:
    """Revoke the one key whose hash starts with ``key_id`` (at least 6 characters); return its full hash.

    Raises ValueError naming the id when no key or more than one key matches. Dashboard sessions of the key end at
    once; the API refuses it at once in this process and within the key cache's ttl (2 s) in other workers.
    """
    prefix = key_id.strip().lower()
    if len(prefix) < 6 or any(c not in "0123456789abcdef" for c in prefix):
        raise ValueError(f"key id {key_id!r}: give at least 6 hex characters of an id from `fairserve keys list`")
    rows = conn.execute(select(api_keys.c.hash).where(api_keys.c.hash.startswith(prefix))).all()
    if not rows:
        raise ValueError(f"no key with id {key_id!r} (see `fairserve keys list`)")
    if len(rows) > 1:
        raise ValueError(f"key id {key_id!r} matches {len(rows)} keys; give more characters")
    h = str(rows[0].hash)
    conn.execute(api_keys.update().where(api_keys.c.hash == h).values(revoked=True))
    _cache.entries.pop(h, None)
    return h


class _KeyCache:
    """Known keys per worker for a few seconds, so a request costs no extra query; revocation lags by the ttl."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self.entries: dict[str, tuple[float, str | None]] = {}


_cache = _KeyCache()


def lookup_key(engine: Engine, key: str) -> Principal | None:
    """The principal of a bearer key, or None for an unknown or revoked key."""
    h = hash_key(key)
    now = time.monotonic()
    hit = _cache.entries.get(h)
    if hit is None or now - hit[0] > _cache.ttl:
        with engine.connect() as conn:
            row = conn.execute(select(api_keys.c.role, api_keys.c.revoked).where(api_keys.c.hash == h)).first()
            conn.rollback()
        role = None if row is None or row.revoked else str(row.role)
        if len(_cache.entries) > 10_000:
            _cache.entries.clear()
        _cache.entries[h] = (now, role)
        hit = _cache.entries[h]
    return None if hit[1] is None else Principal(hit[1], f"{hit[1]}:{h[:10]}")


def token_secret(engine: Engine, configured: str | None) -> bytes:
    """The key that signs customer tokens: the configured one, else one made once and kept in the database."""
    if configured:
        return configured.encode()
    with write(engine) as conn:
        row = conn.execute(select(kv.c.value).where(kv.c.key == "token_secret")).first()
        if row is None:
            value = secrets.token_hex(32)
            conn.execute(kv.insert().values(key="token_secret", value=value))
            return value.encode()
        return str(row[0]).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BadTokenError(ValueError):
    """A customer token that is malformed, forged or expired (the message says which)."""


def make_token(secret: bytes, customer_id: str, expires_at: float) -> str:
    """A token that opens ``customer_id``'s explanation until ``expires_at`` (POSIX seconds)."""
    payload = _b64(json.dumps({"c": customer_id, "e": int(expires_at)}, separators=(",", ":")).encode())
    sig = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_token(secret: bytes, token: str, now: float) -> str:
    """The customer id a token opens; raises :class:`BadTokenError` when it is malformed, forged or expired."""
    payload, _, sig = token.partition(".")
    if not payload or not sig:
        raise BadTokenError("malformed token")
    want = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(want, sig):
        raise BadTokenError("bad token signature")
    try:
        data = json.loads(_unb64(payload))
        customer_id, expires = str(data["c"]), float(data["e"])
    except (ValueError, KeyError, TypeError):
        raise BadTokenError("malformed token") from None
    if now >= expires:
        raise BadTokenError("expired token")
    return customer_id
