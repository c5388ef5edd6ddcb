"""Profit: what a customer is expected to leave after the cost of goods and the cost of serving them.

``profit = clv * margin - cost_to_serve``, a present value at the calibration end throughout:

* ``clv`` is the discounted expected *revenue* over the horizon (:func:`fairserve.value.clv.discounted_clv`).
* ``margin`` is the gross margin: per customer the spend-weighted margin of the product lines they bought
  (computed in the RFM query when the data has a product column and a margin per line is given), otherwise one
  default margin (0.3).
* ``cost_to_serve`` is the discounted expected cost of the customer's service contacts over the horizon.
  Contacts per customer per channel are counted in a contact history and turned into a monthly rate over the
  months the history spans; each month's expected cost (rate times the channel's cost per contact, times
  ``p_alive``: a customer who has left does not call) is discounted with the CLV's monthly factors
  (:func:`fairserve.value.clv.discount_factors`, the same rate and month), so the two terms of profit are
  comparable. Customers with no contact in the history cost 0.

Activity-based cost to serve follows Kaplan & Narayanan (2001), "Measuring and managing customer profitability",
J. Cost Management 15(5). The default channel costs below are placeholders of the right order (a phone contact
costs several times an email) and should be replaced by the company's own figures.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError, InputError, Problem
from fairserve.value.clv import discount_factors
from fairserve.value.units import DAYS_PER_MONTH

__all__ = ["DEFAULT_CHANNEL_COST", "DEFAULT_MARGIN", "contact_rates", "profit_scores"]

DEFAULT_MARGIN = 0.3
DEFAULT_CHANNEL_COST: Mapping[str, float] = {"phone": 6.0, "chat": 3.5, "email": 2.5, "social": 4.0}


def contact_rates(
    contacts: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    channel_col: str = "channel",
    date_col: str = "date",
    months: float | None = None,
    source: str = "<contacts>",
) -> pd.DataFrame:
    """Contacts per customer per month on each channel, from a contact history.

    ``months`` is the span of the history; by default the months between its first and last date (at least 1).
    Returns a frame indexed by customer id (text) with one column per channel.
    """
    missing = [c for c in (customer_col, channel_col) if c not in contacts]
    if months is None and date_col not in contacts:
        missing.append(date_col)
    if missing:
        raise InputError([Problem(source, None, c, "column missing from the contact history") for c in missing])
    if months is None:
        dates = pd.to_datetime(contacts[date_col], errors="coerce")
        if dates.isna().any():
            rows = (np.flatnonzero(dates.isna().to_numpy()) + 1)[:5]
            raise InputError([Problem(source, int(r), date_col, "not a date") for r in rows])
        span_days = (dates.max() - dates.min()).days + 1 if len(dates) else 0
        months = max(span_days / DAYS_PER_MONTH, 1.0)
    if months <= 0:
        raise FairserveError("the contact history must span a positive number of months")
    counts = pd.crosstab(
        contacts[customer_col].astype(str), contacts[channel_col].astype(str).str.lower()
    ).astype("float64")
    counts.index.name = "customer_id"
    counts.columns.name = None
    return counts / months


def profit_scores(
    scores: pd.DataFrame,
    *,
    margin: float | None = None,
    rates: pd.DataFrame | None = None,
    channel_cost: Mapping[str, float] | None = None,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
) -> pd.DataFrame:
    """Profit and its facts for each customer, as present values at the calibration end.

    With ``a_c`` the customer's contacts per month on channel ``c``, ``k_c`` the cost of one contact there,
    ``P`` the customer's ``p_alive``, ``H`` the horizon in months and ``d`` the monthly discount rate::

        expected_contacts = P * H * sum_c a_c
        cost_to_serve     = P * sum_c a_c k_c * sum_{m=1..H} (1 + d)^-m
        profit            = clv * margin - cost_to_serve

    The cost of month ``m`` is discounted as the CLV's purchases of month ``m`` are
    (:func:`fairserve.value.clv.discounted_clv`, same ``d``, same month of 365.25 / 12 days), so ``profit`` is a
    present value throughout; ``expected_contacts`` is a count and is not discounted.

    Parameters
    ----------
    scores:
        Needs ``customer_id``, ``clv`` and ``p_alive``; a ``margin`` column (from the RFM query) is used where
        not missing.
    margin:
        The margin for customers without one of their own (default :data:`DEFAULT_MARGIN`).
    rates:
        Contacts per customer per month by channel (:func:`contact_rates`); None means no cost to serve.
    channel_cost:
        Cost of one contact per channel (default :data:`DEFAULT_CHANNEL_COST`); a channel in the history with
        no cost is an error.
    horizon_months:
        Whole months the cost to serve is summed over: the CLV's horizon.
    discount_rate:
        Monthly discount rate: the CLV's.

    Returns
    -------
    pandas.DataFrame
        Same index as ``scores``: ``margin, expected_contacts, cost_to_serve, profit``.
    """
    default = DEFAULT_MARGIN if margin is None else float(margin)
    if not 0.0 <= default <= 1.0:
        raise FairserveError(f"margin must be a fraction in [0, 1], not {default}")
    annuity = float(discount_factors(horizon_months, discount_rate).sum())  # sum_{m=1..H} (1 + d)^-m
    out = pd.DataFrame(index=scores.index)
    own = scores["margin"].astype("float64") if "margin" in scores else pd.Series(np.nan, index=scores.index)
    out["margin"] = own.fillna(default)
    costs = dict(DEFAULT_CHANNEL_COST if channel_cost is None else channel_cost)
    if rates is None or rates.empty:
        out["expected_contacts"] = 0.0
        out["cost_to_serve"] = 0.0
    else:
        unknown = sorted(set(rates.columns) - set(costs))
        if unknown:
            raise FairserveError(
                f"no cost per contact for channel(s) {', '.join(unknown)}; known: {', '.join(sorted(costs))}"
            )
        cost_rate = rates.mul(pd.Series(costs)[rates.columns], axis=1).sum(axis=1)
        ids = scores["customer_id"].astype(str)
        alive = scores["p_alive"].astype("float64").to_numpy()
        per_month = rates.sum(axis=1).reindex(ids).fillna(0.0).to_numpy()
        cost_per_month = cost_rate.reindex(ids).fillna(0.0).to_numpy()
        out["expected_contacts"] = per_month * horizon_months * alive
        out["cost_to_serve"] = cost_per_month * annuity * alive
    out["profit"] = scores["clv"].astype("float64") * out["margin"] - out["cost_to_serve"]
    return out
