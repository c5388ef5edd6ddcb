"""Texts for a scenario's segments: a file of real posts or messages, read once, their need signals read by triage.

An edge module: it reads each segment's ``texts`` file (:func:`fairserve.text.posts.read_posts`: CSV, JSON lines,
Parquet or plain text) and classifies every text once with the text triage the live intake uses (the model
directory in ``$FAIRSERVE_TEXT_MODEL``, else the VADER lexicon and the documented rules), so a simulated contact
carries the severity, sentiment and complaint a real contact with that text would get. A labelled file (the brand
tweets, your own labelled posts) works as is: only its text column is read; the labels are not used, since the
live service never sees them either. Drawing which contact gets which text is the scenario's
(:func:`fairserve.sim.scenario.draw_contacts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fairserve.errors import FairserveError
from fairserve.sim.scenario import Scenario, ScenarioError

__all__ = ["read_segment_texts", "text_signals"]


def text_signals(texts: pd.Series, triage: Any = None) -> pd.DataFrame:
    """``text, severity, sentiment, complaint`` of each non-empty text, as the live intake reads them.

    Parameters
    ----------
    texts : pandas.Series
        The texts (missing and blank ones are left out).
    triage : fairserve.text.TextTriage, optional
        The classifier; default: the model in ``$FAIRSERVE_TEXT_MODEL``, else VADER and the rules.
    """
    kept = texts.fillna("").astype(str)
    kept = kept[kept.str.strip() != ""].reset_index(drop=True)
    if triage is None:
        from fairserve.text.modeldir import load_triage

        triage = load_triage()
    read = triage.classify(kept)
    return pd.DataFrame({
        "text": kept,
        "severity": read["urgency"].to_numpy(dtype="int64"),
        "sentiment": read["sentiment_score"].to_numpy(dtype=float),
        "complaint": read["complaint"].to_numpy(dtype=bool),
    })


def read_segment_texts(scenario: Scenario, base_dir: Path | str = ".", triage: Any = None) -> Scenario:
    """The scenario with every segment's ``texts`` file read and classified (relative paths from ``base_dir``).

    Raises
    ------
    ScenarioError
        Naming the segment and the file: missing, unreadable, without the text column, or without any text.
    """
    from fairserve.text.posts import read_posts

    signals: dict[str, pd.DataFrame] = {}
    for i, seg in enumerate(scenario.segments):
        if seg.texts is None:
            continue
        path = Path(seg.texts)
        if not path.is_absolute():
            path = Path(base_dir) / path
        where = f"segments[{i}] ({seg.name!r}).texts"
        try:
            frame = read_posts(path, seg.text_column, options={seg.text_column: f"segments[{i}].text_column"})
        except FairserveError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        if triage is None:  # once, for every segment
            from fairserve.text.modeldir import load_triage

            triage = load_triage()
        table = text_signals(frame[seg.text_column], triage)
        if table.empty:
            raise ScenarioError(f"{where}: {path} has no text in column '{seg.text_column}'")
        signals[seg.name] = table
    return scenario.with_text_signals(signals)
