"""Accounts (B2B): roll customers (people, sites, contracts) up to the organisation that pays.

In business markets the unit of value is the account, not the contact person (Kumar, Lemon & Parasuraman 2006,
"Managing customers for value", J. Service Research 9(1)). An account's CLV, profit and expected spend are the sums
over its customers; its loyalty is either the highest of its customers' (``"max"``: the account is as loyal as
its most loyal relationship) or their CLV-weighted mean (``"weighted"``). The per-customer table is already small
(one row per customer), so this is a vectorised pandas group-by.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError

__all__ = ["account_scores", "attach_account_scores"]

_SUMMED = ("clv", "profit", "expected_spend", "expected_purchases", "cost_to_serve")


def account_scores(scores: pd.DataFrame, *, loyalty: Literal["max", "weighted"] = "max") -> pd.DataFrame:
    """One row per account: ``account, customers, clv, profit, ... (sums), loyalty, value_percentile``.

    Customers without an account are left out. ``value_percentile`` is the account's CLV percentile among
    accounts (share of accounts with CLV at most its own).
    """
    if "account" not in scores:
        raise FairserveError("the scores have no 'account' column: give --account-col to roll up accounts")
    if loyalty not in ("max", "weighted"):
        raise FairserveError(f"account loyalty must be 'max' or 'weighted', not {loyalty!r}")
    frame = scores[scores["account"].notna()]
    grouped = frame.groupby("account", sort=True)
    out = grouped.size().rename("customers").to_frame()
    for col in _SUMMED:
        if col in frame:
            out[col] = grouped[col].sum()
    if "loyalty" in frame:
        if loyalty == "max":
            out["loyalty"] = grouped["loyalty"].max()
        else:
            weight = frame["clv"].clip(lower=0.0)
            num = (frame["loyalty"] * weight).groupby(frame["account"]).sum()
            den = weight.groupby(frame["account"]).sum()
            plain = grouped["loyalty"].mean()
            out["loyalty"] = np.where(den > 0, num / den.where(den > 0), plain)
    if "clv" in out:
        out["value_percentile"] = out["clv"].rank(method="max", pct=True)
    return out.reset_index()


def attach_account_scores(scores: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Add ``account_clv``, ``account_profit``, ``account_loyalty``, ``account_customers`` to each customer row."""
    keep = {"clv": "account_clv", "profit": "account_profit", "loyalty": "account_loyalty",
            "customers": "account_customers", "value_percentile": "account_value_percentile"}
    cols = {k: v for k, v in keep.items() if k in accounts}
    table = accounts.set_index("account")[list(cols)].rename(columns=cols)
    return scores.join(table, on="account")
