"""``fairserve simulate``, ``whatif`` and ``staff``: JSON on stdout in the documented shape, errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli as run
from fairserve.sim.erlang import staffing
from fairserve.sim.scenario import parse_duration

SCENARIO = """
[center]
agents = 8
duration = 200.0
warmup = 10.0
[[segments]]
name = "gold"
arrival_rate = 2.0
handle_mean = 1.0
patience_mean = 2.0
tier = "gold"
[[segments]]
name = "basic"
arrival_rate = 5.0
handle_mean = 1.0
patience_mean = 2.0
tier = "basic"
"""




def test_simulate_json_has_the_contract_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    report = tmp_path / "r.html"
    code, out, _ = run(["simulate", str(path), "--policy", "fifo", "--policy", "tier-strict", "--replications", "3",
                        "--seed", "4", "--json", "--report", str(report)], capsys)  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert set(doc["policies"]) == {"fifo", "tier-strict"}
    for entry in doc["policies"].values():
        assert entry["arrivals"] > 0 and entry["elapsed_s"] > 0
        for row in entry["segments"].values():
            for key in ("mean_wait", "p_wait", "abandon_rate"):
                lo, hi = row[f"{key}_ci95"]
                assert lo <= row[key] <= hi
            assert 0 <= row["sla"] <= 1
    strict = doc["policies"]["tier-strict"]["segments"]
    assert strict["gold"]["mean_wait"] < strict["basic"]["mean_wait"]
    html = report.read_text()
    assert html.startswith("<!doctype html>") and html.count("Plotly.newPlot(") >= 3 and "tier-strict" in html


def test_simulate_table_and_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    code, out, _ = run(["simulate", str(path), "-r", "2"], capsys)
    assert code == 0 and "gold" in out and "fifo" in out
    path.write_text(SCENARIO.replace("handle_mean = 1.0", "handle_mean = 0", 1))
    code, out, err = run(["simulate", str(path), "--json"], capsys)
    assert code == 2 and out == "" and "segments[0].handle_mean" in err


def test_staff_json_with_and_without_agents(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["staff", "--arrival-rate", "45", "--handle-mean", "1", "--target-sl", "0.8",
                        "--target-time", "20s", "--agents", "50", "--json"], capsys)  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    exact = staffing(45, 1.0, 50, target_time=1 / 3)
    assert doc["p_wait"] == pytest.approx(exact.p_wait) and doc["service_level"] == pytest.approx(exact.service_level)
    assert doc["mean_wait"] == pytest.approx(exact.mean_wait) and doc["abandon_rate"] == 0.0
    code, out, _ = run(["staff", "--arrival-rate", "45", "--handle-mean", "1", "--patience-mean", "2",
                        "--target-sl", "0.8", "--target-time", "20s", "--json"], capsys)  # fmt: skip
    need = json.loads(out)
    assert code == 0 and need["service_level"] >= 0.8 and need["model"] == "erlang-a"
    fewer = staffing(45, 1.0, need["agents"] - 1, patience_mean=2.0, target_time=1 / 3)
    assert fewer.service_level < 0.8  # the fewest agents that meet the target
    code, _, err = run(["staff", "--arrival-rate", "50", "--handle-mean", "1", "--agents", "50"], capsys)
    assert code == 2 and "unstable" in err


@pytest.mark.parametrize(("args", "says"), [
    (["--arrival-rate", "1e12", "--handle-mean", "1"], "offered load 1e+12 Erlangs"),  # used to run for hours
    (["--arrival-rate", "45", "--handle-mean", "1", "--agents", "1000000000"], "at most 100,000"),
    (["--arrival-rate", "1e5", "--handle-mean", "1", "--patience-mean", "1e9", "--agents", "10"], "would queue"),
    (["--arrival-rate", "nan", "--handle-mean", "1"], "arrival rate must be a finite number"),
    (["--arrival-rate", "5", "--handle-mean", "inf"], "handle mean must be a finite number"),
])
def test_staff_refuses_what_it_cannot_compute_at_once(args: list[str], says: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["staff", *args], capsys)
    assert code == 2 and out == "" and says in err


def test_whatif_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    n = 300
    base = pd.DataFrame({"customer_id": [f"{i:03d}" for i in range(n)], "clv": rng.lognormal(4.5, 1, n),
                         "loyalty": rng.uniform(size=n), "influence": rng.uniform(size=n),
                         "followers": rng.integers(0, 10000, n)})  # fmt: skip
    base["value_percentile"] = base["clv"].rank(pct=True)
    scores = tmp_path / "scores.csv"
    base.to_csv(scores, index=False)
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.replace('tier = "basic"', 'customers = "base"'))
    code, out, _ = run(["whatif", str(path), "--customer", "007", "--customers", str(scores), "-p", "fifo",
                        "-p", "value-first", "--replications", "3", "--json"], capsys)  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["customer"]["customer_id"] == "007" and doc["segment"] == "basic"
    assert set(doc["policies"]) == {"fifo", "value-first"}


@pytest.mark.parametrize(("text", "want"), [("20s", 1 / 3), ("1.5m", 1.5), ("2h", 120.0), ("0.25", 0.25)])
def test_durations_convert_to_the_time_unit(text: str, want: float) -> None:
    assert parse_duration(text, 60.0) == pytest.approx(want)
