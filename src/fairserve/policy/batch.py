"""``decide_batch``: :func:`fairserve.policy.decide` for a whole table of contacts, by the same evaluator.

There is no second copy of the policy here: this module turns a DataFrame into the evaluator's input arrays,
runs :func:`fairserve.policy.evaluator.evaluate` once with :data:`~fairserve.policy.evaluator.ARRAY`, and turns
its :class:`~fairserve.policy.evaluator.Outcome` into columns (and, when asked, each row's reasons, rendered by
the same :func:`fairserve.policy.engine.reasons_of` as :func:`~fairserve.policy.decide`). The simulator and the
audit call it; the live service calls ``decide``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.policy.engine import CHANNELS, Policy, reasons_of
from fairserve.policy.entitlement import EntitlementOutcome, evaluate_entitlements, grants_of
from fairserve.policy.evaluator import ARRAY, SIGNALS, TEXT_SIGNALS, Outcome, evaluate

__all__ = ["decide_batch", "signals_frame"]


def _num(s: pd.Series) -> np.ndarray[Any, np.dtype[np.float64]]:
    if s.dtype == bool:
        return s.to_numpy(dtype=np.float64)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _text(s: pd.Series) -> pd.Categorical:
    """A text signal as a categorical of str (missing: code -1), whatever the column's dtype."""
    cat = s.array if isinstance(s.dtype, pd.CategoricalDtype) else pd.Categorical(s.to_numpy(dtype=object))
    assert isinstance(cat, pd.Categorical)
    if all(isinstance(c, str) for c in cat.categories):
        return cat
    names = [str(c) for c in cat.categories]
    if len(set(names)) == len(names):  # e.g. numbers: the same categories, named as text
        return cat.rename_categories(dict(zip(cat.categories, names, strict=True)))
    return pd.Categorical([None if pd.isna(v) else str(v) for v in cat.astype(object)])  # 1 and "1" both


def signals_frame(frame: pd.DataFrame, policy: Policy) -> dict[str, Any]:
    """The evaluator's input arrays from a contacts table (one row per contact, customer columns merged in).

    Raises
    ------
    FairserveError
        When a column the policy reads is missing (NaN in a column means unknown; a missing column is an
        error, never a silently false condition), or a channel is not one of phone, email, chat, social.
    """
    needed = set(policy.required_signals) | {"channel", "arrival"}
    missing = [s for s in SIGNALS if s in needed and s not in frame.columns]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise FairserveError(
            f"decide_batch: policy {policy.name!r} reads {names}, but the table has no such column "
            "(give the column, with empty cells for unknown values)"
        )
    n = len(frame)
    ch = frame["channel"]
    if isinstance(ch.dtype, pd.CategoricalDtype):
        cat = ch.array
        assert isinstance(cat, pd.Categorical)
        lookup = pd.Index(CHANNELS).get_indexer(pd.Index(cat.categories.astype(str).str.lower()))
        codes = np.where(cat.codes >= 0, lookup[cat.codes], -1).astype(np.int64)
    else:
        codes = pd.Index(CHANNELS).get_indexer(pd.Index(ch.astype(str).str.lower())).astype(np.int64)
    if n and codes.min() < 0:
        bad = ch.astype(str).to_numpy()[codes < 0][0]
        raise FairserveError(f"decide_batch: unknown channel {bad!r} (expected one of {', '.join(CHANNELS)})")
    x: dict[str, Any] = {"channel": codes}
    for sig in SIGNALS[1:]:
        if sig in TEXT_SIGNALS:
            x[sig] = _text(frame[sig]) if sig in frame.columns else pd.Categorical([None] * n)
        elif sig in frame.columns:
            x[sig] = _num(frame[sig])
        else:
            x[sig] = np.full(n, np.nan)
    x["complaint"] = np.where(np.isnan(x["complaint"]), 0.0, x["complaint"]) != 0.0
    return x


