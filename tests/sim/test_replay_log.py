"""``simulate --contacts``: a real contact log replayed in place of drawn arrivals (fairserve.sim.replay)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli
from fairserve.sim.replay import replay_contacts
from fairserve.sim.scenario import ScenarioError, scenario_from_dict

SCENARIO = {
    "name": "replay",
    "center": {"agents": 2, "duration": 120.0, "warmup": 0.0, "time_unit": "minute"},
    "segments": [
        {"name": "calls", "channel": "phone", "arrival_rate": 50.0, "handle_mean": 2.0, "patience_mean": 5.0,
         "customers": "base", "retrial_prob": 0.9, "max_retrials": 2},
        {"name": "mail", "channel": "email", "arrival_rate": 1.0, "handle_mean": 9.0, "customers": "base"},
    ],
}


TOML = """
name = "replay"
[center]
agents = 2
duration = 120.0
warmup = 0.0
time_unit = "minute"
[[segments]]
name = "calls"
channel = "phone"
arrival_rate = 50.0
handle_mean = 2.0
patience_mean = 5.0
customers = "base"
retrial_prob = 0.9
max_retrials = 2
[[segments]]
name = "mail"
channel = "email"
arrival_rate = 1.0
handle_mean = 9.0
customers = "base"
"""


def test_the_toml_is_the_dict() -> None:
    import tomllib

    assert tomllib.loads(TOML) == SCENARIO


def _log(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    seconds = np.sort(rng.uniform(0, 3600, n))
    return pd.DataFrame({
        "contact_id": [f"k{i}" for i in range(n)],
        "channel": np.where(np.arange(n) % 5 == 0, "email", "phone"),
        "arrival": pd.Timestamp("2026-11-30T09:00:00") + pd.to_timedelta(seconds, unit="s"),
        "customer_id": [f"c{i % 7}" for i in range(n)],
        "severity": np.arange(n) % 4,
        "handle_seconds": np.where(np.arange(n) % 2 == 0, 30.0 * (1 + np.arange(n) % 3), np.nan),
    })


def _base() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(7)], "clv": np.arange(7) * 100.0,
                         "followers": np.arange(7) * 10})


def test_a_replay_keeps_the_logs_arrivals_customers_and_handle_times() -> None:
    scen, log = scenario_from_dict(SCENARIO), _log()
    frames = [replay_contacts(scen, log.sample(frac=1, random_state=s), np.random.default_rng(s), _base())
              for s in (1, 2)]
    for frame in frames:
        assert len(frame) == len(log)  # no drawn arrivals and no retrials: the log holds its own call-backs
        seconds = (log["arrival"] - log["arrival"].min()).dt.total_seconds().to_numpy()
        np.testing.assert_allclose(frame["t"].to_numpy(), seconds / 60.0)
        assert frame["customer_id"].astype(str).tolist() == log["customer_id"].tolist()
        assert frame["channel"].astype(str).tolist() == log["channel"].tolist()
        assert frame["segment"].astype(str).tolist() == ["mail" if c == "email" else "calls" for c in log["channel"]]
        known = log["handle_seconds"].notna().to_numpy()
        np.testing.assert_allclose(frame["handle"].to_numpy()[known], log["handle_seconds"].to_numpy()[known] / 60)
        assert frame["severity"].tolist() == log["severity"].tolist()
        np.testing.assert_allclose(frame["clv"], log["customer_id"].str[1:].astype(int) * 100.0)
        np.testing.assert_allclose(frame["reach"], log["customer_id"].str[1:].astype(int) * 10.0)
    unknown = log["handle_seconds"].isna().to_numpy()
    assert not np.allclose(frames[0]["handle"].to_numpy()[unknown], frames[1]["handle"].to_numpy()[unknown])


def test_a_channel_the_scenario_has_no_segment_for_is_refused() -> None:
    log = _log().assign(channel="chat")
    with pytest.raises(ScenarioError, match="no segment for the channel"):
        replay_contacts(scenario_from_dict(SCENARIO), log, np.random.default_rng(0), _base())


def test_simulate_contacts_replays_the_log_under_each_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scen, log_path, scores = tmp_path / "s.toml", tmp_path / "log.csv", tmp_path / "scores.csv"
    scen.write_text(TOML, encoding="utf-8")
    _log().to_csv(log_path, index=False)
    _base().to_csv(scores, index=False)
    code, out, err = run_cli(["simulate", str(scen), "--customers", str(scores), "--contacts", str(log_path),
                              "-p", "fifo", "-p", "value-first", "-r", "3", "--json"], capsys)
    assert code == 0, err
    assert "replaying 60 contacts" in err and "handle times: 30 from the log" in err
    doc = json.loads(out)
    assert {label: p["arrivals"] for label, p in doc["policies"].items()} == {"fifo": 180, "value-first": 180}


def test_a_bad_contact_log_is_refused_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scen, log_path, scores = tmp_path / "s.toml", tmp_path / "log.csv", tmp_path / "scores.csv"
    scen.write_text(TOML, encoding="utf-8")
    _log().assign(handle_seconds=-5.0).to_csv(log_path, index=False)
    _base().to_csv(scores, index=False)
    code, _, err = run_cli(["simulate", str(scen), "--customers", str(scores), "--contacts", str(log_path)], capsys)
    assert code == 2 and f"{log_path}, row 1, field 'handle_seconds'" in err
