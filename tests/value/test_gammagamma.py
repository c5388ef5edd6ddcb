"""Gamma-Gamma: the published CDNOW fit (Fader & Hardie 2013), lifetimes as oracle, gradient, weights."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifetimes import GammaGammaFitter

from fairserve.value._base import FitError, NotFittedError
from fairserve.value.gammagamma import GammaGammaModel, InfiniteMeanSpendError, _loglik

PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def repeat(cdnow) -> tuple[np.ndarray, np.ndarray]:
    keep = cdnow.frequency > 0
    return cdnow.frequency[keep], cdnow.monetary_value[keep]


@pytest.fixture(scope="module")
def fitted(repeat) -> GammaGammaModel:
    return GammaGammaModel().fit(*repeat)


def _lifetimes_with(params: dict[str, float]) -> GammaGammaFitter:
    model = GammaGammaFitter()
    model.params_ = pd.Series({"p": params["p"], "q": params["q"], "v": params["gamma"]})
    return model


def test_fit_reproduces_published_cdnow_parameters_and_log_likelihood(cdnow_repeat_spend):
    # the note fits the 946 repeat buyers of the CDNOW sample, zbar = mean repeat-purchase value
    model = GammaGammaModel().fit(*cdnow_repeat_spend)
    assert model.n_customers_ == 946
    assert {k: round(v, 2) for k, v in model.params_.items()} == PUBLISHED
    assert round(model.log_likelihood_, 1) == -4055.9
    # CLVTools' correctness test pins the same fit at LL = -4055.9177
    assert model.log_likelihood_ == pytest.approx(-4055.9177, abs=5e-4)


def test_cent_rounded_summary_gives_the_same_fit_to_two_significant_decimals(fitted):
    # lifetimes ships zbar rounded to cents: gamma moves in the third significant decimal, nothing else
    assert fitted.n_customers_ == 946
    assert fitted.params_["p"] == pytest.approx(PUBLISHED["p"], abs=0.005)
    assert fitted.params_["q"] == pytest.approx(PUBLISHED["q"], abs=0.005)
    assert fitted.params_["gamma"] == pytest.approx(PUBLISHED["gamma"], abs=0.01)
    assert round(fitted.log_likelihood_, 1) == -4055.9


def test_parameters_match_lifetimes_fit(fitted, repeat):
    x, m = repeat
    oracle = GammaGammaFitter().fit(pd.Series(x), pd.Series(m))
    assert fitted.params_["p"] == pytest.approx(oracle.params_["p"], rel=1e-4)
    assert fitted.params_["q"] == pytest.approx(oracle.params_["q"], rel=1e-4)
    assert fitted.params_["gamma"] == pytest.approx(oracle.params_["v"], rel=1e-4)


def test_conditional_expected_spend_matches_lifetimes(fitted, cdnow):
    oracle = _lifetimes_with(fitted.params_)
    ours = fitted.conditional_expected_spend(cdnow.frequency, cdnow.monetary_value)
    theirs = np.asarray(oracle.conditional_expected_average_profit(cdnow.frequency, cdnow.monetary_value))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_spend_with_no_repeat_purchase_is_the_population_mean(fitted):
    p, q, gamma = fitted.params_["p"], fitted.params_["q"], fitted.params_["gamma"]
    assert fitted.conditional_expected_spend([0], [0.0])[0] == pytest.approx(p * gamma / (q - 1))
    # and many purchases pull the estimate to the customer's own mean
    assert fitted.conditional_expected_spend([10_000], [80.0])[0] == pytest.approx(80.0, rel=1e-2)


def test_log_likelihood_matches_lifetimes_at_same_parameters(repeat):
    x, m = repeat
    theta = np.array([5.0, 3.0, 20.0])
    ours = _loglik(theta, x, m, np.ones_like(x))[0]
    theirs = -GammaGammaFitter._negative_log_likelihood(np.log(theta), x, m, np.ones_like(x), 0.0) * x.size
    assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("theta", [[6.25, 3.74, 15.44], [0.5, 10.0, 2.0], [20.0, 1.2, 100.0]])
def test_analytic_gradient_matches_finite_differences(repeat, fd_gradient, theta):
    x, m = repeat
    w = np.ones_like(x)
    theta = np.asarray(theta)
    numeric = fd_gradient(lambda th: _loglik(th, x, m, w)[0], theta)
    np.testing.assert_allclose(_loglik(theta, x, m, w)[1], numeric, rtol=1e-5, atol=1e-4)


def test_weighted_merged_rows_fit_equals_expanded_rows(repeat):
    x, m = repeat
    counts = np.random.default_rng(3).integers(1, 6, x.size)
    weighted = GammaGammaModel().fit(x, m, weights=counts)
    expanded = GammaGammaModel().fit(np.repeat(x, counts), np.repeat(m, counts))
    for name in GammaGammaModel.PARAM_NAMES:
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)


def test_refuses_customers_without_repeat_purchases(cdnow):
    with pytest.raises(FitError, match="repeat buyers only"):
        GammaGammaModel().fit(cdnow.frequency, cdnow.monetary_value)


def test_predicting_before_fit_raises_not_fitted_error():
    with pytest.raises(NotFittedError):
        GammaGammaModel().conditional_expected_spend([1], [10.0])


def test_round_trips_through_json(fitted):
    restored = GammaGammaModel.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored.params_ == fitted.params_
    assert restored.n_customers_ == 946


def _heavy_tailed_spend(q: float, n: int = 2000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Mean repeat spends drawn from the Gamma-Gamma model itself with p = 4, gamma = 10 and the given q."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(q, 1 / 10.0, n)  # each customer's spend scale, Gamma(q, rate gamma)
    return x, rng.gamma(4.0 * x, 1 / (nu * x))  # the mean of x purchases, each Gamma(p, rate nu)


def test_fit_refuses_an_optimum_with_infinite_mean_spend():
    x, m = _heavy_tailed_spend(q=0.6)
    model = GammaGammaModel()
    refused = r"the fit landed at q = 0\.\d+, but the model needs q > 1"
    with pytest.raises(InfiniteMeanSpendError, match=refused) as info:
        model.fit(x, m)
    assert "infinite" in str(info.value)
    assert isinstance(info.value, FitError)  # a FairserveError, so the CLI reports it with exit code 2
    with pytest.raises(NotFittedError):  # the refused fit stored nothing
        model.conditional_expected_spend([1], [10.0])
    # the same data from a light-tailed spend process fit, and near the truth
    ok = GammaGammaModel().fit(*_heavy_tailed_spend(q=4.0))
    assert ok.params_["q"] == pytest.approx(4.0, rel=0.25)


@pytest.mark.parametrize("q", [0.5, 1.0])
def test_predicting_with_q_at_most_one_is_refused(fitted, q):
    record = fitted.to_dict()
    record["params"]["q"] = q
    with pytest.raises(InfiniteMeanSpendError, match=rf"the saved model has q = {q:g}, but the model needs q > 1"):
        GammaGammaModel.from_dict(record)
    by_hand = GammaGammaModel()
    by_hand.params_ = dict(record["params"])
    with pytest.raises(InfiniteMeanSpendError, match=rf"the parameters have q = {q:g}.*infinite"):
        by_hand.conditional_expected_spend([0, 2], [0.0, 10.0])


def test_q_just_above_one_is_finite(fitted):
    record = fitted.to_dict()
    record["params"]["q"] = 1.001
    spend = GammaGammaModel.from_dict(record).conditional_expected_spend([0, 2], [0.0, 10.0])
    assert np.all(np.isfinite(spend)) and np.all(spend > 0)
