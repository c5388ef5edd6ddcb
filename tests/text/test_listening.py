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


def test_every_title_and_label_of_the_report_picture_is_inside_it() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from fairserve.report.listening import png_figure

    posts = _posts(shift=True)
    rng = np.random.default_rng(1)
    # a long topic name that is rising: its tick label narrows the topics chart, whose title must still fit
    late = (posts["date"] >= posts["date"].max() - pd.Timedelta(days=6)).to_numpy() & (rng.random(len(posts)) < 0.5)
    posts.loc[late, "topic"] = "customer service and account access"
    posts["text"] = [f"post {i}" for i in range(len(posts))]
    posts["sentiment"] = rng.choice(["negative", "neutral", "positive"], len(posts))
    posts["sentiment_score"] = rng.uniform(-1, 1, len(posts))
    posts["complaint"], posts["risk"], posts["risk_flag"], posts["customer_id"] = False, 0.0, False, None
    s = listen(posts)
    assert bool(s.rising.set_index("topic").at["customer service and account access", "rising"])
    fig = png_figure(s)
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.bbox.width, fig.bbox.height
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        assert box is not None
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (ax.get_title(), box)
