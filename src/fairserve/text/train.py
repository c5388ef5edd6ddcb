"""Train and evaluate text models on labelled rows: the pure part of ``fairserve text train|evaluate``.

* :func:`train` fits the model of a task on a DataFrame; with ``holdout > 0`` it first fits on a grouped split
  (every paraphrase group on one side), scores the held-out part, then refits on all rows, so the manifest
  carries a measured score of the model it describes.
* :func:`evaluate` scores a fitted model on labelled rows: accuracy, macro-F1 (the mean of per-class F1, every
  class weighing the same; Sokolova & Lapalme 2009, *A systematic analysis of performance measures for
  classification tasks*), a per-class report and the confusion matrix (scikit-learn's ``metrics``).

Sentiment uses :class:`~fairserve.text.sentiment.SentimentModel`; complaint, urgency and topic use
:class:`LabelModel`, the same word + character view soft vote on any label set, so a user's own labels replace the
shipped rules (:mod:`fairserve.text.rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from fairserve.errors import FairserveError
from fairserve.text.classify import TASKS, prepare_texts
from fairserve.text.corpora import grouped_split
from fairserve.text.features import HashedCharNgrams
from fairserve.text.sentiment import CLASSES, SentimentModel, normalise_label

__all__ = ["Evaluation", "LabelModel", "evaluate", "labelled_rows", "split_labelled", "train"]


class LabelModel:
    """Soft vote of word 1-2 and char 2-5 TF-IDF logistic regressions on any labels (topic, complaint, urgency).

    Parameters
    ----------
    C:
        Inverse regularisation strength.
    random_state:
        Seed of the solver.
    """

    def __init__(self, C: float = 4.0, random_state: int = 0) -> None:
        self.C = C
        self.random_state = random_state

    def fit(self, texts: Sequence[str], labels: Sequence[Any], groups: Sequence[Any] | None = None) -> LabelModel:
        y = np.array([str(v).strip() for v in labels], dtype=object)
        if len(set(y.tolist())) < 2:
            raise FairserveError("training needs at least two different labels")
        weight = None
        if groups is not None:
            _, inv, counts = np.unique(np.asarray(groups).astype(str), return_inverse=True, return_counts=True)
            weight = 1.0 / counts[inv]
        self.views_ = []
        for vec in (TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32),
                    HashedCharNgrams(ngram_range=(2, 5))):
            lr = LogisticRegression(C=self.C, max_iter=3000, random_state=self.random_state)
            self.views_.append((vec, lr.fit(vec.fit_transform(list(texts)), y, sample_weight=weight)))
        self.classes_ = self.views_[0][1].classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not hasattr(self, "views_"):
            raise FairserveError("this model is not fitted yet")
        return np.mean([lr.predict_proba(vec.transform(list(texts))) for vec, lr in self.views_], axis=0)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.classes_, dtype=object)[self.predict_proba(texts).argmax(axis=1)]


@dataclass(frozen=True)
class Evaluation:
    """Scores of a model on labelled rows."""

    rows: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    labels: list[str]
    confusion: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "accuracy": self.accuracy, "macro_f1": self.macro_f1,
                "per_class": self.per_class, "labels": self.labels, "confusion_matrix": self.confusion}


def _labels(task: str, values: pd.Series) -> np.ndarray:
    if task == "sentiment":
        norm = [normalise_label(v) for v in values]
        return np.array(norm, dtype=object)
    cells = ["" if v is None or (isinstance(v, float) and v != v) else str(v).strip() for v in values]
    return np.array([c or None for c in cells], dtype=object)


def split_labelled(frame: pd.DataFrame, text_col: str, label_col: str, task: str, drop: Sequence[str] = ()
                   ) -> tuple[pd.DataFrame, pd.Series]:
    """The rows with a usable label and text (as :func:`labelled_rows`), and why each other row was left out.

    Returns the kept rows (new index from 0) and a Series indexed by ``frame``'s index (the row numbers of
    :func:`~fairserve.text.posts.read_posts`) of the rows left out: ``"empty text"``, ``"no label"`` (an empty
    cell), ``"unknown label"`` (a sentiment label that is not negative/neutral/positive, for example
    ``Irrelevant``) or ``"dropped label"`` (in ``drop``).
    """
    if task not in TASKS:
        raise FairserveError(f"unknown task '{task}'; choose one of {', '.join(TASKS)}")
    out = frame.copy()
    out["text"], _ = prepare_texts(frame[text_col].tolist())
    out["label"] = _labels(task, frame[label_col])
    raw = frame[label_col].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v).strip())
    why = pd.Series(None, index=frame.index, dtype=object)
    why[out["label"].isna()] = "unknown label"
    why[raw.eq("")] = "no label"
    why[raw.isin(list(drop))] = "dropped label"
    why[out["text"].eq("")] = "empty text"
    left = why.notna()
    return out.loc[~left].reset_index(drop=True), why[left]


def labelled_rows(frame: pd.DataFrame, text_col: str, label_col: str, task: str, drop: Sequence[str] = ()
                  ) -> pd.DataFrame:
    """Rows with a usable label: sentiment labels that are not negative/neutral/positive (for example
    ``Irrelevant``), empty labels, empty texts and labels in ``drop`` are left out. Returns columns ``text`` and
    ``label`` (and the rest)."""
    return split_labelled(frame, text_col, label_col, task, drop)[0]


def make_model(task: str, kind: str = "fast", C: float | None = None, encoder: Any = None,
               random_state: int = 0, tuned: dict[str, Any] | None = None) -> Any:
    """A fresh estimator for ``task``; ``tuned``: the keyword arguments of the tuned kind
    (:class:`~fairserve.text.tuned.TunedSentiment`: ``base_dir``, ``epochs``, ...)."""
    if task == "sentiment" and kind == "tuned":
        from fairserve.text.tuned import TunedSentiment

        return TunedSentiment(random_state=random_state, **(tuned or {}))
    if task == "sentiment":
        return SentimentModel(kind=kind, C=C, encoder=encoder, random_state=random_state)
    return LabelModel(C=C if C is not None else 4.0, random_state=random_state)


def evaluate(model: Any, texts: Sequence[str], labels: Sequence[Any]) -> Evaluation:
    """Accuracy, macro-F1, the per-class report and the confusion matrix of ``model`` on labelled texts."""
    truth = np.asarray(labels, dtype=object)
    if len(truth) == 0:
        raise FairserveError("no labelled rows to evaluate")
    pred = np.asarray(model.predict(list(texts)), dtype=object)
    sentiment = isinstance(model, SentimentModel) or tuple(getattr(model, "classes_", ())) == CLASSES
    names = list(CLASSES) if sentiment or set(truth) <= set(CLASSES) else sorted(
        {str(v) for v in truth} | {str(v) for v in pred})
    report = classification_report(truth, pred, labels=names, output_dict=True, zero_division=0)
    per_class = {k: {m: round(float(v), 4) for m, v in report[k].items()} for k in names}
    return Evaluation(
        rows=len(truth),
        accuracy=round(float(accuracy_score(truth, pred)), 4),
        macro_f1=round(float(f1_score(truth, pred, labels=names, average="macro", zero_division=0)), 4),
        per_class=per_class,
        labels=names,
        confusion=confusion_matrix(truth, pred, labels=names).tolist(),
    )


def train(rows: pd.DataFrame, task: str = "sentiment", kind: str = "fast", groups: str | None = None,
          holdout: float = 0.1, C: float | None = None, encoder: Any = None, random_state: int = 0,
          tuned: dict[str, Any] | None = None) -> tuple[Any, Evaluation | None]:
    """Fit the model of ``task`` on ``rows`` (columns ``text``, ``label``, and ``groups`` if given).

    Returns the model fitted on all rows and, when ``holdout > 0``, its evaluation on a grouped hold-out
    (first paraphrase of each held-out group) by a model fitted on the rest. ``tuned``: as in :func:`make_model`.
    """
    if len(rows) < 10:
        raise FairserveError(f"training needs at least 10 labelled rows, got {len(rows)}")
    group_values = rows[groups] if groups is not None else pd.Series(np.arange(len(rows)))
    held: Evaluation | None = None
    if holdout > 0:
        tr, te = grouped_split(group_values, test_size=holdout, random_state=random_state)
        if te.sum() and len(set(rows["label"][tr])) >= 2:
            part = make_model(task, kind, C, encoder, random_state, tuned)
            part.fit(rows["text"][tr].tolist(), rows["label"][tr].tolist(),
                     group_values[tr].tolist() if groups is not None else None)
            held = evaluate(part, rows["text"][te].tolist(), rows["label"][te].tolist())
    model = make_model(task, kind, C, encoder, random_state, tuned)
    model.fit(rows["text"].tolist(), rows["label"].tolist(), group_values.tolist() if groups is not None else None)
    return model, held
