"""The shipped defaults for topic, complaint and urgency: documented keyword rules, not learned models.

No public data set labels customer posts with topics, complaints or urgency, so fairserve ships rules that a person
can read and replace: ``fairserve text train --task topic|complaint|urgency`` fits the same linear model as
sentiment on a user's own labels, and ``text classify --model`` then uses it in place of the rule. What these rules
were and were not measured on is in ``docs/listening.md``.

* **topic**: the first topic (in :data:`TOPICS` order) whose pattern matches; ``praise`` when none matches and the
  post is positive; else ``other``.
* **complaint** (needs service): a complaint phrase ("refund", "still waiting", "on hold", "bumped", "charged
  twice", ...), or a negative post about a service topic. Lexicons miss such language (VADER scores "bumped again
  after 15 min on hold" neutral), which is why the phrases are listed here.
* **urgency** (the policy's severity 0-3): 3 for harm, fraud, locked-out or outage language; 2 for time pressure
  (today, stranded, asap) or a complaint on a negative post; 1 for any other complaint or a negative post; else 0.

Each rule is one regular expression run once over the whole batch (:func:`keyword_hits`), with RE2 when it is
installed (``google-re2``): about half a second for 100,000 tweets, where Python's ``re`` on each text took 16.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

try:  # RE2 (a DFA): one pass whatever the number of phrases; Python's re is the fallback
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

__all__ = ["TOPICS", "complaint_rule", "keyword_hits", "topic_rule", "urgency_rule"]


def _compile(pattern: str) -> Any:
    data = pattern.encode()
    return _re2.compile(data) if _re2 is not None else re.compile(data)


_TOPIC_PATTERNS: dict[str, str] = {
    "account access": r"locked out|log ?in|sign ?in|password|account (?:is |was |got )?(?:hacked|locked|suspended|"
                      r"banned|disabled)|can'?t access|cannot access|2fa|verification code|hacked",
    "outage": r"\b(?:outage|servers? (?:are |is )?down|is down|not working|doesn'?t work|won'?t load|crash(?:es|ed|"
              r"ing)?|bug(?:s|gy)?|glitch\w*|error|lag(?:gy|ging)?|disconnect\w*|broken)\b",
    "delay": r"\b(?:delay\w*|late|still waiting|waited|waiting|on hold|hours? (?:later|wait)|slow|not (?:yet )?"
             r"(?:arrived|delivered)|never (?:arrived|came|showed)|where is my)\b",
    "cancellation": r"\b(?:cancel\w*|bumped|overbook\w*|rebook\w*|called off)\b",
    "baggage": r"\b(?:bag|bags|baggage|luggage|suitcase)\b",
    "billing": r"\b(?:bill(?:ed|ing)?|charged?|charges|overcharg\w*|invoice|payment|subscription|refund\w*|"
               r"fees?|price|pricing|expensive|\$\d+|money back|paid)\b",
    "delivery": r"\b(?:deliver\w*|shipping|shipped|package|parcel|order(?:ed)?|courier|tracking)\b",
    "customer service": r"\b(?:customer (?:service|support|care)|support team|agent|rep(?:resentative)?|"
                        r"nobody (?:answers|replies|helps)|no one (?:answers|replies|helps)|helpline|call centre|"
                        r"call center|chat ?bot)\b",
}
#: Topic names in match order, then the two fallbacks.
TOPICS: tuple[str, ...] = (*_TOPIC_PATTERNS, "praise", "other")
_SERVICE_TOPICS = set(_TOPIC_PATTERNS)
_COMPLAINT = (
    r"\b(?:complain\w*|refund\w*|compensat\w*|unacceptable|escalat\w*|ombudsman|still waiting|on hold|bumped|"
    r"charged (?:me )?twice|double charged|overcharg\w*|never (?:arrived|came|received)|not received|"
    r"where is my|no response|no reply|nobody (?:answers|replies|helps)|no one (?:answers|replies|helps)|"
    r"fix (?:this|it|your)|sort (?:this|it) out|worst (?:service|support|customer)|money back|"
    r"cancel(?:led|ed)? my|lost my|broke(?:n)? (?:my|again)|doesn'?t work|not working|won'?t load|"
    r"can'?t (?:log|sign|access|connect)|locked out)"
)
_CRITICAL = (
    r"\b(?:fraud\w*|scam\w*|stolen|hacked|identity theft|emergency|unsafe|injur\w*|locked out|"
    r"cannot access|can'?t access|outage|data (?:breach|leak)|lawsuit|lawyer|police)\b"
)
_TIME_PRESSURE = (
    r"\b(?:urgent\w*|asap|immediately|right now|today|tonight|deadline|stranded|missed (?:my )?(?:flight|train|"
    r"connection)|still waiting|hours?|days?|weeks?)\b"
)
_PATTERNS = {**_TOPIC_PATTERNS, "_complaint": _COMPLAINT, "_critical": _CRITICAL, "_time": _TIME_PRESSURE}
_COMPILED = {name: _compile(pat) for name, pat in _PATTERNS.items()}


def keyword_hits(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """For each rule, a boolean array: does the text match it? (The texts are lower-cased first.)

    All texts are joined into one byte string (a newline between two) and each rule's pattern is run over it
    once; a match is placed in its text by the texts' byte offsets. With RE2 (``google-re2``), a DFA, the cost
    grows with the text's length, not with the number of phrases.
    """
    encoded = [t.lower().replace("\n", " ").encode("utf-8", "replace") for t in texts]
    ends = np.cumsum(np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=len(encoded)))
    joined = b"\n".join(encoded)
    out = {}
    for name, pattern in _COMPILED.items():
        hit = np.zeros(len(encoded), dtype=bool)
        starts = np.fromiter((m.start() for m in pattern.finditer(joined)), dtype=np.int64)
        hit[np.searchsorted(ends, starts, side="right")] = True
        out[name] = hit
    return out


def topic_rule(hits: dict[str, np.ndarray], sentiment: np.ndarray) -> np.ndarray:
    """The topic of each text: the first matching topic, else ``praise`` if positive, else ``other``."""
    out = np.where(np.asarray(sentiment) == "positive", "praise", "other").astype(object)
    undecided = np.ones(len(out), dtype=bool)
    for name in _TOPIC_PATTERNS:
        hit = undecided & hits[name]
        out[hit] = name
        undecided &= ~hit
    return out


def complaint_rule(hits: dict[str, np.ndarray], sentiment: np.ndarray, topic: np.ndarray) -> np.ndarray:
    """True where the post asks for service: a complaint phrase, or a negative post about a service topic."""
    negative = np.asarray(sentiment) == "negative"
    service = np.isin(np.asarray(topic, dtype=object), list(_SERVICE_TOPICS))
    return hits["_complaint"] | (negative & service)


def urgency_rule(hits: dict[str, np.ndarray], sentiment: np.ndarray, complaint: np.ndarray) -> np.ndarray:
    """Severity 0-3 as the policy reads it (see the module docstring)."""
    negative = np.asarray(sentiment) == "negative"
    complaint = np.asarray(complaint, dtype=bool)
    level = np.where(complaint | negative, 1, 0)
    level = np.where((complaint & negative) | (complaint & hits["_time"]), 2, level)
    level = np.where(hits["_critical"] & (complaint | negative), 3, level)
    return level.astype(np.int64)
