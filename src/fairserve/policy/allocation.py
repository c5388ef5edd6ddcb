"""Allocation of scarce goods: who is upgraded, whose voucher, who is denied boarding -- ranked by the policy.

When there are fewer goods than claimants, the policy's ``[allocation]`` ranks the claimants by **points**: per
unit of a numeric signal (value, loyalty, fare paid, hours checked in before departure, need), by status and by
tier (the tier without influence), for yes/no facts (urgent medical travel, reduced mobility, an unaccompanied
minor, small children), and from follower reach only within the policy's cap. Ties go to the earlier check-in,
then to the smaller claimant id: a total, stated order. ``direction = "highest"`` gives the goods to the
best-ranked (an upgrade, a voucher); ``"lowest"`` to the worst-ranked (being denied boarding on an oversold
flight: US rules, 14 CFR 250.3, require each carrier to set such "priority rules and criteria", without "undue
or unreasonable preference", and 250.9 a written statement of them for each passenger bumped).

The points are computed once, by :func:`points_of`, with the queue evaluator's array operations
(:mod:`fairserve.policy.evaluator`), and every claimant's reasons -- the points of each factor, the rank, the
outcome and what would have changed it -- are rendered from that same evaluation. The allocation is also run with
reach taken away, so each outcome says whether it is owed to influence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fairserve.errors import FairserveError
from fairserve.policy.evaluator import ARRAY, TEXT_SIGNALS, evaluate
from fairserve.policy.explain import fmt_value
from fairserve.policy.schema import CLAIM_FLAGS, CLAIM_SIGNALS, NUMERIC_SIGNALS, Points

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AllocationResult", "CAllocation", "allocate", "compile_allocation", "points_of"]

_LABEL = {
    "clv": "expected future spend (CLV)",
    "profit": "expected profit",
    "loyalty": "loyalty score",
    "value_percentile": "value rank",
    "fare": "fare paid",
    "checked_in_hours": "hours checked in before departure",
    "severity": "urgency of need (0-3)",
    "medical": "urgent medical travel",
    "reduced_mobility": "reduced mobility",
    "unaccompanied_minor": "an unaccompanied minor",
    "children": "travelling with small children",
}


@dataclass(frozen=True)
class CAllocation:
    """A policy's ``[allocation]`` compiled: each factor and its points."""

    good: str
    description: str
    direction: str
    points: tuple[tuple[str, float, float], ...]  # signal, points per unit, most points (inf: no cap)
    status: tuple[tuple[str, float], ...]
    tiers: tuple[tuple[int, str, float], ...]
    flags: tuple[tuple[str, float], ...]
    slope: float
    cap: float

    @property
    def required(self) -> tuple[str, ...]:
        """The claimant columns the rank reads (beside ``claimant_id``)."""
        cols = [sig for sig, _, _ in self.points] + [f for f, _ in self.flags]
        if self.status:
            cols.append("status")
        if self.cap > 0.0 and self.slope > 0.0:
            cols.append("influence")
        return tuple(dict.fromkeys(cols))


def compile_allocation(spec: Any) -> CAllocation | None:
    """The policy's allocation rule, or None when the policy has none."""
    a = spec.allocation
    if a is None:
        return None
    index = {t.name: i for i, t in enumerate(spec.tiers)}
    pts = []
    for sig, p in a.points.items():
        rule = p if isinstance(p, Points) else Points(per=float(p))
        pts.append((sig, float(rule.per), math.inf if rule.max is None else float(rule.max)))
    return CAllocation(
        good=a.good,
        description=a.description,
        direction=a.direction,
        points=tuple(pts),
        status=tuple((k, float(v)) for k, v in a.status.items()),
        tiers=tuple((index[k], k, float(v)) for k, v in a.tiers.items()),
        flags=tuple((k, float(v)) for k, v in a.flags.items()),
        slope=float(a.influence.slope) if a.influence is not None else 0.0,
        cap=float(a.influence.cap) if a.influence is not None else 0.0,
    )


