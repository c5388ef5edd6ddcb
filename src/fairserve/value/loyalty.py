"""Loyalty: a score in [0, 1] from how long, how steadily and how broadly a customer has bought.

Loyalty here is behavioural (Dick & Basu 1994 call it "repeat patronage"; Reinartz & Kumar 2000, "On the
profitability of long-life customers", J. Marketing 64(4), show that tenure alone is a poor proxy for value, which
is why loyalty is kept apart from CLV and profit). It is a documented weighted mean of up to four parts, each in
[0, 1]:

``tenure``
    ``min(tenure_years / tenure_cap_years, 1)``: years from the first purchase to the calibration end, capped
    (default cap 5 years).
``activity``
    ``active_share``: calendar months with a purchase among the last 12 months of the calibration window, divided
    by the months the customer could have been active in that window (at most 12), so a new customer who bought in
    each of their 3 months scores 1.
``products``
    ``min(products_held / products_cap, 1)``: distinct product lines bought (default cap 5); only when the data
    has a product column.
``status``
    the position of the customer's latest status tier on an ordered ladder (lowest 0, highest 1); only when the
    data has a status column.

Default weights: tenure 0.3, activity 0.4, products 0.15, status 0.15. A part the data lacks is left out and the
other weights are rescaled to sum to 1, so a score never depends on a column that is not there. The output keeps
every number that produced the score, so a decision can explain it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.value.units import DAYS_PER_YEAR

__all__ = ["DEFAULT_STATUS_LADDER", "LOYALTY_WEIGHTS", "loyalty_scores"]

LOYALTY_WEIGHTS: Mapping[str, float] = {"tenure": 0.3, "activity": 0.4, "products": 0.15, "status": 0.15}
DEFAULT_STATUS_LADDER: tuple[str, ...] = ("basic", "bronze", "silver", "gold", "platinum", "diamond")


def _status_score(status: pd.Series, ladder: Sequence[str], in_use: Sequence[str] | None = None) -> pd.Series:
    """Each status's place on the ladder of the tiers in use (``in_use``, else those ``status`` holds)."""
    lowered = [tier.lower() for tier in ladder]
    present = status.dropna().astype(str).str.lower().unique()
    if in_use is not None:
        present = np.union1d(present, [str(t).lower() for t in in_use])
    unknown = sorted(set(present) - set(lowered))
    if unknown:
        raise FairserveError(
            f"status tier(s) {', '.join(map(repr, unknown))} are not on the status ladder "
            f"({', '.join(ladder)}); give the ladder from lowest to highest (--status-order)"
        )
    used = [tier for tier in lowered if tier in set(present)]
    if len(used) < 2:  # one tier (or none) carries no ranking information
        return pd.Series(np.where(status.isna(), np.nan, 1.0), index=status.index)
    position = {tier: i / (len(used) - 1) for i, tier in enumerate(used)}
    return status.astype(str).str.lower().map(position).where(status.notna())


def loyalty_scores(
    facts: pd.DataFrame,
    *,
    weights: Mapping[str, float] | None = None,
    tenure_cap_years: float = 5.0,
    products_cap: int = 5,
    status_ladder: Sequence[str] | None = None,
    status_in_use: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Score loyalty in [0, 1] from the per-customer facts of :func:`fairserve.value.rfm.summarise`.

    Parameters
    ----------
    facts:
        Needs ``tenure_days``, ``active_months`` and ``window_months``; ``products_held`` and ``status`` are used
        when present.
    weights:
        Weights of ``tenure``, ``activity``, ``products``, ``status`` (default :data:`LOYALTY_WEIGHTS`).
    status_ladder:
        Status tiers from lowest to highest (default :data:`DEFAULT_STATUS_LADDER`); tiers the data does not
        use are skipped, so ``basic, gold`` spans 0 to 1.
    status_in_use:
        The tiers the whole base uses, when ``facts`` is a part of it (one Spark batch): the ladder is then the
        whole base's, so every part scores as the whole does. Default: the tiers ``facts`` holds.

    Returns
    -------
    pandas.DataFrame
        Same index as ``facts``: ``tenure_years, active_share, products_held (if any), status_score (if any),
        loyalty``.
    """
    w = dict(LOYALTY_WEIGHTS if weights is None else weights)
    if any(v < 0 for v in w.values()) or set(w) - set(LOYALTY_WEIGHTS):
        raise FairserveError(f"loyalty weights must be >= 0 and named among {sorted(LOYALTY_WEIGHTS)}")
    out = pd.DataFrame(index=facts.index)
    out["tenure_years"] = facts["tenure_days"].astype("float64") / DAYS_PER_YEAR
    window = facts["window_months"].astype("float64").clip(lower=1.0)
    out["active_share"] = (facts["active_months"].astype("float64") / window).clip(0.0, 1.0)
    parts = {
        "tenure": (out["tenure_years"] / tenure_cap_years).clip(upper=1.0),
        "activity": out["active_share"],
    }
    if "products_held" in facts:
        out["products_held"] = facts["products_held"].astype("int64")
        parts["products"] = (out["products_held"] / float(products_cap)).clip(upper=1.0)
    if "status" in facts:
        out["status_score"] = _status_score(facts["status"], status_ladder or DEFAULT_STATUS_LADDER,
                                            status_in_use)
        parts["status"] = out["status_score"]
    num = pd.Series(0.0, index=facts.index)
    den = pd.Series(0.0, index=facts.index)
    for name, part in parts.items():
        weight = float(w.get(name, 0.0))
        have = part.notna()
        num += np.where(have, part.fillna(0.0) * weight, 0.0)
        den += np.where(have, weight, 0.0)
    if len(facts) and float(den.max()) <= 0.0:
        raise FairserveError("the loyalty weights of the available parts are all 0")
    out["loyalty"] = (num / den.where(den > 0)).fillna(0.0).clip(0.0, 1.0)
    return out
