"""Customers in the service: bulk upsert of a scores file, identity links, and who a sender is.

A scores file (the output of ``fairserve value score``, or any table with ``customer_id``) is validated row by
row: a bad row is reported by its 1-based number and field, the good rows are kept. Its columns ``clv``,
``profit``, ``loyalty``, ``status``, ``account``, ``influence``, ``followers`` and ``value_percentile`` are the
policy's facts about the customer; ``email``, ``phone`` and ``handle`` (with ``platform``, default ``generic``)
become identity links; other numeric or text columns are kept as the customer's facts.

A sender is found by, in order: ``customer_id`` (which must exist), then an e-mail, phone or handle identity link.
An unknown e-mail, phone or handle is kept as a **guest** customer (``guest-<hash>``), linked to that identity, so
a later contact from the same sender finds the same guest; a guest has no scores and no tier facts.
Identities are normalised as :mod:`fairserve.text.identity` does (handles lower-cased without ``@``, the last 10
digits of a phone, e-mails lower-cased).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fairserve.errors import FairserveError, Problem
from fairserve.model import Customer
from fairserve.service.store import customers, dumps, identities, is_postgres
from fairserve.text.identity import normalise_handle, normalise_phone

__all__ = [
    "BulkResult",
    "NotUtf8Error",
    "UnknownCustomerError",
    "customer_of",
    "known_senders",
    "link_identity",
    "normalise_identity",
    "read_upload",
    "resolve_sender",
    "upsert_frame",
]

_NUMBERS = {"clv": (None, None), "profit": (None, None), "loyalty": (0.0, 1.0), "influence": (0.0, 1.0),
            "value_percentile": (0.0, 1.0), "followers": (0.0, None)}
_TEXTS = ("status", "account")
_IDENTITY = ("email", "phone", "handle", "platform")
_CHUNK = 2_000


class UnknownCustomerError(LookupError):
    """A ``customer_id`` that the service does not know."""


def normalise_identity(kind: str, value: object) -> str:
    """The stored form of an identity: handles and e-mails lower-cased (no ``@`` before a handle), phones' digits."""
    if kind == "handle":
        return normalise_handle(value)
    if kind == "phone":
        return normalise_phone(value)
    return "" if value is None else str(value).strip().lower()


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str], replace: bool = True) -> None:
    """Insert ``rows``; one whose ``keys`` are stored already replaces that row's other columns (or, with
    ``replace=False``, leaves the stored row as it is)."""
    if not rows:
        return
    ins = (postgresql.insert(table) if is_postgres(conn) else sqlite.insert(table)).values(rows)
    cols = {c: ins.excluded[c] for c in rows[0] if c not in keys} if replace else {}
    conn.execute(ins.on_conflict_do_update(index_elements=keys, set_=cols) if cols else ins.on_conflict_do_nothing())


def link_identity(conn: Connection, kind: str, value: object, customer_id: str, platform: str = "") -> bool:
    """Map an identity to ``customer_id`` (replacing an earlier link); False when the value normalises to empty."""
    norm = normalise_identity(kind, value)
    if not norm:
        return False
    plat = (platform or "generic").lower() if kind == "handle" else ""
    _upsert(conn, identities, [{"kind": kind, "platform": plat, "value": norm, "customer_id": customer_id}],
            ["kind", "platform", "value"])
    return True


def _customer(row: Any) -> Customer:
    facts: tuple[tuple[str, float | str], ...] = ()
    if row.facts:
        facts = tuple(sorted(json.loads(row.facts).items()))
    return Customer(
        customer_id=row.customer_id, clv=row.clv, profit=row.profit, loyalty=row.loyalty, status=row.status,
        account=row.account, influence=row.influence, followers=row.followers,
        value_percentile=row.value_percentile, facts=facts,
    )


_BY_ID = select(customers).where(customers.c.customer_id == bindparam("cid"))
_BY_IDENTITY = select(customers).join(identities, identities.c.customer_id == customers.c.customer_id).where(
    identities.c.kind == bindparam("kind"), identities.c.platform == bindparam("platform"),
    identities.c.value == bindparam("value"))


def customer_of(conn: Connection, customer_id: str) -> Customer | None:
    """The stored customer ``customer_id``, or None."""
    row = conn.execute(_BY_ID, {"cid": customer_id}).first()
    return None if row is None else _customer(row)


