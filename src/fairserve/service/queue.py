"""The live queues: who is next for an agent, and the moves of a contact after that.

Hand-out (:func:`next_contact`), in one transaction:

1. **The guarantee probe.** Among the waiting contacts the agent may take, the one whose wait guarantee ran out
   first (least ``guarantee_deadline = arrival + guarantee``, then arrival, then id), if any ran out before
   ``now``: a contact past its channel's guarantee goes before every contact still within its own, as the
   simulator's loop does at each dispatch (:mod:`fairserve.sim._kernel`). Indexed by ``ix_contacts_guarantee``.
2. Otherwise **the policy's order**: least ``(rank, virtual_arrival, arrival, id)``, the QueueKey that
   :func:`fairserve.policy.decide` gave (``ix_contacts_order``).

On PostgreSQL both probes lock the row they find with ``FOR UPDATE SKIP LOCKED``, so concurrent agents in several
workers never take the same contact (each skips the rows another is taking); on SQLite every transaction is
``BEGIN IMMEDIATE``, one writer at a time. The chosen row is then marked ``assigned`` under a ``state = 'waiting'``
guard, and the hand-out is written to the audit log in the same transaction.

An agent serves the channels and queues they are registered for. A phone, e-mail or social contact is served one
at a time; chats may be held several at once, up to the agent's capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from fairserve.service.store import agents, contacts, is_postgres, write, write_audit

__all__ = [
    "AgentBusyError",
    "AgentSpec",
    "ContactStateError",
    "abandon",
    "agent_of",
    "next_contact",
    "put_agent",
    "requeue",
    "resolve",
    "transfer",
]

QUEUES = ("service", "social-care")
CHANNELS = ("phone", "email", "chat", "social")


class AgentBusyError(RuntimeError):
    """The agent holds as many contacts as they may."""


class ContactStateError(RuntimeError):
    """A move that the contact's state does not allow (resolving a waiting contact, ...)."""


@dataclass(frozen=True)
class AgentSpec:
    """An agent's skills: the channels and queues they serve, and how many chats they may hold at once."""

    agent_id: str
    channels: tuple[str, ...] = CHANNELS
    queues: tuple[str, ...] = ("service",)
    capacity: int = 3

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.agent_id, "channels": list(self.channels), "queues": list(self.queues),
                "capacity": self.capacity}


def put_agent(conn: Connection, spec: AgentSpec, now: float) -> None:
    """Register or update an agent."""
    values = {"channels": ",".join(spec.channels), "queues": ",".join(spec.queues), "capacity": spec.capacity,
              "updated_at": now}
    done = conn.execute(update(agents).where(agents.c.id == spec.agent_id).values(**values)).rowcount
    if not done:
        conn.execute(agents.insert().values(id=spec.agent_id, **values))


def agent_of(conn: Connection, agent_id: str, lock: bool = False) -> AgentSpec | None:
    """The registered agent ``agent_id``, or None; ``lock`` holds their row (PostgreSQL) until the transaction ends,
    so two hand-outs to the same agent at once cannot both pass the capacity check."""
    q = select(agents).where(agents.c.id == agent_id)
    if lock and is_postgres(conn):
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        return None
    return AgentSpec(row.id, tuple(row.channels.split(",")), tuple(row.queues.split(",")), row.capacity)


_c = contacts.c
# Built once and executed with parameters (the IN lists expand), so each is compiled once per dialect.
_HELD = (select(_c.channel, func.count()).where(_c.agent_id == bindparam("agent"), _c.state == "assigned")
         .group_by(_c.channel))
_BASE = select(_c.id, _c.guarantee_deadline, _c.arrival).where(
    _c.state == "waiting", _c.queue.in_(bindparam("queues", expanding=True)),
    _c.channel.in_(bindparam("channels", expanding=True)))
_PROBE = _BASE.where(_c.guarantee_deadline < bindparam("now")).order_by(
    _c.guarantee_deadline, _c.arrival, _c.id).limit(1)
_ORDERED = _BASE.order_by(_c.rank, _c.virtual_arrival, _c.arrival, _c.id).limit(1)
_PROBE_LOCK = _PROBE.with_for_update(skip_locked=True)
_ORDERED_LOCK = _ORDERED.with_for_update(skip_locked=True)
_TAKE = update(contacts).where(_c.id == bindparam("cid"), _c.state == "waiting").values(
    state="assigned", agent_id=bindparam("agent"), assigned_at=bindparam("now"))
