import numpy as np

from fairserve.text import rules


def _run(texts: list[str], sentiment: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hits = rules.keyword_hits(texts)
    sent = np.array(sentiment, dtype=object)
    topic = rules.topic_rule(hits, sent)
    complaint = rules.complaint_rule(hits, sent, topic)
    return topic, complaint, rules.urgency_rule(hits, sent, complaint)


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


def test_a_match_counts_for_its_own_text_only() -> None:
    texts = ["nothing here", "my bag", "", "still nothing", "LOST LUGGAGE", "x"]
    hits = rules.keyword_hits(texts)
    assert list(hits["baggage"]) == [False, True, False, False, True, False]


def test_re2_and_python_re_agree_on_every_rule() -> None:
    import re

    texts = ["bumped again after 15 min on hold", "charged twice!! $40 fee", "can't log in since the update",
             "where is my parcel", "thanks, great crew", "server is down again", "locked out, urgent"]
    hits = rules.keyword_hits(texts)
    for name, pattern in rules._PATTERNS.items():
        expected = [re.search(pattern, t.lower()) is not None for t in texts]
        assert list(hits[name]) == expected, name
