"""The data model: small frozen dataclasses shared by every part of fairserve.

Identifiers are strings everywhere, so an id such as ``"00042"`` keeps its zeros.

Time in the core is a plain ``float`` of **seconds** on whatever clock the caller uses: POSIX seconds in the live
service (:func:`to_seconds` converts a ``datetime``), simulated seconds in the simulator. The policy engine only
ever adds and subtracts durations, so it never needs to know which clock it is on.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

__all__ = [
    "Channel",
    "Contact",
    "Customer",
    "Decision",
    "Grant",
    "QueueKey",
    "Reason",
    "SocialProfile",
    "Transaction",
    "customer_from_record",
    "to_seconds",
]


class Channel(StrEnum):
    """The channel a contact arrives on."""

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    SOCIAL = "social"


def to_seconds(when: dt.datetime | dt.date | float) -> float:
    """Return ``when`` as float seconds on the POSIX clock (naive datetimes are taken as UTC)."""
    if isinstance(when, float | int):
        return float(when)
    if not isinstance(when, dt.datetime):
        when = dt.datetime(when.year, when.month, when.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass(frozen=True, slots=True)
class Transaction:
    """One purchase: who, when, how much (and optionally which product line)."""

    customer_id: str
    date: dt.date
    amount: float
    product_line: str | None = None


@dataclass(frozen=True, slots=True)
class SocialProfile:
    """A social-media profile; the raw material of the influence signal, kept apart from value."""

    handle: str
    platform: str = "generic"
    followers: int = 0
    engagement: float | None = None  # mean interactions per post, or a rate; platform specific
    verified: bool = False
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    """What the policy engine knows about a customer: value scores, influence and status.

    Every score is optional: a contact from an unknown social handle is a ``Customer`` with no value scores.
    ``influence`` is a percentile of the customer base in [0, 1] (see :mod:`fairserve.influence`).
    ``facts`` holds the numbers behind the scores (tenure in years, products held, ...) so that a decision
    can explain them.
    """

    customer_id: str
    clv: float | None = None
    profit: float | None = None
    loyalty: float | None = None  # in [0, 1]
    status: str | None = None  # a status tier the company already has ("gold", "basic", ...)
    account: str | None = None  # organisation, for B2B roll-up
    influence: float | None = None  # reach percentile in [0, 1]
    followers: int | None = None
    value_percentile: float | None = None  # CLV percentile in [0, 1] within the scored base
    facts: tuple[tuple[str, float | str], ...] = ()


def _known(value: Any) -> Any:
    """``value``, or None when it is missing (None or a float NaN, as pandas gives for an empty cell)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


def customer_from_record(record: Any, customer_id: str | None = None) -> Customer:
    """Build a :class:`Customer` from one row of a scores table (a dict or a pandas row: ``get`` and ``[]``).

    Missing columns and empty cells (None, NaN) become None; ``customer_id`` overrides the record's id (the
    simulator names an anonymous segment's customer this way).
    """

    def num(col: str) -> float | None:
        value = _known(record.get(col))
        return None if value is None else float(value)

    def text(col: str) -> str | None:
        value = _known(record.get(col))
        return None if value is None else str(value)

    followers = num("followers")
    return Customer(
        customer_id=customer_id if customer_id is not None else str(record["customer_id"]),
        clv=num("clv"),
        profit=num("profit"),
        loyalty=num("loyalty"),
        status=text("status"),
        account=text("account"),
        influence=num("influence"),
        followers=None if followers is None else int(followers),
        value_percentile=num("value_percentile"),
    )


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact on any channel: a call, an email, a chat, a social mention.

    ``arrival`` is float seconds (see the module docstring). ``severity`` is 0 (routine) to 3 (critical);
    ``sentiment`` is in [-1, 1]; ``repeat`` counts earlier contacts about the same matter.
    """

    contact_id: str
    channel: Channel
    arrival: float
    text: str = ""
    customer_id: str | None = None
    handle: str | None = None
    severity: int = 0
    sentiment: float | None = None
    complaint: bool = False
    repeat: int = 0
    reach: float | None = None  # audience of a public post, for reputational risk
    public: bool | None = None  # seen by the public; None: public when the channel is social


class QueueKey(NamedTuple):
    """The order of a queue: smaller serves first, compared field by field.

    Attributes
    ----------
    rank:
        Strict-priority class; 0 for every contact unless the policy declares strict tiers. A lower rank is
        always served before a higher one (an infinite head start).
    virtual_arrival:
        Arrival time minus the head start, plus the channel's target when the policy sets channel targets (so
        contacts of different channels in one queue are ordered by how soon they are due), in seconds. Static
        while the contact waits, so a plain heap keeps the order, and a contact can be overtaken only by one
        that arrived at most ``Decision.pass_window_min`` later (or that waited past its guarantee).
    arrival:
        The real arrival time, seconds; breaks ties first come, first served.
    contact_id:
        The last tie-breaker, so that the order is total and deterministic.
    """

    rank: int
    virtual_arrival: float
    arrival: float
    contact_id: str


@dataclass(frozen=True, slots=True)
class Reason:
    """One signal's part in a decision.

    ``signal`` names the input (``"clv"``, ``"influence"``, ``"severity"``, ``"wait"``, ...), ``value`` is what it
    was, ``effect`` is what it did in machine-readable form (``"tier=gold"``, ``"head_start"``,
    ``"queue=social-care"``), ``minutes`` is its head start in minutes (0 when it changed none), and ``text`` says
    it in plain language.
    """

    signal: str
    value: float | str | None
    effect: str
    text: str
    minutes: float = 0.0


@dataclass(frozen=True, slots=True)
class Grant:
    """An entitlement a decision grants: its name, what it is, an amount where it has one (currency units),
    whether it is owed to follower reach alone, and the facts it rests on."""

    name: str
    description: str
    amount: float | None
    owed_to_influence: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :func:`fairserve.policy.decide`: tier, queue order, SLA and the reasons for each."""

    contact_id: str
    customer_id: str | None
    tier: str
    queue: str  # "service", or "social-care" where the policy routes reputational risk there
    key: QueueKey
    head_start_min: float
    influence_min: float  # the part of the head start owed to influence (never more than the policy's cap)
    sla_seconds: float
    sla_deadline: float
    reasons: tuple[Reason, ...]
    policy_name: str
    policy_version: str
    policy_hash: str
    flags: tuple[str, ...] = field(default=())
    guarantee_seconds: float = math.inf  # the longest wait the policy allows on this channel (inf: none)
    pass_window_min: float = 0.0  # a later contact of the same rank can pass only if it arrived within this
    channel_offset_min: float = 0.0  # the channel's target when the policy orders channels by due time
    entitlements: tuple[Grant, ...] = ()  # the treatments beyond the queue this customer is entitled to
