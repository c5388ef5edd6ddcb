"""The policy arithmetic, written once: one evaluator that runs on one contact or on a million.

How the one-row and the batch paths stay one
--------------------------------------------
:func:`evaluate` is the only place where a policy turns signals into a tier, a head start, a queue, an SLA, a
guarantee and a queue key. It is written against a tiny set of element-wise operations (``where``, ``minimum``,
``isin``, ...) passed in as ``ops``: :data:`SCALAR` implements them on Python floats for
:func:`fairserve.policy.decide` (one contact, a few microseconds), :data:`ARRAY` on NumPy arrays for
:func:`fairserve.policy.decide_batch` (a million contacts in a fraction of a second). Both run the same
statements in the same order, and IEEE-754 arithmetic on a Python float is the same as on a float64 array
element, so the two paths agree bit for bit (``tests/policy/test_evaluator.py`` checks it on random policies).
Branches in :func:`evaluate` depend only on the policy, never on a contact, so every contact of a batch takes
the path it would take alone. The reasons a decision gives (:mod:`fairserve.policy.engine`) are rendered from
the :class:`Outcome` this evaluator returns, never recomputed.

Signals
-------
A policy reads the signals in :data:`SIGNALS`; :attr:`Compiled.required` lists those a policy actually reads
(a batch without one of them is refused: a missing column is an error, not a false condition). Within a
signal, NaN (or None) means unknown: an unknown value never meets a tier condition, adds no need head start,
and an unknown ``public`` means "public when the channel is social".

The queue key
-------------
``virtual_arrival = arrival + 60 (offset - head_start)`` in seconds, where ``offset`` is the channel's target
in minutes when the policy sets channel targets (0 otherwise): contacts of one channel are ordered by arrival
minus head start (Kleinrock 1964's delay-dependent priority with equal rates; see
:mod:`fairserve.policy.engine`), contacts of different channels sharing a queue by how soon they are due.
A later contact B passes an earlier contact A of the same rank only if ``t_B - t_A < a_B - a_A`` with
``a = head_start - offset``, so it must have arrived within ``max(a) - a_A`` of A: that bound is
:attr:`Outcome.window` (minutes), what A is told.

References
----------
Kleinrock, L. (1964). A delay dependent queue discipline. *Naval Research Logistics Quarterly* 11(3-4), 329-341.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairserve.policy.schema import CHANNELS, NUMERIC_SIGNALS, PolicySpec, per_channel

__all__ = ["ARRAY", "SCALAR", "SIGNALS", "Compiled", "Outcome", "conditions_hold", "conditions_of", "evaluate"]

CONTACT_SIGNALS = ("channel", "arrival", "severity", "sentiment", "complaint", "repeat", "reach", "public")
CUSTOMER_SIGNALS = (*NUMERIC_SIGNALS, "status", "account")
SIGNALS = CONTACT_SIGNALS + CUSTOMER_SIGNALS
"""Every signal a policy may read: the contact's, then the customer's."""

TEXT_SIGNALS = ("status", "account")
_INFLUENCE_SIGNALS = frozenset({"influence", "followers"})
_SOCIAL = CHANNELS.index("social")


class _ScalarOps:
    """The evaluator's operations on Python scalars (one contact)."""

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return a if cond else b

    @staticmethod
    def minimum(a: float, b: float) -> float:
        return a if a <= b else b

    @staticmethod
    def maximum(a: float, b: float) -> float:
        return a if a >= b else b

    @staticmethod
    def known(x: float) -> float:
        """NaN -> 0."""
        return 0.0 if x != x else x

    @staticmethod
    def isnan(x: float) -> bool:
        return x != x

    @staticmethod
    def isin(x: Any, allowed: frozenset[str]) -> bool:
        return x in allowed

    @staticmethod
    def pick(table: tuple[Any, ...], arr: Any, i: Any) -> Any:
        return table[i]

    @staticmethod
    def pick2(table: tuple[tuple[Any, ...], ...], arr: Any, i: Any, j: Any) -> Any:
        return table[i][j]

    @staticmethod
    def level(x: float) -> int:
        """A severity 0..3 (unknown: 0)."""
        return 0 if not x > 0.0 else (3 if x >= 3.0 else int(x))

    @staticmethod
    def floor_pos(x: float) -> float:
        """Whole non-negative count (unknown: 0)."""
        return float(math.floor(x)) if x > 0.0 else 0.0

    @staticmethod
    def log10p(x: float) -> float:
        return float(np.log10(1.0 + x))  # NumPy's log10, the same function as the batch path's

    @staticmethod
    def const(value: Any, like: Any) -> Any:
        return value


