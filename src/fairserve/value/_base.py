"""What the customer-value estimators share: input checks, row merging, the optimiser, (de)serialisation.

Why we write our own likelihoods rather than call a library: ``lifetimes`` and ``btyd`` are archived, and
``pymc-marketing`` (a Bayesian toolkit on PyMC) needs Python >= 3.12 from release 0.19.4 on (0.19.2 is the last that
installs on Python 3.11; ``benchmarks/value.py`` compares against it); all of them evaluate the likelihood once per
customer, which is slow at a million customers. Here every model is fitted by maximum
likelihood on the *merged* summary (identical rows become one row with a weight), with analytic gradients and
SciPy's L-BFGS-B on log-parameters. ``tests/value`` holds each model against ``lifetimes`` on the same input.

The optimiser runs with the BLAS thread pool limited to one thread (``threadpoolctl``): threaded OpenBLAS makes
L-BFGS-B several times slower on problems this small (scipy issues 22438 and 23191). The limit holds for the fit
only and is restored after it; importing fairserve changes no environment variable.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits

from fairserve.errors import FairserveError

__all__ = ["FitError", "NotFittedError", "TransactionEstimator"]

FloatArray = NDArray[np.float64]
# objective(log_params) -> (mean negative log-likelihood incl. penalty, gradient w.r.t. log_params)
Objective = Callable[[FloatArray], tuple[float, FloatArray]]


class NotFittedError(FairserveError):
    """A model was asked to predict (or to be saved) before ``fit`` or ``from_dict`` gave it parameters."""


class FitError(FairserveError):
    """The likelihood could not be maximised, or the input cannot be fitted (empty, negative, recency > T)."""


def as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a 1-D float64 array; refuse NaN and infinities with a message naming ``name``."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise FitError(f"{name} has missing or infinite values")
    return arr


def check_rfm(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate an RFM summary: same lengths, frequency a count >= 0, 0 <= recency <= T, recency 0 when x = 0."""
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    t_cal = as_float_array(T, "T")
    x, t_x, t_cal = np.broadcast_arrays(x, t_x, t_cal)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise FitError("frequency must be a whole number of repeat purchases >= 0")
    if np.any(t_x < 0) or np.any(t_cal < 0):
        raise FitError("recency and T must be >= 0")
    if np.any(t_x > t_cal):
        raise FitError("recency is larger than T for some customers (recency is the age at the last purchase)")
    if np.any((x == 0) & (t_x != 0)):
        raise FitError("recency must be 0 for customers with no repeat purchase (frequency 0)")
    return x.astype(np.float64), t_x.astype(np.float64), t_cal.astype(np.float64)


def distinct_rows(columns: list[FloatArray]) -> tuple[list[FloatArray], NDArray[np.intp]]:
    """The distinct rows of ``columns`` (in order of first appearance) and each row's index among them.

    ``[u[inverse] for u in unique]`` gives ``columns`` back, so a function of these columns can be evaluated once
    per distinct row and gathered. Hash-based (``pandas.factorize``), so a million rows take a few hundredths of a
    second, unlike a sort.
    """
    n = columns[0].shape[0]
    inverse = np.zeros(n, dtype=np.intp)
    for col in columns:
        codes, levels = pd.factorize(col)
        inverse, _ = pd.factorize(inverse * len(levels) + codes)  # re-densified, so it never overflows
    size = int(inverse.max()) + 1 if n else 0
    first = np.empty(size, dtype=np.intp)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)  # the first row of each distinct row
    return [np.ascontiguousarray(col[first]) for col in columns], inverse.astype(np.intp, copy=False)


def _strictly_increasing(columns: list[FloatArray]) -> bool:
    """Whether the rows of ``columns`` are in strictly increasing lexicographic order (so all distinct)."""
    undecided = np.ones(max(columns[0].shape[0] - 1, 0), dtype=bool)  # rows i, i+1 equal in the columns so far
    greater = np.zeros_like(undecided)
    for col in columns:
        later, earlier = col[1:], col[:-1]
        greater |= undecided & (later > earlier)
        undecided &= later == earlier
    return bool(greater.all())


