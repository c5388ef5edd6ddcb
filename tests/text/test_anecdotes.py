import pandas as pd

from fairserve.text.anecdotes import representative_posts


def test_the_typical_post_is_chosen_not_the_extreme_one() -> None:
    typical = ["my flight was delayed two hours again", "flight delayed two hours, again",
               "delayed two hours on my flight again", "again my flight delayed by two hours",
               "two hours delayed flight again today"]
    extreme = "ABSOLUTELY DISGUSTING!!! worst airline on earth, delayed, lawyers are coming for you"
    posts = pd.DataFrame({"text": [*typical, extreme], "topic": "delay", "score": [-0.3] * 5 + [-1.0]})
    out = representative_posts(posts, per_topic=1)
    assert len(out) == 1
    assert out.iloc[0]["text"] in typical
    assert out.iloc[0]["cluster_size"] == 6 and out.iloc[0]["score"] == -0.3


def test_each_topic_gets_its_anecdotes_and_the_columns_come_along() -> None:
    posts = pd.DataFrame({
        "text": [f"bag lost number {i}" for i in range(12)] + [f"charged twice on invoice {i}" for i in range(6)],
        "topic": ["baggage"] * 12 + ["billing"] * 6,
        "tier": "gold",
    })
    out = representative_posts(posts, per_topic=2)
    assert list(dict.fromkeys(out["topic"])) == ["baggage", "billing"]
    assert (out.groupby("topic").size() <= 2).all()
    assert (out["tier"] == "gold").all()