class _ArrayOps:
    """The evaluator's operations on NumPy arrays (a batch)."""

    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    isnan = staticmethod(np.isnan)

    @staticmethod
    def known(x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), 0.0, x)

    @staticmethod
    def isin(x: Any, allowed: frozenset[str]) -> np.ndarray:
        """Whether each value of the categorical ``x`` is one of ``allowed`` (missing: never)."""
        cats = x.categories
        codes = np.flatnonzero(cats.isin(list(allowed)))
        return np.isin(x.codes, codes)

    @staticmethod
    def pick(table: Any, arr: np.ndarray, i: np.ndarray) -> np.ndarray:
        return arr[i]

    @staticmethod
    def pick2(table: Any, arr: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return arr[i, j]

    @staticmethod
    def level(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.where(x > 0.0, np.minimum(np.where(np.isnan(x), 0.0, x), 3.0), 0.0).astype(np.int64)

    @staticmethod
    def floor_pos(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.where(x > 0.0, np.floor(np.where(np.isnan(x), 0.0, x)), 0.0)

    @staticmethod
    def log10p(x: np.ndarray) -> np.ndarray:
        return np.log10(1.0 + x)

    @staticmethod
    def const(value: Any, like: np.ndarray) -> np.ndarray:
        return np.full(like.shape, value)


SCALAR = _ScalarOps()
ARRAY = _ArrayOps()


@dataclass(frozen=True)
class _Table:
    """A per-channel (or per-row-and-channel) table, as tuples for the scalar path and an array for the batch."""

    py: tuple[Any, ...]
    np: np.ndarray

    @classmethod
    def of(cls, rows: Any) -> _Table:
        py = tuple(tuple(r) for r in rows) if rows and isinstance(rows[0], tuple | list) else tuple(rows)
        return cls(py, np.array(py, dtype=float))


@dataclass(frozen=True)
class CTier:
    """One tier: its conditions and its per-channel head start (minutes) and SLA (seconds)."""

    name: str
    conds: tuple[tuple[str, float], ...]
    sets: tuple[tuple[str, frozenset[str]], ...]
    head_start: tuple[float, ...]
    sla: tuple[float, ...]

    @property
    def empty(self) -> bool:
        return not self.conds and not self.sets

    @property
    def uses_influence(self) -> bool:
        return any(sig in _INFLUENCE_SIGNALS for sig, _ in self.conds)


class Compiled:
    """A policy compiled to per-channel tables: everything :func:`evaluate` reads. Built once per policy."""

    def __init__(self, spec: PolicySpec) -> None:
        unit = tuple(
            1.0 if spec.head_start_unit == "minute" else float(spec.channels.rule(ch).target or 0.0)
            for ch in CHANNELS
        )

        def minutes(value: Any) -> tuple[float, ...]:
            return tuple(v * u for v, u in zip(per_channel(value), unit, strict=True))

        self.strict = spec.strict
        tiers = []
        for t in spec.tiers:
            conds, sets = conditions_of(t.when)
            tiers.append(
                CTier(
                    name=t.name,
                    conds=conds,
                    sets=sets,
                    head_start=minutes(t.head_start),
                    sla=tuple(t.sla.minutes(ch) * 60.0 for ch in CHANNELS),
                )
            )
        self.tiers = tuple(tiers)
        self.tier_hs = _Table.of([t.head_start for t in self.tiers])
        self.tier_sla = _Table.of([t.sla for t in self.tiers])
        need = spec.need
        self.severity = _Table.of([minutes(m) for m in need.severity])  # [level][channel]
        self.neg = _Table.of(minutes(need.negative_sentiment))
        self.neg_below = float(need.negative_below)
        self.complaint = _Table.of(minutes(need.complaint))
        self.repeat_each = _Table.of(minutes(need.repeat_each))
        self.repeat_max = _Table.of(minutes(need.repeat_max))
        infl = spec.influence
        self.slope = _Table.of(minutes(infl.slope))
        self.cap = _Table.of(minutes(infl.cap) if infl.cap is not None else (0.0,) * 4)
        self.infl_tier = infl.may_change_tier and any(t.uses_influence for t in self.tiers)
        risk = spec.risk
        self.risk = risk is not None
        self.risk_threshold = float(risk.threshold) if risk is not None else math.inf
        self.risk_on = _Table.of(
            [1.0 if (risk is not None and ch in {str(c) for c in risk.channels}) else 0.0 for ch in CHANNELS]
        )
        self.risk_route = risk is not None and risk.route == "social-care"
        self.risk_hs = _Table.of(minutes(risk.head_start) if risk is not None else (0.0,) * 4)
        self.risk_sla = _Table.of(
            [risk.sla.minutes(ch) * 60.0 for ch in CHANNELS]
            if risk is not None and risk.sla is not None
            else (math.inf,) * 4
        )
        self.offset = _Table.of([float(spec.channels.rule(ch).target or 0.0) for ch in CHANNELS])
        self.guarantee = _Table.of(
            [60.0 * g if (g := spec.channels.rule(ch).guarantee) is not None else math.inf for ch in CHANNELS]
        )
        self.has_guarantee = any(math.isfinite(g) for g in self.guarantee.py)
        # the largest head start of each tier on each channel, and the largest advance (head start - offset)
        # of each rank: the bound on who may pass a contact
        extra = [
            max(self.severity.py[lvl][k] for lvl in range(4))
            + self.neg.py[k]
            + self.complaint.py[k]
            + self.repeat_max.py[k]
            + self.cap.py[k]
            + (self.risk_hs.py[k] if self.risk_on.py[k] > 0.5 else 0.0)  # risk is scored on its channels only
            for k in range(4)
        ]
        self.max_head = tuple(tuple(t.head_start[k] + extra[k] for k in range(4)) for t in self.tiers)
        adv = [max(row[k] - self.offset.py[k] for k in range(4)) for row in self.max_head]
        self.max_advance = _Table.of(adv if self.strict else [max(adv)] * len(adv))
        self.required = self._required()

    def _required(self) -> tuple[str, ...]:
        """The signals this policy reads, in :data:`SIGNALS` order."""
        used = {"channel", "arrival"}
        for t in self.tiers:
            used.update(sig for sig, _ in t.conds)
            used.update(sig for sig, _ in t.sets)
        if any(any(row) for row in self.severity.py):
            used.add("severity")
        if any(self.neg.py):
            used.add("sentiment")
        if any(self.complaint.py):
            used.add("complaint")
        if any(self.repeat_max.py):
            used.add("repeat")
        if any(self.cap.py) and any(self.slope.py):
            used.add("influence")
        if self.risk and any(self.risk_on.py):
            used.update(("sentiment", "reach", "followers", "public"))
        return tuple(s for s in SIGNALS if s in used)


@dataclass
class Outcome:
    """What :func:`evaluate` returns: scalars for one contact, arrays for a batch.

    ``tier`` is the tier's index (first tier whose conditions hold, else the last), ``matched`` whether a
    tier's conditions held, ``tier0`` the tier with influence and followers taken as 0 (equal to ``tier`` unless
    the policy lets influence change the tier), ``raised`` whether influence raised it and ``tier_infl`` the
    head-start minutes that raise is worth. The need parts (``severity`` level, ``severity_m``,
    ``sentiment_m``, ``complaint_m``, ``repeat`` count, ``repeat_m``), ``reach_x`` (influence percentile in
    [0, 1]) and ``influence_m``, the risk parts (``flagged``, ``score``, ``audience``, ``risk_m``,
    ``social_care``) add up to ``head`` (minutes). ``sla`` and ``guarantee`` are seconds (``inf``: none),
    ``virtual_arrival`` seconds, ``rank`` the strict-priority class, ``offset`` the channel's ordering offset in
    minutes and ``window`` the minutes after this contact's arrival within which a later contact of the same
    rank could still be served first.
    """

    ch: Any
    tier: Any
    matched: Any
    tier0: Any
    raised: Any
    tier_infl: Any
    severity: Any
    severity_m: Any
    sentiment_m: Any
    complaint_m: Any
    repeat: Any
    repeat_m: Any
    reach_x: Any
    influence_m: Any
    flagged: Any
    score: Any
    audience: Any
    risk_m: Any
    social_care: Any
    head: Any
    sla: Any
    guarantee: Any
    rank: Any
    offset: Any
    virtual_arrival: Any
    window: Any


def conditions_hold(
    conds: tuple[tuple[str, float], ...],
    sets: tuple[tuple[str, frozenset[str]], ...],
    x: dict[str, Any],
    ops: Any,
    no_influence: bool = False,
) -> Any:
    """Whether every condition holds (True when there is none); with ``no_influence`` reach counts as 0."""
    mask: Any = True
    for sig, lo in conds:
        v = 0.0 if (no_influence and sig in _INFLUENCE_SIGNALS) else x[sig]
        mask = mask & (v >= lo)  # NaN (unknown) never meets a condition
    for sig, allowed in sets:
        mask = mask & ops.isin(x[sig], allowed)
    return mask


def conditions_of(w: Any) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, frozenset[str]], ...]]:
    """A :class:`~fairserve.policy.schema.Conditions` as (numeric minimums, allowed text values)."""
    conds = tuple(
        (sig, float(getattr(w, f"{sig}_min"))) for sig in NUMERIC_SIGNALS if getattr(w, f"{sig}_min") is not None
    )
    sets = tuple(
        (sig, frozenset(getattr(w, f"{sig}_in"))) for sig in TEXT_SIGNALS if getattr(w, f"{sig}_in") is not None
    )
    return conds, sets


