"""Social listening: what the audience says over time, which topics are rising, the top risks and the anecdotes.

:func:`listen` takes classified posts (the output of :class:`~fairserve.text.classify.TextTriage` joined to the
posts, with ``date``) and returns a :class:`Listening` of DataFrames that ``report/listening.py`` draws.

**Rising topics.** A topic is rising when its share of the posts in the recent window (the last ``recent_days``
days of the data) is at least ``min_ratio`` times its share before, and the two-proportion z statistic (pooled
standard error; Agresti 2013, *Categorical Data Analysis*, sec. 3.1) is at least ``min_z``, with at least
``min_posts`` posts on the topic in the window. Shares, not counts, so a day with more posts of every kind raises
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairserve.text.anecdotes import representative_posts

__all__ = ["Listening", "listen", "over_time", "rising_topics"]


def over_time(posts: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """Posts, negative / positive share and mean sentiment score per period (``freq``: pandas offset alias)."""
    dates = pd.to_datetime(posts["date"]).dt.tz_localize(None).dt.to_period(freq).dt.start_time
    g = posts.assign(_p=dates, _neg=posts["sentiment"] == "negative", _pos=posts["sentiment"] == "positive")
    out = g.groupby("_p").agg(posts=("sentiment", "size"), negative_share=("_neg", "mean"),
                              positive_share=("_pos", "mean"), mean_score=("sentiment_score", "mean"))
    out.index.name = "period"
    return out.reset_index()


def rising_topics(posts: pd.DataFrame, recent_days: int = 7, min_ratio: float = 1.5, min_z: float = 2.0,
                  min_posts: int = 5) -> pd.DataFrame:
    """Each topic's share before and in the recent window, the ratio, the z statistic and a ``rising`` flag."""
    dates = pd.to_datetime(posts["date"]).dt.tz_localize(None)
    cut = dates.max() - pd.Timedelta(days=recent_days)
    recent = dates > cut
    n1, n0 = int(recent.sum()), int((~recent).sum())
    rows = []
    for topic in sorted(posts["topic"].unique()):
        hit = (posts["topic"] == topic).to_numpy()
        x1, x0 = int((hit & recent.to_numpy()).sum()), int((hit & ~recent.to_numpy()).sum())
        p1 = x1 / n1 if n1 else 0.0
        p0 = x0 / n0 if n0 else 0.0
        pooled = (x1 + x0) / max(n1 + n0, 1)
        se = np.sqrt(pooled * (1 - pooled) * (1 / max(n1, 1) + 1 / max(n0, 1)))
        z = (p1 - p0) / se if se > 0 else 0.0
        ratio = p1 / p0 if p0 > 0 else (np.inf if p1 > 0 else 1.0)
        rising = bool(n0 > 0 and n1 > 0 and x1 >= min_posts and ratio >= min_ratio and z >= min_z)
        rows.append({"topic": topic, "recent_posts": x1, "recent_share": round(p1, 4), "before_posts": x0,
                     "before_share": round(p0, 4), "ratio": round(float(ratio), 3), "z": round(float(z), 2),
                     "rising": rising})
    out = pd.DataFrame(rows, columns=["topic", "recent_posts", "recent_share", "before_posts", "before_share",
                                      "ratio", "z", "rising"])
    return out.sort_values(["rising", "z"], ascending=[False, False]).reset_index(drop=True)


@dataclass(frozen=True)
class Listening:
    """What the listening report shows."""

    posts: int
    start: pd.Timestamp
    end: pd.Timestamp
    timeline: pd.DataFrame
    topics: pd.DataFrame
    rising: pd.DataFrame
    risks: pd.DataFrame
    anecdotes: pd.DataFrame
    linked: int
    recent_days: int


def listen(posts: pd.DataFrame, recent_days: int = 7, top_risks: int = 10, per_topic: int = 3,
           random_state: int = 0) -> Listening:
    """The listening summary of classified, risk-scored and linked posts.

    ``posts`` needs ``date, text, sentiment, sentiment_score, topic, complaint, risk, risk_flag`` and
    ``customer_id`` (None for guests); ``tier`` and ``clv`` are shown where present.
    """
    if posts.empty:
        raise ValueError("no posts to listen to")
    dates = pd.to_datetime(posts["date"]).dt.tz_localize(None)
    span = (dates.max() - dates.min()).days
    timeline = over_time(posts, "D" if span <= 120 else "W")
    topics = posts.groupby("topic").agg(posts=("text", "size"), negative_share=(
        "sentiment", lambda s: float((s == "negative").mean())), complaints=("complaint", "sum"),
        mean_score=("sentiment_score", "mean")).sort_values("posts", ascending=False).reset_index()
    risks = posts.sort_values("risk", ascending=False).head(top_risks)
    risks = risks.loc[risks["risk"] > 0]
    anecdotes = representative_posts(posts, per_topic=per_topic, random_state=random_state)
    linked = int(posts["customer_id"].notna().sum()) if "customer_id" in posts.columns else 0
    return Listening(posts=len(posts), start=dates.min(), end=dates.max(), timeline=timeline, topics=topics,
                     rising=rising_topics(posts, recent_days=recent_days), risks=risks, anecdotes=anecdotes,
                     linked=linked, recent_days=recent_days)
