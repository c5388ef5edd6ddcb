"""The value pipeline: the period a model was fitted in travels with it into CLV and the scores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fairserve.datasets import cdnow_sample
from fairserve.errors import FairserveError
from fairserve.value.bgnbd import BetaGeoModel
from fairserve.value.clv import discounted_clv
from fairserve.value.gammagamma import GammaGammaModel
from fairserve.value.rfm import Summary, summarise
from fairserve.value.score import ValueModel, fit_value_model, score_customers

CAL = dt.date(1997, 9, 30)


@pytest.fixture(scope="module")
def by_period() -> dict[str, tuple[Summary, ValueModel]]:
    """The CDNOW sample summarised and fitted once in days and once in weeks."""
    log = cdnow_sample()
    out = {}
    for period in ("day", "week"):
        summary = summarise(log, calibration_end=CAL, period=period)
        out[period] = (summary, fit_value_model(summary))
    return out


def _rfm(summary: Summary) -> tuple[np.ndarray, ...]:
    c = summary.customers
    return tuple(c[col].to_numpy(dtype=float) for col in ("frequency", "recency", "T", "monetary_value"))


def test_fitted_transaction_model_knows_its_period(by_period) -> None:
    assert by_period["day"][1].transaction.period_days == 1.0
    assert by_period["week"][1].transaction.period_days == 7.0


def test_clv_of_a_day_model_and_a_week_model_agree_without_passing_the_period(by_period) -> None:
    # The models are unit-free (alpha scales with the unit), so the same customers are worth the same whichever
    # period the summary was measured in, IF each model's months are converted with its own period. Under the
    # old default (weeks, whatever the fit), the day model's 12 months were 12 * 30 / 7 days: far less CLV.
    (day_summary, day), (week_summary, week) = by_period["day"], by_period["week"]
    assert day.transaction.params_["alpha"] == pytest.approx(7 * week.transaction.params_["alpha"], rel=1e-4)
    clv_day = discounted_clv(day.transaction, day.spend, *_rfm(day_summary))
    clv_week = discounted_clv(week.transaction, week.spend, *_rfm(week_summary))
    np.testing.assert_allclose(clv_day, clv_week, rtol=1e-4)
    # each equals the sum with its period given by hand
    np.testing.assert_array_equal(
        clv_day, discounted_clv(day.transaction, day.spend, *_rfm(day_summary), period_days=1.0)
    )
    np.testing.assert_array_equal(
        clv_week, discounted_clv(week.transaction, week.spend, *_rfm(week_summary), period_days=7.0)
    )
    # and the week default would have been wrong for the day model
    as_weeks = discounted_clv(day.transaction, day.spend, *_rfm(day_summary), period_days=7.0)
    assert as_weeks.sum() < 0.5 * clv_day.sum()


def test_scores_of_a_day_model_and_a_week_model_agree(by_period) -> None:
    (day_summary, day), (week_summary, week) = by_period["day"], by_period["week"]
    by_day = score_customers(day_summary.customers, day)
    by_week = score_customers(week_summary.customers, week)
    for col in ("p_alive", "expected_purchases", "clv", "profit"):
        np.testing.assert_allclose(by_day[col], by_week[col], rtol=1e-4, err_msg=col)


def test_a_saved_model_without_the_period_in_its_settings_takes_the_value_models(by_period) -> None:
    _, week = by_period["week"]
    record = week.to_dict()
    assert record["transaction_model"]["settings"]["period_days"] == 7.0
    del record["transaction_model"]["settings"]["period_days"]  # as MODEL.json files written before it was kept
    restored = ValueModel.from_dict(record)
    assert restored.transaction.period_days == 7.0


def test_value_model_refuses_a_transaction_model_fitted_in_another_period() -> None:
    with pytest.raises(FairserveError, match="periods of 7 days"):
        ValueModel("bgnbd", BetaGeoModel(period_days=7.0), GammaGammaModel(), "day", CAL)


def test_value_model_refuses_an_unknown_period() -> None:
    with pytest.raises(FairserveError, match="period"):
        ValueModel("bgnbd", BetaGeoModel(), GammaGammaModel(), "month", CAL)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(6))
def test_value_percentile_is_pandas_rank_max_pct(seed: int) -> None:
    """The argsort-based percentile gives pandas' ``rank(method="max", pct=True)`` to the bit: ties (many zero
    CLVs, rounded values, -0.0 beside 0.0), any index, and a column with a missing value."""
    import pandas as pd

    from fairserve.value.score import value_percentile

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    values = np.round(rng.gamma(0.5, 80.0, n), int(rng.integers(0, 3)))
    values[rng.integers(0, n, n // 3)] = 0.0
    values[rng.integers(0, n, n // 5)] = -0.0
    if seed == 5:
        values[rng.integers(0, n, 3)] = np.nan
    clv = pd.Series(values, index=rng.permutation(n) + 10, name="clv")
    got, want = value_percentile(clv), clv.rank(method="max", pct=True)
    pd.testing.assert_series_equal(got, want, check_exact=True)
    assert got.max() == 1.0
