"""The one decision: ``decide(contact, customer, policy, now) -> Decision``.

Ordering by virtual arrival
---------------------------
Each contact gets a **head start** ``h`` in minutes (tier + need + capped influence + optional risk), and every
queue is ordered by the :class:`~fairserve.model.QueueKey` ``(rank, arrival + 60 (offset - h), arrival,
contact_id)``, where ``offset`` is the channel's target when the policy sets channel targets (else 0). This is
a relative of Kleinrock's delay-dependent priority (Kleinrock 1964, "A delay dependent queue discipline",
*Naval Research Logistics Quarterly* 11; the accumulating priority queue of Stanford, Taylor & Ziedins 2014,
*Queueing Systems* 77): there a contact's priority grows with its wait at a rate set by its class; here it
grows at the same rate for everyone from a different starting point (the head start), so ordering by
``arrival - h`` is the same as ordering by ``wait + h`` at any instant. Aging is therefore built in, and the
key never changes while the contact waits (a plain heap keeps the order). Contact B, arriving after A, can be
served before A only if ``t_B - t_A < a_B - a_A`` (``a = h - offset``), so nobody is overtaken by a contact
that arrived more than the policy's largest advance later: each decision states that window
(``pass_window_min``). A strict policy (``strict = true``) puts the tier's index in ``rank``, an infinite
head start between tiers. A policy may also declare a **wait guarantee** per channel: a contact that has
waited longer is served before every contact still within its own guarantee (the queue applies it at each
hand-out; the key is unchanged).

One evaluator
-------------
The policy arithmetic lives once, in :func:`fairserve.policy.evaluator.evaluate`. :func:`decide` runs it on
one contact (Python scalars) and renders the reasons from what it returns;
:func:`fairserve.policy.batch.decide_batch` runs the same function on arrays.
"""

from __future__ import annotations

import math
from typing import Any

from fairserve.errors import FairserveError
from fairserve.model import Channel, Contact, Customer, Decision, Grant, QueueKey, Reason
from fairserve.policy import explain as _x
from fairserve.policy.allocation import CAllocation, compile_allocation
from fairserve.policy.entitlement import CEntitlement, compile_entitlements, evaluate_entitlements, grants_of
from fairserve.policy.evaluator import SCALAR, SIGNALS, Compiled, Outcome, evaluate
from fairserve.policy.schema import CHANNELS, NUMERIC_SIGNALS, PolicySpec
from fairserve.policy.schema import content_hash as _content_hash

__all__ = ["BATCH_OUTPUT_COLUMNS", "CHANNELS", "Policy", "channel_of", "decide", "reasons_of"]

_CHANNEL_INDEX = {name: i for i, name in enumerate(CHANNELS)}
BATCH_OUTPUT_COLUMNS = (
    "tier",
    "rank",
    "queue",
    "head_start_min",
    "influence_min",
    "virtual_arrival",
    "sla_seconds",
    "sla_deadline",
    "guarantee_seconds",
    "pass_window_min",
)
_NAN = math.nan


class _Texts:
    """The reasons that depend only on the policy (tier and channel), built once and shared (immutable)."""

    def __init__(self, spec: PolicySpec, c: Compiled) -> None:
        n = len(c.tiers)
        tiers = spec.tiers
        self.default = tuple(Reason("tier", t.name, f"tier={t.name}", _x.default_tier_text(t.name, i == 0))
                             for i, t in enumerate(c.tiers))
        self.next = tuple(
            Reason("next_tier", tiers[i - 1].name, "none", _x.next_tier_text(tiers[i - 1].name, tiers[i - 1].when))
            if i > 0
            else None
            for i in range(n)
        )
        self.head = tuple(
            tuple(
                Reason("tier", t.name, "head_start", _x.tier_head_start_text(t.name, m), m) if m > 0.0 else None
                for m in t.head_start
            )
            for t in c.tiers
        )
        self.strict = tuple(
            tuple(Reason("tier", t.name, f"rank={i}", _x.strict_text(t.name, i, n), m) for m in t.head_start)
            for i, t in enumerate(c.tiers)
        )
        self.severity = tuple(
            tuple(
                Reason("severity", lvl, "head_start", _x.severity_text(lvl, m), m) if m > 0.0 else None
                for m in row
            )
            for lvl, row in enumerate(c.severity.py)
        )
        self.complaint = tuple(
            Reason("complaint", True, "head_start", _x.complaint_text(m), m) if m > 0.0 else None
            for m in c.complaint.py
        )
        weighs = any(c.cap.py) and any(c.slope.py)
        self.influence_note = tuple(  # the text only: the reason carries the contact's own reach
            _x.influence_none_text(cap, c.infl_tier) if (weighs and cap > 0.0) or c.infl_tier else None
            for cap in c.cap.py
        )
        self.higher = tuple(", ".join(t.name for t in c.tiers[:i]) for i in range(n))