def resolve_sender(
    conn: Connection,
    now: float,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    handle: str | None = None,
    platform: str | None = None,
    known: dict[tuple[str, ...], Customer | None] | None = None,
) -> tuple[Customer, bool]:
    """Who sent a contact: the customer and whether it is a guest made now or before.

    ``known`` holds what this transaction already read (:func:`known_senders`), by ``("id", customer_id)`` and by
    ``(kind, platform, value)``: the customer, or None where none is stored; only what it does not hold is read
    from the database. A guest made here is added to it, so that the next sender of a group finds it.

    Raises
    ------
    UnknownCustomerError
        When ``customer_id`` is given and not stored.
    ValueError
        When no identity is given, or every one given normalises to nothing.
    """
    if known is None:
        known = {}
    if customer_id is not None:
        key = ("id", customer_id)
        found = known[key] if key in known else customer_of(conn, customer_id)
        if found is None:
            raise UnknownCustomerError(customer_id)
        return found, False
    tried = _identities(email, phone, handle, platform)
    if not tried:
        raise ValueError("one of customer_id, email, phone or handle is required")
    for kind, plat, norm in tried:
        if (kind, plat, norm) in known:
            found = known[(kind, plat, norm)]
        else:
            hit = conn.execute(_BY_IDENTITY, {"kind": kind, "platform": plat, "value": norm}).first()
            found = None if hit is None else _customer(hit)
        if found is not None:
            return found, False
    # none of the identities is stored (an identity always belongs to a stored customer): a guest owns them all
    kind, plat, norm = tried[0]
    guest = Customer(customer_id="guest-" + hashlib.sha256(f"{kind}:{plat}:{norm}".encode()).hexdigest()[:16])
    _upsert(conn, customers, [{"customer_id": guest.customer_id, "guest": True, "updated_at": now}], ["customer_id"])
    _upsert(conn, identities, [{"kind": k, "platform": p, "value": v, "customer_id": guest.customer_id}
                               for k, p, v in tried], ["kind", "platform", "value"], replace=False)
    known[("id", guest.customer_id)] = guest
    known.update(dict.fromkeys(tried, guest))
    return guest, True


def _identities(email: str | None, phone: str | None, handle: str | None, platform: str | None
                ) -> list[tuple[str, str, str]]:
    """The identities a sender gave, normalised, in the order they are tried: ``(kind, platform, value)``."""
    tried: list[tuple[str, str, str]] = []
    for kind, value in (("email", email), ("phone", phone), ("handle", handle)):
        norm = normalise_identity(kind, value) if value is not None else ""
        if norm:
            plat = (platform or "generic").lower() if kind == "handle" else ""
            tried.append((kind, plat, norm))
    return tried


_BY_IDS = select(customers).where(customers.c.customer_id.in_(bindparam("ids", expanding=True)))
_BY_VALUES = select(identities.c.kind, identities.c.platform, identities.c.value, customers).join(
    customers, identities.c.customer_id == customers.c.customer_id).where(
    identities.c.value.in_(bindparam("values", expanding=True)))


def known_senders(conn: Connection, senders: list[dict[str, str | None]]
                  ) -> dict[tuple[str, ...], Customer | None]:
    """The stored customers of several senders, read with two statements, for :func:`resolve_sender`'s ``known``:
    every id and identity the senders name, with its customer or None (not stored).

    ``senders`` are dicts of ``customer_id``, ``email``, ``phone``, ``handle`` and ``platform`` (None where not
    given).
    """
    ids = sorted({s["customer_id"] for s in senders if s.get("customer_id") is not None})  # type: ignore[type-var]
    wanted = {t for s in senders if s.get("customer_id") is None
              for t in _identities(s.get("email"), s.get("phone"), s.get("handle"), s.get("platform"))}
    known: dict[tuple[str, ...], Customer | None] = {("id", str(i)): None for i in ids}
    known.update({t: None for t in wanted})
    if ids:
        for row in conn.execute(_BY_IDS, {"ids": ids}):
            known[("id", row.customer_id)] = _customer(row)
    if wanted:
        for row in conn.execute(_BY_VALUES, {"values": sorted({v for _, _, v in wanted})}):
            if (row.kind, row.platform, row.value) in wanted:
                known[(row.kind, row.platform, row.value)] = _customer(row)
    return known


