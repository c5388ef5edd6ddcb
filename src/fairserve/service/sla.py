"""SLA clocks: near-breach and breach found while contacts wait, written to the audit log and sent as signed events.

:func:`sweep` moves each waiting contact's ``sla_state`` from ``ok`` to ``near`` (it has waited
``sla_near_fraction`` of its SLA) and to ``breached`` (past ``sla_deadline``). The move is a guarded update
(``WHERE sla_state = <old>``), so when several workers sweep at once each event is raised exactly once; each event
goes into the outbox and the audit log in the same transaction.

:func:`deliver` sends due outbox events to ``events_url`` as JSON, each delivery with its own id
(``X-Fairserve-Delivery``), signed like Chatwoot signs: ``X-Fairserve-Signature: sha256=<hex HMAC-SHA256 of
"<X-Fairserve-Timestamp>.<raw body>">``. A delivery is leased before it is sent (no lock is held while the network
is used), and a failure is retried with exponential back-off (5 s, 10 s, 20 s, ... at most an hour) up to
:data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from fairserve.service.store import contacts, dumps, is_postgres, outbox, write, write_audit

__all__ = ["MAX_ATTEMPTS", "SlaClock", "deliver", "sign", "sweep"]

MAX_ATTEMPTS = 10
_LEASE = 60.0
log = logging.getLogger("fairserve.service")


def sweep(engine: Engine, now: float, near_fraction: float, limit: int = 500) -> int:
    """Raise the near-breach and breach events that are due; returns how many were raised."""
    c = contacts.c
    raised = 0
    with write(engine) as conn:
        q = (select(c.id, c.customer_id, c.sla_state, c.sla_deadline, c.queue, c.channel, c.tier, c.arrival)
             .where(c.state == "waiting", c.sla_state != "breached",
                    c.arrival + near_fraction * c.sla_seconds <= now)
             .order_by(c.sla_deadline).limit(limit))
        if is_postgres(conn):
            q = q.with_for_update(skip_locked=True)
        for row in conn.execute(q).all():
            new = "breached" if now >= row.sla_deadline else "near"
            if new == row.sla_state:
                continue
            done = conn.execute(update(contacts).where(c.id == row.id, c.sla_state == row.sla_state)
                                .values(sla_state=new)).rowcount
            if done != 1:
                continue
            kind = "sla.breached" if new == "breached" else "sla.near_breach"
            event_id = uuid.uuid4().hex
            payload = {"id": event_id, "type": kind, "contact_id": row.id, "customer_id": row.customer_id,
                       "queue": row.queue, "channel": row.channel, "tier": row.tier,
                       "waited_seconds": round(now - row.arrival, 3), "sla_deadline": row.sla_deadline, "at": now}
            conn.execute(outbox.insert().values(id=event_id, kind=kind, contact_id=row.id, payload=dumps(payload),
                                                attempts=0, next_attempt=now))
            write_audit(conn, now, "sla-clock", kind, contact_id=row.id, customer_id=row.customer_id,
                        detail={"delivery_id": event_id})
            raised += 1
    return raised


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def deliver(engine: Engine, url: str, secret: str | None, now: float, client: Any = None, limit: int = 50) -> int:
    """Send the due outbox events to ``url``; returns how many were delivered now."""
    import httpx

    c = outbox.c
    with write(engine) as conn:
        q = (select(c.id, c.payload, c.attempts).where(c.delivered_at.is_(None), c.next_attempt <= now,
                                                       c.attempts < MAX_ATTEMPTS)
             .order_by(c.next_attempt).limit(limit))
        if is_postgres(conn):
            q = q.with_for_update(skip_locked=True)
        due = conn.execute(q).all()
        for row in due:  # lease: no other worker sends it while this one tries
            conn.execute(update(outbox).where(c.id == row.id).values(next_attempt=now + _LEASE))
    sent = 0
    own = client is None
    http = client or httpx.Client(timeout=5.0, trust_env=False)
    try:
        for row in due:
            body = row.payload.encode()
            ts = str(int(now))
            headers = {"content-type": "application/json", "x-fairserve-delivery": row.id,
                       "x-fairserve-timestamp": ts}
            if secret:
                headers["x-fairserve-signature"] = sign(secret, ts, body)
            error = None
            try:
                resp = http.post(url, content=body, headers=headers)
                if resp.status_code >= 300:
                    error = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            attempts = row.attempts + 1
            with write(engine) as conn:
                if error is None:
                    conn.execute(update(outbox).where(c.id == row.id).values(delivered_at=now, attempts=attempts))
                    sent += 1
                else:
                    backoff = min(3600.0, 5.0 * 2 ** (attempts - 1))
                    conn.execute(update(outbox).where(c.id == row.id)
                                 .values(attempts=attempts, next_attempt=now + backoff, last_error=error[:300]))
    finally:
        if own:
            http.close()
    return sent


class SlaClock:
    """The background task of one worker: sweep, then deliver, every ``sla_check_seconds`` (0: never)."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop in the running event loop."""
        if self.svc.settings.sla_check_seconds > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the loop (graceful shutdown: a sweep in progress finishes its transaction)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def tick(self) -> tuple[int, int]:
        """One sweep and one delivery round; returns (events raised, events delivered)."""
        s = self.svc.settings
        now = self.svc.clock()
        raised = sweep(self.svc.engine, now, s.sla_near_fraction)
        sent = deliver(self.svc.engine, s.events_url, s.events_secret, now) if s.events_url else 0
        return raised, sent

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.svc.settings.sla_check_seconds)
            try:
                await asyncio.to_thread(self.tick)
            except Exception:  # keep the clock running; the next tick retries
                log.exception(json.dumps({"event": "sla_clock_error"}))