def _tier_of(c: Compiled, x: dict[str, Any], ops: Any, no_influence: bool) -> tuple[Any, Any]:
    """Index of the first tier whose conditions all hold (else the last), and whether one held."""
    last = len(c.tiers) - 1
    idx: Any = ops.const(last, x["arrival"])
    matched: Any = ops.const(False, x["arrival"])
    for i in range(last, -1, -1):
        t = c.tiers[i]
        if t.empty:
            idx = ops.const(i, x["arrival"])
            matched = ops.const(True, x["arrival"])
            continue
        mask = conditions_hold(t.conds, t.sets, x, ops, no_influence)
        idx = ops.where(mask, i, idx)
        matched = matched | mask
    return idx, matched


def evaluate(c: Compiled, x: dict[str, Any], ops: Any) -> Outcome:
    """Evaluate the compiled policy ``c`` on the signals ``x`` with ``ops`` (:data:`SCALAR` or :data:`ARRAY`).

    ``x`` maps each signal of :data:`SIGNALS` to a value (scalar path) or an array (batch path): ``channel``
    as the channel's index in :data:`~fairserve.policy.schema.CHANNELS`, numbers as floats with NaN for
    unknown, ``complaint`` as a bool, ``public`` as 1.0 / 0.0 / NaN (unknown), ``status`` and ``account`` as
    str or None (scalar) or a :class:`pandas.Categorical` (batch). Every statement runs for every contact; the
    only branches test the policy.
    """
    ch = x["channel"]
    idx, matched = _tier_of(c, x, ops, False)
    head = ops.pick2(c.tier_hs.py, c.tier_hs.np, idx, ch)
    tier0, raised, tier_infl = idx, ops.const(False, x["arrival"]), ops.const(0.0, x["arrival"])
    if c.infl_tier:
        tier0, _ = _tier_of(c, x, ops, True)
        raised = tier0 > idx
        tier_infl = ops.where(raised, ops.maximum(0.0, head - ops.pick2(c.tier_hs.py, c.tier_hs.np, tier0, ch)), 0.0)
    # need
    sev = ops.level(x["severity"])
    sev_m = ops.pick2(c.severity.py, c.severity.np, sev, ch)
    sent = x["sentiment"]
    sent_m = ops.where(sent < c.neg_below, ops.pick(c.neg.py, c.neg.np, ch), 0.0)  # NaN is not below
    comp_m = ops.where(x["complaint"], ops.pick(c.complaint.py, c.complaint.np, ch), 0.0)
    rep = ops.floor_pos(x["repeat"])
    rep_m = ops.minimum(
        ops.pick(c.repeat_max.py, c.repeat_max.np, ch), ops.pick(c.repeat_each.py, c.repeat_each.np, ch) * rep
    )
    # influence, capped
    reach_x = ops.minimum(1.0, ops.maximum(0.0, ops.known(x["influence"])))
    infl_m = ops.minimum(ops.pick(c.cap.py, c.cap.np, ch), ops.pick(c.slope.py, c.slope.np, ch) * reach_x)
    head = head + sev_m + sent_m + comp_m + rep_m + infl_m
    # reputational risk on public contacts: a flag, maybe a queue of its own, at most a fixed head start
    sla = ops.pick2(c.tier_sla.py, c.tier_sla.np, idx, ch)
    flagged, score, audience = ops.const(False, x["arrival"]), ops.const(0.0, x["arrival"]), x["reach"]
    risk_m, social = ops.const(0.0, x["arrival"]), ops.const(False, x["arrival"])
    if c.risk:
        pub = x["public"]
        public = ops.where(ops.isnan(pub), ch == _SOCIAL, pub > 0.5)
        audience = ops.where(ops.isnan(x["reach"]), ops.known(x["followers"]), x["reach"])
        neg = ops.maximum(0.0, -ops.known(sent))
        score = ops.log10p(ops.maximum(0.0, audience)) * neg
        flagged = (ops.pick(c.risk_on.py, c.risk_on.np, ch) > 0.5) & public & (score >= c.risk_threshold)
        risk_m = ops.where(flagged, ops.pick(c.risk_hs.py, c.risk_hs.np, ch), 0.0)
        head = head + risk_m
        if c.risk_route:
            social = flagged
            sla = ops.where(flagged, ops.pick(c.risk_sla.py, c.risk_sla.np, ch), sla)
    rank = idx if c.strict else ops.const(0, x["arrival"])
    offset = ops.pick(c.offset.py, c.offset.np, ch)
    advance = head - offset
    return Outcome(
        ch=ch,
        tier=idx,
        matched=matched,
        tier0=tier0,
        raised=raised,
        tier_infl=tier_infl,
        severity=sev,
        severity_m=sev_m,
        sentiment_m=sent_m,
        complaint_m=comp_m,
        repeat=rep,
        repeat_m=rep_m,
        reach_x=reach_x,
        influence_m=infl_m,
        flagged=flagged,
        score=score,
        audience=audience,
        risk_m=risk_m,
        social_care=social,
        head=head,
        sla=sla,
        guarantee=ops.pick(c.guarantee.py, c.guarantee.np, ch),
        rank=rank,
        offset=offset,
        virtual_arrival=x["arrival"] - advance * 60.0,
        window=ops.maximum(0.0, ops.pick(c.max_advance.py, c.max_advance.np, rank) - advance),
    )
