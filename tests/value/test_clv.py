"""Discounted CLV against lifetimes' customer_lifetime_value on the CDNOW summary, and its own identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

from fairserve.errors import FairserveError
from fairserve.value import clv as clv_module
from fairserve.value import profit as profit_module
from fairserve.value.bgnbd import BetaGeoModel, simulate_bgnbd
from fairserve.value.clv import discounted_clv
from fairserve.value.gammagamma import GammaGammaModel
from fairserve.value.paretonbd import ParetoNBDModel
from fairserve.value.units import DAYS_PER_MONTH

# A month is the mean calendar month, pinned here (and against the cost-to-serve month in test_profit.py).
MONTH_DAYS = 365.25 / 12
# lifetimes counts a month as 4.345 weeks for freq="W" and 30 days for freq="D", so matching it needs these
# period lengths (one of our months = that many of lifetimes' periods)
LIFETIMES_WEEK_DAYS = MONTH_DAYS / 4.345
LIFETIMES_DAY_DAYS = MONTH_DAYS / 30.0


def test_a_month_is_the_mean_calendar_month_and_the_same_in_clv_and_profit():
    assert DAYS_PER_MONTH == MONTH_DAYS == 30.4375
    assert clv_module.DAYS_PER_MONTH is profit_module.DAYS_PER_MONTH is DAYS_PER_MONTH


@pytest.fixture(scope="module")
def models(cdnow):
    # the papers' CDNOW summary is in weeks
    bg = BetaGeoModel(period_days=7.0).fit(cdnow.frequency, cdnow.recency, cdnow.T)
    pnbd = ParetoNBDModel(period_days=7.0).fit(cdnow.frequency, cdnow.recency, cdnow.T)
    keep = cdnow.frequency > 0
    gg = GammaGammaModel().fit(cdnow.frequency[keep], cdnow.monetary_value[keep])
    return bg, pnbd, gg


def _lifetimes_clv(transaction, gg: GammaGammaModel, cdnow, freq: str, time: int, discount: float) -> np.ndarray:
    transaction.predict = transaction.conditional_expected_number_of_purchases_up_to_time
    spend = GammaGammaFitter()
    spend.params_ = pd.Series({"p": gg.params_["p"], "q": gg.params_["q"], "v": gg.params_["gamma"]})
    series = [pd.Series(v) for v in (cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value)]
    clv = spend.customer_lifetime_value(transaction, *series, time=time, discount_rate=discount, freq=freq)
    return np.asarray(clv, dtype=float)


def _with_params(cls, params: dict[str, float]):
    model = cls()
    model.params_ = pd.Series(params)
    return model


@pytest.mark.parametrize(("freq", "period_days"), [("W", LIFETIMES_WEEK_DAYS), ("D", LIFETIMES_DAY_DAYS)])
def test_bgnbd_clv_matches_lifetimes(models, cdnow, freq, period_days):
    bg, _, gg = models
    ours = discounted_clv(
        bg,
        gg,
        cdnow.frequency,
        cdnow.recency,
        cdnow.T,
        cdnow.monetary_value,
        horizon_months=12,
        discount_rate=0.01,
        period_days=period_days,
    )
    theirs = _lifetimes_clv(_with_params(BetaGeoFitter, bg.params_), gg, cdnow, freq, 12, 0.01)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert np.all(ours > 0)


# lifetimes' Pareto/NBD takes log(0) for customers whose last purchase is at T; its result is still finite
@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
def test_paretonbd_clv_matches_lifetimes(models, cdnow):
    _, pnbd, gg = models
    ours = discounted_clv(
        pnbd,
        gg,
        cdnow.frequency,
        cdnow.recency,
        cdnow.T,
        cdnow.monetary_value,
        horizon_months=6,
        discount_rate=0.02,
        period_days=LIFETIMES_WEEK_DAYS,
    )
    theirs = _lifetimes_clv(_with_params(ParetoNBDFitter, pnbd.params_), gg, cdnow, "W", 6, 0.02)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_undiscounted_clv_is_expected_purchases_times_expected_spend(models, cdnow):
    bg, _, gg = models
    f, r, T, m = cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value
    clv = discounted_clv(bg, gg, f, r, T, m, horizon_months=12, discount_rate=0.0, period_days=7.0)
    # twelve months are one (Julian) year: 365.25 days, in weeks
    expected = bg.expected_purchases(365.25 / 7, f, r, T) * gg.conditional_expected_spend(f, m)
    np.testing.assert_allclose(clv, expected, rtol=1e-12)


def test_discounting_lowers_value_and_longer_horizons_raise_it(models, cdnow):
    bg, _, gg = models
    args = (bg, gg, cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value)
    plain = discounted_clv(*args, discount_rate=0.0)
    discounted = discounted_clv(*args, discount_rate=0.05)
    longer = discounted_clv(*args, horizon_months=24)
    assert np.all(discounted < plain)
    assert np.all(longer > discounted_clv(*args))
    assert np.all(discounted_clv(*args, horizon_months=0) == 0)


def test_refuses_a_non_positive_period():
    with pytest.raises(FairserveError, match="period_days"):
        discounted_clv(BetaGeoModel(), GammaGammaModel(), [1], [1.0], [2.0], [10.0], period_days=0)
    with pytest.raises(FairserveError, match="period_days"):
        discounted_clv(BetaGeoModel(period_days=-7.0), GammaGammaModel(), [1], [1.0], [2.0], [10.0])


def test_the_period_defaults_to_the_transaction_models_and_is_never_guessed(models, cdnow):
    bg, _, gg = models
    args = (cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value)
    np.testing.assert_array_equal(discounted_clv(bg, gg, *args), discounted_clv(bg, gg, *args, period_days=7.0))
    unknown = BetaGeoModel.from_dict({**bg.to_dict(), "settings": {}})  # a model that does not know its period
    assert unknown.period_days is None
    with pytest.raises(FairserveError, match="period_days is unknown"):
        discounted_clv(unknown, gg, *args)


def _month_by_month_clv(model, gg, f, r, T, m, horizon_months, discount_rate, period_days):
    """The CLV sum written out month by month, each month's expected purchases evaluated for every customer."""
    spend = gg.conditional_expected_spend(f, m)
    month = MONTH_DAYS / period_days
    previous = np.zeros(len(f))
    clv = np.zeros(len(f))
    for k in range(1, horizon_months + 1):
        cumulative = model.expected_purchases(np.full(len(f), k * month), f, r, T)  # per-customer horizons
        clv += (cumulative - previous) * spend / (1.0 + discount_rate) ** k
        previous = cumulative
    return clv


