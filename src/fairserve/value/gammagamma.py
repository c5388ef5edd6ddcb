"""The Gamma-Gamma model of the monetary value of repeat purchases, fitted by maximum likelihood.

We write our own rather than use a library (why: :mod:`fairserve.value._base`). The likelihood is closed form;
identical (frequency, mean spend) rows are merged into weights, the gamma-function terms are evaluated once per
distinct frequency, and L-BFGS-B gets the analytic gradient. ``tests/value/test_gammagamma.py``
pins the published CDNOW figures and holds it against ``lifetimes``' GammaGammaFitter.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from fairserve.value._base import Estimator, FitError, FloatArray, as_float_array, merge_rows

__all__ = ["GammaGammaModel", "InfiniteMeanSpendError"]


class InfiniteMeanSpendError(FitError):
    """Gamma-Gamma parameters with ``q <= 1``: the mean spend per purchase is infinite, so no CLV exists.

    The population mean spend is ``p * gamma / (q - 1)`` (``E[1 / nu]`` of ``nu ~ Gamma(q, gamma)`` is finite only
    for ``q > 1``), and the conditional mean ``p (gamma + x m) / (p x + q - 1)`` is infinite or negative for a
    customer with no repeat purchase. A fit lands there when a few customers' spend is orders of magnitude above
    the rest.
    """


def _check_q(q: float, where: str) -> None:
    if not q > 1.0:
        raise InfiniteMeanSpendError(
            f"Gamma-Gamma: {where} q = {q:.6g}, but the model needs q > 1: with q <= 1 the mean spend per purchase "
            f"p * gamma / (q - 1) is infinite, so expected spend and CLV are undefined (the spend data are too "
            f"heavy-tailed for the model: look for outlying amounts, or cap them)"
        )


def _check(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = as_float_array(frequency, "frequency")
    m = as_float_array(monetary_value, "monetary_value")
    x, m = np.broadcast_arrays(x, m)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise FitError("frequency must be a whole number of repeat purchases >= 0")
    if np.any(m < 0):
        raise FitError("monetary_value must be >= 0")
    return x.astype(np.float64), m.astype(np.float64)


class _Spend:
    """Merged (frequency, mean spend) rows with what depends on the data alone computed once for the optimiser.

    The gamma-function terms depend on the frequency only (evaluated per distinct frequency); ``ln m`` and
    ``ln x`` enter the likelihood linearly in the parameters (summed once); per row and evaluation there remains
    ``ln(gamma + m x)``.
    """

    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray) -> None:
        self.w, self.mx = w, m * x
        self.wx = w * x
        self.n = float(w.sum())
        self.x_levels, index = np.unique(x, return_inverse=True)
        self.w_by_x = np.bincount(index.reshape(-1), weights=w, minlength=self.x_levels.shape[0])
        log_m, log_x = np.log(m), np.log(x)
        self.sum_w_log_m = float(np.dot(w, log_m))
        self.sum_wx_log_m = float(np.dot(self.wx, log_m))
        self.sum_wx_log_x = float(np.dot(self.wx, log_x))


def _loglik(theta: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray) -> tuple[float, FloatArray]:
    """Weighted log-likelihood of mean spends ``m`` over ``x`` purchases, and its gradient in (p, q, gamma)."""
    return _spend_loglik(theta, _Spend(x, m, w))


def _spend_loglik(theta: FloatArray, d: _Spend) -> tuple[float, FloatArray]:
    """:func:`_loglik` on prepared data.

    The density of the mean of ``x`` purchases (Fader & Hardie 2013)::

        f(m | x) = Gamma(px + q) / (Gamma(px) Gamma(q)) * gamma^q m^(px-1) x^(px) / (gamma + m x)^(px + q)
    """
    p, q, gam = theta
    pxl = p * d.x_levels
    wl = d.w_by_x
    log_xm = np.log(gam + d.mx)
    sum_w_log_xm = float(np.dot(d.w, log_xm))
    sum_wx_log_xm = float(np.dot(d.wx, log_xm))
    ll = (
        float(np.dot(wl, gammaln(pxl + q) - gammaln(pxl)))
        + d.n * (q * np.log(gam) - gammaln(q))
        + p * d.sum_wx_log_m - d.sum_w_log_m + p * d.sum_wx_log_x
        - p * sum_wx_log_xm - q * sum_w_log_xm
    )
    psi = digamma(pxl + q)
    g_p = float(np.dot(wl * d.x_levels, psi - digamma(pxl))) + d.sum_wx_log_m + d.sum_wx_log_x - sum_wx_log_xm
    g_q = float(np.dot(wl, psi)) - d.n * digamma(q) + d.n * np.log(gam) - sum_w_log_xm
    inv = 1.0 / (gam + d.mx)
    g_g = d.n * q / gam - p * float(np.dot(d.wx, inv)) - q * float(np.dot(d.w, inv))
    return ll, np.array([g_p, g_q, g_g])


class GammaGammaModel(Estimator):
    """Gamma-Gamma model: each purchase's value is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers.

    Fit only on customers with at least one repeat purchase (``frequency > 0``); ``monetary_value`` is their
    mean repeat-purchase value. Spend is assumed independent of the purchase process.

    Parameters
    ----------
    penalizer, tol, max_iter
        As :class:`~fairserve.value._base.Estimator` (the L2 penalty and the L-BFGS-B settings).

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "gamma"}`` at the optimum.
    log_likelihood_, n_customers_
        As :class:`~fairserve.value._base.Estimator`.

    Raises
    ------
    InfiniteMeanSpendError
        From :meth:`fit` when the maximum-likelihood ``q`` is at most 1, from :meth:`from_dict` and
        :meth:`conditional_expected_spend` for such parameters: the mean spend is then infinite.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: Using Iso-Value Curves for Customer Base
    Analysis". Journal of Marketing Research 42(4), 415-430.
    Fader, P. S. and Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value".
    http://brucehardie.com/notes/025/
    """

    PARAM_NAMES: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    def _check_params(self, params: dict[str, float], where: str) -> None:
        _check_q(params["q"], where)

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None) -> GammaGammaModel:
        """Fit by maximum likelihood on repeat buyers; ``weights`` counts identical customers.

        An optimum with ``q <= 1`` is refused (:class:`InfiniteMeanSpendError`) and leaves no parameters.
        """
        x, m = _check(frequency, monetary_value)
        if np.any(x == 0):
            raise FitError("the Gamma-Gamma model is fitted on repeat buyers only: drop rows with frequency 0")
        if np.any(m <= 0):
            raise FitError("monetary_value must be > 0 for every repeat buyer")
        (x, m), w = merge_rows([x, m], weights)
        data = _Spend(x, m, w)
        start = np.log(np.array([1.0, 1.0, max(float(np.average(m, weights=w)), 1e-6)]))
        return self._fit_ml(lambda theta: _spend_loglik(theta, data), data.n, start, "Gamma-Gamma")

    def conditional_expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Expected mean spend per purchase given ``x`` purchases averaging ``m`` (Fader & Hardie 2013).

        ``E[M | x, m] = p (gamma + x m) / (p x + q - 1)``: a weighted mean of the population mean
        ``p gamma / (q - 1)`` and the customer's own mean; the population mean when ``x = 0``.

        Raises
        ------
        InfiniteMeanSpendError
            When ``q <= 1`` (parameters set by hand): the population mean, and so this one, is not finite.
        """
        params = self._check_fitted()
        p, q, gam = params["p"], params["q"], params["gamma"]
        _check_q(q, "the parameters have")
        x, m = _check(frequency, monetary_value)
        return np.asarray(p * (gam + x * m) / (p * x + q - 1.0), dtype=np.float64)