class Policy:
    """A validated, compiled policy. Build one with :func:`fairserve.policy.load_policy`.

    Attributes
    ----------
    spec : PolicySpec
        The validated file.
    content_hash : str
        sha256 hex digest of the canonical content (see :func:`fairserve.policy.schema.content_hash`).
    source : str
        Where it came from (a built-in name or a path).
    """

    __slots__ = ("_a", "_c", "_e", "_t", "content_hash", "source", "spec")

    def __init__(self, spec: PolicySpec, source: str = "<policy>") -> None:
        self.spec = spec
        self.source = source
        self.content_hash = _content_hash(spec)
        self._c = Compiled(spec)
        self._t = _Texts(spec, self._c)
        self._e = compile_entitlements(spec)
        self._a = compile_allocation(spec)

    def __repr__(self) -> str:
        return f"Policy(name={self.name!r}, version={self.version!r}, hash={self.content_hash[:12]})"

    @property
    def compiled(self) -> Compiled:
        """The per-channel tables the evaluator reads (:class:`fairserve.policy.evaluator.Compiled`)."""
        return self._c

    @property
    def name(self) -> str:
        """The policy's name."""
        return self.spec.name

    @property
    def version(self) -> str:
        """The policy's version string."""
        return self.spec.version

    @property
    def description(self) -> str:
        """What the policy is for, in a sentence or two."""
        return self.spec.description

    @property
    def tier_names(self) -> list[str]:
        """The tiers, highest priority first."""
        return [t.name for t in self.spec.tiers]

    @property
    def strict(self) -> bool:
        """Strict priority between tiers (the tier's index is the QueueKey rank)."""
        return self.spec.strict

    @property
    def required_signals(self) -> tuple[str, ...]:
        """The signals this policy's queue and entitlements read; a batch needs a column for each (NaN: unknown)."""
        used = set(self._c.required)
        for e in self._e:
            used.update(sig for sig, _ in e.conds)
            used.update(sig for sig, _ in e.sets)
            if e.by_influence and e.cap > 0.0:
                used.add("influence")
        return tuple(s for s in SIGNALS if s in used)

    @property
    def allocation(self) -> CAllocation | None:
        """The compiled allocation rule (:mod:`fairserve.policy.allocation`), or None when the policy has none."""
        return self._a

    @property
    def entitlements(self) -> tuple[CEntitlement, ...]:
        """The compiled entitlements (:mod:`fairserve.policy.entitlement`)."""
        return self._e

    @property
    def max_head_start_min(self) -> float:
        """The largest head start, in minutes, any contact can get under this policy, on any channel."""
        return max(max(row) for row in self._c.max_head)

    def max_head_start_by_channel(self) -> dict[str, float]:
        """The largest head start any contact can get, per channel, in minutes."""
        return {ch: max(row[k] for row in self._c.max_head) for k, ch in enumerate(CHANNELS)}

    def influence_cap_by_channel(self) -> dict[str, float]:
        """The most follower reach can move a contact, per channel, in minutes (see :attr:`influence_cap_min`)."""
        c = self._c
        out = {}
        for k, ch in enumerate(CHANNELS):
            hs = [t.head_start[k] for t in c.tiers]
            spread = max(hs) - min(hs) if c.infl_tier else 0.0
            risk = c.risk_hs.py[k] if c.risk_on.py[k] > 0.5 else 0.0  # risk is scored on its channels only
            out[ch] = c.cap.py[k] + spread + risk
        return out

    @property
    def influence_cap_min(self) -> float:
        """The most, in minutes, follower reach can move a contact on any channel (0 when influence is unused).

        The influence head start's cap, plus, where the policy lets influence raise the tier, the largest
        difference between two tiers' head starts (a strict policy may not let influence raise the tier), plus
        the reputational-risk head start (the risk score grows with reach, and a post's audience falls back
        to the customer's follower count when it is unknown).
        """
        return max(self.influence_cap_by_channel().values())

    @property
    def influence_may_change_tier(self) -> bool:
        """True when a tier's conditions test influence and the policy allows it."""
        return self._c.infl_tier

    def guarantee_min(self, channel: Channel | str) -> float | None:
        """The wait guarantee of ``channel`` in minutes, or None when the policy declares none."""
        return self.spec.channels.rule(str(channel)).guarantee