class NotUtf8Error(FairserveError):
    """An upload with bytes that are not UTF-8, refused whole: ``row`` (None: the header), ``line`` and ``field``
    (None when unknown) of the first such bytes, ``more`` the number of other rows that have some.

    Refused whole rather than row by row: such bytes mostly mean the whole file is in another encoding (Latin-1,
    Windows-1252), so its other rows' text would be stored wrong or some of its customers dropped.
    """

    def __init__(self, source: str, row: int | None, line: int, field: str | None, byte: int, more: int) -> None:
        self.row, self.line, self.field, self.more = row, line, field, more
        where = f"{source}, {'the header' if row is None else f'row {row}'} (line {line})"
        if field is not None:
            where += f", field '{field}'"
        others = f"; {more} more row{'' if more == 1 else 's'} like it" if more else ""
        super().__init__(f"{where}: byte 0x{byte:02x} is not UTF-8 text{others}; nothing was stored: save the "
                         "file as UTF-8 (it may be Latin-1 or Windows-1252) and send it again")


_ESCAPED = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, as errors="surrogateescape" keeps it


def _check_utf8(data: bytes, kind: str, source: str) -> None:
    """Raise :class:`NotUtf8Error` naming the first row (numbered as :func:`read_upload` numbers rows), line and
    field with bytes that are not UTF-8; return when every byte is UTF-8."""
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError as exc:
        first = exc.start
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    if kind == "jsonl":  # a row is a line, numbered as str.splitlines numbers them
        bad = [i for i, line in enumerate(text.splitlines(), start=1) if _ESCAPED.search(line)]
        byte = ord(_ESCAPED.findall(text)[0]) - 0xDC00
        raise NotUtf8Error(source, bad[0], bad[0], None, byte, len(bad) - 1)
    # CSV: rows as pandas numbers them (the header apart, blank lines skipped), lines from 1 as an editor does
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    found: tuple[int | None, int, str | None, int] | None = None
    more = row = ended = 0
    with contextlib.suppress(csv.Error):  # not CSV as the csv module reads it: the line alone is named below
        for record in reader:
            line, ended = ended + 1, reader.line_num  # a quoted cell may span lines: the record's first line
            if not record:
                continue
            at: int | None = None
            if header is None:
                header = record
            else:
                row += 1
                at = row
            cells = [i for i, cell in enumerate(record) if _ESCAPED.search(cell)]
            if not cells:
                continue
            if found is not None:
                more += 1
                continue
            name = header[cells[0]] if at is not None and cells[0] < len(header) else None
            found = (at, line, name, ord(_ESCAPED.findall(record[cells[0]])[0]) - 0xDC00)
    if found is None:
        line = data.count(b"\n", 0, first) + 1
        raise NotUtf8Error(source, None if line == 1 else line - 1, line, None, data[first], 0)
    raise NotUtf8Error(source, *found, more=more)


