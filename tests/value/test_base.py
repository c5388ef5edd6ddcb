"""The shared helpers of the value estimators: distinct rows and merged rows."""

from __future__ import annotations

import numpy as np

from fairserve.value._base import distinct_rows, merge_rows


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
