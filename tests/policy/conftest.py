"""CDNOW customers scored by the value model, with synthetic follower counts: the audit's real base."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairserve.datasets import cdnow_master
from fairserve.value import fit_value_model, score_customers, summarise


@pytest.fixture(scope="session")
def cdnow_scores() -> pd.DataFrame:
    """All 23,570 CDNOW customers scored over 12 months by BG/NBD + Gamma-Gamma on the whole log."""
    summary = summarise(cdnow_master(), period="week")
    return score_customers(summary.customers, fit_value_model(summary, "bgnbd"), horizon_months=12)


@pytest.fixture(scope="session")
def cdnow_scores_file(cdnow_scores: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scores") / "cdnow_scores.csv"
    cdnow_scores.to_csv(path, index=False)
    return path
