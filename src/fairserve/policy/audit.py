"""Audit a policy on a customer base: who lands in which tier, by value and by influence, and why.

For a scores table (``fairserve value score`` output: ``customer_id``, ``clv``, ``profit``, ``loyalty``,
``value_percentile``, optionally ``status``, ``account``, ``followers`` or ``influence``) this computes

* the tier mix overall, by value decile and by influence decile;
* how many customers owe their tier to influence alone: their tier with influence (and followers) set to 0
  would be lower;
* the influence head start customers would get (how many get any, its largest value);
* for each entitlement of the policy, how many customers have it and how many owe it to influence alone;
* between two policies, how many customers change tier (a diff matrix).

Tiers depend only on the customer, so the audit runs :func:`fairserve.policy.decide_batch` on one routine phone
call per customer (severity 0, no sentiment, no complaint, no repeat, not public) and reads the tier and the
influence part of the head start: the same evaluator the live service calls. Every customer signal a condition
may read is passed; one the scores file lacks is passed as unknown, and the report's notes say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.influence import influence_percentiles
from fairserve.policy.batch import decide_batch
from fairserve.policy.engine import Policy
from fairserve.policy.evaluator import CUSTOMER_SIGNALS, TEXT_SIGNALS

__all__ = ["AuditReport", "DiffReport", "audit_policy", "decile_of", "diff_policies", "largest_tie", "prepare_scores",
           "tie_note", "tiers_of"]


def prepare_scores(scores: pd.DataFrame, followers: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Return a copy of ``scores`` with an ``influence`` percentile column and a value percentile.

    ``followers``, when given, replaces any ``followers`` column (aligned by position or, for a Series indexed
    by customer id, by ``customer_id``). An ``influence`` column already present is kept unless followers are
    given; with neither, influence is 0 for everyone.

    Raises
    ------
    FairserveError
        When there is no ``customer_id`` column, or ids repeat.
    """
    if "customer_id" not in scores.columns:
        raise FairserveError("the scores table needs a 'customer_id' column")
    out = scores.copy()
    out["customer_id"] = out["customer_id"].astype(str)
    if out["customer_id"].duplicated().any():
        dup = out.loc[out["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise FairserveError(f"customer_id '{dup}' appears more than once in the scores table")
    if followers is not None:
        if isinstance(followers, pd.Series) and not isinstance(followers.index, pd.RangeIndex):
            f = out["customer_id"].map(followers.rename(index=str)).fillna(0)
        else:
            f = pd.Series(np.asarray(followers), index=out.index)
        out["followers"] = f.astype("int64")
        out = out.drop(columns=["influence"], errors="ignore")
    if "influence" not in out.columns:
        if "followers" in out.columns:
            # ids are unique (checked above), so each row is one customer: no grouping by id, no lookup back
            out["influence"] = influence_percentiles(out[["followers"]]).to_numpy(dtype=float)
        else:
            out["influence"] = 0.0
    if "value_percentile" not in out.columns and "clv" in out.columns:
        out["value_percentile"] = out["clv"].rank(method="max", pct=True)
    return out


def tiers_of(scores: pd.DataFrame, policy: Policy, *, without_influence: bool = False) -> pd.DataFrame:
    """Tier, rank and influence head start of each customer (a routine phone call at time 0)."""
    frame = scores.copy()
    for sig in CUSTOMER_SIGNALS:  # every signal a condition may read; a column the scores lack is unknown
        if sig not in frame.columns:
            frame[sig] = None if sig in TEXT_SIGNALS else np.nan
    if without_influence:
        frame["influence"] = 0.0
        frame["followers"] = 0
    frame["contact_id"] = frame["customer_id"].astype(str)
    routine: dict[str, Any] = {
        "channel": "phone", "arrival": 0.0, "severity": 0, "sentiment": np.nan, "complaint": False, "repeat": 0,
        "reach": np.nan, "public": False,
    }
    frame = frame.assign(**routine)
    out = decide_batch(frame, policy)
    out.index = scores["customer_id"].astype(str).to_numpy()
    return out


def decile_of(p: pd.Series) -> pd.Series:
    """1 (lowest tenth) to 10 (top tenth) from a percentile in [0, 1]; unknown stays NaN."""
    d = np.floor(pd.to_numeric(p, errors="coerce").to_numpy(dtype=float) * 10.0) + 1.0
    return pd.Series(np.clip(d, 1, 10), index=p.index)


def largest_tie(percentile: pd.Series) -> tuple[int, float]:
    """The largest group of customers with one and the same known percentile: its size and value (0, nan: none).

    Of groups of the same size, the lowest value (the Spark audit picks the same).
    """
    values = pd.to_numeric(percentile, errors="coerce").to_numpy(dtype=float)
    uniq, counts = np.unique(values[~np.isnan(values)], return_counts=True)  # values ascending
    if not len(uniq):
        return 0, float("nan")
    i = int(np.argmax(counts))  # the first (lowest) of the largest
    return int(counts[i]), float(uniq[i])


def tie_note(what: str, tied: int, value: float, table: pd.DataFrame) -> str | None:
    """A note when a tie makes the deciles of a tier-by-decile ``table`` uneven, else None.

    Tied customers share one percentile, hence one decile: a tie of more than a tenth of the customers (those with
    0 followers, say) fills its decile past a tenth and leaves the deciles it spans empty or thin. ``tied`` and
    ``value`` are :func:`largest_tie`'s. Everyone tied at one value makes no deciles at all, which the audit says
    otherwise (no follower data).
    """
    counts = table.sum(axis=1)
    known = int(counts.sum())
    if tied * 10 <= known or tied == known:
        return None
    even = known / 10.0
    home = int(decile_of(pd.Series([value])).iloc[0])
    thin = [d for d in range(1, 11) if counts[d] * 2 < even and d != home]
    where = "the lowest" if value == 0.0 else ("the highest" if value == 1.0 else f"{value:.2f}")
    held = [f"decile {home} holds {counts[home]:,}"] + [f"decile {d} {counts[d]:,}" if counts[d] else f"decile {d} none"
                                                       for d in thin]
    listed = ", ".join(held[:-1]) + " and " + held[-1] if len(held) > 1 else held[0]
    return (f"{what} deciles are uneven: {tied:,} customers ({tied / known:.0%}) tie at one {what} percentile "
            f"({where}), and tied customers share a decile, so {listed} (an even split is about {even:,.0f} each)")


def _table(rows: pd.Series, tiers: pd.Series, order: list[str]) -> pd.DataFrame:
    tab = pd.crosstab(rows, pd.Categorical(tiers, categories=order), dropna=False)
    tab.columns = [str(c) for c in tab.columns]
    tab.index = [int(i) for i in tab.index]
    tab = tab.reindex(range(1, 11), fill_value=0)
    tab.index.name = "decile"
    return tab


@dataclass
class AuditReport:
    """The audit of one policy on one customer base (see the module docstring)."""

    policy_name: str
    policy_version: str
    policy_hash: str
    customers: int
    tier_order: list[str]
    tier_counts: dict[str, int]
    by_value_decile: pd.DataFrame
    by_influence_decile: pd.DataFrame
    owed_to_influence: int
    owed_to_influence_by_tier: dict[str, int]
    with_influence_head_start: int
    max_influence_min: float
    notes: list[str] = field(default_factory=list)
    entitlements: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> granted, owed_to_influence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "policy": {"name": self.policy_name, "version": self.policy_version, "hash": self.policy_hash},
            "customers": self.customers,
            "tier_order": self.tier_order,
            "tier_counts": self.tier_counts,
            "by_value_decile": {str(i): row.to_dict() for i, row in self.by_value_decile.iterrows()},
            "by_influence_decile": {str(i): row.to_dict() for i, row in self.by_influence_decile.iterrows()},
            "owed_to_influence": self.owed_to_influence,
            "owed_to_influence_by_tier": self.owed_to_influence_by_tier,
            "with_influence_head_start": self.with_influence_head_start,
            "max_influence_min": self.max_influence_min,
            "notes": self.notes,
            "entitlements": self.entitlements,
        }


def audit_policy(scores: pd.DataFrame, policy: Policy) -> AuditReport:
    """Audit ``policy`` on a prepared scores table (:func:`prepare_scores`)."""
    with_infl = tiers_of(scores, policy)
    without = tiers_of(scores, policy, without_influence=True)
    order = policy.tier_names
    owed_mask = np.asarray(
        pd.Categorical(with_infl["tier"], categories=order).codes
        < pd.Categorical(without["tier"], categories=order).codes
    )
    tiers = with_infl["tier"].reset_index(drop=True)
    value_dec = decile_of(scores["value_percentile"].reset_index(drop=True))
    infl_dec = decile_of(scores["influence"].reset_index(drop=True))
    counts = tiers.value_counts()
    notes = []
    conditioned = {sig for t in policy.compiled.tiers for sig, _ in (*t.conds, *t.sets)}
    conditioned |= {sig for e in policy.entitlements for sig, _ in (*e.conds, *e.sets)}
    for sig in CUSTOMER_SIGNALS:
        if sig in conditioned and sig not in scores.columns:
            notes.append(f"the scores have no '{sig}' column, so every condition on {sig} is unmet")
    if float(scores["influence"].max()) == 0.0:
        notes.append("no follower data: influence is 0 for everyone")
    by_value, by_influence = _table(value_dec, tiers, order), _table(infl_dec, tiers, order)
    for what, column, table in (("value", "value_percentile", by_value), ("influence", "influence", by_influence)):
        note = tie_note(what, *largest_tie(scores[column]), table)
        if note is not None:
            notes.append(note)
    return AuditReport(
        policy_name=policy.name,
        policy_version=policy.version,
        policy_hash=policy.content_hash,
        customers=len(scores),
        tier_order=order,
        tier_counts={t: int(counts.get(t, 0)) for t in order},
        by_value_decile=by_value,
        by_influence_decile=by_influence,
        owed_to_influence=int(owed_mask.sum()),
        owed_to_influence_by_tier={t: int((owed_mask & (tiers == t).to_numpy()).sum()) for t in order},
        with_influence_head_start=int((with_infl["influence_min"] > 0).sum()),
        max_influence_min=float(with_infl["influence_min"].max()) if len(with_infl) else 0.0,
        notes=notes,
        entitlements={
            e.name: {
                "granted": int(with_infl[f"entitled:{e.name}"].sum()),
                "owed_to_influence": int(with_infl[f"entitled_by_influence:{e.name}"].sum()),
            }
            for e in policy.entitlements
        },
    )


@dataclass
class DiffReport:
    """How customers move between the tiers of two policies."""

    a: tuple[str, str, str]
    b: tuple[str, str, str]
    customers: int
    changed: int | None  # None when the two policies have no tier name in common: read the matrix
    matrix: pd.DataFrame  # rows: tier under a; columns: tier under b

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "a": dict(zip(("name", "version", "hash"), self.a, strict=True)),
            "b": dict(zip(("name", "version", "hash"), self.b, strict=True)),
            "customers": self.customers,
            "changed": self.changed,
            "matrix": {str(i): {str(k): int(v) for k, v in row.items()} for i, row in self.matrix.iterrows()},
        }


def diff_policies(scores: pd.DataFrame, a: Policy, b: Policy) -> DiffReport:
    """Tier under ``a`` against tier under ``b`` for every customer of a prepared scores table.

    Tier names are compared as names: a customer "changes tier" when the names differ. When the two policies
    share no tier name, ``changed`` is None (every name differs, which says nothing): read the matrix.
    """
    ta = tiers_of(scores, a)["tier"].to_numpy()
    tb = tiers_of(scores, b)["tier"].to_numpy()
    matrix = pd.crosstab(
        pd.Categorical(ta, categories=a.tier_names), pd.Categorical(tb, categories=b.tier_names), dropna=False
    )
    matrix.index = [f"{a.name}:{t}" for t in matrix.index]
    matrix.columns = [f"{b.name}:{t}" for t in matrix.columns]
    return DiffReport(
        a=(a.name, a.version, a.content_hash),
        b=(b.name, b.version, b.content_hash),
        customers=len(scores),
        changed=int((ta != tb).sum()) if set(a.tier_names) & set(b.tier_names) else None,
        matrix=matrix,
    )