def _num(v: Any) -> float:
    return _NAN if v is None else float(v)


def signals_of(contact: Contact, customer: Customer | None) -> dict[str, Any]:
    """The evaluator's input for one contact (see :func:`fairserve.policy.evaluator.evaluate`)."""
    x: dict[str, Any] = {
        "channel": _CHANNEL_INDEX[str(contact.channel)],
        "arrival": float(contact.arrival),
        "severity": float(contact.severity),
        "sentiment": _num(contact.sentiment),
        "complaint": bool(contact.complaint),
        "repeat": float(contact.repeat),
        "reach": _num(contact.reach),
        "public": _NAN if contact.public is None else float(bool(contact.public)),
    }
    if customer is None:
        for sig in NUMERIC_SIGNALS:
            x[sig] = _NAN
        x["status"] = x["account"] = None
    else:
        for sig in NUMERIC_SIGNALS:
            x[sig] = _num(getattr(customer, sig))
        x["status"], x["account"] = customer.status, customer.account
    return x


def _value(v: Any) -> Any:
    """A signal's value as a Reason carries it: None for unknown, a plain float or str otherwise."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v if isinstance(v, str) else float(v)


def reasons_of(
    policy: Policy, o: Outcome, x: dict[str, Any], waited: float
) -> tuple[tuple[Reason, ...], tuple[str, ...]]:
    """The reasons and flags of one evaluated contact, rendered from its :class:`Outcome` (scalars) only.

    ``x`` is the contact's input signals (the reasons quote the customer's values); ``waited`` is how long it
    has waited so far in seconds. Nothing is computed here that the evaluator did not decide.
    """
    c, t = policy._c, policy._t
    i, k = int(o.tier), int(o.ch)
    tier = c.tiers[i]
    reasons: list[Reason] = []
    flags: list[str] = []
    if o.matched and not tier.empty:
        for sig, lo in tier.conds:
            v = _value(x[sig])
            reasons.append(Reason(sig, v, f"tier={tier.name}", _x.condition_text(sig, v, lo, tier.name)))
        for sig, _allowed in tier.sets:
            v = x[sig]
            reasons.append(Reason(sig, v, f"tier={tier.name}", _x.set_text(sig, v, tier.name)))
    else:
        reasons.append(t.default[i])
    if c.strict:
        reasons.append(t.strict[i][k])
    elif t.head[i][k] is not None:
        reasons.append(t.head[i][k])  # type: ignore[arg-type]
    if o.raised:
        v = _value(x["influence"])
        lower = c.tiers[int(o.tier0)].name
        reasons.append(Reason("influence", v, f"tier={tier.name}", _x.influence_tier_text(v, lower, tier.name)))
        flags.append("tier-by-influence")
    if t.next[i] is not None:
        reasons.append(t.next[i])  # type: ignore[arg-type]
    r = t.severity[int(o.severity)][k]
    if r is not None:
        reasons.append(r)
    if o.sentiment_m > 0.0:
        s = float(x["sentiment"])
        reasons.append(Reason("sentiment", s, "head_start", _x.sentiment_text(s, o.sentiment_m), o.sentiment_m))
    if o.complaint_m > 0.0:
        reasons.append(t.complaint[k])  # type: ignore[arg-type]
    if o.repeat_m > 0.0:
        rep = int(o.repeat)
        reasons.append(Reason("repeat", rep, "head_start", _x.repeat_text(rep, o.repeat_m), o.repeat_m))
    if o.influence_m > 0.0:
        m, xr = o.influence_m, float(o.reach_x)
        reasons.append(Reason("influence", xr, "head_start", _x.influence_text(xr, m, c.cap.py[k]), m))
    elif (note := t.influence_note[k]) is not None and not o.raised:
        reasons.append(Reason("influence", float(o.reach_x), "none", note))
    if o.flagged:
        flags.append("reputational-risk")
        queue = "social-care" if o.social_care else "service"
        score = float(o.score)
        reasons.append(
            Reason(
                "risk",
                score,
                f"queue={queue}",
                _x.risk_text(float(o.audience), score, c.risk_threshold, queue, float(o.sla), float(o.risk_m)),
                float(o.risk_m),
            )
        )
    higher = t.higher[i] if c.strict else ""
    reasons.append(
        Reason(
            "order",
            float(o.window),
            "who_may_pass",
            _x.order_text(higher, float(o.window), c.has_guarantee, float(o.guarantee), float(o.offset) > 0.0),
        )
    )
    if waited > 0.0:
        reasons.append(Reason("wait", waited, "aging", _x.wait_text(waited)))
    return tuple(reasons), tuple(flags)


def decide(contact: Contact, customer: Customer | None, policy: Policy, now: float) -> Decision:
    """Decide the tier, queue, order key, SLA, guarantee and reasons of ``contact`` under ``policy``.

    Parameters
    ----------
    contact : Contact
        The contact; ``arrival`` is float seconds on the caller's clock.
    customer : Customer or None
        What is known about the customer; None for an unknown sender (every customer signal unknown: lowest
        tier unless a tier has no conditions before it).
    policy : Policy
        A loaded policy (:func:`fairserve.policy.load_policy`).
    now : float
        The caller's clock, seconds; it only changes the "wait" reason, never the order (aging is built into
        the virtual arrival, see the module docstring).

    Returns
    -------
    Decision
        Deterministic: the same inputs always give the same Decision; equal, field for field, to the row of
        :func:`fairserve.policy.decide_batch` for the same contact.
    """
    x = signals_of(contact, customer)
    o = evaluate(policy._c, x, SCALAR)
    reasons, flags = reasons_of(policy, o, x, now - contact.arrival)
    grants: tuple[Grant, ...] = ()
    if policy._e:
        outs = evaluate_entitlements(policy._e, o, x, SCALAR)
        grants = grants_of(policy._e, outs, policy.tier_names, x, float(o.reach_x))
    arrival = x["arrival"]
    head = o.head
    return Decision(
        contact_id=contact.contact_id,
        customer_id=customer.customer_id if customer is not None else contact.customer_id,
        tier=policy._c.tiers[o.tier].name,
        queue="social-care" if o.social_care else "service",
        key=QueueKey(int(o.rank), o.virtual_arrival, arrival, contact.contact_id),
        head_start_min=head,
        influence_min=o.tier_infl + o.influence_m,
        sla_seconds=o.sla,
        sla_deadline=arrival + o.sla,
        reasons=reasons,
        policy_name=policy.spec.name,
        policy_version=policy.spec.version,
        policy_hash=policy.content_hash,
        flags=flags,
        guarantee_seconds=o.guarantee,
        pass_window_min=o.window,
        channel_offset_min=o.offset,
        entitlements=grants,
    )


def channel_of(value: Channel | str) -> Channel:
    """Parse a channel name, raising a clear error for an unknown one."""
    try:
        return Channel(str(value).lower())
    except ValueError:
        raise FairserveError(f"unknown channel {value!r} (expected one of {', '.join(CHANNELS)})") from None
