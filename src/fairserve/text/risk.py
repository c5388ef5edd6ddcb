"""Reputational risk of a public post: negativity x reach, the same score the policy reads.

The policy (``[risk]`` in a policy file, :class:`fairserve.policy.schema.Risk`) scores a public contact as

    risk = log10(1 + audience) x negativity,   negativity = max(0, -sentiment)

and flags it at ``risk >= threshold`` (3.0 by default). This module computes that score for posts, where the
audience is built from what a post carries:

    audience = followers x (2 if verified else 1) + engagement_weight x engagement

``engagement`` is reposts + replies + likes (each repost puts the post before another audience; 100 viewers each
is a documented assumption, not a measurement). Hand the post to the policy with ``Contact.reach = audience`` and
the policy computes exactly the score here; :func:`risk_score` reuses the formula, and a test holds the two
together through ``decide()``.

A flagged post goes to the social-care team's queue (its own SLA). It is **not** service priority: whether a
flag also gives the customer a (capped) head start in the service queue is the policy's ``risk.head_start``, shown
in the decision's reasons and measured by the simulator. The log makes reach count by orders of magnitude: a
furious post to 1,000,000 followers (log 6) scores 6 x negativity, one to 100 followers 2 x negativity. Cf.
Bakshy et al. 2011, *Everyone's an Influencer: Quantifying Influence on Twitter*, WSDM (cascade size grows with
followers, with diminishing returns).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_THRESHOLD", "ENGAGEMENT_WEIGHT", "audience", "risk_score", "score_posts"]

DEFAULT_THRESHOLD = 3.0
ENGAGEMENT_WEIGHT = 100.0


def audience(followers: Any, engagement: Any = 0.0, verified: Any = False,
             engagement_weight: float = ENGAGEMENT_WEIGHT) -> np.ndarray:
    """People a post may reach: ``followers x (2 if verified) + engagement_weight x engagement`` (NaN as 0)."""
    f = np.nan_to_num(np.asarray(followers, dtype=float), nan=0.0).clip(min=0.0)
    e = np.nan_to_num(np.asarray(engagement, dtype=float), nan=0.0).clip(min=0.0)
    v = np.asarray(verified, dtype=bool)
    return f * np.where(v, 2.0, 1.0) + engagement_weight * e


def risk_score(audience_: Any, sentiment: Any) -> np.ndarray:
    """``log10(1 + audience) x max(0, -sentiment)``: the policy's formula (``policy/evaluator.py``)."""
    a = np.maximum(0.0, np.asarray(audience_, dtype=float))
    neg = np.maximum(0.0, -np.nan_to_num(np.asarray(sentiment, dtype=float), nan=0.0))
    return np.log10(1.0 + a) * neg


def score_posts(posts: pd.DataFrame, sentiment_score: Any, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Audience, risk and flag for each post.

    ``posts`` may carry ``followers``, ``reposts``, ``replies``, ``likes``, ``verified`` and ``public``
    (missing columns read as 0 / False / public). Only public posts are flagged, as in the policy.
    """
    def col(name: str, default: Any) -> pd.Series:
        if name in posts.columns:
            return posts[name]
        return pd.Series(default, index=posts.index)

    engagement = sum(pd.to_numeric(col(c, 0), errors="coerce").fillna(0) for c in ("reposts", "replies", "likes"))
    verified = col("verified", False).map(lambda v: str(v).strip().lower() in {"1", "true", "yes", "y"})
    public = col("public", True).map(lambda v: str(v).strip().lower() not in {"0", "false", "no", "n"})
    aud = audience(pd.to_numeric(col("followers", 0), errors="coerce"), engagement, verified)
    score = risk_score(aud, sentiment_score)
    return pd.DataFrame({"audience": aud, "risk": np.round(score, 4),
                         "risk_flag": public.to_numpy(dtype=bool) & (score >= threshold)}, index=posts.index)
