"""The policy lifecycle in the service: upload, validate, version, activate (and shadow) without a restart.

A policy is stored as its TOML text under its content hash (:attr:`fairserve.policy.Policy.content_hash`), with
its name and version; one row is ``active``, at most one ``shadow``. Each worker keeps the compiled policy of the
hash it last saw and looks at the database at most once a second, so an activation reaches every worker within a
second and no request ever decides with a half-loaded policy.
"""

from __future__ import annotations

import threading
import time
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from fairserve.errors import FairserveError
from fairserve.policy import Policy, builtin_names
from fairserve.policy.schema import PolicyError, parse_policy
from fairserve.service.store import policies, write_audit

__all__ = ["PolicyHolder", "StoredPolicy", "activate", "active_label", "compile_text", "is_stored", "list_policies",
           "policy_text", "store_policy"]


def policy_text(name_or_path: str) -> tuple[str, str]:
    """The TOML text of a built-in policy (by name) or a policy file, and where it came from."""
    if name_or_path in builtin_names():
        ref = resources.files("fairserve.policy").joinpath("policies", f"{name_or_path}.toml")
        return ref.read_text(encoding="utf-8"), f"built-in {name_or_path}"
    path = Path(name_or_path)
    if not path.is_file():
        raise PolicyError(name_or_path, None, f"no such policy file, and not a built-in ({', '.join(builtin_names())})")
    return path.read_text(encoding="utf-8"), str(path)


def compile_text(text: str, source: str = "<upload>") -> Policy:
    """Validate and compile a policy's TOML text; raises :class:`PolicyError` naming the bad field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, None, f"not valid TOML: {exc}") from None
    return Policy(parse_policy(data, source), source=source)


@dataclass(frozen=True)
class StoredPolicy:
    """A policy row: its compiled form and role (``active``, ``shadow`` or ``none``)."""

    policy: Policy
    role: str


def store_policy(conn: Connection, text: str, source: str, now: float) -> Policy:
    """Validate ``text`` and keep it (a second upload of the same content is the same row)."""
    policy = compile_text(text, source)
    exists = conn.execute(select(policies.c.hash).where(policies.c.hash == policy.content_hash)).first()
    if exists is None:
        conn.execute(policies.insert().values(
            hash=policy.content_hash, name=policy.name, version=policy.version, source=source[:300], body=text,
            role="none", created_at=now,
        ))
        write_audit(conn, now, "system", "policy_uploaded", detail={"hash": policy.content_hash,
                                                                     "name": policy.name, "version": policy.version})
    return policy


def activate(conn: Connection, policy_hash: str, role: str, now: float, actor: str = "system") -> None:
    """Make the stored policy ``policy_hash`` the ``active`` or the ``shadow`` one (the previous one steps down).

    Activating the shadow policy ends its shadow run; ``role="none"`` on the shadow stops shadowing.
    """
    if role not in ("active", "shadow", "none"):
        raise FairserveError(f"unknown policy role {role!r}")
    row = conn.execute(select(policies.c.hash).where(policies.c.hash == policy_hash)).first()
    if row is None:
        raise FairserveError(f"no stored policy with hash {policy_hash}")
    if role != "none":
        conn.execute(update(policies).where(policies.c.role == role).values(role="none"))
    conn.execute(update(policies).where(policies.c.hash == policy_hash).values(role=role))
    write_audit(conn, now, actor, f"policy_{role}", detail={"hash": policy_hash})


class PolicyHolder:
    """A worker's view of the active and shadow policies, refreshed from the database at most once a second."""

    def __init__(self, engine: Engine, ttl: float = 1.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lock = threading.Lock()
        self._checked = -1e18
        self._compiled: dict[str, Policy] = {}
        self._active: Policy | None = None
        self._shadow: Policy | None = None

    def invalidate(self) -> None:
        """Look at the database on the next call (after an activation in this worker)."""
        self._checked = -1e18

    def current(self) -> tuple[Policy, Policy | None]:
        """The active policy and the shadow policy (or None)."""
        now = time.monotonic()
        if now - self._checked >= self._ttl:
            with self._lock:
                if now - self._checked >= self._ttl:
                    self._refresh()
                    self._checked = now
        if self._active is None:
            raise FairserveError("no active policy: upload one and activate it")
        return self._active, self._shadow

    def _refresh(self) -> None:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(policies.c.hash, policies.c.role, policies.c.body, policies.c.source)
                .where(policies.c.role.in_(("active", "shadow")))
            ).all()
            conn.rollback()
        active = shadow = None
        for h, role, body, source in rows:
            if h not in self._compiled:
                self._compiled[h] = compile_text(body, source)
            if role == "active":
                active = self._compiled[h]
            else:
                shadow = self._compiled[h]
        self._active, self._shadow = active, shadow


def list_policies(conn: Connection) -> list[dict[str, Any]]:
    """Every stored policy, oldest first: hash, name, version, source, role, created_at."""
    c = policies.c
    rows = conn.execute(select(c.hash, c.name, c.version, c.source, c.role, c.created_at).order_by(c.created_at))
    return [dict(r._mapping) for r in rows]


def active_label(conn: Connection) -> str:
    """The active policy as people name it: ``policy balanced 2.0 (1a2b3c4d5e6f)`` (name, version, hash prefix)."""
    row = conn.execute(select(policies.c.name, policies.c.version, policies.c.hash)
                       .where(policies.c.role == "active")).first()
    return "no active policy" if row is None else f"policy {row.name} {row.version} ({row.hash[:12]})"


def is_stored(conn: Connection, policy_hash: str) -> bool:
    """Whether a policy with this hash is stored."""
    return conn.execute(select(policies.c.hash).where(policies.c.hash == policy_hash)).first() is not None