def points_of(ca: CAllocation, tier0: np.ndarray, reach_x: np.ndarray, x: dict[str, Any]) -> dict[str, np.ndarray]:
    """Each factor's points for every claimant (``"<kind>:<name>"`` -> array) and ``"influence"``.

    ``tier0`` is each claimant's tier without influence and ``reach_x`` the reach percentile in [0, 1], from the
    queue evaluator; ``x`` the claimants' signals. Unknown values earn no points.
    """
    ops: Any = ARRAY
    parts: dict[str, np.ndarray] = {}
    for sig, per, most in ca.points:
        parts[f"points:{sig}"] = ops.minimum(most, per * ops.known(x[sig]))
    for name, pts in ca.status:
        parts[f"status:{name}"] = ops.where(ops.isin(x["status"], frozenset([name])), pts, 0.0)
    for idx, name, pts in ca.tiers:
        parts[f"tier:{name}"] = ops.where(tier0 == idx, pts, 0.0)
    for flag, pts in ca.flags:
        parts[f"flag:{flag}"] = ops.where(x[flag] > 0.5, pts, 0.0)
    parts["influence"] = ops.minimum(ca.cap, ca.slope * reach_x)
    return parts


@dataclass
class AllocationResult:
    """The outcome of :func:`allocate`: one row per claimant, best-ranked first, and what the run was."""

    table: pd.DataFrame
    good: str
    direction: str
    goods: int
    given: int
    policy: tuple[str, str, str]
    cutoff: float | None  # the points of the last claimant on the receiving side of the line
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {
            "policy": dict(zip(("name", "version", "hash"), self.policy, strict=True)),
            "good": self.good,
            "direction": self.direction,
            "goods": self.goods,
            "given": self.given,
            "claimants": len(self.table),
            "cutoff_points": self.cutoff,
            "notes": self.notes,
            "claimants_table": rows,
        }


