"""Influence: log-scaled reach, percentiles in [0, 1], and a heavy-tailed synthetic follower count."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairserve.errors import FairserveError
from fairserve.influence import influence_percentiles, reach_score, reach_scores, synthetic_followers
from fairserve.model import SocialProfile


def test_reach_is_log_scaled_with_small_verified_and_platform_weights() -> None:
    assert reach_score(SocialProfile("a", followers=0)) == 0.0
    assert reach_score(SocialProfile("a", followers=9_999)) == pytest.approx(4.0)
    assert reach_score(SocialProfile("a", followers=999_999)) == pytest.approx(6.0)
    assert reach_score(SocialProfile("a", followers=9_999, verified=True)) == pytest.approx(4.4)
    assert reach_score(SocialProfile("a", platform="YouTube", followers=9_999)) == pytest.approx(4.4)
    # engagement: 4% is twice the reference multiplier (sqrt(4)), capped at 2; 400 per post on 10k followers too
    assert reach_score(SocialProfile("a", followers=9_999, engagement=0.04)) == pytest.approx(8.0)
    assert reach_score(SocialProfile("a", followers=9_999, engagement=1.0)) == pytest.approx(8.0)
    assert reach_score(SocialProfile("a", followers=9_999, engagement=0.0001)) == pytest.approx(2.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**8), st.one_of(st.none(), st.floats(0.0001, 5000)), st.booleans(),
                          st.sampled_from(["x", "instagram", "facebook", "mastodon"])), min_size=1, max_size=40))
def test_vectorised_reach_equals_the_scalar_and_percentiles_are_ranks_in_the_unit_interval(rows: list) -> None:
    frame = pd.DataFrame(rows, columns=["followers", "engagement", "verified", "platform"])
    vec = reach_scores(frame).to_numpy()
    scalar = [reach_score(SocialProfile("h", p, f, e, v)) for f, e, v, p in rows]
    np.testing.assert_allclose(vec, scalar, rtol=1e-12)
    pct = influence_percentiles(frame)
    assert ((pct >= 0) & (pct <= 1)).all()
    # monotone in the score; nobody with no followers gets above 0; the top is 1 when it is alone at the top
    order = np.argsort(vec, kind="stable")
    assert np.all(np.diff(pct.to_numpy()[order]) >= 0)
    assert (pct[frame["followers"] == 0] == 0).all()
    if len(rows) > 1 and (vec == vec.max()).sum() == 1:
        assert pct.iloc[int(np.argmax(vec))] == 1.0


def test_percentiles_take_a_customers_best_profile() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "followers": [10, 100_000, 50, 0]})
    pct = influence_percentiles(frame)
    assert pct.to_dict() == {"a": 1.0, "b": 0.5, "c": 0.0}


def test_bad_profiles_are_refused() -> None:
    with pytest.raises(FairserveError, match="followers"):
        reach_scores(pd.DataFrame({"fans": [1]}))
    with pytest.raises(FairserveError, match="negative"):
        reach_scores(pd.DataFrame({"followers": [-1]}))


def test_synthetic_followers_are_reproducible_and_heavy_tailed() -> None:
    a = synthetic_followers(200_000, 42)
    assert np.array_equal(a, synthetic_followers(200_000, 42))
    assert not np.array_equal(a, synthetic_followers(200_000, 43))
    assert a.dtype == np.int64 and a.min() == 0
    zero = (a == 0).mean()
    assert 0.28 < zero < 0.32  # a large share have none
    assert 20 <= np.median(a) <= 60  # most have few
    assert a.max() >= 1_000_000  # a handful have millions
    assert 0.00002 < (a >= 1_000_000).mean() < 0.0004
    # the tail: the survival function from 10^4 to 10^6 falls like x^-(2-1), slope -1 on log-log axes
    xs = np.array([1e4, 1e5, 1e6])
    surv = np.array([(a >= x).mean() for x in xs])
    slope = np.polyfit(np.log10(xs), np.log10(surv), 1)[0]
    assert -1.15 < slope < -0.85
    assert math.isclose(np.mean(a >= 1000), 0.08 + 0.62 * np.mean(np.exp(np.random.default_rng(0).normal(
        math.log(50), 1.3, 400_000)) >= 1000), abs_tol=0.005)
