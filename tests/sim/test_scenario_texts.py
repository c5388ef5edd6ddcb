"""Segments that draw their texts from a file: every contact carries a real text and the need signals the live
intake's triage reads from it; the profile shortcut still decides each contact as deciding it alone would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli as run
from fairserve.policy import load_policy
from fairserve.sim.engine import decide_contacts
from fairserve.sim.scenario import ScenarioError, draw_contacts, load_scenario
from fairserve.sim.texts import text_signals
from fairserve.text import TextTriage

TEXTS = [
    ("1", "bumped again after 15 min on hold, this is a disgrace", "Negative"),
    ("2", "thank you so much, the crew were lovely", "Positive"),
    ("3", "what time does boarding start", "Neutral"),
    ("4", "urgent: my card was charged twice and I cannot pay rent", "Negative"),
    ("5", "", "Neutral"),  # a blank text is left out, never drawn
]

SCENARIO = """
[center]
agents = 3
duration = 240
warmup = 10

[[segments]]
name = "posts"
channel = "social"
arrival_rate = 0.6
handle_mean = 4
patience_mean = 20
retrial_prob = 0.3
{texts}

[[segments]]
name = "calls"
arrival_rate = 0.4
handle_mean = 4
patience_mean = 5
severity = 2
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pd.DataFrame(TEXTS, columns=["id", "post", "label"]).to_csv(tmp_path / "labelled.csv", index=False)
    (tmp_path / "with.toml").write_text(SCENARIO.format(texts='texts = "labelled.csv"\ntext_column = "post"'))
    (tmp_path / "without.toml").write_text(SCENARIO.format(texts=""))
    return tmp_path


def test_each_contact_draws_a_text_and_carries_the_signals_read_from_it(folder: Path) -> None:
    scenario = load_scenario(folder / "with.toml")
    frame = draw_contacts(scenario, np.random.default_rng(3))
    expected = text_signals(pd.Series([t for _, t, _ in TEXTS]), TextTriage()).set_index("text")
    assert len(expected) == 4  # the blank one is left out
    posts = frame[frame["segment"] == "posts"]
    calls = frame[frame["segment"] == "calls"]
    assert set(posts["text"].astype(str)) == set(expected.index)  # every text drawn, no other
    assert calls["text"].isna().all() and (calls["severity"] == 2).all() and calls["sentiment"].isna().all()
    want = expected.loc[posts["text"].astype(str)]
    assert np.array_equal(posts["severity"].to_numpy(), want["severity"].to_numpy())
    assert np.allclose(posts["sentiment"].to_numpy(), want["sentiment"].to_numpy())
    assert np.array_equal(posts["complaint"].to_numpy(), want["complaint"].to_numpy())
    assert want["sentiment"].min() < 0 < want["sentiment"].max()  # the texts really differ in what they say


def test_texts_leave_every_other_draw_as_it_was(folder: Path) -> None:
    with_texts = draw_contacts(load_scenario(folder / "with.toml"), np.random.default_rng(5))
    without = draw_contacts(load_scenario(folder / "without.toml"), np.random.default_rng(5))
    for col in ("arrival", "handle", "patience", "segment", "parent"):
        assert with_texts[col].equals(without[col]), col


def test_the_profile_shortcut_decides_each_contact_as_deciding_it_alone_would(folder: Path) -> None:
    frame = draw_contacts(load_scenario(folder / "with.toml"), np.random.default_rng(7))
    per_text = frame.groupby("profile", observed=True)["text"].nunique(dropna=False)
    assert (per_text == 1).all()  # one profile, one text
    policy = load_policy("balanced")
    shortcut = decide_contacts(frame, policy)
    whole = decide_contacts(frame.drop(columns="profile"), policy)
    for col in ("tier", "rank", "virtual_arrival", "head_start_min"):
        assert np.array_equal(np.asarray(shortcut[col]), np.asarray(whole[col])), col


def test_bad_texts_name_the_segment_the_file_and_the_field(folder: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    cases = {
        'texts = "nowhere.csv"': "bad0.toml: segments[0] ('posts').texts: ",
        'texts = "labelled.csv"\ntext_column = "body"': "no column 'body' (the file has: id, post, label); name it "
                                                     "with segments[0].text_column",
        'texts = "labelled.csv"\ntext_column = "label"\nsentiment = -0.5': "leave it out",
    }
    for i, (lines, message) in enumerate(cases.items()):
        path = folder / f"bad{i}.toml"
        path.write_text(SCENARIO.format(texts=lines))
        with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("(", r"\(")
                           .replace(")", r"\)")):
            load_scenario(path)
        code, _, err = run(["simulate", str(path), "-p", "fifo", "-r", "1"], capsys)
        assert code == 2 and "Traceback" not in err and message in err, err
    (folder / "blank.csv").write_text("post\n\n \n")
    (folder / "bad-blank.toml").write_text(SCENARIO.format(texts='texts = "blank.csv"\ntext_column = "post"'))
    with pytest.raises(ScenarioError, match="no text in column 'post'"):
        load_scenario(folder / "bad-blank.toml")


def test_simulate_runs_a_scenario_with_texts(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["simulate", str(folder / "with.toml"), "-p", "fifo", "-p", "balanced", "-r", "2",
                          "--seed", "1"], capsys)
    assert code == 0, err
    assert "posts" in out and "calls" in out