def _row(o: Outcome, i: int) -> Outcome:
    """Row ``i`` of a batch outcome, as the plain Python scalars the one-row path has."""
    return Outcome(**{f.name: getattr(o, f.name)[i].item() for f in dataclasses.fields(Outcome)})


def _row_signals(x: dict[str, Any], i: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sig, v in x.items():
        item = v[i]
        if sig in TEXT_SIGNALS:
            out[sig] = None if (item is None or (isinstance(item, float) and item != item)) else str(item)
        else:
            out[sig] = item.item() if hasattr(item, "item") else item
    return out


def decide_batch(frame: pd.DataFrame, policy: Policy, *, reasons: bool = False) -> pd.DataFrame:
    """:func:`~fairserve.policy.decide` for one row per contact with the customer's columns merged in.

    Input columns: ``channel`` (a channel name), ``arrival`` (float seconds) and every signal the policy
    reads (:attr:`Policy.required_signals`: ``severity``, ``sentiment``, ``complaint``, ``repeat``, ``reach``,
    ``public``, ``clv``, ``profit``, ``loyalty``, ``value_percentile``, ``influence``, ``followers``, ``status``,
    ``account``); NaN or None is unknown. Output, on the same index: :data:`BATCH_OUTPUT_COLUMNS` (``tier``,
    ``rank``, ``queue``, ``head_start_min``, ``influence_min``, ``virtual_arrival``, ``sla_seconds``,
    ``sla_deadline``, ``guarantee_seconds``, ``pass_window_min``), equal to :func:`decide` field for field.
    For each entitlement ``E`` of the policy, ``entitled:E`` (granted), ``entitled_amount:E`` and
    ``entitled_by_influence:E`` (owed to follower reach alone). With ``reasons=True`` also ``reasons``,
    ``flags`` and ``entitlements`` (the grants) per row (slow: for the rows you need to explain).

    Raises
    ------
    FairserveError
        When a column the policy reads is missing, or a channel is unknown.
    """
    x = signals_frame(frame, policy)
    c = policy.compiled
    o = evaluate(c, x, ARRAY)
    arrival = x["arrival"]
    n = len(frame)
    names = np.array([t.name for t in c.tiers], dtype=object)
    out = pd.DataFrame(
        {
            "tier": names[o.tier] if n else np.empty(0, dtype=object),
            "rank": np.asarray(o.rank, dtype=np.int64),
            "queue": np.where(o.social_care, "social-care", "service").astype(object),
            "head_start_min": o.head,
            "influence_min": o.tier_infl + o.influence_m,
            "virtual_arrival": o.virtual_arrival,
            "sla_seconds": o.sla,
            "sla_deadline": arrival + o.sla,
            "guarantee_seconds": o.guarantee,
            "pass_window_min": o.window,
        },
        index=frame.index,
    )
    ents = evaluate_entitlements(policy.entitlements, o, x, ARRAY) if policy.entitlements else []
    for e, r in zip(policy.entitlements, ents, strict=True):
        out[f"entitled:{e.name}"] = r.granted
        out[f"entitled_amount:{e.name}"] = r.amount
        out[f"entitled_by_influence:{e.name}"] = r.granted & ~r.granted0 | (r.amount > r.amount0)
    if reasons:
        rows = [(_row(o, i), _row_signals(x, i)) for i in range(n)]
        rendered = [reasons_of(policy, oi, xi, 0.0) for oi, xi in rows]
        out["reasons"] = pd.Series([r for r, _ in rendered], index=out.index, dtype=object)
        out["flags"] = pd.Series([f for _, f in rendered], index=out.index, dtype=object)
        grants = [
            grants_of(policy.entitlements, [_ent_row(r, i) for r in ents], policy.tier_names, xi, float(oi.reach_x))
            for i, (oi, xi) in enumerate(rows)
        ]
        out["entitlements"] = pd.Series(grants, index=out.index, dtype=object)
    return out


def _ent_row(r: EntitlementOutcome, i: int) -> EntitlementOutcome:
    return EntitlementOutcome(**{f.name: getattr(r, f.name)[i].item() for f in dataclasses.fields(r)})
