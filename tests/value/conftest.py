"""CDNOW calibration summaries (Fader, Hardie & Lee 2005): 2,357 customers, weeks, calibration to 1997-09-30."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from fairserve.datasets import cdnow_sample, dataset_path


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


@pytest.fixture(scope="session")
def cdnow_repeat_spend(cdnow) -> tuple[np.ndarray, np.ndarray]:
    """(x, mean repeat spend) of the repeat buyers, from the raw CDNOW sample log at full precision.

    Calibration ends 1997-09-30; purchases on the same day are one transaction; the first is not a repeat.
    The summary file's ``zbar`` is this rounded to cents.
    """
    log = cdnow_sample()
    log = log[log["date"] <= pd.Timestamp("1997-09-30")]
    daily = log.groupby(["customer_id", "date"], as_index=False)["amount"].sum().sort_values(["customer_id", "date"])
    repeats = daily[daily.groupby("customer_id").cumcount() > 0]
    spend = repeats.groupby("customer_id")["amount"].agg(["count", "mean"])
    # the same customers and counts as the papers' summary
    ids = [f"{i:04d}" for i in np.flatnonzero(cdnow.frequency > 0) + 1]
    assert spend.index.tolist() == ids
    assert np.array_equal(spend["count"].to_numpy(), cdnow.frequency[cdnow.frequency > 0])
    return spend["count"].to_numpy(dtype=float), spend["mean"].to_numpy(dtype=float)


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
