import numpy as np
import pandas as pd

from fairserve.text.listening import listen, rising_topics


def _posts(shift: bool, seed: int = 0) -> pd.DataFrame:
    """Eight weeks of posts; with ``shift`` the share of 'billing' triples in the last week."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-01", periods=56, freq="D")
    rows = []
    for i, day in enumerate(days):
        last_week = i >= 49
        p_billing = 0.3 if (shift and last_week) else 0.1
        n = 60 if last_week else 40  # more posts of every kind in the last week: not a topic rise by itself
        topics = rng.choice(["billing", "delay", "praise"], size=n, p=[p_billing, (1 - p_billing) / 2,
                                                                       (1 - p_billing) / 2])
        rows += [(day, t) for t in topics]
    return pd.DataFrame(rows, columns=["date", "topic"])


def test_a_topic_whose_share_jumps_is_flagged_rising() -> None:
    out = rising_topics(_posts(shift=True), recent_days=7).set_index("topic")
    assert out.loc["billing", "rising"]
    assert not out.loc["delay", "rising"] and not out.loc["praise", "rising"]


def test_more_posts_of_every_kind_raise_no_topic() -> None:
    out = rising_topics(_posts(shift=False), recent_days=7)
    assert not out["rising"].any()


def test_listen_summarises_classified_posts() -> None:
    base = _posts(shift=True).sample(400, random_state=0).reset_index(drop=True)
    base["text"] = [f"post {i} about {t}" for i, t in enumerate(base["topic"])]
    base["sentiment"] = np.where(base["topic"] == "praise", "positive", "negative")
    base["sentiment_score"] = np.where(base["topic"] == "praise", 0.8, -0.6)
    base["complaint"] = base["topic"] != "praise"
    base["risk"] = np.linspace(0, 5, len(base))
    base["risk_flag"] = base["risk"] >= 3
    base["customer_id"] = [None] * len(base)
    s = listen(base, top_risks=5)
    assert s.posts == 400 and s.linked == 0
    assert len(s.risks) == 5 and s.risks["risk"].iloc[0] == 5.0
    assert s.timeline["posts"].sum() == 400
    assert set(s.anecdotes["topic"]) == {"billing", "delay", "praise"}
