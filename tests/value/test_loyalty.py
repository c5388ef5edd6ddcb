"""Loyalty: the documented weighted combination, its parts, and the rescaling when a part is missing."""

from __future__ import annotations

import pandas as pd
import pytest

from fairserve.errors import FairserveError
from fairserve.value.loyalty import LOYALTY_WEIGHTS, loyalty_scores


def facts(**extra: list[object]) -> pd.DataFrame:
    base = {"tenure_days": [0, 730, 3650], "active_months": [1, 6, 12], "window_months": [1, 12, 12]}
    return pd.DataFrame({**base, **extra})


def test_weights_sum_to_one() -> None:
    assert sum(LOYALTY_WEIGHTS.values()) == pytest.approx(1.0)


def test_tenure_and_activity_only_rescale_their_weights() -> None:
    out = loyalty_scores(facts())
    assert list(out.columns) == ["tenure_years", "active_share", "loyalty"]
    assert out["tenure_years"].tolist() == pytest.approx([0.0, 730 / 365.25, 3650 / 365.25])
    assert out["active_share"].tolist() == [1.0, 0.5, 1.0]
    w_t, w_a = LOYALTY_WEIGHTS["tenure"], LOYALTY_WEIGHTS["activity"]
    expected = [(w_t * 0 + w_a * 1) / (w_t + w_a),
                (w_t * (730 / 365.25) / 5 + w_a * 0.5) / (w_t + w_a),
                1.0]
    assert out["loyalty"].tolist() == pytest.approx(expected)


def test_products_and_status_enter_when_present() -> None:
    out = loyalty_scores(facts(products_held=[1, 5, 10], status=["basic", "gold", "silver"]))
    assert out["status_score"].tolist() == [0.0, 1.0, 0.5]  # basic < silver < gold
    w = LOYALTY_WEIGHTS
    first = (w["activity"] * 1 + w["products"] * 0.2 + w["status"] * 0.0) / sum(w.values())
    assert out["loyalty"].iloc[0] == pytest.approx(first)
    assert out["loyalty"].iloc[2] == pytest.approx((w["tenure"] + w["activity"] + w["products"]
                                                    + w["status"] * 0.5) / sum(w.values()))
    assert out["loyalty"].between(0, 1).all()


def test_more_tenure_and_activity_never_lower_loyalty() -> None:
    out = loyalty_scores(pd.DataFrame({"tenure_days": [100, 200, 200], "active_months": [3, 3, 4],
                                       "window_months": [12, 12, 12]}))
    assert out["loyalty"].is_monotonic_increasing


def test_unknown_status_tier_asks_for_the_ladder() -> None:
    with pytest.raises(FairserveError, match="'vip' are not on the status ladder"):
        loyalty_scores(facts(status=["vip", "basic", "gold"]))
    out = loyalty_scores(facts(status=["vip", "basic", "gold"]), status_ladder=["basic", "gold", "vip"])
    assert out["status_score"].tolist() == [1.0, 0.0, 0.5]


def test_missing_status_uses_the_other_parts() -> None:
    out = loyalty_scores(facts(status=[None, "basic", "gold"]))
    alone = loyalty_scores(facts())
    assert out["loyalty"].iloc[0] == pytest.approx(alone["loyalty"].iloc[0])


def test_bad_weights_are_refused() -> None:
    with pytest.raises(FairserveError):
        loyalty_scores(facts(), weights={"tenure": -1.0})
    with pytest.raises(FairserveError):
        loyalty_scores(facts(), weights={"tenure": 0.0, "activity": 0.0})


def test_a_part_of_the_base_scores_as_the_whole_when_given_the_tiers_in_use() -> None:
    whole = facts(status=["basic", "gold", "platinum"])
    part = whole.iloc[[1]]  # gold alone: on its own ladder one tier carries no ranking, status 1.0
    assert loyalty_scores(part)["status_score"].iloc[0] == 1.0
    scored = loyalty_scores(part, status_in_use=["basic", "gold", "platinum"])
    pd.testing.assert_frame_equal(scored, loyalty_scores(whole).iloc[[1]])
    assert scored["status_score"].iloc[0] == 0.5
