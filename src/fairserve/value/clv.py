"""Discounted customer lifetime value from a transaction model and a spend model.

The definition is the one ``lifetimes`` uses in ``customer_lifetime_value`` (so the two can be compared): the
expected purchases in each future month, times the customer's expected spend per purchase, discounted monthly.
Months are the mean calendar month, 365.25 / 12 = 30.4375 days (:data:`fairserve.value.units.DAYS_PER_MONTH`,
the month of the cost to serve too), converted to the model's time unit with the length of the period the
transaction model was fitted in (its ``period_days``, which :func:`~fairserve.value.score.fit_value_model` sets
from the RFM summary).

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis". Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from fairserve.errors import FairserveError
from fairserve.value._base import FloatArray
from fairserve.value.units import DAYS_PER_MONTH

__all__ = ["discount_factors", "discounted_clv"]


class TransactionModel(Protocol):
    """What ``discounted_clv`` needs of a purchase model (BetaGeoModel, ParetoNBDModel).

    ``period_days`` is the length in days of the model's time unit (None when unknown).
    """

    period_days: float | None

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...

    def expected_purchases_sum(
        self, horizons: ArrayLike, weights: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...


class SpendModel(Protocol):
    """What ``discounted_clv`` needs of a spend model (GammaGammaModel)."""

    def conditional_expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray: ...


def discount_factors(horizon_months: float, discount_rate: float) -> FloatArray:
    """The monthly discount factors ``(1 + d)^-k`` for the months ``k = 1 .. horizon_months``.

    Money that falls in month ``k`` after the calibration end is worth ``(1 + d)^-k`` of it at the calibration
    end: the CLV's purchases and the cost to serve are discounted with these same factors.

    Raises
    ------
    FairserveError
        When ``horizon_months`` is not a whole number >= 0 or ``discount_rate <= -1``.
    """
    if horizon_months < 0 or int(horizon_months) != horizon_months:
        raise FairserveError(f"horizon_months must be a whole number >= 0, got {horizon_months}")
    if discount_rate <= -1:
        raise FairserveError(f"discount_rate must be > -1, got {discount_rate}")
    months = np.arange(1, int(horizon_months) + 1, dtype=np.float64)
    return np.asarray((1.0 + discount_rate) ** -months, dtype=np.float64)


def discounted_clv(
    transaction_model: TransactionModel,
    spend_model: SpendModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    period_days: float | None = None,
) -> FloatArray:
    """Discounted expected value of each customer's purchases over the next ``horizon_months`` months.

    ``CLV = sum_{k=1..H} (E[Y(k)] - E[Y(k-1)]) * E[M | x, m] / (1 + d)^k``, where ``E[Y(k)]`` is the conditional
    expected number of purchases in the ``k`` months after ``T`` and ``E[M | x, m]`` the conditional expected
    spend per purchase.

    Parameters
    ----------
    transaction_model, spend_model
        Fitted models; time in the transaction model is measured in periods of ``period_days`` days.
    frequency, recency, T, monetary_value
        The customers' RFM summary in the transaction model's time unit; ``monetary_value`` is the mean repeat
        spend (0 or anything for customers with no repeat purchase: the spend model's population mean is used).
    horizon_months : int, default 12
        Number of months (of :data:`~fairserve.value.units.DAYS_PER_MONTH` days) to sum over.
    discount_rate : float, default 0.01
        Monthly discount rate.
    period_days : float, optional
        Days per model period: 7 for a model fitted in weeks, 1 in days. By default the period the transaction
        model was fitted in (its ``period_days``); given, it overrides the model's (e.g. ``DAYS_PER_MONTH / 4.345`` to
        count a month as 4.345 weeks, as ``lifetimes`` does).

    Returns
    -------
    numpy.ndarray
        One discounted CLV per customer, in the currency of ``monetary_value``.

    Raises
    ------
    FairserveError
        When neither ``period_days`` nor the transaction model gives the period (no default is guessed: a wrong
        period scales every horizon, and so every CLV, by the ratio of the periods).
    """
    discount = discount_factors(horizon_months, discount_rate)
    if period_days is None:
        period_days = getattr(transaction_model, "period_days", None)
        if period_days is None:
            raise FairserveError(
                "period_days is unknown: the transaction model does not say which period it was fitted in (fit it "
                "with fit_value_model, or construct it with period_days=...), and none was passed"
            )
    if not period_days > 0:
        raise FairserveError(f"period_days must be > 0, got {period_days}")
    spend = np.asarray(spend_model.conditional_expected_spend(frequency, monetary_value), dtype=np.float64)
    # sum_k (E[Y(k)] - E[Y(k-1)]) v_k  ==  sum_k E[Y(k)] (v_k - v_(k+1)),  v_k = (1 + d)^-k, v_(H+1) = 0, E[Y(0)] = 0:
    # one weighted sum of expected purchases at the monthly horizons, which the model computes in one pass
    months = np.arange(1, discount.shape[0] + 1, dtype=np.float64)
    weights = discount - np.append(discount[1:], 0.0)
    horizons = months * (DAYS_PER_MONTH / period_days)
    purchases = transaction_model.expected_purchases_sum(horizons, weights, frequency, recency, T)
    return np.asarray(purchases * spend, dtype=np.float64)
