"""Profit = CLV x margin - discounted expected cost to serve, with contact rates from a contact history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairserve.errors import FairserveError, InputError
from fairserve.value.profit import DEFAULT_MARGIN, contact_rates, profit_scores

SCORES = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [100.0, 50.0, 0.0], "p_alive": [1.0, 0.5, 0.2]})
HISTORY = pd.DataFrame({
    "customer_id": ["a", "a", "a", "b", "x"],
    "channel": ["phone", "phone", "email", "Chat", "phone"],
    "date": ["2024-01-01", "2024-02-15", "2024-03-01", "2024-06-30", "2024-12-31"],
})


def test_default_margin_and_no_contacts() -> None:
    out = profit_scores(SCORES)
    assert (out["margin"] == DEFAULT_MARGIN).all()
    assert out["cost_to_serve"].eq(0).all()
    np.testing.assert_allclose(out["profit"], SCORES["clv"] * DEFAULT_MARGIN)


def test_own_margin_column_wins_over_the_default() -> None:
    out = profit_scores(SCORES.assign(margin=[0.5, np.nan, 0.1]), margin=0.2)
    assert out["margin"].tolist() == [0.5, 0.2, 0.1]
    assert out["profit"].tolist() == pytest.approx([50.0, 10.0, 0.0])


def test_contact_rates_are_per_month_of_history() -> None:
    rates = contact_rates(HISTORY, months=12)
    assert rates.loc["a", "phone"] == pytest.approx(2 / 12)
    assert rates.loc["a", "email"] == pytest.approx(1 / 12)
    assert rates.loc["b", "chat"] == pytest.approx(1 / 12)  # channel names are lower-cased
    span = contact_rates(HISTORY)  # 2024-01-01 .. 2024-12-31: 366 days
    assert span.loc["a", "phone"] == pytest.approx(2 / (366 / (365.25 / 12)))


def test_undiscounted_cost_to_serve_scales_with_horizon_and_p_alive() -> None:
    rates = contact_rates(HISTORY, months=12)
    costs = {"phone": 6.0, "email": 2.0, "chat": 3.0}
    out = profit_scores(SCORES, rates=rates, channel_cost=costs, horizon_months=6, discount_rate=0.0)
    a_cost = (2 / 12 * 6.0 + 1 / 12 * 2.0) * 6 * 1.0
    b_cost = (1 / 12 * 3.0) * 6 * 0.5
    assert out["cost_to_serve"].tolist() == pytest.approx([a_cost, b_cost, 0.0])
    assert out["expected_contacts"].tolist() == pytest.approx([3 / 12 * 6, 1 / 12 * 6 * 0.5, 0.0])
    assert out["profit"].tolist() == pytest.approx([30.0 - a_cost, 15.0 - b_cost, 0.0])


def test_cost_to_serve_is_discounted_month_by_month_like_the_clv() -> None:
    rates = contact_rates(HISTORY, months=12)
    costs = {"phone": 6.0, "email": 2.0, "chat": 3.0}
    out = profit_scores(SCORES, rates=rates, channel_cost=costs, horizon_months=6, discount_rate=0.02)
    # customer a: 2 phone + 1 email contacts a year, alive; b: 1 chat contact a year, p_alive 0.5
    a_month, b_month = 2 / 12 * 6.0 + 1 / 12 * 2.0, 1 / 12 * 3.0 * 0.5
    a_cost = sum(a_month / 1.02**m for m in range(1, 7))
    b_cost = sum(b_month / 1.02**m for m in range(1, 7))
    assert out["cost_to_serve"].tolist() == pytest.approx([a_cost, b_cost, 0.0], rel=1e-12)
    assert a_cost < a_month * 6  # really discounted
    assert out["expected_contacts"].tolist() == pytest.approx([3 / 12 * 6, 1 / 12 * 6 * 0.5, 0.0])  # a count
    assert out["profit"].tolist() == pytest.approx([30.0 - a_cost, 15.0 - b_cost, 0.0], rel=1e-12)


def test_cost_to_serve_takes_the_default_discount_rate_of_the_clv() -> None:
    rates = contact_rates(HISTORY, months=12)
    out = profit_scores(SCORES, rates=rates, channel_cost={"phone": 12.0, "email": 0.0, "chat": 0.0})
    month = 2 / 12 * 12.0  # customer a: 2 phone contacts a year at 12 each
    assert out["cost_to_serve"].iloc[0] == pytest.approx(sum(month / 1.01**m for m in range(1, 13)), rel=1e-12)


def test_cost_to_serve_refuses_a_fractional_horizon_or_a_rate_at_most_minus_one() -> None:
    rates = contact_rates(HISTORY, months=12)
    with pytest.raises(FairserveError, match="horizon_months"):
        profit_scores(SCORES, rates=rates, horizon_months=1.5)  # type: ignore[arg-type]
    with pytest.raises(FairserveError, match="discount_rate"):
        profit_scores(SCORES, rates=rates, discount_rate=-1.0)


def test_channel_without_cost_is_an_error() -> None:
    with pytest.raises(FairserveError, match="no cost per contact for channel"):
        profit_scores(SCORES, rates=contact_rates(HISTORY, months=1), channel_cost={"phone": 1.0})


def test_contact_history_missing_column_and_bad_date() -> None:
    with pytest.raises(InputError, match="channel"):
        contact_rates(HISTORY.drop(columns="channel"), source="contacts.csv")
    with pytest.raises(InputError, match="row 2"):
        contact_rates(HISTORY.assign(date=["2024-01-01", "soon", "2024-01-01", "2024-01-01", "2024-01-01"]))


def test_margin_outside_unit_interval_is_refused() -> None:
    with pytest.raises(FairserveError, match="margin"):
        profit_scores(SCORES, margin=1.5)
