import numpy as np
import pandas as pd

from fairserve.text import rules


def _run(texts: list[str], sentiment: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = pd.Series(texts)
    sent = np.array(sentiment, dtype=object)
    topic = rules.topic_rule(s, sent)
    complaint = rules.complaint_rule(s, sent, topic)
    return topic, complaint, rules.urgency_rule(s, sent, complaint)


def test_complaint_language_a_lexicon_misses_is_a_complaint() -> None:
    topic, complaint, urgency = _run(["bumped again after 15 min on hold"], ["neutral"])
    assert complaint[0]
    assert urgency[0] >= 1
    assert topic[0] in ("delay", "cancellation")


def test_hacked_account_is_critical_and_about_account_access() -> None:
    topic, complaint, urgency = _run(["my account was hacked and I am locked out"], ["negative"])
    assert topic[0] == "account access" and complaint[0] and urgency[0] == 3


def test_positive_post_without_a_service_topic_is_praise_and_not_urgent() -> None:
    topic, complaint, urgency = _run(["what a lovely team, thank you"], ["positive"])
    assert topic[0] == "praise" and not complaint[0] and urgency[0] == 0


def test_neutral_question_is_other_and_routine() -> None:
    topic, complaint, urgency = _run(["what time does the store open"], ["neutral"])
    assert topic[0] == "other" and not complaint[0] and urgency[0] == 0


def test_every_topic_name_is_listed() -> None:
    texts = ["lost my luggage", "charged twice on my bill", "flight delayed 3 hours", "they cancelled my order",
             "the app keeps crashing", "can't log in", "where is my package", "customer service never replies"]
    topic, _, _ = _run(texts, ["negative"] * len(texts))
    assert set(topic) <= set(rules.TOPICS)
    assert "other" not in set(topic)