def merge_rows(columns: list[FloatArray], weights: ArrayLike | None) -> tuple[list[FloatArray], FloatArray]:
    """Merge identical rows of ``columns`` into distinct rows with summed weights.

    With ``weights=None`` every row counts once, so a million customers cost as much as their distinct rows. Given
    weights (counts of identical customers, or any non-negative case weights) are summed per distinct row too.
    """
    n = columns[0].shape[0]
    if n == 0:
        raise FitError("no customers to fit")
    if weights is None:
        w = np.ones(n)
    else:
        w = as_float_array(weights, "weights")
        if w.shape[0] != n:
            raise FitError(f"weights has {w.shape[0]} values for {n} customers")
        if np.any(w < 0) or w.sum() <= 0:
            raise FitError("weights must be >= 0 and not all 0")
    if _strictly_increasing(columns):  # already distinct and sorted, as the RFM query's compressed summary is
        keep = w > 0
        return [np.ascontiguousarray(np.asarray(col, dtype=np.float64)[keep]) for col in columns], w[keep]
    # lexsort + run boundaries: the same as np.unique(axis=0, return_inverse=True), ~10x faster at 1M rows
    stacked = np.column_stack(columns)
    order = np.lexsort(stacked.T[::-1])
    ordered = stacked[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=starts[1:])
    group = np.cumsum(starts) - 1
    merged = np.bincount(group, weights=w[order]).astype(np.float64)
    unique = ordered[starts]
    keep = merged > 0
    return [np.ascontiguousarray(unique[keep, j]) for j in range(unique.shape[1])], merged[keep]


def import_optimizer_meanwhile() -> threading.Thread:
    """Start importing ``scipy.optimize`` (which :func:`maximise` needs) on a thread, and return the thread.

    A command that summarises a big log before it fits calls this first: the import (a few tenths of a second,
    the fit stage of ``benchmarks/value_stages.py`` before this) then runs while the summary's
    reader and compiled loops work with Python's lock released, instead of after them. A later ``import`` of the
    module waits for this one to finish, and so does the summary's loading of numba's kernels where both need one
    module (``scipy.linalg``): Python's import locks are per module. The thread is not a daemon: a command that
    stops early (a refused log) lets the import finish rather than tearing it down half done.
    """
    thread = threading.Thread(target=importlib.import_module, args=("scipy.optimize",),
                              name="import scipy.optimize")
    thread.start()
    return thread


def maximise(
    objective: Objective, start: FloatArray, *, tol: float, max_iter: int, model: str
) -> tuple[FloatArray, float]:
    """Minimise ``objective`` over log-parameters with L-BFGS-B and its analytic gradient.

    Returns the parameters (not logged) and the objective at the optimum. Log-parameters are boxed to
    [-30, 30] so no step overflows ``exp``. BLAS runs on one thread during the fit (see the module docstring).
    """
    # imported here, not with the module: scipy.optimize is ~30 MiB and a few tenths of a second that only a
    # command that fits pays (and one may have it imported meanwhile: :func:`import_optimizer_meanwhile`)
    from scipy.optimize import minimize

    bounds = [(-30.0, 30.0)] * start.shape[0]
    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": tol, "gtol": tol},
        )
    if not np.isfinite(result.fun):
        raise FitError(f"{model}: the likelihood could not be evaluated ({result.message})")
    return np.exp(result.x), float(result.fun)


