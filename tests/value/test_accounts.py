"""B2B roll-up: account sums, loyalty max or CLV-weighted mean, customer counts."""

from __future__ import annotations

import pandas as pd
import pytest

from fairserve.errors import FairserveError
from fairserve.value.accounts import account_scores, attach_account_scores

SCORES = pd.DataFrame({
    "customer_id": ["1", "2", "3", "4"],
    "account": ["acme", "acme", "zeta", None],
    "clv": [100.0, 300.0, 50.0, 999.0],
    "profit": [30.0, 90.0, 10.0, 1.0],
    "loyalty": [0.2, 0.6, 0.9, 1.0],
})


def test_sums_counts_and_max_loyalty() -> None:
    out = account_scores(SCORES).set_index("account")
    assert list(out.index) == ["acme", "zeta"]  # customers without an account are left out
    assert out.loc["acme", "customers"] == 2
    assert out.loc["acme", "clv"] == 400.0 and out.loc["acme", "profit"] == 120.0
    assert out.loc["acme", "loyalty"] == 0.6
    assert out.loc["acme", "value_percentile"] == 1.0 and out.loc["zeta", "value_percentile"] == 0.5


def test_weighted_loyalty_is_clv_weighted() -> None:
    out = account_scores(SCORES, loyalty="weighted").set_index("account")
    assert out.loc["acme", "loyalty"] == pytest.approx((0.2 * 100 + 0.6 * 300) / 400)
    assert out.loc["zeta", "loyalty"] == pytest.approx(0.9)


def test_attach_puts_account_totals_on_each_customer() -> None:
    out = attach_account_scores(SCORES, account_scores(SCORES))
    assert out["account_clv"].tolist()[:3] == [400.0, 400.0, 50.0]
    assert pd.isna(out["account_clv"].iloc[3])
    assert out["account_customers"].tolist()[:3] == [2, 2, 1]


def test_no_account_column_is_an_error() -> None:
    with pytest.raises(FairserveError, match="--account-col"):
        account_scores(SCORES.drop(columns="account"))