def read_upload(data: bytes, kind: str, source: str = "upload") -> tuple[pd.DataFrame, list[Problem]]:
    """A scores upload (``csv``, ``jsonl`` or ``parquet``) as a frame of strings and values, rows numbered from 1.

    A JSON line that does not parse is a problem of its row; an unreadable file, or one without a ``customer_id``
    column, is one problem without a row (the caller refuses the whole file).

    Raises
    ------
    NotUtf8Error
        A CSV or JSON-lines upload with bytes that are not UTF-8, naming the first such row, line and field.
    """
    problems: list[Problem] = []
    if kind != "parquet":
        _check_utf8(data, kind, source)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
        elif kind == "jsonl":
            records: list[dict[str, Any]] = []
            numbers: list[int] = []
            for i, line in enumerate(data.decode("utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(Problem(source, i, None, f"not valid JSON: {exc.msg}"))
                    continue
                if not isinstance(obj, dict):
                    problems.append(Problem(source, i, None, "a JSON line must be an object"))
                    continue
                records.append(obj)
                numbers.append(i)
            frame = pd.DataFrame.from_records(records)
            frame.index = pd.Index(numbers)
            return frame, problems + _missing_columns(frame, source)
        else:
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        return pd.DataFrame(), [Problem(source, None, None, f"cannot read the {kind} upload: {exc}")]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, problems + _missing_columns(frame, source)


def _missing_columns(frame: pd.DataFrame, source: str) -> list[Problem]:
    """A file without a ``customer_id`` column is unusable as a whole: one problem without a row."""
    if "customer_id" in frame.columns or (not len(frame) and not len(frame.columns)):
        return []
    cols = ", ".join(repr(str(c)) for c in list(frame.columns)[:8])
    return [Problem(source, None, "customer_id", f"the required column 'customer_id' is missing (columns: {cols})")]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


@dataclass(frozen=True)
class BulkResult:
    """What a bulk upsert did: rows read, customers upserted, identities linked, and every bad row."""

    rows: int
    upserted: int
    identities: int
    problems: tuple[Problem, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, each problem with its row, field and message."""
        return {
            "rows": self.rows, "upserted": self.upserted, "identities": self.identities,
            "rejected": len({p.row for p in self.problems if p.row is not None}),
            "problems": [{"row": p.row, "field": p.field, "message": p.message} for p in self.problems[:1000]],
        }


def _row(rec: dict[str, Any], n: int, source: str, now: float) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []
    cid = rec.get("customer_id")
    if _blank(cid):
        return None, [Problem(source, n, "customer_id", "missing customer id")]
    out: dict[str, Any] = {"customer_id": str(cid).strip(), "guest": False, "updated_at": now}
    for col, (lo, hi) in _NUMBERS.items():
        v = rec.get(col)
        if _blank(v):
            out[col] = None
            continue
        try:
            x = float(str(v)) if isinstance(v, str) else float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            problems.append(Problem(source, n, col, f"not a number: {str(v)[:40]!r}"))
            continue
        if not math.isfinite(x) or (lo is not None and x < lo) or (hi is not None and x > hi):
            rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            problems.append(Problem(source, n, col, f"{x} is outside {rng}"))
            continue
        out[col] = int(x) if col == "followers" else x
    for col in _TEXTS:
        v = rec.get(col)
        out[col] = None if _blank(v) else str(v).strip()
    facts: dict[str, float | str] = {}
    for col, v in rec.items():
        if col in _NUMBERS or col in _TEXTS or col in _IDENTITY or col == "customer_id" or _blank(v):
            continue
        if isinstance(v, int | float) and not isinstance(v, bool):
            facts[str(col)] = float(v)
        else:
            s = str(v).strip()
            try:
                facts[str(col)] = float(s)
            except ValueError:
                facts[str(col)] = s[:200]
    out["facts"] = dumps(facts) if facts else None
    return (None if problems else out), problems


def upsert_frame(conn: Connection, frame: pd.DataFrame, now: float, source: str = "upload",
                 problems: list[Problem] | None = None) -> BulkResult:
    """Validate each row of ``frame`` (index: the row numbers) and upsert the good ones, with their identities.

    A customer id seen twice in one upload keeps its last row (and the earlier one is reported). Existing
    customers are updated in place; their identities are added (an identity points at one customer: the last
    upload that named it wins).
    """
    found: list[Problem] = list(problems or [])
    if "customer_id" not in frame.columns and len(frame):
        found.append(Problem(source, None, "customer_id", "no 'customer_id' column"))
        return BulkResult(len(frame), 0, 0, tuple(found))
    good: dict[str, dict[str, Any]] = {}
    links: list[dict[str, Any]] = []
    seen_at: dict[str, int] = {}
    for n, rec in zip(frame.index, frame.to_dict(orient="records"), strict=True):
        row, bad = _row({str(k): v for k, v in rec.items()}, int(n), source, now)
        found.extend(bad)
        if row is None:
            continue
        cid = row["customer_id"]
        if cid in seen_at:
            found.append(Problem(source, seen_at[cid], "customer_id", f"customer {cid!r} again in row {n}; "
                                 "the later row is kept"))
        seen_at[cid] = int(n)
        good[cid] = row
        plat = rec.get("platform")
        plat = "generic" if _blank(plat) else str(plat).strip().lower()
        for kind in ("email", "phone", "handle"):
            v = rec.get(kind)
            norm = "" if _blank(v) else normalise_identity(kind, v)
            if norm:
                links.append({"kind": kind, "platform": plat if kind == "handle" else "", "value": norm,
                              "customer_id": cid})
    rows = list(good.values())
    for i in range(0, len(rows), _CHUNK):
        _upsert(conn, customers, rows[i:i + _CHUNK], ["customer_id"])
    unique_links = list({(r["kind"], r["platform"], r["value"]): r for r in links}.values())
    for i in range(0, len(unique_links), _CHUNK):
        _upsert(conn, identities, unique_links[i:i + _CHUNK], ["kind", "platform", "value"])
    found.sort(key=lambda p: p.row or 0)
    return BulkResult(len(frame), len(rows), len(unique_links), tuple(found))