class Estimator:
    """The estimators' shared constructor, maximum-likelihood fit, ``to_dict``/``from_dict`` and fitted-state checks.

    scikit-learn's rules: ``__init__`` stores parameters only, ``fit`` returns self, learned values end in ``_``.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty ``penalizer * sum(params ** 2)`` added to the mean negative log-likelihood (as ``lifetimes``).
    tol : float, default 1e-10
        L-BFGS-B tolerance on the objective and the projected gradient.
    max_iter : int, default 2000
        Maximum L-BFGS-B iterations.

    Attributes
    ----------
    log_likelihood_ : float
        Total weighted log-likelihood at the optimum (the penalty excluded).
    n_customers_ : int
        Number of customers fitted (sum of the weights).
    """

    PARAM_NAMES: ClassVar[tuple[str, ...]] = ()
    params_: dict[str, float]
    log_likelihood_: float
    n_customers_: int

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-10, max_iter: int = 2000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    def _fit_ml(
        self,
        loglik: Callable[[FloatArray], tuple[float, FloatArray]],
        n: float,
        start: FloatArray,
        model: str,
        loglik_value: Callable[[FloatArray], float] | None = None,
    ) -> Self:
        """Maximise ``loglik(theta) -> (value, gradient)`` over ``n`` customers and store the fitted state.

        The objective is the mean negative log-likelihood plus ``penalizer * sum(theta**2)``, over log-parameters
        (the chain rule multiplies the gradient by ``theta``). ``loglik_value`` computes the value alone at the
        optimum when that is cheaper than value and gradient.
        """
        pen = float(self.penalizer)

        def objective(log_theta: FloatArray) -> tuple[float, FloatArray]:
            theta = np.exp(log_theta)
            ll, grad = loglik(theta)
            return -ll / n + pen * float(np.sum(theta**2)), (-grad / n + 2.0 * pen * theta) * theta

        theta, _ = maximise(objective, start, tol=self.tol, max_iter=self.max_iter, model=model)
        params = dict(zip(self.PARAM_NAMES, (float(v) for v in theta), strict=True))
        self._check_params(params, "the fit landed at")  # before storing: a refused fit leaves no parameters
        self.params_ = params
        self.log_likelihood_ = float(loglik_value(theta) if loglik_value is not None else loglik(theta)[0])
        self.n_customers_ = round(n)
        return self

    def _check_fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() or from_dict() first")
        return params

    def _check_params(self, params: dict[str, float], where: str) -> None:
        """Refuse parameters the model's predictions are not defined at (none by default).

        Called on the optimum of a fit (``where`` = "the fit landed at") and on parameters read back by
        :meth:`from_dict`; models with such a region override it and call it before predicting too.
        """

    def _init_kwargs(self) -> dict[str, Any]:
        return {"penalizer": self.penalizer, "tol": self.tol, "max_iter": self.max_iter}

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable record of the fitted model: name, params, log-likelihood, customers."""
        params = self._check_fitted()
        return {
            "model": type(self).__name__,
            "params": {k: float(params[k]) for k in self.PARAM_NAMES},
            "log_likelihood": float(self.log_likelihood_),
            "n_customers": int(self.n_customers_),
            "settings": self._init_kwargs(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Rebuild a fitted model from :meth:`to_dict` output (e.g. read back from ``MODEL.json``)."""
        if d.get("model") != cls.__name__:
            raise FairserveError(f"expected a saved {cls.__name__}, got {d.get('model')!r}")
        params = d.get("params", {})
        missing = [k for k in cls.PARAM_NAMES if k not in params]
        if missing:
            raise FairserveError(f"saved {cls.__name__} lacks parameter(s) {', '.join(missing)}")
        values = {k: float(params[k]) for k in cls.PARAM_NAMES}
        if not all(np.isfinite(v) and v > 0 for v in values.values()):
            raise FairserveError(f"saved {cls.__name__} has non-positive or non-finite parameters: {values}")
        model = cls(**d.get("settings", {}))
        model._check_params(values, "the saved model has")
        model.params_ = values
        model.log_likelihood_ = float(d.get("log_likelihood", float("nan")))
        model.n_customers_ = int(d.get("n_customers", 0))
        return model


class TransactionEstimator(Estimator):
    """An estimator of the purchase process (BG/NBD, Pareto/NBD): time is measured in periods of ``period_days``.

    The models themselves are unit-free (their rate parameters scale with the unit); ``period_days`` records the
    unit of the RFM summary they are fitted on, so that a horizon in days or months (:func:`discounted_clv
    <fairserve.value.clv.discounted_clv>`) is converted with the unit of the fit rather than a guessed default.

    Parameters
    ----------
    penalizer, tol, max_iter
        As :class:`Estimator`.
    period_days : float or None, default None
        Days per time unit of ``recency`` and ``T``: 1 for a summary in days, 7 in weeks. ``None`` when unknown;
        :func:`~fairserve.value.score.fit_value_model` sets it from the summary's period.
    """

    def __init__(
        self, penalizer: float = 0.0, tol: float = 1e-10, max_iter: int = 2000, period_days: float | None = None
    ) -> None:
        super().__init__(penalizer=penalizer, tol=tol, max_iter=max_iter)
        self.period_days = period_days  # checked where it is used (discounted_clv), as scikit-learn's rules ask

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "period_days": self.period_days}
