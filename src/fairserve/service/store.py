"""The service's tables (SQLAlchemy Core) and the engine that reaches them, on SQLite or PostgreSQL.

The queue order lives in indexed columns: a contact's :class:`~fairserve.model.QueueKey` is stored as its fields
(``rank``, ``virtual_arrival``, ``arrival``, ``id``), so the database orders exactly as
:func:`fairserve.policy.decide` said; ``guarantee_deadline`` (``arrival + guarantee``, NULL where the channel has
no guarantee) is the second, indexed probe that :mod:`fairserve.service.queue` runs at every hand-out.

SQLite (the default) runs in WAL mode and every transaction starts ``BEGIN IMMEDIATE``: one writer at a time, so
a hand-out can never race another. PostgreSQL takes several workers; the hand-out locks its row with
``FOR UPDATE SKIP LOCKED``. The schema itself is made by the Alembic migrations (``migrations/``), never by
``create_all``; :func:`upgrade` runs them.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import select

__all__ = [
    "agents",
    "api_keys",
    "audit",
    "audit_lines",
    "audit_row",
    "contact_row",
    "contacts",
    "customers",
    "identities",
    "is_postgres",
    "kv",
    "make_engine",
    "metadata",
    "normalise_url",
    "open_engine",
    "outbox",
    "ping",
    "policies",
    "shadow_decisions",
    "shown_url",
    "upgrade",
    "write",
    "write_audit",
]

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(200), primary_key=True),
    Column("clv", Float),
    Column("profit", Float),
    Column("loyalty", Float),
    Column("status", String(100)),
    Column("account", String(200)),
    Column("influence", Float),
    Column("followers", Integer),
    Column("value_percentile", Float),
    Column("facts", Text),  # JSON object: the numbers behind the scores
    Column("guest", Boolean, nullable=False, default=False),
    Column("updated_at", Float, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("kind", String(20), primary_key=True),  # email | phone | handle
    Column("platform", String(50), primary_key=True),  # "" for email and phone
    Column("value", String(320), primary_key=True),  # normalised
    Column("customer_id", String(200), nullable=False, index=True),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source", String(20), nullable=False),  # api | zendesk | chatwoot | zammad | social
    Column("external_id", String(200)),
    Column("channel", String(10), nullable=False),
    Column("customer_id", String(200)),
    Column("text", Text, nullable=False, default=""),
    Column("severity", Integer, nullable=False),
    Column("sentiment", Float),
    Column("complaint", Boolean, nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("reach", Float),
    Column("public", Boolean),
    Column("arrival", Float, nullable=False),
    Column("tier", String(40), nullable=False),
    Column("queue", String(20), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("virtual_arrival", Float, nullable=False),
    Column("head_start_min", Float, nullable=False),
    Column("influence_min", Float, nullable=False),
    Column("sla_seconds", Float, nullable=False),
    Column("sla_deadline", Float, nullable=False),
    Column("guarantee_deadline", Float),
    Column("policy_name", String(60), nullable=False),
    Column("policy_version", String(40), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("decision", Text, nullable=False),  # decision_to_dict, as JSON
    Column("state", String(12), nullable=False),  # waiting | assigned | resolved | abandoned
    Column("agent_id", String(100)),
    Column("assigned_at", Float),
    Column("closed_at", Float),
    Column("sla_state", String(10), nullable=False, default="ok"),  # ok | near | breached
    Column("created_at", Float, nullable=False),
    UniqueConstraint("source", "external_id", name="uq_contacts_source_external"),
    Index("ix_contacts_order", "state", "queue", "rank", "virtual_arrival", "arrival", "id"),
    Index("ix_contacts_guarantee", "state", "queue", "guarantee_deadline", "arrival", "id"),
    Index("ix_contacts_sla", "state", "sla_state", "sla_deadline"),
    Index("ix_contacts_customer", "customer_id", "state"),
    Index("ix_contacts_agent", "agent_id", "state"),
)

agents = Table(
    "agents",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("channels", String(100), nullable=False),  # comma-separated channels
    Column("queues", String(100), nullable=False),  # comma-separated queues
    Column("capacity", Integer, nullable=False),  # chats held at once
    Column("updated_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("hash", String(64), primary_key=True),  # sha256 hex of the key: the key itself is never stored
    Column("role", String(10), nullable=False),
    Column("label", String(100), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("contact_id", String(40), index=True),
    Column("customer_id", String(200)),
    Column("detail", Text, nullable=False, default="{}"),
)

policies = Table(
    "policies",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("version", String(40), nullable=False),
    Column("source", String(300), nullable=False),
    Column("body", Text, nullable=False),  # the TOML text
    Column("role", String(10), nullable=False, default="none"),  # active | shadow | none
    Column("created_at", Float, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(40), primary_key=True),  # the delivery id
    Column("kind", String(30), nullable=False),
    Column("contact_id", String(40)),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", Float, nullable=False),
    Column("delivered_at", Float),
    Column("last_error", String(300)),
    Index("ix_outbox_due", "delivered_at", "next_attempt"),
)

shadow_decisions = Table(
    "shadow_decisions",
    metadata,
    Column("contact_id", String(40), primary_key=True),
    Column("policy_hash", String(64), primary_key=True),
    Column("tier", String(40), nullable=False),
    Column("queue", String(20), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("virtual_arrival", Float, nullable=False),
    Column("decision", Text, nullable=False),  # decision_to_dict, as JSON
    Column("created_at", Float, nullable=False),
    Index("ix_shadow_policy", "policy_hash", "created_at"),
)

kv = Table(
    "kv",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", Text, nullable=False),
)


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` are taken with the psycopg 3 driver; anything else as given."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    """Whether the database is PostgreSQL (the hand-out then locks with SKIP LOCKED)."""
    return conn_or_engine.dialect.name == "postgresql"


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite in WAL mode with ``BEGIN IMMEDIATE`` transactions, or PostgreSQL."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # a killed process loses no committed transaction in WAL
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

        _LOCKS[engine] = threading.Lock()
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def shown_url(url: str) -> str:
    """``url`` as it may be printed: its password masked as SQLAlchemy's ``render_as_string`` masks it (``***``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy can read: mask anything like user:password@
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _reason(exc: BaseException) -> str:
    """The driver's own words for a failed connection, short: psycopg's last ``failed: ...``, in lower case."""
    orig = getattr(exc, "orig", None) or exc
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    text = text.rsplit("failed: ", 1)[-1].strip()
    return text[:1].lower() + text[1:]


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """:func:`make_engine`, connected once (and migrated unless ``migrate`` is false), or a clear error.

    The commands' one way in to the database: a URL SQLAlchemy cannot read, a dialect or driver that is not
    installed, a server that refuses the connection or a SQLite file that cannot be opened raises
    :class:`~fairserve.errors.FairserveError` (exit 2) naming the URL with its password masked, instead of
    SQLAlchemy's exception, which the CLI would report as a bug.
    """
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from fairserve.errors import FairserveError

    shown = shown_url(url)
    hint = "use sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"
    try:
        engine = make_engine(url)
    except NoSuchModuleError:
        scheme = url.split("://", 1)[0]
        raise FairserveError(f"database URL {shown} not understood: no database kind {scheme!r} ({hint})") from None
    except ArgumentError as exc:
        raise FairserveError(f"database URL {shown} not understood: {_reason(exc)} ({hint})") from None
    except ModuleNotFoundError as exc:
        raise FairserveError(f"database URL {shown}: its driver {exc.name} is not installed ({hint})") from None
    try:
        with engine.connect() as conn:
            conn.rollback()
    except OperationalError as exc:
        engine.dispose()
        reason = _reason(exc)
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            folder = Path(database).expanduser().absolute().parent
            if not folder.is_dir():
                reason = f"the folder {folder} does not exist"
        raise FairserveError(f"cannot connect to the database {shown}: {reason}") from None
    if migrate:
        upgrade(engine)
    return engine