@pytest.fixture(scope="module")
def many_ties():
    """Day-unit summaries with integer T: many customers share (frequency, T) but not recency."""
    params = {"r": 0.8, "alpha": 20.0, "a": 0.9, "b": 6.0}
    rng = np.random.default_rng(11)
    T = rng.integers(30, 400, 20_000).astype(float)
    f, r, T = simulate_bgnbd(20_000, T, params, random_state=rng)
    r = np.floor(r)
    m = np.where(f > 0, rng.gamma(5.0, 4.0, f.shape[0]), 0.0)
    return f, r, T, m


@pytest.mark.parametrize("which", ["bgnbd", "paretonbd"])
@pytest.mark.parametrize(("discount_rate", "period_days"), [(0.01, 1.0), (0.0, 7.0), (-0.02, 1.0)])
def test_one_pass_clv_equals_the_month_by_month_sum(models, many_ties, which, discount_rate, period_days):
    bg, pnbd, gg = models
    model = bg if which == "bgnbd" else pnbd
    f, r, T, m = many_ties
    assert len(np.unique(np.column_stack([f, T]), axis=0)) < len(f) / 2  # the distinct pairs are few
    ours = discounted_clv(model, gg, f, r, T, m, horizon_months=12, discount_rate=discount_rate,
                          period_days=period_days)
    plain = _month_by_month_clv(model, gg, f, r, T, m, 12, discount_rate, period_days)
    np.testing.assert_allclose(ours, plain, rtol=1e-12, atol=0)


@pytest.mark.parametrize("which", ["bgnbd", "paretonbd"])
def test_expected_purchases_sum_is_the_weighted_sum_of_expected_purchases(models, many_ties, which):
    bg, pnbd, _ = models
    model = bg if which == "bgnbd" else pnbd
    f, r, T, _ = many_ties
    horizons, weights = [5.0, 40.0, 365.0], [0.5, -1.0, 2.0]
    expected = sum(
        w * model.expected_purchases(np.full(len(f), h), f, r, T) for h, w in zip(horizons, weights, strict=True)
    )
    np.testing.assert_allclose(model.expected_purchases_sum(horizons, weights, f, r, T), expected, rtol=1e-12)


def test_expected_purchases_for_one_horizon_equals_the_per_customer_formula(models, many_ties):
    bg, _, _ = models
    f, r, T, _ = many_ties
    one = bg.expected_purchases(90.0, f, r, T)  # evaluated on the distinct (frequency, T) pairs
    each = bg.expected_purchases(np.full(len(f), 90.0), f, r, T)  # evaluated customer by customer
    np.testing.assert_array_equal(one, each)
