"""Triage a post or message: sentiment (label and score), complaint, urgency (severity 0-3) and topic.

:class:`TextTriage` puts the four together. Sentiment comes from a trained
:class:`~fairserve.text.sentiment.SentimentModel` (or, without one, from the VADER lexicon: Hutto & Gilbert 2014,
*VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text*, ICWSM, with its published
thresholds of +-0.05 on the compound score). Topic, complaint and urgency come from the documented rules of
:mod:`fairserve.text.rules`, unless a model trained on the user's own labels is given for that task.

Every input gives a result: ``None`` and non-strings are read as text, a text longer than :data:`MAX_CHARS` is cut
(and flagged ``truncated``), an empty text is flagged ``empty`` and reads neutral, a text with no Latin letters
is flagged ``non_latin`` (the models were trained on English tweets; read its labels with care), and a text
holding U+FFFD, the replacement character that bytes which were not UTF-8 were read as, is flagged ``not_utf8``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairserve.text import rules
from fairserve.text.sentiment import CLASSES, SentimentModel

__all__ = ["MAX_CHARS", "TASKS", "TextTriage", "VaderSentiment", "prepare_texts"]

MAX_CHARS = 5_000
TASKS = ("sentiment", "complaint", "urgency", "topic")


def prepare_texts(values: Iterable[Any]) -> tuple[list[str], list[str]]:
    """Texts ready for the models, and a comma-separated string of flags for each."""
    texts: list[str] = []
    flags: list[str] = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            s = ""
        elif isinstance(v, bytes):
            s = v.decode("utf-8", errors="replace")
        else:
            s = str(v)
        f = []
        if "\ufffd" in s:
            f.append("not_utf8")
        if len(s) > MAX_CHARS:
            s, f = s[:MAX_CHARS], [*f, "truncated"]
        s = s.replace("\x00", " ").strip()
        if not s:
            f.append("empty")
        elif not any(("a" <= ch <= "z") or ("A" <= ch <= "Z") for ch in s[:500]):
            f.append("non_latin")
        texts.append(s)
        flags.append(",".join(f))
    return texts, flags


class VaderSentiment:
    """The VADER lexicon (``vaderSentiment``) behind the same ``predict_proba`` as a trained model.

    Not a probability model: the label follows VADER's thresholds on the compound score ``c`` (>= 0.05
    positive, <= -0.05 negative) and gets ``(1 + |c|) / 2``, the other two classes share the rest, so the score
    ``P(pos) - P(neg)`` has the sign of ``c`` and grows with ``|c|``. Used when no trained model is given;
    macro-F1 about 0.48 on brand tweets (docs/benchmarks.md).
    """

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()
        self.classes_ = CLASSES

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        c = np.array([self._analyzer.polarity_scores(t)["compound"] for t in texts], dtype=float)
        label = np.where(c >= 0.05, 2, np.where(c <= -0.05, 0, 1))
        out = np.zeros((len(c), 3))
        out[np.arange(len(c)), label] = 0.5 + 0.5 * np.abs(c)
        rest = (1.0 - out.max(axis=1)) / 2.0
        for j in range(3):
            out[:, j] = np.where(label == j, out[:, j], rest)
        return out


@dataclass
class TextTriage:
    """Sentiment, complaint, urgency and topic for a batch of texts.

    Parameters
    ----------
    sentiment:
        A fitted model with ``predict_proba(texts) -> (n, 3)`` in :data:`~fairserve.text.sentiment.CLASSES`
        order; None uses :class:`VaderSentiment`.
    task_models:
        Optional models for ``complaint``, ``urgency`` or ``topic`` trained on the user's labels (fitted
        :class:`~fairserve.text.train.LabelModel`); a task not here uses its rule.
    """

    sentiment: Any = None
    task_models: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sentiment is None:
            self.sentiment = VaderSentiment()

    @property
    def method(self) -> dict[str, str]:
        """How each task is read, for the output's provenance."""
        sent = "lexicon (VADER)" if isinstance(self.sentiment, VaderSentiment) else (
            f"trained model ({getattr(self.sentiment, 'kind', 'custom')})")
        out = {"sentiment": sent}
        for task in TASKS[1:]:
            out[task] = "trained model" if task in self.task_models else "rule (fairserve.text.rules)"
        return out

    def classify(self, values: Iterable[Any]) -> pd.DataFrame:
        """One row per text: ``sentiment, sentiment_score, p_negative, p_neutral, p_positive, complaint,
        urgency, topic, flags``."""
        texts, flags = prepare_texts(values)
        n = len(texts)
        if n == 0:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _COLUMNS.items()})
        proba = np.asarray(self.sentiment.predict_proba(texts), dtype=float)
        empty = np.array([t == "" for t in texts])
        proba[empty] = (0.0, 1.0, 0.0)
        label = np.array(CLASSES, dtype=object)[proba.argmax(axis=1)]
        hits = rules.keyword_hits(texts)
        topic = self._task("topic", texts, lambda: rules.topic_rule(hits, label))
        complaint = self._task("complaint", texts, lambda: rules.complaint_rule(hits, label, topic))
        complaint = np.array([_truthy(v) for v in complaint], dtype=bool)
        urgency = self._task("urgency", texts, lambda: rules.urgency_rule(hits, label, complaint))
        urgency = np.clip(np.array([_int(v) for v in urgency], dtype=np.int64), 0, 3)
        topic = np.where(empty, "other", topic)
        complaint &= ~empty
        urgency = np.where(empty, 0, urgency)
        return pd.DataFrame({
            "sentiment": label,
            "sentiment_score": np.round(SentimentModel.score_of(proba), 4),
            "p_negative": np.round(proba[:, 0], 4),
            "p_neutral": np.round(proba[:, 1], 4),
            "p_positive": np.round(proba[:, 2], 4),
            "complaint": complaint,
            "urgency": urgency,
            "topic": topic,
            "flags": flags,
        })

    def _task(self, task: str, texts: list[str], rule: Any) -> np.ndarray:
        model = self.task_models.get(task)
        return rule() if model is None else np.asarray(model.predict(texts), dtype=object)


_COLUMNS = {"sentiment": object, "sentiment_score": float, "p_negative": float, "p_neutral": float,
            "p_positive": float, "complaint": bool, "urgency": np.int64, "topic": object, "flags": object}


def _truthy(v: Any) -> bool:
    return str(v).strip().lower() in {"1", "true", "yes", "y", "complaint"}


def _int(v: Any) -> int:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return 0