def _ranked(points: np.ndarray, checked: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions best first: more points, then earlier check-in (more hours before; unknown last), then id."""
    import pandas as pd

    order = pd.DataFrame({"p": points, "c": checked, "i": ids}).sort_values(
        ["p", "c", "i"], ascending=[False, False, True], na_position="last", kind="mergesort"
    )
    return order.index.to_numpy()


def _receives(n: int, goods: int, direction: str) -> np.ndarray:
    """Whether the claimant at each rank position (best first) receives a good."""
    k = min(goods, n)
    pos = np.arange(n)
    return pos < k if direction == "highest" else pos >= n - k


def _fmt(v: float) -> str:
    return f"{v:,.1f}"


def allocate(claimants: pd.DataFrame, policy: Any, goods: int) -> AllocationResult:
    """Rank ``claimants`` by ``policy``'s allocation rule and give ``goods`` goods.

    Parameters
    ----------
    claimants:
        One row per claimant: ``claimant_id`` (unique), the customer's scores merged in (``clv``, ``loyalty``,
        ``value_percentile``, ``status``, ``influence``, ...; NaN for a guest), and the claim's own facts
        (``fare``, ``checked_in_hours``, ``severity``, flags such as ``medical``). A column the rule reads must
        should be there (NaN: unknown, no points); one that is missing is unknown for everyone, and the
        result's ``notes`` say so. ``checked_in_hours``, when present, breaks ties.
    policy:
        A loaded :class:`~fairserve.policy.Policy` with an ``[allocation]`` table.
    goods:
        How many goods there are (>= 1). More goods than claimants is a stated outcome: everyone receives one.

    Returns
    -------
    AllocationResult
        ``table`` columns: ``rank`` (1 = first in the policy's order), ``claimant_id``, ``customer_id``,
        ``points``, ``influence_points``, ``points_without_influence``, ``receives``,
        ``receives_without_influence``, ``owed_to_influence`` (the outcome differs without reach, in the
        claimant's favour), ``reasons`` (list of sentences) and ``statement`` (the written statement).
    """
    import pandas as pd

    ca = policy.allocation
    if ca is None:
        raise FairserveError(f"policy {policy.name!r} has no [allocation] table: it does not rank claimants")
    if goods < 1:
        raise FairserveError(f"goods must be at least 1 (got {goods})")
    if "claimant_id" not in claimants.columns:
        raise FairserveError("the claimants table needs a 'claimant_id' column")
    missing = [c for c in ca.required if c not in claimants.columns]
    notes = [f"the claimants have no '{m}' column: every claimant's {m} is unknown and earns no points"
             for m in missing]
    ids = claimants["claimant_id"].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        raise FairserveError(f"claimant_id '{dup}' appears more than once")
    frame = claimants.reset_index(drop=True).copy()
    for sig in (*NUMERIC_SIGNALS, *TEXT_SIGNALS):
        if sig not in frame.columns:
            frame[sig] = None if sig in TEXT_SIGNALS else np.nan
    routine: dict[str, Any] = {"channel": "phone", "arrival": 0.0, "sentiment": np.nan, "complaint": False,
                               "repeat": 0, "reach": np.nan, "public": False}
    if "severity" not in frame.columns:
        routine["severity"] = 0
    from fairserve.policy.batch import signals_frame  # import here: batch imports this module's users

    x = signals_frame(frame.assign(**routine), policy)
    for sig in (*CLAIM_SIGNALS, *CLAIM_FLAGS):
        if sig not in x:
            x[sig] = (pd.to_numeric(frame[sig], errors="coerce").to_numpy(dtype=float) if sig in frame.columns
                      else np.full(len(frame), np.nan))
    o = evaluate(policy.compiled, x, ARRAY)
    parts = points_of(ca, np.asarray(o.tier0), np.asarray(o.reach_x), x)
    influence = parts["influence"]
    total0 = np.zeros(len(frame))
    for name, v in parts.items():
        if name != "influence":
            total0 = total0 + v
    total = total0 + influence
    checked = x["checked_in_hours"] if "checked_in_hours" in x else np.full(len(frame), np.nan)
    n = len(frame)
    best = _ranked(total, checked, ids)
    best0 = _ranked(total0, checked, ids)
    receives = np.empty(n, dtype=bool)
    receives[best] = _receives(n, goods, ca.direction)
    receives0 = np.empty(n, dtype=bool)
    receives0[best0] = _receives(n, goods, ca.direction)
    rank = np.empty(n, dtype=np.int64)
    rank[best] = np.arange(1, n + 1)
    favour = receives if ca.direction == "highest" else ~receives
    favour0 = receives0 if ca.direction == "highest" else ~receives0
    k = min(goods, n)
    if goods >= n:
        notes.append(f"{goods:,} goods for {n:,} claimants: every claimant receives one"
                     + (f"; {goods - n:,} are left over" if goods > n else ""))
    # the boundary: the last claimant on the receiving side, and the first on the other
    if ca.direction == "highest":
        last_in = best[k - 1] if k else None
        first_out = best[k] if k < n else None
    else:
        last_in = best[n - k] if k else None
        first_out = best[n - k - 1] if n - k - 1 >= 0 else None
    cutoff = float(total[last_in]) if last_in is not None else None
    other = float(total[first_out]) if first_out is not None else None
    reasons = [
        _reasons(ca, parts, x, i, int(rank[i]), n, bool(receives[i]), k, cutoff, other,
                 bool(favour[i] and not favour0[i]), bool(favour0[i] and not favour[i]), float(total[i]))
        for i in range(n)
    ]
    table = pd.DataFrame(
        {
            "rank": rank,
            "claimant_id": ids,
            "customer_id": frame["customer_id"].astype(object).where(frame["customer_id"].notna(), None)
            if "customer_id" in frame.columns
            else None,
            "points": total,
            "influence_points": influence,
            "points_without_influence": total0,
            "receives": receives,
            "receives_without_influence": receives0,
            "owed_to_influence": favour & ~favour0,
            "reasons": reasons,
        }
    )
    ident = (policy.name, policy.version, policy.content_hash)
    table["statement"] = [_statement(ca, ident, r) for r in reasons]
    table = table.sort_values("rank", kind="mergesort").reset_index(drop=True)
    return AllocationResult(table, ca.good, ca.direction, goods, k, ident, cutoff, notes)


def _part_text(name: str, value: float, x: dict[str, Any], i: int, ca: CAllocation) -> str | None:
    kind, _, key = name.partition(":")
    if kind == "points":
        raw = x[key][i]
        rule = next(r for r in ca.points if r[0] == key)
        if raw != raw:
            return f"{_LABEL[key]} unknown: no points"
        shown = fmt_value(key, raw) if key in ("clv", "profit", "value_percentile", "loyalty") else f"{raw:g}"
        if key == "fare":
            shown = fmt_value("clv", raw)
        capped = " (the most it can give)" if math.isfinite(rule[2]) and value >= rule[2] else ""
        return f"{_LABEL[key]} {shown}: {_fmt(value)} points{capped}"
    if value == 0.0:
        return None
    if kind == "status":
        return f"status '{key}': {_fmt(value)} points"
    if kind == "tier":
        return f"the {key} tier: {_fmt(value)} points"
    return f"{_LABEL[key]}: {_fmt(value)} points"


def _reasons(
    ca: CAllocation, parts: dict[str, np.ndarray], x: dict[str, Any], i: int, rank: int, n: int, gets: bool,
    k: int, cutoff: float | None, other: float | None, by_reach: bool, against_reach: bool, total: float,
) -> list[str]:
    """One claimant's reasons, rendered from the evaluation that ranked them."""
    out = []
    for name, v in parts.items():
        if name == "influence":
            continue
        text = _part_text(name, float(v[i]), x, i, ca)
        if text is not None:
            out.append(text[:1].upper() + text[1:] + ".")
    infl = float(parts["influence"][i])
    if ca.cap > 0.0:
        out.append(f"Follower reach: {_fmt(infl)} points (the policy lets reach give at most {_fmt(ca.cap)}).")
    out.append(f"In all {_fmt(total)} points: rank {rank} of {n} in the policy's order (1 = first; ties go to the "
               "earlier check-in, then the smaller claimant id).")
    good = ca.good
    if ca.direction == "highest":
        if gets:
            out.append(f"You receive the {good}: the {k} best-ranked claimants do.")
        elif cutoff is not None:
            need = max(0.0, cutoff - total)
            out.append(f"You do not receive the {good}: it went to the {k} best-ranked, the last of whom had "
                       f"{_fmt(cutoff)} points; {_fmt(need)} more points (or as many and an earlier check-in) "
                       "would have changed it.")
    else:
        if gets:
            line = f"You are {good}: the {k} lowest-ranked claimants are"
            if other is not None:
                need = max(0.0, other - total)
                line += (f"; the lowest-ranked claimant who was not had {_fmt(other)} points, so {_fmt(need)} more "
                         "points (or as many and an earlier check-in) would have spared you")
            out.append(line + ".")
        else:
            out.append(f"You are not {good}: only the {k} lowest-ranked claimants are.")
    if by_reach:
        out.append("Your follower reach changed this outcome in your favour: without it, it would differ.")
    if against_reach:
        out.append("Other claimants' follower reach changed this outcome: without reach, it would have been "
                   "in your favour.")
    return out


def _statement(ca: CAllocation, ident: tuple[str, str, str], reasons: list[str]) -> str:
    """The written statement a claimant is given: the rules and criteria, then their own reasons."""
    factors = [f"{_LABEL[s]}: {per:g} points per unit" + (f", at most {most:g}" if math.isfinite(most) else "")
               for s, per, most in ca.points]
    factors += [f"status '{s}': {p:g} points" for s, p in ca.status]
    factors += [f"tier {name}: {p:g} points" for _, name, p in ca.tiers]
    factors += [f"{_LABEL[f]}: {p:g} points" for f, p in ca.flags]
    if ca.cap > 0.0:
        factors.append(f"follower reach: {ca.slope:g} points per unit of reach percentile, at most {ca.cap:g}")
    head = (f"Priority rules and criteria for {ca.good} (policy {ident[0]} {ident[1]}, {ident[2][:12]}). "
            f"{ca.description}".rstrip())
    return "\n".join([head, "Points are given for:", *(f"  - {f}" for f in factors),
                      "Ties go to the earlier check-in, then the smaller claimant id.", "Your case:",
                      *(f"  - {r}" for r in reasons)])