@contextlib.contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: ``with write(engine) as conn: ...`` commits at the end, rolls back on an error.

    On SQLite it is ``BEGIN IMMEDIATE`` (the database's one writer, so a hand-out cannot race another) and the
    worker's threads queue for it on a lock of their own, rather than in SQLite's busy handler, which sleeps up to
    100 ms between tries; reads outside it are plain deferred transactions, which WAL never blocks. On PostgreSQL
    it is an ordinary transaction (rows are locked where the queue needs it: ``FOR UPDATE SKIP LOCKED``).
    """
    lock = _LOCKS.get(engine)
    if lock is not None:
        lock.acquire()
    try:
        with engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop("write", None)
    finally:
        if lock is not None:
            lock.release()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine``'s database."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with write(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def dumps(value: Any) -> str:
    """JSON text for a column; non-finite floats become null."""
    return json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))


_AUDIT_INSERT = audit.insert()


def write_audit(
    conn: Connection,
    at: float,
    actor: str,
    action: str,
    *,
    contact_id: str | None = None,
    customer_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one line to the audit log, in the caller's transaction (ids only: never names or message text)."""
    conn.execute(_AUDIT_INSERT, audit_row(at, actor, action, contact_id=contact_id, customer_id=customer_id,
                                          detail=detail))


def audit_row(
    at: float,
    actor: str,
    action: str,
    *,
    contact_id: str | None = None,
    customer_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The values of one audit line, for :func:`write_audit` or for several lines inserted at once."""
    return {"at": at, "actor": actor, "action": action, "contact_id": contact_id, "customer_id": customer_id,
            "detail": dumps(detail or {})}


def contact_row(conn: Connection, contact_id: str) -> Any:
    """The contact ``contact_id`` (a row of ``contacts``), or None."""
    return conn.execute(select(contacts).where(contacts.c.id == contact_id)).first()


def audit_lines(conn: Connection, contact_id: str | None = None, customer_id: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    """Audit lines, newest first, filtered by contact or customer; ``detail`` parsed."""
    q = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if contact_id is not None:
        q = q.where(audit.c.contact_id == contact_id)
    if customer_id is not None:
        q = q.where(audit.c.customer_id == customer_id)
    return [{**dict(r._mapping), "detail": json.loads(r.detail)} for r in conn.execute(q).all()]


def ping(conn: Connection) -> None:
    """Raise unless the database answers."""
    conn.exec_driver_sql("SELECT 1")
