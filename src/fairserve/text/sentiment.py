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

Each view's C and the voting weights are chosen by grouped cross-validation on the training rows (every
paraphrase of a tweet in one fold, each tweet scored once by its first paraphrase), never on the rows a model is
later scored on; see :meth:`SentimentModel._choose`.

The score is ``P(positive) - P(negative)``, in [-1, 1]; the label is the most probable class.

Follows scikit-learn's estimator rules: ``__init__`` stores parameters, ``fit`` returns self, learned values end
in ``_``, predicting before ``fit`` raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from fairserve.errors import FairserveError
from fairserve.text.features import HashedCharNgrams
from fairserve.value.progress import report as report_progress

__all__ = ["CLASSES", "C_GRID", "DEFAULT_C", "KINDS", "MIN_VALIDATION", "SentimentModel"]

CLASSES = ("negative", "neutral", "positive")
KINDS = ("fast", "accurate")
_BATCH = 20_000
DEFAULT_C = 2.0
#: The C each view's logistic regression may take when ``C`` is None (rows weigh 1 / paraphrases of their tweet,
#: so C = 2 is already strong regularisation), chosen by grouped cross-validation on the training rows.
C_GRID: dict[str, tuple[float, ...]] = {"word": (2.0, 4.0, 8.0), "char": (2.0,), "minilm": (1.0, 4.0, 16.0)}
#: Fewer groups (tweets) than this and ``fit`` makes no choice (C = 2, equal weights).
MIN_VALIDATION = 200
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
        sum to the number of distinct groups). None: each view's C is chosen from :data:`C_GRID` by grouped
        cross-validation on the training rows.
    weights:
        The voting weight of each view, in the order of the views. None: chosen by the same cross-validation (a
        grid of step 0.1 over weights that sum to one).
    encoder:
        An object with ``encode(list[str]) -> ndarray`` (a :class:`fairserve.text.embed.MiniLM`); only for
        ``"accurate"``.
    folds:
        Grouped cross-validation folds used to choose ``C`` and ``weights``: the first row of every group is
        scored by views fitted on the other folds, as a held-out tweet is. The choice is made only with at least
        two folds, :data:`MIN_VALIDATION` groups and every class in every fold's training part; otherwise C is
        :data:`DEFAULT_C` and the weights are equal.
    embed_per_group:
        Fit the MiniLM view on at most this many rows of each group (each group still weighing one); None:
        every row.
    random_state:
        Seed of the folds (lbfgs is deterministic).

    Attributes
    ----------
    views_:
        ``[(name, vectorizer or None, LogisticRegression)]`` in voting order.
    C_:
        The C of each view, by name.
    weights_:
        The voting weights in the order of ``views_``; they sum to one.
    validation_:
        What the choice saw (rows scored, folds, each view's and the vote's out-of-fold macro-F1, the C and
        weights chosen), or None when no choice was made.
    classes_:
        The class names, as :data:`CLASSES`.
    """

    def __init__(self, kind: str = "fast", C: float | None = None, weights: Sequence[float] | None = None,
                 encoder: Any = None, folds: int = 3, embed_per_group: int | None = None,
                 random_state: int = 0) -> None:
        self.kind = kind
        self.C = C
        self.weights = weights
        self.encoder = encoder
        self.folds = folds
        self.embed_per_group = embed_per_group
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------------ fitting
    def _names(self) -> list[str]:
        return ["word", "char", "minilm"] if self.kind == "accurate" else ["word", "char"]

    def fit(self, texts: Sequence[str], labels: Sequence[Any], groups: Sequence[Any] | None = None
            ) -> SentimentModel:
        """Fit every view on ``texts`` and ``labels`` (names as in :data:`CLASSES` or their aliases).

        With ``C`` or ``weights`` None, they are first chosen by grouped cross-validation (:meth:`_choose`): each
        view's C is the one of best out-of-fold macro-F1, then the weights those of the best vote; then every view
        is refitted on all rows with the choices. ``groups`` (a tweet id shared by its
        paraphrases) makes every group weigh one and keeps a group on one side of the split; without it every
        row is its own group.
        """
        if self.kind not in KINDS:
            raise FairserveError(f"unknown sentiment model kind '{self.kind}'; choose one of {', '.join(KINDS)}")
        if self.kind == "accurate" and self.encoder is None:
            raise FairserveError("the accurate sentiment model needs an encoder (MiniLM)")
        names = self._names()
        if self.weights is not None and (len(self.weights) != len(names) or min(self.weights) < 0
                                         or sum(self.weights) <= 0):
            raise FairserveError(f"weights: give {len(names)} non-negative numbers, one a view "
                                 f"({', '.join(names)}), not all zero")
        y = np.array([normalise_label(v) for v in labels], dtype=object)
        if any(v is None for v in y):
            bad = next(str(v) for v, n in zip(labels, y, strict=True) if n is None)
            raise FairserveError(f"label '{bad}' is not negative, neutral or positive")
        if len(set(y.tolist())) < 2:
            raise FairserveError("training needs at least two sentiment classes")
        texts = list(texts)
        g = pd.Series(np.asarray(groups).astype(str) if groups is not None else np.arange(len(texts)).astype(str))
        embedded = np.ones(len(texts), dtype=bool)
        if self.embed_per_group is not None:
            embedded = (g.groupby(g).cumcount() < self.embed_per_group).to_numpy()
        E = None
        if self.kind == "accurate":  # embedded once: the cross-validation fits and the final fits share them
            vectors = np.asarray(self.encoder.encode([t for t, k in zip(texts, embedded, strict=True) if k]))
            E = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            E[embedded] = vectors
        data = _Data(texts, y, g, embedded, E)
        C = {n: self.C if self.C is not None else DEFAULT_C for n in names}
        weights = np.full(len(names), 1.0) if self.weights is None else np.asarray(self.weights, dtype=float)
        self.validation_: dict[str, Any] | None = None
        if self.C is None or self.weights is None:
            chosen = self._choose(data, names)
            if chosen is not None:
                C, weights, self.validation_ = chosen
        everything = np.ones(len(texts), dtype=bool)
        self.views_ = []
        for i, n in enumerate(names):
            report_progress(f"fitting the {self.kind} model's views on every row", i / len(names))
            self.views_.append((n, *self._fit_view(n, C[n], data, everything)))
        report_progress(f"fitting the {self.kind} model's views on every row", 1.0)
        self.C_ = C
        self.weights_ = weights / weights.sum()
        self.classes_ = CLASSES
        return self

    def _lr(self, C: float) -> LogisticRegression:
        return LogisticRegression(C=C, max_iter=3000, random_state=self.random_state)

    def _fit_view(self, name: str, C: float, data: _Data, rows: np.ndarray) -> tuple[Any, LogisticRegression]:
        """Fit view ``name`` on the rows of mask ``rows`` (for MiniLM, those embedded); each group weighs one."""
        if name == "minilm":
            rows = rows & data.embedded
        gr = data.groups[rows]
        w = 1.0 / gr.map(gr.value_counts()).to_numpy()
        if name == "minilm":
            assert data.E is not None
            return None, self._lr(C).fit(data.E[rows], data.y[rows], sample_weight=w)
        vec = _word() if name == "word" else _char()
        X = vec.fit_transform([t for t, r in zip(data.texts, rows, strict=True) if r])
        return vec, self._lr(C).fit(X, data.y[rows], sample_weight=w)

    def _choose(self, data: _Data, names: list[str]
                ) -> tuple[dict[str, float], np.ndarray, dict[str, Any]] | None:
        """Each view's C, then the voting weights, by out-of-fold macro-F1 in grouped cross-validation.

        The groups are dealt into ``folds`` folds at random (``random_state``); each fold's first rows are scored
        by views fitted on the other folds, so every group of the training rows is scored once, by models that
        never saw any of its paraphrases. None when that is too small to choose by.
        """
        keys = pd.unique(data.groups.to_numpy())
        rng = np.random.default_rng(self.random_state)
        fold_of = dict(zip(rng.permutation(keys).tolist(), np.arange(len(keys)) % max(self.folds, 1), strict=True))
        fold = data.groups.map(fold_of).to_numpy()
        first = ~data.groups.duplicated().to_numpy()
        every = set(data.y.tolist())
        if self.folds < 2 or first.sum() < MIN_VALIDATION or any(
                set(data.y[fold != k].tolist()) != every for k in range(self.folds)):
            return None
        truth = data.y[first]
        grid = {n: C_GRID[n] if self.C is None else (self.C,) for n in names}
        oof = {(n, c): np.zeros((len(data.texts), len(CLASSES))) for n in names for c in grid[n]}
        task, fits, done = "choosing C and weights by grouped cross-validation", self.folds * len(oof), 0
        for k in range(self.folds):
            tr, va = fold != k, first & (fold == k)
            va_texts = [t for t, v in zip(data.texts, va, strict=True) if v]
            for n in names:
                for c in grid[n]:
                    report_progress(task, done / fits)
                    done += 1
                    vec, lr = self._fit_view(n, c, data, tr)
                    assert vec is not None or data.E is not None
                    X = data.E[va] if vec is None else vec.transform(va_texts)  # type: ignore[index]
                    oof[n, c][va] = _in_class_order(lr, lr.predict_proba(X))
        report_progress(task, 1.0)
        C: dict[str, float] = {}
        scores: dict[str, float] = {}
        for n in names:
            for c in grid[n]:
                f1 = _macro_f1(truth, oof[n, c][first])
                if n not in scores or f1 > scores[n]:
                    C[n], scores[n] = c, f1
        views = [oof[n, C[n]][first] for n in names]
        w = _best_weights(views, truth) if self.weights is None else np.asarray(self.weights, dtype=float)
        vote = _macro_f1(truth, sum(wi * p for wi, p in zip(w / w.sum(), views, strict=True)))
        report = {"rows": int(first.sum()), "folds": self.folds, "C": C,
                  "weights": [round(float(v), 3) for v in w / w.sum()],
                  "macro_f1": {**{n: round(f, 4) for n, f in scores.items()}, "vote": round(vote, 4)}}
        return C, w, report

    # --------------------------------------------------------------------------------------------- predicting
    def _check(self) -> None:
        if not hasattr(self, "views_"):
            raise FairserveError("this sentiment model is not fitted yet; call fit() or load a trained model")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, 3)`` probabilities in :data:`CLASSES` order: the weighted mean of the views' probabilities."""
        self._check()
        texts = list(texts)
        total = np.zeros((len(texts), len(CLASSES)))
        for start in range(0, len(texts), _BATCH):  # in batches: the feature matrices stay small
            part = texts[start:start + _BATCH]
            for (_, vec, lr), w in zip(self.views_, self._voting_weights(), strict=True):
                X = self.encoder.encode(part) if vec is None else vec.transform(part)
                total[start:start + len(part)] += w * _in_class_order(lr, lr.predict_proba(X))
        return total

    def _voting_weights(self) -> np.ndarray:
        # a model pickled before weights_ existed voted with equal weights
        return getattr(self, "weights_", np.full(len(self.views_), 1.0 / len(self.views_)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable class of each text."""
        return np.array(CLASSES, dtype=object)[self.predict_proba(texts).argmax(axis=1)]

    @staticmethod
    def score_of(proba: np.ndarray) -> np.ndarray:
        """Sentiment score in [-1, 1]: ``P(positive) - P(negative)``."""
        return np.clip(proba[:, 2] - proba[:, 0], -1.0, 1.0)


@dataclass(frozen=True)
class _Data:
    """The training rows as the views need them."""

    texts: list[str]
    y: np.ndarray
    groups: pd.Series
    embedded: np.ndarray
    E: np.ndarray | None


def _in_class_order(lr: LogisticRegression, p: np.ndarray) -> np.ndarray:
    """Columns of ``p`` (in ``lr.classes_`` order) placed in :data:`CLASSES` order (a class unseen stays 0)."""
    out = np.zeros((p.shape[0], len(CLASSES)))
    for j, cls in enumerate(lr.classes_):
        out[:, CLASSES.index(cls)] = p[:, j]
    return out


def _macro_f1(truth: np.ndarray, proba: np.ndarray) -> float:
    pred = np.array(CLASSES, dtype=object)[proba.argmax(axis=1)]
    return float(f1_score(truth, pred, labels=sorted(set(truth.tolist())), average="macro", zero_division=0))


def _best_weights(views: list[np.ndarray], truth: np.ndarray, step: float = 0.1) -> np.ndarray:
    """The weights (a grid of ``step``, summing to one) whose vote has the best macro-F1 on ``truth``.

    Every single view is on the grid, so the vote chosen is never worse on this split than its best view; a tie
    goes to the weights nearest to equal ones.
    """
    k = len(views)
    n = round(1 / step)
    best, best_key = np.full(k, 1.0 / k), (-1.0, 0.0)
    for cut in itertools.combinations(range(n + k - 1), k - 1):  # stars and bars: every composition of n
        parts = np.diff([-1, *cut, n + k - 1]) - 1
        w = parts / n
        f1 = _macro_f1(truth, sum(wi * p for wi, p in zip(w, views, strict=True)))
        key = (round(f1, 6), -float(np.abs(w - 1.0 / k).sum()))
        if key > best_key:
            best, best_key = w, key
    return best
