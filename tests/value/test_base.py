"""The shared helpers of the value estimators: distinct rows, merged rows, the optimiser's BLAS threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from fairserve.value._base import distinct_rows, maximise, merge_rows


def test_distinct_rows_gathers_back_to_the_input_and_counts_like_numpy_unique():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 5_000).astype(float)
    t = rng.integers(0, 40, 5_000) / 7.0
    (ux, ut), inverse = distinct_rows([x, t])
    np.testing.assert_array_equal(ux[inverse], x)
    np.testing.assert_array_equal(ut[inverse], t)
    assert len(ux) == len(np.unique(np.column_stack([x, t]), axis=0))
    assert len(set(zip(ux.tolist(), ut.tolist(), strict=True))) == len(ux)  # each distinct row once


def test_distinct_rows_of_nothing_is_nothing():
    (u,), inverse = distinct_rows([np.array([], dtype=float)])
    assert u.shape == (0,) and inverse.shape == (0,)


def test_merge_rows_sums_the_weights_of_identical_rows():
    (x, t), w = merge_rows([np.array([1.0, 0.0, 1.0, 1.0]), np.array([2.0, 0.0, 2.0, 3.0])], [1, 2, 3, 4])
    np.testing.assert_array_equal(x, [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(t, [0.0, 2.0, 3.0])
    np.testing.assert_array_equal(w, [2.0, 4.0, 4.0])


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_the_fit_runs_blas_on_one_thread_and_restores_the_callers_setting():
    seen: list[list[int]] = []

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        seen.append(_blas_threads())
        return float(np.sum((theta - 1.0) ** 2)), 2.0 * (theta - 1.0)

    np.ones(2) @ np.ones(2)  # make sure NumPy's BLAS is loaded
    with threadpool_limits(limits=2, user_api="blas"):  # the caller's choice: more than one thread
        assert set(_blas_threads()) == {2}
        theta, _ = maximise(objective, np.zeros(3), tol=1e-12, max_iter=100, model="test")
        assert set(_blas_threads()) == {2}  # given back after the fit
    np.testing.assert_allclose(np.log(theta), 1.0, rtol=1e-6)
    assert seen and all(threads == [1] * len(threads) for threads in seen)


def test_importing_fairserve_changes_no_environment_variable():
    # Without OPENBLAS_NUM_THREADS set (the Makefile exports it), as a user's own script runs.
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    code = (
        "import json, os; before = dict(os.environ); "
        "import fairserve, fairserve.value, fairserve.policy; after = dict(os.environ); "
        "print(json.dumps(sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert json.loads(out.stdout) == []


def test_the_optimizer_imported_meanwhile_is_the_one_the_fit_uses() -> None:
    """``import_optimizer_meanwhile`` imports ``scipy.optimize`` on a thread that a command does not have to wait
    for; once it is done the module is loaded, and a fit after it works as before. In a fresh interpreter, so
    that the module is not loaded already."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from fairserve.value import BetaGeoModel, import_optimizer_meanwhile\n"
        "assert 'scipy.optimize' not in sys.modules\n"
        "thread = import_optimizer_meanwhile()\n"
        "assert not thread.daemon\n"
        "thread.join(timeout=60)\n"
        "assert not thread.is_alive() and 'scipy.optimize' in sys.modules\n"
        "model = BetaGeoModel().fit([0, 1, 2, 5, 0, 3], [0.0, 10.0, 20.0, 30.0, 0.0, 25.0], [40.0] * 6)\n"
        "print(sorted(model.params_))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['a', 'alpha', 'b', 'r']"
