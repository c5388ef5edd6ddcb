"""Entitlements: the treatments beyond the queue a policy grants (fee waivers, callbacks, goodwill credit, ...).

An entitlement is granted when the customer is in one of its tiers (if it names any) and its conditions hold (if
it has any), evaluated by :func:`evaluate_entitlements` with the same operations, scalar or array, as the queue
evaluator (:mod:`fairserve.policy.evaluator`), so ``decide()`` and the batch audit agree. Follower reach plays a
part only where the entitlement says ``by_influence = true``: otherwise the tier it reads is the tier the
customer would have without influence (``Outcome.tier0``), its conditions may not test reach, and it adds
nothing to the amount. Where reach may play a part, the evaluator also computes the grant without it, so every
grant says whether it is owed to influence alone and the audit counts those customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fairserve.model import Grant, Reason
from fairserve.policy import explain as _x
from fairserve.policy.evaluator import Outcome, conditions_hold, conditions_of
from fairserve.policy.schema import PolicySpec

__all__ = ["CEntitlement", "EntitlementOutcome", "compile_entitlements", "evaluate_entitlements", "grants_of"]


@dataclass(frozen=True)
class CEntitlement:
    """One entitlement compiled: the tiers that qualify (by index), its conditions and its amount rule."""

    name: str
    description: str
    tiers: tuple[int, ...] | None
    conds: tuple[tuple[str, float], ...]
    sets: tuple[tuple[str, frozenset[str]], ...]
    amount: float | None
    by_influence: bool
    slope: float
    cap: float


def compile_entitlements(spec: PolicySpec) -> tuple[CEntitlement, ...]:
    """The policy's entitlements, compiled once."""
    index = {t.name: i for i, t in enumerate(spec.tiers)}
    out = []
    for e in spec.entitlements:
        conds, sets = conditions_of(e.when)
        rule = e.influence_amount
        out.append(
            CEntitlement(
                name=e.name,
                description=e.description,
                tiers=None if e.tiers is None else tuple(index[t] for t in e.tiers),
                conds=conds,
                sets=sets,
                amount=None if e.amount is None else float(e.amount),
                by_influence=e.by_influence,
                slope=float(rule.slope) if rule is not None else 0.0,
                cap=float(rule.cap) if rule is not None else 0.0,
            )
        )
    return tuple(out)


@dataclass
class EntitlementOutcome:
    """One entitlement for one contact (scalars) or a batch (arrays): granted, and the same without reach."""

    granted: Any
    granted0: Any
    tier_ok: Any
    amount: Any
    amount0: Any


def _in_tiers(tiers: tuple[int, ...] | None, idx: Any, ops: Any) -> Any:
    if tiers is None:
        return ops.const(True, idx)
    ok: Any = False
    for i in tiers:
        ok = ok | (idx == i)
    return ok


def evaluate_entitlements(
    ents: tuple[CEntitlement, ...], o: Outcome, x: dict[str, Any], ops: Any
) -> list[EntitlementOutcome]:
    """Evaluate every entitlement for the contacts of ``o`` (the queue evaluator's outcome on ``x``)."""
    out = []
    for e in ents:
        tier = o.tier if e.by_influence else o.tier0
        tier_ok = _in_tiers(e.tiers, tier, ops)
        granted = tier_ok & conditions_hold(e.conds, e.sets, x, ops)
        granted0 = _in_tiers(e.tiers, o.tier0, ops) & conditions_hold(e.conds, e.sets, x, ops, True)
        base = 0.0 if e.amount is None else e.amount
        extra = ops.minimum(e.cap, e.slope * o.reach_x) if e.by_influence else ops.const(0.0, o.reach_x)
        out.append(
            EntitlementOutcome(
                granted=granted,
                granted0=granted0,
                tier_ok=tier_ok,
                amount=ops.where(granted, base + extra, 0.0),
                amount0=ops.where(granted0, base, 0.0),
            )
        )
    return out


def grants_of(
    ents: tuple[CEntitlement, ...], outs: list[EntitlementOutcome], tier_names: list[str], x: dict[str, Any],
    reach_x: float,
) -> tuple[Grant, ...]:
    """The granted entitlements of one contact, each with the facts it rests on (rendered from the outcome)."""
    grants = []
    for e, r in zip(ents, outs, strict=True):
        if not r.granted:
            continue
        facts: list[Reason] = []
        if e.tiers is not None:
            facts.append(Reason("tier", None, f"entitlement={e.name}", _x.entitlement_tier_text(
                [tier_names[i] for i in e.tiers])))
        for sig, lo in e.conds:
            v = x[sig]
            facts.append(Reason(sig, None if v != v else float(v), f"entitlement={e.name}",
                                _x.condition_text(sig, v, lo, e.name)))
        for sig, _allowed in e.sets:
            facts.append(Reason(sig, x[sig], f"entitlement={e.name}", _x.set_text(sig, x[sig], e.name)))
        amount = None if e.amount is None else float(r.amount)
        owed = bool(not r.granted0) or (amount is not None and float(r.amount) > float(r.amount0))
        if owed:
            facts.append(Reason("influence", reach_x, f"entitlement={e.name}",
                                _x.entitlement_influence_text(reach_x, bool(r.granted0), float(r.amount0))))
        grants.append(Grant(e.name, e.description, amount, owed, tuple(facts)))
    return tuple(grants)
