"""The Pareto/NBD model of repeat purchasing, fitted by maximum likelihood with an analytic gradient.

We write our own rather than use a library (why: :mod:`fairserve.value._base`); ``lifetimes`` also fits this model
with a numerical gradient customer by customer. The likelihood's hard part is the Gauss hypergeometric term of
Fader & Hardie (2005). With ``a = r + s + x`` it is ``2F1(a, b; a + 1; z) = sum_n a / (a + n) (b)_n z^n / n!``,
so the difference of the two 2F1 terms is one series of positive terms, summed here in log space together with its
derivatives in every parameter (so value and gradient are exact to the same truncation). Following the note, the
series is written around ``max(alpha, beta)``, which keeps ``0 <= z < 1``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from fairserve.value._base import FitError, FloatArray, TransactionEstimator, check_rfm, merge_rows

__all__ = ["ParetoNBDModel"]

_SERIES_TOL = 1e-17
_SERIES_MAX_TERMS = 200_000


class _Series:
    """``S = sum_n (b)_n / n! * z^n * (1 - rho^(a+n)) / (a+n)`` and its partial derivatives, row by row.

    The likelihood's integral term is ``u1^a * S`` with ``u1 = 1 / (M + t_x)``, ``M = max(alpha, beta)``,
    ``z = |alpha - beta| * u1`` and ``rho = (M + t_x) / (M + T)``.
    """

    def __init__(self, a: FloatArray, b: FloatArray, z: FloatArray, log_rho: FloatArray) -> None:
        term_p = np.ones_like(a)  # (b)_n z^n / n!
        term_q = np.zeros_like(a)  # n (b)_n z^(n-1) / n!  (d term_p / dz)
        sigma = np.zeros_like(a)  # digamma(b + n) - digamma(b)
        s = np.zeros_like(a)
        ds_da, ds_db, ds_dz, ds_drho = (np.zeros_like(a) for _ in range(4))
        rho = np.exp(log_rho)
        empty = log_rho == 0.0  # t_x == T: the integral is over an empty interval, S = 0
        for n in range(_SERIES_MAX_TERMS):
            an = a + n
            e = np.exp(an * log_rho)  # rho^(a+n)
            h = -np.expm1(an * log_rho) / an
            dh_da = (-e * log_rho * an - (1.0 - e)) / an**2
            dh_drho = -e / rho
            piece = term_p * h
            s += piece
            ds_da += term_p * dh_da
            ds_db += term_p * sigma * h
            ds_dz += term_q * h
            ds_drho += term_p * dh_drho
            ratio = np.maximum(z, (b + n) / (n + 1.0) * z)
            if n > 2 and np.all(ratio < 1.0):
                tail = (term_q + piece) * (1.0 + n) * ratio / (1.0 - ratio) ** 2
                if np.all((tail <= _SERIES_TOL * s) | empty):
                    break
            term_q = (b + n) * term_p
            term_p = term_p * (b + n) / (n + 1.0) * z
            sigma = sigma + 1.0 / (b + n)
        else:  # pragma: no cover - only for z within ~1e-5 of 1, i.e. absurd parameter values
            raise FitError("Pareto/NBD: the hypergeometric series did not converge")
        self.s, self.ds_da, self.ds_db, self.ds_dz, self.ds_drho = s, ds_da, ds_db, ds_dz, ds_drho


def _terms(
    theta: FloatArray, x: FloatArray, t_x: FloatArray, t_cal: FloatArray, *, grad: bool
) -> tuple[FloatArray, FloatArray, FloatArray, list[FloatArray]]:
    """Per row: the two log-terms ``l1``, ``l2`` of the likelihood bracket, their log-sum, and their gradients.

    ``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [exp(l1) + exp(l2)]`` with ``l1 = -(r+x) ln(alpha+T) - s
    ln(beta+T)`` (alive at T) and ``l2 = ln s + ln integral_{t_x}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du``.
    Returned gradients are d(log bracket)/d(r, alpha, s, beta).
    """
    r, alpha, s, beta = theta
    rx = r + x
    a = r + s + x
    alpha_ge = alpha >= beta
    big = alpha if alpha_ge else beta
    b = np.full_like(x, s + 1.0) if alpha_ge else rx
    m_tx, m_t = big + t_x, big + t_cal
    z = abs(alpha - beta) / m_tx
    log_rho = np.log(m_tx) - np.log(m_t)
    ser = _Series(a, b, z, log_rho)
    l1 = -rx * np.log(alpha + t_cal) - s * np.log(beta + t_cal)
    with np.errstate(divide="ignore"):
        l2 = np.log(s) - a * np.log(m_tx) + np.log(ser.s)
    total = np.logaddexp(l1, l2)
    if not grad:
        return l1, l2, total, []
    pi1 = np.exp(l1 - total)
    pi2 = np.exp(l2 - total)
    inv_s = np.divide(1.0, ser.s, out=np.zeros_like(ser.s), where=ser.s > 0)
    dls_da, dls_db = ser.ds_da * inv_s, ser.ds_db * inv_s
    dls_dz, dls_drho = ser.ds_dz * inv_s, ser.ds_drho * inv_s
    rho = np.exp(log_rho)
    # d l2 / d params; the "big" side is the one the series is written around
    d2_r = -np.log(m_tx) + dls_da
    d2_s = 1.0 / s - np.log(m_tx) + dls_da
    d_big = -a / m_tx + dls_dz * (min(alpha, beta) + t_x) / m_tx**2 + dls_drho * rho * (t_cal - t_x) / (m_tx * m_t)
    d_small = -dls_dz / m_tx
    if alpha_ge:
        d2_s = d2_s + dls_db
        d2_alpha, d2_beta = d_big, d_small
    else:
        d2_r = d2_r + dls_db
        d2_alpha, d2_beta = d_small, d_big
    g_r = pi1 * -np.log(alpha + t_cal) + pi2 * d2_r
    g_alpha = pi1 * -rx / (alpha + t_cal) + pi2 * d2_alpha
    g_s = pi1 * -np.log(beta + t_cal) + pi2 * d2_s
    g_beta = pi1 * -s / (beta + t_cal) + pi2 * d2_beta
    return l1, l2, total, [g_r, g_alpha, g_s, g_beta]


class _Data:
    def __init__(self, x: FloatArray, t_x: FloatArray, t_cal: FloatArray, w: FloatArray) -> None:
        self.x, self.t_x, self.T, self.w = x, t_x, t_cal, w
        self.x_levels, inv = np.unique(x, return_inverse=True)
        self.w_by_x = np.bincount(inv.reshape(-1), weights=w, minlength=self.x_levels.shape[0])
        self.n = float(w.sum())


def _loglik(theta: FloatArray, d: _Data, *, grad: bool = True) -> tuple[float, FloatArray]:
    """Total weighted log-likelihood (Fader & Hardie 2005 note) and its gradient in (r, alpha, s, beta)."""
    r, alpha, s, beta = theta
    xl, wx = d.x_levels, d.w_by_x
    ll = float(np.dot(wx, gammaln(r + xl))) + d.n * (r * np.log(alpha) + s * np.log(beta) - gammaln(r))
    _, _, total, g = _terms(theta, d.x, d.t_x, d.T, grad=grad)
    ll += float(np.dot(d.w, total))
    if not grad:
        return ll, np.zeros(4)
    g_r = float(np.dot(wx, digamma(r + xl))) + d.n * (np.log(alpha) - digamma(r)) + float(np.dot(d.w, g[0]))
    g_alpha = d.n * r / alpha + float(np.dot(d.w, g[1]))
    g_s = d.n * np.log(beta) + float(np.dot(d.w, g[2]))
    g_beta = d.n * s / beta + float(np.dot(d.w, g[3]))
    return ll, np.array([g_r, g_alpha, g_s, g_beta])


class ParetoNBDModel(TransactionEstimator):
    """Pareto/NBD model: Poisson purchasing while alive, exponential lifetime, gamma heterogeneity in both.

    A customer buys at rate ``lambda ~ Gamma(r, alpha)`` and stays alive for an exponential time with rate
    ``mu ~ Gamma(s, beta)``. Fitted by maximum likelihood on the (frequency, recency, T) summary.

    Parameters
    ----------
    penalizer, tol, max_iter
        As :class:`~fairserve.value._base.Estimator` (the L2 penalty and the L-BFGS-B settings).
    period_days : float or None, default None
        Days per time unit of the summary (1 in days, 7 in weeks), as
        :class:`~fairserve.value._base.TransactionEstimator`; CLV converts its months with it.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}`` at the optimum.
    log_likelihood_, n_customers_
        As :class:`~fairserve.value._base.Estimator`.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting Your Customers: Who Are They and What
    Will They Do Next?". Management Science 33(1), 1-24.
    Fader, P. S. and Hardie, B. G. S. (2005). "A Note on Deriving the Pareto/NBD Model and Related Expressions".
    http://brucehardie.com/notes/009/
    """

    PARAM_NAMES: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
    ) -> ParetoNBDModel:
        """Fit by maximum likelihood; ``weights`` counts identical customers (rows are merged when None)."""
        x, t_x, t_cal = check_rfm(frequency, recency, T)
        (x, t_x, t_cal), w = merge_rows([x, t_x, t_cal], weights)
        data = _Data(x, t_x, t_cal, w)
        scale = max(float(np.average(t_cal, weights=w)), 1e-3)
        start = np.log(np.array([1.0, scale, 1.0, scale]))
        return self._fit_ml(
            lambda theta: _loglik(theta, data), data.n, start, "Pareto/NBD",
            loglik_value=lambda theta: float(_loglik(theta, data, grad=False)[0]),
        )

    def _theta(self) -> FloatArray:
        p = self._check_fitted()
        return np.array([p[k] for k in self.PARAM_NAMES])

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Probability each customer is still alive at ``T`` (Fader & Hardie 2005 note)."""
        return self._p_alive(*check_rfm(frequency, recency, T))

    def _p_alive(self, x: FloatArray, t_x: FloatArray, t_cal: FloatArray) -> FloatArray:
        l1, _, total, _ = _terms(self._theta(), x, t_x, t_cal, grad=False)
        return np.asarray(np.exp(l1 - total), dtype=np.float64)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Conditional expected purchases in ``(T, T + t]`` given the history (Fader & Hardie 2005 note)."""
        r, alpha, s, beta = self._theta()
        x, t_x, t_cal = check_rfm(frequency, recency, T)
        t = np.asarray(t, dtype=np.float64)
        head = (r + x) * (beta + t_cal) / (alpha + t_cal)
        return np.asarray(head * _survival_integral(s, beta + t_cal, t) * self._p_alive(x, t_x, t_cal))

    def expected_purchases_sum(
        self, horizons: ArrayLike, weights: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """``sum_k weights[k] * E[X(T, T + horizons[k]) | history]`` per customer, in one pass.

        P(alive), the costly part (a hypergeometric series per customer), is computed once, not once per horizon.
        """
        r, alpha, s, beta = self._theta()
        x, t_x, t_cal = check_rfm(frequency, recency, T)
        hs, ws = np.broadcast_arrays(np.asarray(horizons, dtype=np.float64), np.asarray(weights, dtype=np.float64))
        total = np.zeros_like(t_cal)
        for h, w in zip(hs.reshape(-1), ws.reshape(-1), strict=True):
            total += w * _survival_integral(s, beta + t_cal, np.asarray(h))
        head = (r + x) * (beta + t_cal) / (alpha + t_cal)
        return np.asarray(head * total * self._p_alive(x, t_x, t_cal), dtype=np.float64)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """Unconditional expected purchases in ``(0, t]`` for a new customer, E[X(t)] (SMC 1987)."""
        r, alpha, s, beta = self._theta()
        t = np.asarray(t, dtype=np.float64)
        return np.asarray(r / alpha * beta * _survival_integral(s, np.asarray(beta), t), dtype=np.float64)


def _survival_integral(s: float, base: FloatArray, t: FloatArray) -> FloatArray:
    """``(1 - (base / (base + t))^(s-1)) / (s - 1)``, with its limit ``ln((base + t) / base)`` at ``s = 1``."""
    log_ratio = np.log1p(t / base)
    if abs(s - 1.0) < 1e-10:
        return np.asarray(log_ratio)
    return np.asarray(-np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0))