_ROW = select(contacts).where(_c.id == bindparam("cid"))


def _allowed_channels(conn: Connection, spec: AgentSpec) -> tuple[str, ...]:
    counts = {ch: int(n) for ch, n in conn.execute(_HELD, {"agent": spec.agent_id}).all()}
    if not counts:
        return spec.channels
    if set(counts) == {"chat"} and counts["chat"] < spec.capacity and "chat" in spec.channels:
        return ("chat",)
    raise AgentBusyError(spec.agent_id)


def next_contact(engine: Engine, spec: AgentSpec | str, now: float, capacity: int = 3) -> Any | None:
    """Hand the agent the next contact (the row, now ``assigned`` to them), or None when nothing waits.

    ``spec`` is the agent's skills, or their id: a registered agent's skills are read in the same transaction,
    and an agent not registered yet is registered to serve every channel of the ``service`` queue, holding up to
    ``capacity`` chats.

    Raises
    ------
    AgentBusyError
        When the agent already holds a non-chat contact, or as many chats as their capacity.
    """
    with write(engine) as conn:
        if isinstance(spec, str):
            found = agent_of(conn, spec, lock=True)
            if found is None:
                found = AgentSpec(spec, capacity=capacity)
                put_agent(conn, found, now)
            spec = found
        channels = _allowed_channels(conn, spec)
        lock = is_postgres(conn)
        params = {"queues": list(spec.queues), "channels": list(channels), "now": now}
        hit = conn.execute(_PROBE_LOCK if lock else _PROBE, params).first()
        by_guarantee = hit is not None
        if hit is None:
            hit = conn.execute(_ORDERED_LOCK if lock else _ORDERED, params).first()
        if hit is None:
            return None
        done = conn.execute(_TAKE, {"cid": hit.id, "agent": spec.agent_id, "now": now}).rowcount
        if done != 1:  # pragma: no cover - the lock (or the single writer) makes this impossible
            raise ContactStateError(f"contact {hit.id} was taken by another agent")
        write_audit(conn, now, f"agent:{spec.agent_id}", "contact_assigned", contact_id=hit.id,
                    detail={"by_guarantee": by_guarantee, "waited_seconds": now - hit.arrival})
        return conn.execute(_ROW, {"cid": hit.id}).one()


def _move(engine: Engine, contact_id: str, now: float, actor: str, action: str, allowed: tuple[str, ...],
          values: dict[str, Any], detail: dict[str, Any] | None = None) -> Any:
    c = contacts.c
    with write(engine) as conn:
        row = conn.execute(select(c.id, c.state, c.customer_id).where(c.id == contact_id)).first()
        if row is None:
            raise LookupError(contact_id)
        if row.state not in allowed:
            raise ContactStateError(f"contact {contact_id} is {row.state}; {action} needs {' or '.join(allowed)}")
        conn.execute(update(contacts).where(c.id == contact_id, c.state == row.state).values(**values))
        write_audit(conn, now, actor, action, contact_id=contact_id, customer_id=row.customer_id, detail=detail)
        return conn.execute(select(contacts).where(c.id == contact_id)).one()


def resolve(engine: Engine, contact_id: str, now: float, actor: str) -> Any:
    """The agent answered the contact: ``assigned`` -> ``resolved``."""
    return _move(engine, contact_id, now, actor, "contact_resolved", ("assigned",),
                 {"state": "resolved", "closed_at": now})


def requeue(engine: Engine, contact_id: str, now: float, actor: str) -> Any:
    """Put an assigned contact back in its queue, at the place its key gives (its Decision is unchanged)."""
    return _move(engine, contact_id, now, actor, "contact_requeued", ("assigned",),
                 {"state": "waiting", "agent_id": None, "assigned_at": None})


def abandon(engine: Engine, contact_id: str, now: float, actor: str) -> Any:
    """The customer left (hung up, closed the chat): a waiting or assigned contact -> ``abandoned``."""
    return _move(engine, contact_id, now, actor, "contact_abandoned", ("waiting", "assigned"),
                 {"state": "abandoned", "closed_at": now})


def transfer(engine: Engine, contact_id: str, to_agent: str, now: float, actor: str) -> Any:
    """Hand an assigned contact straight to another (registered) agent."""
    return _move(engine, contact_id, now, actor, "contact_transferred", ("assigned",),
                 {"agent_id": to_agent, "assigned_at": now}, {"to_agent": to_agent})
