"""BG/NBD: the published CDNOW figures (Fader, Hardie & Lee 2005), lifetimes as oracle, gradient, weights."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter

from fairserve.errors import FairserveError
from fairserve.value._base import FitError, NotFittedError, merge_rows
from fairserve.value.bgnbd import BetaGeoModel, _Data, _loglik, simulate_bgnbd

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def fitted(cdnow) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="module")
def oracle(cdnow) -> BetaGeoFitter:
    return BetaGeoFitter().fit(pd.Series(cdnow.frequency), pd.Series(cdnow.recency), pd.Series(cdnow.T))


def _lifetimes_with(params: dict[str, float]) -> BetaGeoFitter:
    model = BetaGeoFitter()
    model.params_ = pd.Series(params)
    return model


def test_fit_reproduces_published_cdnow_parameters_and_log_likelihood(fitted):
    assert {k: round(v, 3) for k, v in fitted.params_.items()} == PUBLISHED
    assert round(fitted.log_likelihood_, 1) == -9582.4
    assert fitted.n_customers_ == 2357


def test_worked_customer_expects_1_226_purchases_in_next_39_weeks(fitted):
    # FHL 2005: x = 2, t_x = 30.43, T = 38.86 -> E[Y(39) | x, t_x, T] = 1.226
    expected = fitted.expected_purchases(39.0, 2, 30.43, 38.86)
    assert round(float(expected[0]), 3) == 1.226
    oracle = _lifetimes_with(fitted.params_)
    assert fitted.p_alive(2, 30.43, 38.86)[0] == pytest.approx(
        float(np.asarray(oracle.conditional_probability_alive(2, 30.43, 38.86)).ravel()[0]), rel=1e-9
    )
    assert 0.5 < fitted.p_alive(2, 30.43, 38.86)[0] < 1.0


def test_parameters_match_lifetimes_fit(fitted, oracle):
    for name, value in oracle.params_.items():
        assert fitted.params_[name] == pytest.approx(value, rel=1e-4)


def test_predictions_match_lifetimes_given_same_parameters(fitted, cdnow):
    oracle = _lifetimes_with(fitted.params_)
    f, r, T = cdnow.frequency, cdnow.recency, cdnow.T
    np.testing.assert_allclose(
        fitted.p_alive(f, r, T), np.asarray(oracle.conditional_probability_alive(f, r, T)), rtol=1e-9
    )
    for t in (1.0, 13.0, 39.0, 52.0):
        ours = fitted.expected_purchases(t, f, r, T)
        theirs = np.asarray(oracle.conditional_expected_number_of_purchases_up_to_time(t, f, r, T))
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    ts = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(
        fitted.expected_purchases_new(ts), np.asarray(oracle.expected_number_of_purchases_up_to_time(ts)), rtol=1e-9
    )


def test_log_likelihood_matches_lifetimes_at_same_parameters(cdnow):
    theta = np.array([0.3, 5.0, 0.9, 2.0])
    data = _Data(cdnow.frequency, cdnow.recency, cdnow.T, np.ones_like(cdnow.T))
    ours = _loglik(theta, data)[0]
    # lifetimes' objective is the mean negative log-likelihood (penalizer 0) with alpha in its own scale
    theirs = -BetaGeoFitter._negative_log_likelihood(
        np.log(theta), cdnow.frequency, cdnow.recency, cdnow.T, np.ones_like(cdnow.T), 0.0
    ) * len(cdnow.T)
    assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("theta", [[0.243, 4.414, 0.793, 2.426], [1.7, 0.8, 3.0, 0.4], [0.05, 40.0, 0.2, 9.0]])
def test_analytic_gradient_matches_finite_differences(cdnow, fd_gradient, theta):
    data = _Data(cdnow.frequency, cdnow.recency, cdnow.T, np.ones_like(cdnow.T))
    theta = np.asarray(theta)
    analytic = _loglik(theta, data)[1]
    numeric = fd_gradient(lambda th: _loglik(th, data)[0], theta)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-4)


def test_weighted_merged_rows_fit_equals_expanded_rows(cdnow):
    rng = np.random.default_rng(7)
    idx = rng.choice(cdnow.T.size, 400, replace=False)
    counts = rng.integers(1, 6, idx.size)
    f, r, T = cdnow.frequency[idx], cdnow.recency[idx], cdnow.T[idx]
    weighted = BetaGeoModel().fit(f, r, T, weights=counts)
    expanded = BetaGeoModel().fit(np.repeat(f, counts), np.repeat(r, counts), np.repeat(T, counts))
    for name in BetaGeoModel.PARAM_NAMES:
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)
    assert weighted.n_customers_ == expanded.n_customers_ == counts.sum()


def test_merging_rows_matches_numpy_unique_with_summed_weights(cdnow):
    columns = [cdnow.frequency, cdnow.recency, cdnow.T]
    weights = np.random.default_rng(1).uniform(0.5, 2.0, cdnow.T.size)
    merged, merged_weights = merge_rows(columns, weights)
    unique, inverse = np.unique(np.column_stack(columns), axis=0, return_inverse=True)
    np.testing.assert_array_equal(np.column_stack(merged), unique)
    np.testing.assert_allclose(merged_weights, np.bincount(inverse.ravel(), weights=weights), rtol=1e-12)
    assert merged_weights.sum() == pytest.approx(weights.sum(), rel=1e-12)
    assert unique.shape[0] < cdnow.T.size  # CDNOW has repeated rows (e.g. one-off buyers of the same week)


def test_recovers_parameters_of_a_simulated_bgnbd_process():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    rng = np.random.default_rng(2024)
    T = rng.uniform(26.0, 52.0, 20_000)
    f, r, T = simulate_bgnbd(20_000, T, truth, random_state=2024)
    model = BetaGeoModel().fit(f, r, T)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.12), name
    # the mean count of the sample agrees with the fitted model's E[X(T)]
    assert f.mean() == pytest.approx(float(np.mean(model.expected_purchases_new(T))), rel=0.03)


def test_simulation_is_reproducible_with_random_state():
    params = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    first = simulate_bgnbd(500, 39.0, params, random_state=3)
    second = simulate_bgnbd(500, 39.0, params, random_state=3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    f, r, T = first
    assert np.all(r <= T) and np.all((f > 0) | (r == 0))


def test_predicting_before_fit_raises_not_fitted_error():
    model = BetaGeoModel()
    with pytest.raises(NotFittedError):
        model.p_alive([1], [2.0], [3.0])
    with pytest.raises(FairserveError):
        model.expected_purchases_new(10.0)


def test_init_stores_parameters_only():
    model = BetaGeoModel(penalizer=0.1, tol=1e-8, max_iter=50)
    assert vars(model) == {"penalizer": 0.1, "tol": 1e-8, "max_iter": 50, "period_days": None}
    assert model.fit([0, 1, 2], [0.0, 3.0, 5.0], [10.0, 10.0, 10.0]) is model


def test_round_trips_through_json(fitted, cdnow):
    restored = BetaGeoModel.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored.params_ == fitted.params_
    assert restored.log_likelihood_ == fitted.log_likelihood_
    np.testing.assert_array_equal(
        restored.p_alive(cdnow.frequency, cdnow.recency, cdnow.T),
        fitted.p_alive(cdnow.frequency, cdnow.recency, cdnow.T),
    )


def test_from_dict_refuses_another_models_record(fitted):
    record = fitted.to_dict() | {"model": "ParetoNBDModel"}
    with pytest.raises(FairserveError, match="expected a saved BetaGeoModel"):
        BetaGeoModel.from_dict(record)


def test_refuses_recency_beyond_age():
    with pytest.raises(FitError, match="recency is larger than T"):
        BetaGeoModel().fit([1, 2], [5.0, 12.0], [10.0, 10.0])


def test_penalizer_shrinks_parameters(cdnow):
    plain = BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)
    shrunk = BetaGeoModel(penalizer=0.01).fit(cdnow.frequency, cdnow.recency, cdnow.T)
    assert sum(v**2 for v in shrunk.params_.values()) < sum(v**2 for v in plain.params_.values())
    assert shrunk.log_likelihood_ < plain.log_likelihood_


def test_p_alive_with_b_below_one_is_one_for_first_time_buyers_without_a_warning() -> None:
    """b < 1 is a valid fit; b + x - 1 < 0 for x = 0 must not reach the logarithm (it warned before)."""
    model = BetaGeoModel.from_dict({"model": "BetaGeoModel", "params": {"r": 0.8, "alpha": 4.0, "a": 0.6, "b": 0.4},
                                    "log_likelihood": -1.0, "n_customers": 3})
    x, t_x, t_cal = np.array([0.0, 1.0, 5.0]), np.array([0.0, 10.0, 30.0]), np.array([40.0, 40.0, 40.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = model.p_alive(x, t_x, t_cal)
    theirs = BetaGeoFitter()
    theirs.params_ = pd.Series({"r": 0.8, "alpha": 4.0, "a": 0.6, "b": 0.4})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.conditional_probability_alive(x, t_x, t_cal)
    assert ours[0] == 1.0
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
