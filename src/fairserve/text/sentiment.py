"""Sentiment of a post: negative / neutral / positive, and a score in [-1, 1].

The model is a small ensemble that averages class probabilities (soft voting) of linear models, each on its own
view of the text:

* ``word``: TF-IDF of word 1-2 grams (sublinear tf) and logistic regression;
* ``char``: TF-IDF of hashed character 2-5 grams inside word boundaries (:mod:`fairserve.text.features`, ten
  times faster than building the n-grams as strings) and logistic regression (robust to typos, hashtags,
  elongations, emoji);
* ``minilm`` (the ``accurate`` kind only): MiniLM sentence embeddings (:mod:`fairserve.text.embed`) and logistic
  regression.

Averaging the probabilities of models on different views, rather than one model on concatenated features, is
what lifted macro-F1 on brand tweets (``shared/research/text-triage.md``); see Kuncheva 2014, *Combining Pattern
Classifiers*, ch. 5 (soft voting), and Joulin et al. 2017 (*Bag of Tricks for Efficient Text Classification*) for
how far n-gram linear models go. Training is **paraphrase-aware**: when ``groups`` is given (a tweet id shared by
its paraphrases), each row weighs ``1 / size of its group``, so a tweet counts once however often it was
paraphrased, and the regularisation is not fooled by near-copies (the scikit-learn ``sample_weight`` convention).

The score is ``P(positive) - P(negative)``, in [-1, 1]; the label is the most probable class.

Follows scikit-learn's estimator rules: ``__init__`` stores parameters, ``fit`` returns self, learned values end
in ``_``, predicting before ``fit`` raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from fairserve.errors import FairserveError
from fairserve.text.features import HashedCharNgrams

__all__ = ["CLASSES", "KINDS", "SentimentModel"]

CLASSES = ("negative", "neutral", "positive")
KINDS = ("fast", "accurate")
_BATCH = 20_000
_ALIASES = {"neg": "negative", "negative": "negative", "-1": "negative", "pos": "positive", "positive": "positive",
            "1": "positive", "+1": "positive", "neu": "neutral", "neutral": "neutral", "0": "neutral"}


def normalise_label(value: Any) -> str | None:
    """``Negative``, ``neg``, ``-1`` ... to one of :data:`CLASSES`; None when it is none of them."""
    return _ALIASES.get(str(value).strip().lower())


def _word() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True, dtype=np.float32)


def _char() -> HashedCharNgrams:
    return HashedCharNgrams(ngram_range=(2, 5), word_bounded=True)


class SentimentModel:
    """Soft-voting ensemble of linear models on word n-grams, character n-grams and (optionally) MiniLM.

    Parameters
    ----------
    kind:
        ``"fast"`` (word + char views) or ``"accurate"`` (adds the MiniLM view; needs ``encoder``).
    C:
        Inverse regularisation strength of every logistic regression (on paraphrase-weighted rows, whose weights
        sum to the number of distinct tweets).
    encoder:
        An object with ``encode(list[str]) -> ndarray`` (a :class:`fairserve.text.embed.MiniLM`); only for
        ``"accurate"``.
    embed_per_group:
        The MiniLM view is fitted on at most this many rows of each group (paraphrases lie close together in
        embedding space, and embedding is the slow step: about 40-80 texts/s on two cores), each group still
        weighing one. Without ``groups`` every row is embedded.
    random_state:
        Seed of the solvers (lbfgs is deterministic; kept for the estimator convention).

    Attributes
    ----------
    views_:
        ``[(name, vectorizer or None, LogisticRegression)]`` in voting order.
    classes_:
        The class names, as :data:`CLASSES`.
    """

    def __init__(self, kind: str = "fast", C: float = 2.0, encoder: Any = None, embed_per_group: int = 2,
                 random_state: int = 0) -> None:
        self.kind = kind
        self.C = C
        self.encoder = encoder
        self.embed_per_group = embed_per_group
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------------ fitting
    def fit(self, texts: Sequence[str], labels: Sequence[Any], groups: Sequence[Any] | None = None
            ) -> SentimentModel:
        """Fit every view on ``texts`` and ``labels`` (names as in :data:`CLASSES` or their aliases)."""
        if self.kind not in KINDS:
            raise FairserveError(f"unknown sentiment model kind '{self.kind}'; choose one of {', '.join(KINDS)}")
        if self.kind == "accurate" and self.encoder is None:
            raise FairserveError("the accurate sentiment model needs an encoder (MiniLM)")
        y = np.array([normalise_label(v) for v in labels], dtype=object)
        if any(v is None for v in y):
            bad = next(str(v) for v, n in zip(labels, y, strict=True) if n is None)
            raise FairserveError(f"label '{bad}' is not negative, neutral or positive")
        present = set(y.tolist())
        if len(present) < 2:
            raise FairserveError("training needs at least two sentiment classes")
        texts = list(texts)
        weight = None
        keep = np.ones(len(texts), dtype=bool)
        if groups is not None:
            g = pd.Series(np.asarray(groups).astype(str))
            weight = 1.0 / g.map(g.value_counts()).to_numpy()
            keep = (g.groupby(g).cumcount() < self.embed_per_group).to_numpy()
        views: list[tuple[str, Any, LogisticRegression]] = []
        for name, vec in (("word", _word()), ("char", _char())):
            X = vec.fit_transform(texts)
            views.append((name, vec, self._lr().fit(X, y, sample_weight=weight)))
        if self.kind == "accurate":
            E = self.encoder.encode([t for t, k in zip(texts, keep, strict=True) if k])
            w = None
            if weight is not None:
                gk = g[keep]
                w = 1.0 / gk.map(gk.value_counts()).to_numpy()
            views.append(("minilm", None, self._lr().fit(E, y[keep], sample_weight=w)))
        self.views_ = views
        self.classes_ = CLASSES
        return self

    def _lr(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, max_iter=3000, random_state=self.random_state)

    # --------------------------------------------------------------------------------------------- predicting
    def _check(self) -> None:
        if not hasattr(self, "views_"):
            raise FairserveError("this sentiment model is not fitted yet; call fit() or load a trained model")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, 3)`` probabilities in :data:`CLASSES` order, the mean of the views' probabilities."""
        self._check()
        texts = list(texts)
        total = np.zeros((len(texts), len(CLASSES)))
        for start in range(0, len(texts), _BATCH):  # in batches: the feature matrices stay small
            part = texts[start:start + _BATCH]
            for _, vec, lr in self.views_:
                X = self.encoder.encode(part) if vec is None else vec.transform(part)
                p = lr.predict_proba(X)
                for j, cls in enumerate(lr.classes_):
                    total[start:start + len(part), CLASSES.index(cls)] += p[:, j]
        return total / len(self.views_)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable class of each text."""
        return np.array(CLASSES, dtype=object)[self.predict_proba(texts).argmax(axis=1)]

    @staticmethod
    def score_of(proba: np.ndarray) -> np.ndarray:
        """Sentiment score in [-1, 1]: ``P(positive) - P(negative)``."""
        return np.clip(proba[:, 2] - proba[:, 0], -1.0, 1.0)
