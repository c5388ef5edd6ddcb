"""Intake: one contact from any channel, normalised to a :class:`~fairserve.model.Contact`, decided and stored.

Store, decide and answer happen in one transaction: the contact row carries its Decision (the key's fields as
columns, the whole Decision as JSON with the policy's name, version and hash), so a contact is never stored
without its decision nor decided without being stored. ``external_id`` (per source: ``api``, ``zendesk``, ...)
makes intake idempotent: a retry finds the stored contact and answers it with ``created = False``; two
concurrent first deliveries meet at the unique constraint and the loser answers with the winner's contact.

:func:`intake_many` takes in the contacts that arrived together in one transaction (group commit, driven by
:mod:`fairserve.service.writer`): each is still stored with its decision or not at all, and answered only after
the commit; :func:`intake` is the same for one contact, and where a group fails as a whole.

Missing need signals (severity, sentiment, complaint) are read from the text by
:class:`fairserve.text.TextTriage`: the trained model directory named by ``FAIRSERVE_TEXT_MODEL`` when set, else
VADER sentiment and the documented rules for complaint and urgency; signals given in the request win.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from fairserve.model import Channel, Contact
from fairserve.policy import decide
from fairserve.policy.engine import Policy
from fairserve.policy.explain import decision_to_dict
from fairserve.service.customers import UnknownCustomerError, known_senders, resolve_sender
from fairserve.service.policies import PolicyHolder
from fairserve.service.routing import routing_hints
from fairserve.service.store import audit, audit_row, contacts, dumps, shadow_decisions, write
from fairserve.text.identity import normalise_handle, normalise_phone

__all__ = ["ContactIn", "IntakeRequest", "IntakeResult", "Triage", "contact_view", "intake", "intake_many",
           "position_of"]

log = logging.getLogger("fairserve.service")

ChannelName = Literal["phone", "email", "chat", "social"]


class ContactIn(BaseModel):
    """The body of ``POST /v1/contacts``: who, on which channel, what they wrote, and optional need signals."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelName
    customer_id: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    phone: str | None = Field(default=None, min_length=3, max_length=40)
    handle: str | None = Field(default=None, min_length=1, max_length=200)
    platform: str | None = Field(default=None, min_length=1, max_length=50)
    text: str = Field(default="", max_length=20_000)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    severity: int | None = Field(default=None, ge=0, le=3)
    sentiment: float | None = Field(default=None, ge=-1.0, le=1.0)
    complaint: bool | None = None
    repeat: int | None = Field(default=None, ge=0, le=1000)
    public: bool | None = None
    reach: float | None = Field(default=None, ge=0.0, le=1e12)
    arrival: float | None = Field(default=None, gt=0.0, description="POSIX seconds; default: when received")

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is not None and not normalise_phone(v):
            raise ValueError("a phone number needs at least 7 digits")
        return v

    @field_validator("handle")
    @classmethod
    def _handle(cls, v: str | None) -> str | None:
        if v is not None and not normalise_handle(v):
            raise ValueError("a handle needs a character besides '@' and spaces")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and "@" not in v.strip().strip("@"):
            raise ValueError("an e-mail address needs an '@' between two parts")
        return v

    @model_validator(mode="after")
    def _someone(self) -> ContactIn:
        if not any((self.customer_id, self.email, self.phone, self.handle)):
            raise ValueError("one of customer_id, email, phone or handle is required")
        return self


