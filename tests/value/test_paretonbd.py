"""Pareto/NBD: the published CDNOW fit, lifetimes as oracle, the series against 2F1, gradient, weights."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifetimes import ParetoNBDFitter

from fairserve.value._base import NotFittedError
from fairserve.value.bgnbd import simulate_bgnbd
from fairserve.value.paretonbd import ParetoNBDModel, _Data, _loglik

PUBLISHED = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}


@pytest.fixture(scope="module")
def fitted(cdnow) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="module")
def oracle(cdnow) -> ParetoNBDFitter:
    return ParetoNBDFitter().fit(pd.Series(cdnow.frequency), pd.Series(cdnow.recency), pd.Series(cdnow.T))


def _lifetimes_with(params: dict[str, float]) -> ParetoNBDFitter:
    model = ParetoNBDFitter()
    model.params_ = pd.Series(params)
    return model


def _data(cdnow) -> _Data:
    return _Data(cdnow.frequency, cdnow.recency, cdnow.T, np.ones_like(cdnow.T))


def test_fit_reproduces_published_cdnow_parameters_and_log_likelihood(fitted):
    assert {k: round(v, 2) for k, v in fitted.params_.items()} == PUBLISHED
    assert round(fitted.log_likelihood_, 1) == -9595.0
    assert fitted.n_customers_ == 2357


def test_parameters_match_lifetimes_fit(fitted, oracle, cdnow):
    for name, value in oracle.params_.items():
        assert fitted.params_[name] == pytest.approx(value, rel=1e-3)
    # and ours is at least as good an optimum of the same likelihood
    theirs = _loglik(np.asarray(oracle.params_[list(PUBLISHED)].to_numpy(float)), _data(cdnow), grad=False)[0]
    assert fitted.log_likelihood_ >= theirs - 1e-6


@pytest.mark.parametrize(
    "theta",
    [[0.55, 10.58, 0.61, 11.67], [0.55, 12.58, 0.61, 11.67], [1.3, 3.0, 2.5, 30.0], [0.2, 50.0, 1.5, 2.0]],
    ids=["cdnow", "alpha>beta", "alpha<<beta", "alpha>>beta"],
)
def test_log_likelihood_matches_lifetimes_closed_form(cdnow, theta):
    # lifetimes evaluates the Fader-Hardie expression with scipy's hyp2f1; ours sums one series
    params = np.asarray(theta)
    ours = _loglik(params, _data(cdnow), grad=False)[0]
    theirs = ParetoNBDFitter._conditional_log_likelihood(params, cdnow.frequency, cdnow.recency, cdnow.T).sum()
    assert ours == pytest.approx(theirs, rel=1e-10)


@pytest.mark.parametrize(
    "theta",
    [[0.55, 10.58, 0.61, 11.67], [0.55, 12.58, 0.61, 11.67], [1.3, 3.0, 2.5, 30.0], [0.2, 50.0, 1.5, 2.0]],
    ids=["cdnow", "alpha>beta", "alpha<<beta", "alpha>>beta"],
)
def test_analytic_gradient_matches_finite_differences(cdnow, fd_gradient, theta):
    data = _data(cdnow)
    theta = np.asarray(theta)
    analytic = _loglik(theta, data)[1]
    numeric = fd_gradient(lambda th: _loglik(th, data, grad=False)[0], theta)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-4)


def test_gradient_is_continuous_where_alpha_equals_beta(cdnow):
    data = _data(cdnow)
    below = _loglik(np.array([0.6, 10.0 - 1e-9, 0.7, 10.0]), data)
    above = _loglik(np.array([0.6, 10.0 + 1e-9, 0.7, 10.0]), data)
    assert below[0] == pytest.approx(above[0], rel=1e-9)
    np.testing.assert_allclose(below[1], above[1], rtol=1e-6)


def test_predictions_match_lifetimes_given_same_parameters(fitted, cdnow):
    oracle = _lifetimes_with(fitted.params_)
    f, r, T = cdnow.frequency, cdnow.recency, cdnow.T
    np.testing.assert_allclose(
        fitted.p_alive(f, r, T), np.asarray(oracle.conditional_probability_alive(f, r, T)), rtol=1e-8
    )
    for t in (1.0, 13.0, 39.0):
        ours = fitted.expected_purchases(t, f, r, T)
        theirs = np.asarray(oracle.conditional_expected_number_of_purchases_up_to_time(t, f, r, T))
        np.testing.assert_allclose(ours, theirs, rtol=1e-8)
    ts = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(
        fitted.expected_purchases_new(ts), np.asarray(oracle.expected_number_of_purchases_up_to_time(ts)), rtol=1e-9
    )


def test_worked_customer_predictions(fitted):
    # the FHL 2005 customer (x = 2, t_x = 30.43, T = 38.86) under the Pareto/NBD, against lifetimes
    oracle = _lifetimes_with(fitted.params_)
    ours = fitted.expected_purchases(39.0, 2, 30.43, 38.86)[0]
    theirs = float(np.asarray(oracle.conditional_expected_number_of_purchases_up_to_time(39.0, 2, 30.43, 38.86)))
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert fitted.p_alive(2, 30.43, 38.86)[0] == pytest.approx(
        float(np.asarray(oracle.conditional_probability_alive(2, 30.43, 38.86))), rel=1e-9
    )


def test_weighted_merged_rows_fit_equals_expanded_rows(cdnow):
    rng = np.random.default_rng(11)
    idx = rng.choice(cdnow.T.size, 300, replace=False)
    counts = rng.integers(1, 5, idx.size)
    f, r, T = cdnow.frequency[idx], cdnow.recency[idx], cdnow.T[idx]
    weighted = ParetoNBDModel().fit(f, r, T, weights=counts)
    expanded = ParetoNBDModel().fit(np.repeat(f, counts), np.repeat(r, counts), np.repeat(T, counts))
    for name in ParetoNBDModel.PARAM_NAMES:
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-5)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)


def test_s_equal_one_uses_the_logarithmic_limit():
    near = ParetoNBDModel.from_dict(
        {"model": "ParetoNBDModel", "params": {"r": 0.5, "alpha": 8.0, "s": 1.0 + 1e-7, "beta": 9.0}}
    )
    exact = ParetoNBDModel.from_dict(
        {"model": "ParetoNBDModel", "params": {"r": 0.5, "alpha": 8.0, "s": 1.0, "beta": 9.0}}
    )
    assert exact.expected_purchases_new(20.0) == pytest.approx(near.expected_purchases_new(20.0), rel=1e-6)
    assert exact.expected_purchases(20.0, 3, 10.0, 30.0)[0] == pytest.approx(
        near.expected_purchases(20.0, 3, 10.0, 30.0)[0], rel=1e-6
    )


def test_fit_on_simulated_purchases_reproduces_their_mean_count():
    # fitted to repeat-buying data, the model's E[X(T)] for a new customer matches the sample's mean count
    f, r, T = simulate_bgnbd(5000, 39.0, {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}, random_state=5)
    model = ParetoNBDModel().fit(f, r, T)
    assert float(model.expected_purchases_new(39.0)) == pytest.approx(f.mean(), rel=0.05)
    assert np.all((model.p_alive(f, r, T) > 0) & (model.p_alive(f, r, T) <= 1))


def test_predicting_before_fit_raises_not_fitted_error():
    with pytest.raises(NotFittedError):
        ParetoNBDModel().expected_purchases(1.0, [1], [2.0], [3.0])


def test_round_trips_through_json(fitted, cdnow):
    restored = ParetoNBDModel.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored.params_ == fitted.params_
    np.testing.assert_array_equal(
        restored.expected_purchases(10.0, cdnow.frequency, cdnow.recency, cdnow.T),
        fitted.expected_purchases(10.0, cdnow.frequency, cdnow.recency, cdnow.T),
    )
