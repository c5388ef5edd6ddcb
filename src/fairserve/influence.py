"""Influence: a reach score from social profiles, as a percentile of the customer base; kept apart from value.

Nothing in :mod:`fairserve.value` reads this module. A policy may use the percentile for a head start, capped
(``influence.cap_min``), and may let it raise the tier only when the policy says so; every decision where it
played a part says so in its reasons.

The reach score
---------------
For a profile with ``f`` followers, engagement rate ``e`` (interactions per post divided by followers; a value
above 1 is read as interactions per post and divided by ``f``), a verified flag and a platform,

    score = log10(1 + f) * clip(sqrt(e / e0), 0.5, 2) * (1 + w_verified * verified) * w_platform

with ``e0 = 0.01`` (a 1% engagement rate counts as ordinary), ``w_verified = 0.1`` and small platform weights
(:data:`PLATFORM_WEIGHTS`, 0.9 to 1.1; unknown platforms 1.0). The log scale follows the practice of measuring
reach in orders of magnitude: 10,000 followers is "4", a million "6". Without engagement data the multiplier is
1. The percentile of a customer is the share of the *other* customers with a strictly lower score, so it is in
[0, 1], everyone with no followers is at 0 (and gets no head start), and the top customer is at 1.

Synthetic followers
-------------------
The demo data (CDNOW) has no social profiles, so :func:`synthetic_followers` draws follower counts from a
heavy-tailed mixture shaped like the measured Twitter follower distribution: Kwak, Lee, Park & Moon (2010),
"What is Twitter, a social network or a news media?", *WWW '10*, pp. 591-600, found the follower counts follow a
power law with exponent about 2.3 over most of their range, with a handful of accounts in the millions. Our
mixture: 30% have no followers (no account, or a dormant one); 62% a lognormal body (median 50, log-sd 1.3);
8% a Pareto tail from 1,000 with density exponent 2 (survival ``(1000/x)^1``), capped at 200 million.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.model import SocialProfile

__all__ = [
    "PLATFORM_WEIGHTS",
    "influence_percentiles",
    "reach_score",
    "reach_scores",
    "synthetic_followers",
]

PLATFORM_WEIGHTS: dict[str, float] = {
    "generic": 1.0,
    "twitter": 1.0,
    "x": 1.0,
    "instagram": 1.0,
    "tiktok": 1.0,
    "youtube": 1.1,
    "facebook": 0.9,
    "linkedin": 0.9,
}
"""Small per-platform weights on the reach score; any other platform weighs 1.0."""

REFERENCE_ENGAGEMENT = 0.01
VERIFIED_WEIGHT = 0.1

# the synthetic mixture (see the module docstring)
ZERO_SHARE = 0.30
TAIL_SHARE = 0.08
BODY_MEDIAN = 50.0
BODY_LOG_SD = 1.3
TAIL_MIN = 1000.0
TAIL_DENSITY_EXPONENT = 2.0
MAX_FOLLOWERS = 200_000_000


def _engagement_multiplier(followers: float, engagement: float | None) -> float:
    if engagement is None or not math.isfinite(engagement) or engagement <= 0:
        return 1.0
    rate = engagement / max(followers, 1.0) if engagement > 1.0 else engagement
    return min(2.0, max(0.5, math.sqrt(rate / REFERENCE_ENGAGEMENT)))


def reach_score(profile: SocialProfile) -> float:
    """The reach score of one profile (see the module docstring); 0 for a profile with no followers."""
    f = max(0.0, float(profile.followers))
    score = math.log10(1.0 + f) * _engagement_multiplier(f, profile.engagement)
    score *= 1.0 + VERIFIED_WEIGHT * bool(profile.verified)
    return score * PLATFORM_WEIGHTS.get(profile.platform.lower(), 1.0)


def reach_scores(profiles: pd.DataFrame) -> pd.Series:
    """Vectorised :func:`reach_score` over a frame with ``followers`` and optional ``engagement``, ``verified``,
    ``platform`` columns; same index.

    Raises
    ------
    FairserveError
        When there is no ``followers`` column or a follower count is negative.
    """
    if "followers" not in profiles.columns:
        raise FairserveError("social profiles need a 'followers' column")
    f = pd.to_numeric(profiles["followers"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    if (f < 0).any():
        raise FairserveError("follower counts must not be negative")
    score = np.log10(1.0 + f)
    if "engagement" in profiles.columns:
        e = pd.to_numeric(profiles["engagement"], errors="coerce").to_numpy(dtype=float)
        rate = np.where(e > 1.0, e / np.maximum(f, 1.0), e)
        mult = np.clip(np.sqrt(np.maximum(rate, 0.0) / REFERENCE_ENGAGEMENT), 0.5, 2.0)
        score = score * np.where(np.isfinite(e) & (e > 0), mult, 1.0)
    if "verified" in profiles.columns:
        verified = profiles["verified"].fillna(False).astype(bool).to_numpy()
        score = score * (1.0 + VERIFIED_WEIGHT * verified)
    if "platform" in profiles.columns:
        w = profiles["platform"].fillna("generic").astype(str).str.lower().map(PLATFORM_WEIGHTS)
        score = score * w.fillna(1.0).to_numpy(dtype=float)
    return pd.Series(score, index=profiles.index, name="reach_score")


def influence_percentiles(profiles: pd.DataFrame) -> pd.Series:
    """Each customer's reach as a percentile of the base, in [0, 1].

    Parameters
    ----------
    profiles : DataFrame
        Columns ``followers`` and optionally ``engagement``, ``verified``, ``platform``, ``customer_id``. With
        ``customer_id``, a customer with several profiles counts with their highest score and the result is
        indexed by ``customer_id``; otherwise it is aligned with ``profiles``' index.

    Returns
    -------
    Series named ``influence``: the share of the other customers whose score is strictly lower (0 for no
    followers, 1 for the top; ties share the lower value).
    """
    score = reach_scores(profiles)
    if "customer_id" in profiles.columns:
        score = score.groupby(profiles["customer_id"].astype(str).to_numpy()).max()
        score.index.name = "customer_id"
    n = len(score)
    if n <= 1:
        return pd.Series(np.zeros(n), index=score.index, name="influence")
    below = score.rank(method="min").to_numpy() - 1.0
    return pd.Series(below / (n - 1), index=score.index, name="influence")


def synthetic_followers(n: int, random_state: int | np.random.Generator | None = None) -> np.ndarray:
    """Draw ``n`` follower counts from the heavy-tailed mixture in the module docstring.

    Parameters
    ----------
    n : int
        How many customers.
    random_state : int, Generator or None
        Seed or generator (the same seed gives the same counts).

    Returns
    -------
    ndarray of int64, shape (n,).
    """
    if n < 0:
        raise FairserveError("n must not be negative")
    rng = np.random.default_rng(random_state)
    u = rng.random(n)
    body = np.exp(rng.normal(math.log(BODY_MEDIAN), BODY_LOG_SD, n))
    alpha = TAIL_DENSITY_EXPONENT - 1.0
    tail = TAIL_MIN * (1.0 - rng.random(n)) ** (-1.0 / alpha)
    out = np.where(u < ZERO_SHARE, 0.0, np.where(u < ZERO_SHARE + TAIL_SHARE, tail, np.maximum(body, 1.0)))
    return np.minimum(np.floor(out), MAX_FOLLOWERS).astype(np.int64)