class Triage:
    """The text classifier of one worker: a trained model directory when one is configured, else VADER.

    A configured directory (``FAIRSERVE_TEXT_MODEL``, the variable the CLI reads too) is loaded and checked at
    once, so a bad one stops the start rather than the first contact with text; VADER is made on first use (its
    lexicon takes a moment to load).
    """

    def __init__(self, enabled: bool = True, model: str | None = None) -> None:
        self.enabled = enabled
        self._model: Any = None
        self._lock = threading.Lock()
        if enabled and model:
            from pathlib import Path

            from fairserve.text.modeldir import load_triage

            self._model = load_triage([Path(model)], threads=1, task="sentiment")

    def _triage(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from fairserve.text import TextTriage

                    self._model = TextTriage()
        return self._model

    def signals(self, text: str) -> dict[str, Any]:
        """``severity``, ``sentiment`` and ``complaint`` read from ``text`` (empty when disabled or no text)."""
        return self.signals_many([text])[0]

    def signals_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """:meth:`signals` of several texts, classified in one call (about ten times cheaper a text than one by
        one)."""
        out: list[dict[str, Any]] = [{} for _ in texts]
        todo = [i for i, text in enumerate(texts) if self.enabled and text.strip()]
        if todo:
            frame = self._triage().classify([texts[i] for i in todo])
            for i, (urgency, score, complaint) in zip(todo, zip(frame["urgency"], frame["sentiment_score"],
                                                                 frame["complaint"], strict=True), strict=True):
                out[i] = {"severity": int(urgency), "sentiment": float(score), "complaint": bool(complaint)}
        return out


@dataclass(frozen=True)
class IntakeResult:
    """The stored contact (a row of ``contacts``) and whether this call created it."""

    created: bool
    row: Any


_c = contacts.c
# Built once: executed with parameters, so SQLAlchemy compiles each only once per dialect.
_AHEAD = select(func.count()).select_from(contacts).where(
    _c.state == "waiting", _c.queue == bindparam("queue"),
    tuple_(_c.rank, _c.virtual_arrival, _c.arrival, _c.id)
    < tuple_(bindparam("rank"), bindparam("va"), bindparam("arrival"), bindparam("id")),
)
_BY_EXTERNAL = select(contacts).where(_c.source == bindparam("source"), _c.external_id == bindparam("external_id"))
_BY_EXTERNALS = select(contacts).where(_c.source == bindparam("source"),
                                       _c.external_id.in_(bindparam("ids", expanding=True)))
_SENDER = {"customer_id", "email", "phone", "handle", "platform"}
_INSERT = contacts.insert()
_SHADOW_INSERT = shadow_decisions.insert()
_AUDIT_INSERT = audit.insert()


def position_of(conn: Connection, row: Any) -> int:
    """How many waiting contacts of the same queue are ahead of ``row`` by its key (1: next in line)."""
    ahead = conn.execute(_AHEAD, {"queue": row.queue, "rank": row.rank, "va": row.virtual_arrival,
                                  "arrival": row.arrival, "id": row.id}).scalar_one()
    return int(ahead) + 1


def _existing(conn: Connection, source: str, external_id: str | None) -> Any:
    if external_id is None:
        return None
    return conn.execute(_BY_EXTERNAL, {"source": source, "external_id": external_id}).first()


def _signals(triage: Triage, item: ContactIn) -> dict[str, Any]:
    """The need signals read from the text that the request did not give (signals given in the request win)."""
    return {k: v for k, v in triage.signals(item.text).items() if getattr(item, k) is None}


def _decided(customer: Any, guest: bool, policy: Policy, shadow: Policy | None, item: ContactIn, source: str,
             now: float, actor: str, read: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                                    dict[str, Any] | None]:
    """Decide one contact of ``customer``: its ``contacts`` row, its audit line and its shadow decision (or None)."""
    arrival = float(item.arrival) if item.arrival is not None else now
    contact_id = uuid.uuid4().hex
    contact = Contact(
        contact_id=contact_id,
        channel=Channel(item.channel),
        arrival=arrival,
        text=item.text,
        customer_id=customer.customer_id,
        handle=item.handle,
        severity=item.severity if item.severity is not None else read.get("severity", 0),
        sentiment=item.sentiment if item.sentiment is not None else read.get("sentiment"),
        complaint=item.complaint if item.complaint is not None else read.get("complaint", False),
        repeat=item.repeat or 0,
        reach=item.reach,
        public=item.public,
    )
    decision = decide(contact, customer, policy, now)
    data = decision_to_dict(decision)
    data["signals_from_text"] = sorted(read)
    g = decision.guarantee_seconds
    values = {
        "id": contact_id, "source": source, "external_id": item.external_id, "channel": item.channel,
        "customer_id": customer.customer_id, "text": item.text, "severity": contact.severity,
        "sentiment": contact.sentiment, "complaint": contact.complaint, "repeat": contact.repeat,
        "reach": contact.reach, "public": contact.public, "arrival": arrival, "tier": decision.tier,
        "queue": decision.queue, "rank": decision.key.rank, "virtual_arrival": decision.key.virtual_arrival,
        "head_start_min": decision.head_start_min, "influence_min": decision.influence_min,
        "sla_seconds": decision.sla_seconds, "sla_deadline": decision.sla_deadline,
        "guarantee_deadline": arrival + g if math.isfinite(g) else None,
        "policy_name": decision.policy_name, "policy_version": decision.policy_version,
        "policy_hash": decision.policy_hash, "decision": dumps(data), "state": "waiting",
        "sla_state": "ok", "created_at": now,
    }
    line = audit_row(now, actor, "contact_created", contact_id=contact_id, customer_id=customer.customer_id,
                     detail={"source": source, "tier": decision.tier, "queue": decision.queue,
                             "policy_hash": decision.policy_hash, "guest": guest})
    beside = None
    if shadow is not None:  # the candidate policy decides the same contact, beside the active one
        other = decide(contact, customer, shadow, now)
        beside = {"contact_id": contact_id, "policy_hash": other.policy_hash, "tier": other.tier,
                  "queue": other.queue, "rank": other.key.rank, "virtual_arrival": other.key.virtual_arrival,
                  "decision": dumps(decision_to_dict(other)), "created_at": now}
    return values, line, beside


def _row(values: dict[str, Any]) -> Any:
    return SimpleNamespace(**values, agent_id=None, assigned_at=None, closed_at=None)


def _sender(conn: Connection, item: ContactIn, now: float, known: dict[tuple[str, ...], Any] | None = None
            ) -> tuple[Any, bool]:
    return resolve_sender(conn, now, customer_id=item.customer_id, email=item.email, phone=item.phone,
                          handle=item.handle, platform=item.platform, known=known)


def intake(
    engine: Engine,
    holder: PolicyHolder,
    triage: Triage,
    item: ContactIn,
    source: str,
    now: float,
    actor: str = "api",
    read: dict[str, Any] | None = None,
) -> IntakeResult:
    """Store and decide one contact, or find the one already stored under ``(source, external_id)``.

    ``read`` is the need signals already read from the text (default: read here).

    Raises
    ------
    fairserve.service.customers.UnknownCustomerError
        When ``customer_id`` names no stored customer (nothing is stored).
    """
    if item.external_id is not None:
        with engine.connect() as conn:
            found = _existing(conn, source, item.external_id)
            conn.rollback()
        if found is not None:
            return IntakeResult(False, found)
    policy, shadow = holder.current()
    if read is None:
        read = _signals(triage, item)
    try:
        with write(engine) as conn:  # a concurrent first delivery meets this one at the unique constraint
            customer, guest = _sender(conn, item, now)
            values, line, beside = _decided(customer, guest, policy, shadow, item, source, now, actor, read)
            conn.execute(_INSERT, values)
            conn.execute(_AUDIT_INSERT, line)
            if beside is not None:
                conn.execute(_SHADOW_INSERT, beside)
    except IntegrityError:
        if item.external_id is None:
            raise
        with engine.connect() as conn:  # a concurrent first delivery won: answer with its contact
            found = _existing(conn, source, item.external_id)
            conn.rollback()
        if found is None:
            raise
        return IntakeResult(False, found)
    return IntakeResult(True, _row(values))


@dataclass(frozen=True)
class IntakeRequest:
    """One contact to take in: the validated body, its source (``api``, ``zendesk``, ...), when and by whom."""

    item: ContactIn
    source: str
    now: float
    actor: str = "api"


def intake_many(engine: Engine, holder: PolicyHolder, triage: Triage, requests: list[IntakeRequest]
                ) -> list[IntakeResult | Exception]:
    """Take in several contacts in ONE transaction (group commit): each request's result, or its error.

    Each contact is decided and stored exactly as :func:`intake` does it alone, and nothing is answered before the
    one commit that stores them all. A request that names an unknown customer or nobody gets its error, and the
    others go on (it wrote nothing). Two requests with the same ``(source, external_id)`` make one contact: the
    second is answered like a retry. When the transaction fails as a whole (on PostgreSQL a concurrent first
    delivery of the same ``external_id`` in another worker, or a deadlock between two workers' guest upserts),
    every request is taken in again alone, by :func:`intake`, so one bad contact never fails its neighbours.
    """
    out: list[IntakeResult | Exception | None] = [None] * len(requests)
    try:
        policy, shadow = holder.current()
    except Exception as exc:
        return [exc] * len(requests)
    try:  # the group's texts in one call to the classifier
        reads = [{k: v for k, v in got.items() if getattr(r.item, k) is None}
                 for r, got in zip(requests, triage.signals_many([r.item.text for r in requests]), strict=True)]
    except Exception:  # one by one, so that each error is its own contact's
        reads = []
        for i, r in enumerate(requests):
            try:
                reads.append(_signals(triage, r.item))
            except Exception as exc:
                out[i] = exc
                reads.append({})
    todo = [i for i, o in enumerate(out) if o is None]
    if todo:
        try:
            return _grouped(engine, policy, shadow, requests, reads, out)
        except Exception as exc:  # the log line names the error's class only (never values from the request)
            log.warning(json.dumps({"event": "group_commit_failed", "contacts": len(todo),
                                    "error": type(exc).__name__}))
    for i in todo:
        r = requests[i]
        try:
            out[i] = intake(engine, holder, triage, r.item, r.source, r.now, r.actor, reads[i])
        except Exception as exc:
            out[i] = exc
    return _every(out)


def _every(out: list[IntakeResult | Exception | None]) -> list[IntakeResult | Exception]:
    """``out`` once every request has its result or error (a missing one would shift the answers' order)."""
    assert all(o is not None for o in out), "an intake request was left without an answer"
    return [o for o in out if o is not None]


def _grouped(engine: Engine, policy: Policy, shadow: Policy | None, requests: list[IntakeRequest],
             reads: list[dict[str, Any]], done: list[IntakeResult | Exception | None]
             ) -> list[IntakeResult | Exception]:
    out = list(done)
    made: dict[tuple[str, str], Any] = {}
    rows: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    besides: list[dict[str, Any]] = []
    todo = [r for r, o in zip(requests, out, strict=True) if o is None]
    with write(engine) as conn:
        # what is stored already, read for the whole group: its contacts by external_id, its senders
        stored: dict[tuple[str, str], Any] = {}
        for source in {r.source for r in todo if r.item.external_id is not None}:
            ids = sorted({r.item.external_id for r in todo if r.source == source and r.item.external_id is not None})
            for row in conn.execute(_BY_EXTERNALS, {"source": source, "ids": ids}):
                stored[(source, row.external_id)] = row
        known = known_senders(conn, [r.item.model_dump(include=_SENDER) for r in todo])
        for i, r in enumerate(requests):
            if out[i] is not None:
                continue
            item = r.item
            if item.external_id is not None:
                key = (r.source, item.external_id)
                if key in made:  # the same delivery twice in this group: one contact
                    out[i] = IntakeResult(False, made[key])
                    continue
                if key in stored:
                    out[i] = IntakeResult(False, stored[key])
                    continue
            try:
                customer, guest = _sender(conn, item, r.now, known)
            except (UnknownCustomerError, ValueError) as exc:  # raised before the sender wrote anything
                out[i] = exc
                continue
            values, line, beside = _decided(customer, guest, policy, shadow, item, r.source, r.now, r.actor,
                                            reads[i])
            rows.append(values)
            lines.append(line)
            if beside is not None:
                besides.append(beside)
            row = _row(values)
            out[i] = IntakeResult(True, row)
            if item.external_id is not None:
                made[(r.source, item.external_id)] = row
        if rows:
            conn.execute(_INSERT, rows)
            conn.execute(_AUDIT_INSERT, lines)
        if besides:
            conn.execute(_SHADOW_INSERT, besides)
    return _every(out)


def contact_view(row: Any, created: bool | None = None, position: int | None = None) -> dict[str, Any]:
    """The JSON answer for a contact: its id, state, and the Decision it was stored with (never re-decided)."""
    out: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "external_id": row.external_id,
        "channel": row.channel,
        "customer_id": row.customer_id,
        "state": row.state,
        "arrival": row.arrival,
        "agent_id": row.agent_id,
        "sla_state": row.sla_state,
        "decision": json.loads(row.decision),
    }
    out["routing"] = routing_hints(out["decision"])
    if created is not None:
        out["created"] = created
    if position is not None:
        out["position"] = position
    return out


def contact_json(row: Any, created: bool | None = None) -> str:
    """``json.dumps(contact_view(row, created))``, compact, without encoding the Decision again: the stored
    Decision's JSON text is put in as it is (it is the same text, key for key). The view still decodes it once,
    for its routing hints."""
    view = contact_view(row, created)
    keys = list(view)
    cut = keys.index("decision")  # the keys before and after it, in the view's own order
    head = {k: view[k] for k in keys[:cut]}
    tail = {k: view[k] for k in keys[cut + 1:]}
    return (json.dumps(head, separators=(",", ":"), allow_nan=False)[:-1] + ',"decision":' + row.decision + ","
            + json.dumps(tail, separators=(",", ":"), allow_nan=False)[1:])
