"""The sentiment model chooses each view's C and the voting weights by grouped cross-validation on its training
rows (a tweet's paraphrases never on both sides of a fold), and votes with the weights it chose."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairserve.errors import FairserveError
from fairserve.text.sentiment import C_GRID, CLASSES, DEFAULT_C, SentimentModel

_WORDS = {"negative": ["awful", "broken", "refund", "worst", "angry", "crash", "late", "rude"],
          "neutral": ["tuesday", "version", "store", "update", "event", "season", "server", "plan"],
          "positive": ["love", "great", "thanks", "amazing", "happy", "best", "fun", "brilliant"]}
_FILLER = ["the", "my", "this", "game", "phone", "app", "today", "again", "with", "new", "order", "team"]


def corpus(tweets: int, seed: int = 0) -> pd.DataFrame:
    """``tweets`` made-up tweets in two paraphrases each; one in five carries a word of another class."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(tweets):
        label = CLASSES[i % 3]
        words = list(rng.choice(_FILLER, 5)) + list(rng.choice(_WORDS[label], 2))
        if rng.random() < 0.2:
            words.append(str(rng.choice(_WORDS[CLASSES[(i + 1) % 3]])))
        rng.shuffle(words)
        text = " ".join(words)
        rows += [(f"t{i}", label, text), (f"t{i}", label, text + " " + str(rng.choice(_FILLER)))]
    return pd.DataFrame(rows, columns=["tweet_id", "label", "text"])


def test_c_and_weights_are_chosen_by_grouped_cross_validation() -> None:
    rows = corpus(450)
    model = SentimentModel().fit(rows.text, rows.label, rows.tweet_id)
    v = model.validation_
    assert v is not None and v["rows"] == 450 and v["folds"] == 3  # every tweet scored once, out of fold
    assert model.C_["word"] in C_GRID["word"] and model.C_["char"] in C_GRID["char"]
    assert np.isclose(model.weights_.sum(), 1.0) and np.allclose(model.weights_ * 10, np.round(model.weights_ * 10))
    # every single view is one of the weightings tried, so the vote chosen is never worse than the best view there
    assert v["macro_f1"]["vote"] >= max(v["macro_f1"]["word"], v["macro_f1"]["char"])
    assert (model.predict(["awful broken app", "love this great game"]) == ["negative", "positive"]).all()


def test_the_vote_uses_the_weights() -> None:
    rows = corpus(300)
    only_word = SentimentModel(C=1.0, weights=(1.0, 0.0)).fit(rows.text, rows.label, rows.tweet_id)
    name, vec, lr = only_word.views_[0]
    texts = ["awful tuesday with my phone", "great store", "the plan"]
    assert name == "word"
    np.testing.assert_allclose(only_word.predict_proba(texts), lr.predict_proba(vec.transform(texts)), atol=1e-9)
    assert only_word.C_ == {"word": 1.0, "char": 1.0}


def test_a_small_training_set_makes_no_choice() -> None:
    rows = corpus(60)
    model = SentimentModel().fit(rows.text, rows.label, rows.tweet_id)
    assert model.validation_ is None
    assert model.C_ == {"word": DEFAULT_C, "char": DEFAULT_C}
    np.testing.assert_allclose(model.weights_, [0.5, 0.5])


def test_weights_must_be_one_a_view() -> None:
    with pytest.raises(FairserveError, match="weights"):
        SentimentModel(weights=(1.0, 1.0, 1.0)).fit(["a b", "c d"], ["positive", "negative"])
