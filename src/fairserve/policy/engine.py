"""The one decision: ``decide(contact, customer, policy, now) -> Decision``, and its vectorised twin.

Ordering by virtual arrival
---------------------------
Each contact gets a **head start** ``h`` in minutes (tier + need + capped influence + optional risk), and every
queue is ordered by the :class:`~fairserve.model.QueueKey` ``(rank, arrival - 60 h, arrival, contact_id)``.
This is a relative of Kleinrock's delay-dependent priority (Kleinrock 1964, "A delay dependent queue
discipline", *Naval Research Logistics Quarterly* 11; the accumulating priority queue of Stanford, Taylor &
Ziedins 2014, *Queueing Systems* 77): there a contact's priority grows with its wait at a rate set by its class;
here it grows at the same rate for everyone from a different starting point (the head start), so ordering by
``arrival - h`` is the same as ordering by ``wait + h`` at any instant. Aging is therefore built in, and the
key never changes while the contact waits (a plain heap keeps the order). Contact B, arriving after A, can be
served before A only if ``t_B - t_A < h_B - h_A``, so nobody is overtaken by a contact that arrived more than
the policy's largest head start later: nobody starves. A strict policy (``strict = true``) puts the tier's
index in ``rank``, an infinite head start between tiers.

Speed
-----
A policy is compiled once, when it is loaded, into tuples and floats (:class:`_Compiled`); ``decide`` then does
attribute look-ups and a handful of comparisons. :func:`fairserve.policy.batch.decide_batch` does the same
arithmetic on NumPy arrays, in the same order, so the two agree exactly (``tests/policy/test_decide.py``
proves it row for row).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fairserve.errors import FairserveError
from fairserve.model import Channel, Contact, Customer, Decision, QueueKey, Reason
from fairserve.policy import explain as _x
from fairserve.policy.schema import NUMERIC_SIGNALS, Conditions, InfluenceRule, Need, PolicyError, PolicySpec, Tier
from fairserve.policy.schema import content_hash as _content_hash

__all__ = ["BATCH_OUTPUT_COLUMNS", "CHANNELS", "Policy", "channel_of", "decide"]

CHANNELS = ("phone", "email", "chat", "social")
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
)
_INFLUENCE_SIGNALS = frozenset({"influence", "followers"})
_REPEAT_CACHE = 16


class _CTier:
    """A tier compiled to plain values."""

    __slots__ = (
        "conds",
        "default_reason",
        "empty",
        "head_start",
        "hs_reason",
        "name",
        "next_reason",
        "sets",
        "sla",
        "strict_reason",
        "uses_influence",
    )

    def __init__(self, tier: Tier, above: Tier | None, rank: int, n: int) -> None:
        w = tier.when
        self.name = tier.name
        self.head_start = float(tier.head_start_min)
        self.sla = tuple(tier.sla.minutes(ch) * 60.0 for ch in CHANNELS)
        self.conds: tuple[tuple[str, float], ...] = tuple(
            (sig, float(getattr(w, f"{sig}_min")))
            for sig in NUMERIC_SIGNALS
            if getattr(w, f"{sig}_min") is not None
        )
        self.sets: tuple[tuple[str, frozenset[str]], ...] = tuple(
            (sig, frozenset(getattr(w, f"{sig}_in")))
            for sig in ("status", "account")
            if getattr(w, f"{sig}_in") is not None
        )
        self.empty = not self.conds and not self.sets
        self.uses_influence = any(sig in _INFLUENCE_SIGNALS for sig, _ in self.conds)
        # the reasons that do not depend on the contact are built once and shared (they are immutable)
        name, hs = tier.name, self.head_start
        self.next_reason = (
            Reason("next_tier", above.name, "none", _x.next_tier_text(above.name, above.when))
            if above is not None
            else None
        )
        self.default_reason = Reason("tier", name, f"tier={name}", _x.default_tier_text(name, rank == 0))
        self.hs_reason = (
            Reason("tier", name, "head_start", _x.tier_head_start_text(name, hs), hs) if hs > 0.0 else None
        )
        self.strict_reason = Reason("tier", name, f"rank={rank}", _x.strict_text(name, rank, n), hs)


class _Compiled:
    """Everything :func:`decide` needs, as tuples and floats."""

    __slots__ = (
        "complaint",
        "complaint_reason",
        "infl_cap",
        "infl_note",
        "infl_slope",
        "infl_tier",
        "max_head_start",
        "neg",
        "neg_below",
        "repeat_each",
        "repeat_max",
        "repeat_reasons",
        "risk",
        "risk_channels",
        "risk_head_start",
        "risk_route",
        "risk_sla",
        "risk_threshold",
        "severity",
        "severity_reasons",
        "strict",
        "tiers",
    )

    def __init__(self, spec: PolicySpec) -> None:
        tiers = spec.tiers
        n = len(tiers)
        self.tiers = tuple(_CTier(t, tiers[i - 1] if i > 0 else None, i, n) for i, t in enumerate(tiers))
        self.strict = spec.strict
        need = spec.need
        self.severity = tuple(float(m) for m in need.severity)
        self.neg = float(need.negative_sentiment)
        self.neg_below = float(need.negative_below)
        self.complaint = float(need.complaint)
        self.repeat_each = float(need.repeat_each)
        self.repeat_max = float(need.repeat_max)
        self.severity_reasons = tuple(
            Reason("severity", lvl, "head_start", _x.severity_text(lvl, m), m) if m > 0.0 else None
            for lvl, m in enumerate(self.severity)
        )
        self.complaint_reason = (
            Reason("complaint", True, "head_start", _x.complaint_text(self.complaint), self.complaint)
            if self.complaint > 0.0
            else None
        )
        self.repeat_reasons = tuple(self._repeat_reason(rep) for rep in range(_REPEAT_CACHE))
        infl = spec.influence
        self.infl_slope = float(infl.slope_min)
        self.infl_cap = float(infl.cap_min or 0.0) if infl.slope_min > 0 else 0.0
        self.infl_tier = infl.may_change_tier and any(t.uses_influence for t in self.tiers)
        self.infl_note = (
            _x.influence_none_text(self.infl_cap, self.infl_tier) if (self.infl_cap > 0.0 or self.infl_tier) else ""
        )
        risk = spec.risk
        self.risk = risk is not None
        self.risk_threshold = float(risk.threshold) if risk is not None else math.inf
        self.risk_channels = frozenset(str(c) for c in risk.channels) if risk is not None else frozenset()
        self.risk_route = risk is not None and risk.route == "social-care"
        self.risk_head_start = float(risk.head_start_min) if risk is not None else 0.0
        self.risk_sla = (
            tuple(risk.sla.minutes(ch) * 60.0 for ch in CHANNELS)
            if risk is not None and risk.sla is not None
            else None
        )
        hs = [t.head_start for t in self.tiers]
        self.max_head_start = (
            max(hs)
            + max(self.severity)
            + self.neg
            + self.complaint
            + self.repeat_max
            + self.infl_cap
            + self.risk_head_start
        )


    def _repeat_reason(self, rep: int) -> Reason | None:
        m = min(self.repeat_max, self.repeat_each * rep)
        return Reason("repeat", rep, "head_start", _x.repeat_text(rep, m), m) if m > 0.0 else None


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

    __slots__ = ("_c", "content_hash", "source", "spec")

    def __init__(self, spec: PolicySpec, source: str = "<policy>") -> None:
        self.spec = spec
        self.source = source
        self.content_hash = _content_hash(spec)
        self._c = _Compiled(spec)

    def __repr__(self) -> str:
        return f"Policy(name={self.name!r}, version={self.version!r}, hash={self.content_hash[:12]})"

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
    def max_head_start_min(self) -> float:
        """The largest finite head start, in minutes, any contact can get under this policy."""
        return self._c.max_head_start

    @property
    def influence_cap_min(self) -> float:
        """The most, in minutes, follower reach can move a contact (0 when influence is unused).

        The influence head start's cap, plus, where the policy lets influence raise the tier, the largest
        difference between two tiers' head starts (a strict policy may not let influence raise the tier), plus
        the reputational-risk head start (the risk score grows with reach, and a post's audience falls back
        to the customer's follower count when it is unknown).
        """
        c = self._c
        spread = 0.0
        if c.infl_tier:
            hs = [t.head_start for t in c.tiers]
            spread = max(hs) - min(hs)
        return c.infl_cap + spread + c.risk_head_start

    @property
    def influence_may_change_tier(self) -> bool:
        """True when a tier's conditions test influence and the policy allows it."""
        return self._c.infl_tier

    def with_tier_order(self, names: Sequence[str]) -> Policy:
        """A strict policy whose tiers are ``names`` in that order, each matched by ``customer.status == name``.

        Ranks are 0..n-1 and the order within a tier is first come, first served (no need or influence head
        starts). Customers whose status is none of ``names`` fall to the last tier. Each tier keeps the SLA of
        this policy's tier of the same name, or else of this policy's last tier. The version and hash reflect
        the order.
        """
        names = [str(n) for n in names]
        if not names:
            raise PolicyError(self.source, "tiers", "with_tier_order needs at least one tier name")
        if len(set(names)) != len(names):
            raise PolicyError(self.source, "tiers", f"with_tier_order got a repeated tier name: {names}")
        by_name = {t.name: t for t in self.spec.tiers}
        fallback = self.spec.tiers[-1]
        tiers = tuple(
            Tier(
                name=n,
                description=f"customers with status '{n}'",
                when=Conditions(status_in=(n,)),
                head_start_min=0.0,
                sla=by_name.get(n, fallback).sla,
            )
            for n in names
        )
        spec = self.spec.model_copy(
            update={
                "tiers": tiers,
                "strict": True,
                "version": f"{self.spec.version}+order={'>'.join(names)}",
                "need": Need(),
                "influence": InfluenceRule(),
                "risk": None,
            }
        )
        return Policy(PolicySpec.model_validate(spec.model_dump()), source=self.source)


def _meets(tier: _CTier, customer: Customer | None, no_influence: bool) -> bool:
    if tier.empty:
        return True
    if customer is None:
        return False
    for sig, lo in tier.conds:
        v = getattr(customer, sig)
        if sig in _INFLUENCE_SIGNALS:
            v = 0.0 if (v is None or no_influence) else v
        if v is None or not v >= lo:
            return False
    return all(getattr(customer, sig) in allowed for sig, allowed in tier.sets)


def _match(tiers: tuple[_CTier, ...], customer: Customer | None, no_influence: bool = False) -> tuple[int, bool]:
    """Index of the first tier whose conditions hold, and whether one did (else the last tier, by default)."""
    for i, tier in enumerate(tiers):
        if _meets(tier, customer, no_influence):
            return i, True
    return len(tiers) - 1, False


def _percentile(v: float | None) -> float:
    if v is None or v != v:  # None or NaN
        return 0.0
    return 0.0 if v < 0.0 else (1.0 if v > 1.0 else float(v))


def decide(contact: Contact, customer: Customer | None, policy: Policy, now: float) -> Decision:
    """Decide the tier, queue, order key, SLA and reasons of ``contact`` under ``policy``.

    Parameters
    ----------
    contact : Contact
        The contact; ``arrival`` is float seconds on the caller's clock.
    customer : Customer or None
        What is known about the customer; None for an unknown sender (lowest tier unless a tier has no
        conditions before it).
    policy : Policy
        A loaded policy (:func:`fairserve.policy.load_policy`).
    now : float
        The caller's clock, seconds; it only changes the "wait" reason, never the order (aging is built into
        the virtual arrival, see the module docstring).

    Returns
    -------
    Decision
        Deterministic: the same inputs always give the same Decision.
    """
    c = policy._c
    tiers = c.tiers
    idx, matched = _match(tiers, customer, False)
    tier = tiers[idx]
    reasons: list[Reason] = []
    flags: list[str] = []
    # the tier and the facts it rests on
    if matched and not tier.empty:
        assert customer is not None
        for sig, lo in tier.conds:
            v = getattr(customer, sig)
            reasons.append(Reason(sig, v, f"tier={tier.name}", _x.condition_text(sig, v, lo, tier.name)))
        for sig, _allowed in tier.sets:
            v = getattr(customer, sig)
            reasons.append(Reason(sig, v, f"tier={tier.name}", _x.set_text(sig, v, tier.name)))
    else:
        reasons.append(tier.default_reason)
    head = tier.head_start
    if c.strict:
        reasons.append(tier.strict_reason)
    elif tier.hs_reason is not None:
        reasons.append(tier.hs_reason)
    infl_tier_min = 0.0
    raised = False
    if c.infl_tier and matched and tier.uses_influence:
        idx0, _ = _match(tiers, customer, True)
        if idx0 > idx:
            raised = True
            infl_tier_min = max(0.0, head - tiers[idx0].head_start)
            v = customer.influence if customer is not None else None
            reasons.append(
                Reason("influence", v, f"tier={tier.name}", _x.influence_tier_text(v, tiers[idx0].name, tier.name))
            )
            flags.append("tier-by-influence")
    if tier.next_reason is not None:
        reasons.append(tier.next_reason)
    # need
    sev = contact.severity
    sev = 0 if sev < 0 else (3 if sev > 3 else int(sev))
    head += c.severity[sev]
    r = c.severity_reasons[sev]
    if r is not None:
        reasons.append(r)
    s = contact.sentiment
    m = c.neg if (s is not None and s < c.neg_below) else 0.0
    head += m
    if m > 0.0:
        reasons.append(Reason("sentiment", s, "head_start", _x.sentiment_text(s, m), m))
    if contact.complaint:
        head += c.complaint
        if c.complaint_reason is not None:
            reasons.append(c.complaint_reason)
    rep = contact.repeat if contact.repeat > 0 else 0
    m = min(c.repeat_max, c.repeat_each * rep)
    head += m
    if m > 0.0:
        r = c.repeat_reasons[rep] if rep < _REPEAT_CACHE else c._repeat_reason(rep)
        assert r is not None
        reasons.append(r)
    # influence, capped
    x = _percentile(customer.influence if customer is not None else None)
    m = min(c.infl_cap, c.infl_slope * x)
    head += m
    if m > 0.0:
        reasons.append(Reason("influence", x, "head_start", _x.influence_text(x, m, c.infl_cap), m))
    elif c.infl_note and not raised:
        # the policy weighs reach, and this contact got nothing from it: say so rather than "no part"
        reasons.append(Reason("influence", x, "none", c.infl_note))
    # reputational risk: a flag, a queue, and at most a fixed (capped) head start
    channel = str(contact.channel)
    ch = _CHANNEL_INDEX[channel]
    sla = tier.sla[ch]
    queue = "service"
    if c.risk and channel in c.risk_channels:
        audience = contact.reach
        if audience is None or audience != audience:
            f = customer.followers if customer is not None else None
            audience = f if (f is not None and f == f) else 0.0
        neg = -s if (s is not None and s < 0.0) else 0.0
        score = math.log10(1.0 + max(0.0, float(audience))) * neg
        if score >= c.risk_threshold:
            flags.append("reputational-risk")
            m = c.risk_head_start
            head += m
            if c.risk_route:
                queue = "social-care"
                assert c.risk_sla is not None
                sla = c.risk_sla[ch]
            reasons.append(
                Reason(
                    "risk",
                    score,
                    f"queue={queue}",
                    _x.risk_text(audience, score, c.risk_threshold, queue, sla, m),
                    m,
                )
            )
    waited = now - contact.arrival
    if waited > 0.0:
        reasons.append(Reason("wait", waited, "aging", _x.wait_text(waited, c.max_head_start)))
    arrival = contact.arrival
    return Decision(
        contact_id=contact.contact_id,
        customer_id=customer.customer_id if customer is not None else contact.customer_id,
        tier=tier.name,
        queue=queue,
        key=QueueKey(idx if c.strict else 0, arrival - head * 60.0, arrival, contact.contact_id),
        head_start_min=head,
        influence_min=infl_tier_min + min(c.infl_cap, c.infl_slope * x),
        sla_seconds=sla,
        sla_deadline=arrival + sla,
        reasons=tuple(reasons),
        policy_name=policy.spec.name,
        policy_version=policy.spec.version,
        policy_hash=policy.content_hash,
        flags=tuple(flags),
    )


def channel_of(value: Channel | str) -> Channel:
    """Parse a channel name, raising a clear error for an unknown one."""
    try:
        return Channel(str(value).lower())
    except ValueError:
        raise FairserveError(f"unknown channel {value!r} (expected one of {', '.join(CHANNELS)})") from None
