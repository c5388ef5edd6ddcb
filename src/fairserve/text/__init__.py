"""Listening: triage of posts and messages (sentiment, complaint, urgency, topic), reputational risk, identity
links, representative anecdotes and the listening summary.

The core modules take and return DataFrames (``sentiment``, ``rules``, ``classify``, ``train``, ``risk``,
``identity``, ``anecdotes``, ``listening``); ``corpora`` (fetching labelled data from PyPI), ``modeldir`` (a
trained model on disk) and ``embed`` (the ONNX encoder) are the edges. See ``docs/listening.md``.
"""

from __future__ import annotations

from fairserve.text.anecdotes import representative_posts
from fairserve.text.classify import TextTriage, prepare_texts
from fairserve.text.identity import link_posts
from fairserve.text.listening import Listening, listen, rising_topics
from fairserve.text.risk import audience, risk_score, score_posts
from fairserve.text.sentiment import CLASSES, SentimentModel

__all__ = [
    "CLASSES",
    "Listening",
    "SentimentModel",
    "TextTriage",
    "audience",
    "link_posts",
    "listen",
    "prepare_texts",
    "representative_posts",
    "rising_topics",
    "risk_score",
    "score_posts",
]
