import numpy as np
import pytest

from fairserve.errors import FairserveError
from fairserve.text.classify import MAX_CHARS, TextTriage, prepare_texts
from fairserve.text.sentiment import SentimentModel


@pytest.fixture(scope="module")
def triage() -> TextTriage:
    return TextTriage()  # the VADER lexicon: no training needed


def test_bad_inputs_each_give_a_row(triage: TextTriage) -> None:
    texts = ["", "x" * 1_000_000, b"caf\xe9 \xff broken bytes", "😡😡😡", "Ce produit est vraiment nul",
             "這個服務太糟糕了", None, float("nan")]
    out = triage.classify(texts)
    assert len(out) == len(texts)
    assert set(out["sentiment"]) <= {"negative", "neutral", "positive"}
    assert out["sentiment_score"].between(-1, 1).all()
    assert out["urgency"].between(0, 3).all()
    assert out.loc[0, "flags"] == "empty" and out.loc[0, "sentiment"] == "neutral" and not out.loc[0, "complaint"]
    assert "truncated" in out.loc[1, "flags"]
    assert out.loc[5, "flags"] == "non_latin"
    assert out.loc[6, "flags"] == "empty" and out.loc[7, "flags"] == "empty"


def test_prepare_texts_cuts_long_texts_and_decodes_bytes() -> None:
    texts, flags = prepare_texts(["a" * (MAX_CHARS + 10), b"\xff ok"])
    assert len(texts[0]) == MAX_CHARS and flags[0] == "truncated"
    assert texts[1] == "\ufffd ok" and flags[1] == "not_utf8"  # bytes that were not UTF-8 are flagged


def test_empty_batch_gives_an_empty_frame_with_the_columns(triage: TextTriage) -> None:
    out = triage.classify([])
    assert out.empty and {"sentiment", "urgency", "topic", "complaint"} <= set(out.columns)


def test_a_trained_model_replaces_the_lexicon(labelled) -> None:  # type: ignore[no-untyped-def]
    rows = labelled[labelled.label != "Irrelevant"]
    model = SentimentModel(C=10.0).fit(rows.text, rows.label, rows.tweet_id)
    triage = TextTriage(sentiment=model)
    out = triage.classify(["terrible service, still waiting", "love the new update, thank you"])
    assert list(out["sentiment"]) == ["negative", "positive"]
    assert triage.method["sentiment"] == "trained model (fast)"
    np.testing.assert_allclose(out["sentiment_score"], out["p_positive"] - out["p_negative"], atol=1e-3)


def test_unfitted_model_refuses_to_predict() -> None:
    with pytest.raises(FairserveError, match="not fitted"):
        SentimentModel().predict(["hello"])


def test_labels_outside_the_three_classes_are_refused() -> None:
    with pytest.raises(FairserveError, match="Irrelevant"):
        SentimentModel().fit(["a", "b"], ["Positive", "Irrelevant"])
