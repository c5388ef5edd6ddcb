"""CDNOW calibration summaries (Fader, Hardie & Lee 2005): 2,357 customers, weeks, calibration to 1997-09-30."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from fairserve.datasets import dataset_path


@dataclass(frozen=True)
class Summary:
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray  # mean repeat-purchase value (0 for customers with no repeat purchase)


@pytest.fixture(scope="session")
def cdnow() -> Summary:
    """The papers' CDNOW calibration summary in weeks, with mean repeat spend ``zbar``."""
    rfm = pd.read_csv(dataset_path("cdnow_customers_summary.csv"))
    spend = pd.read_csv(dataset_path("cdnow_customers_summary_with_transactions.csv"))
    assert len(rfm) == 2357
    # the two files describe the same customers; hold them to it before using zbar next to frequency
    assert np.array_equal(rfm["frequency"].to_numpy(), spend["x"].to_numpy())
    assert np.allclose(rfm["recency"].to_numpy(), spend["t_x"].to_numpy())
    return Summary(
        frequency=rfm["frequency"].to_numpy(dtype=float),
        recency=rfm["recency"].to_numpy(dtype=float),
        T=rfm["T"].to_numpy(dtype=float),
        monetary_value=spend["zbar"].to_numpy(dtype=float),
    )


def _central_differences(f: Callable[[np.ndarray], float], theta: np.ndarray, rel_step: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(theta)
    for i in range(theta.size):
        h = np.zeros_like(theta)
        h[i] = rel_step * theta[i]
        grad[i] = (f(theta + h) - f(theta - h)) / (2 * h[i])
    return grad


@pytest.fixture(scope="session")
def fd_gradient() -> Callable[..., np.ndarray]:
    """Central finite differences of a scalar function, step relative to each parameter."""
    return _central_differences
