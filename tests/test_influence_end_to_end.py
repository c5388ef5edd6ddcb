"""Influence from a profiles file (or drawn, and labelled so) to the scores, the simulator and what-if (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli

SCENARIO = """
name = "tiny"
[center]
agents = 3
duration = 30.0
warmup = 0.0
time_unit = "minute"

[[segments]]
name = "phone"
channel = "phone"
arrival_rate = 2.0
handle_mean = 1.0
patience_mean = 3.0
customers = "base"
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("influence")
    rng = np.random.default_rng(3)
    buys = 1 + rng.poisson(rng.gamma(0.6, 6.0, 200))  # customers who differ in how often they buy
    rows = [(f"c{c:03d}", (pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(d))).date().isoformat(),
             round(float(rng.gamma(2.0, 20.0)), 2)) for c in range(200) for d in rng.integers(0, 300, buys[c])]
    paths = {"tx": root / "tx.csv", "model": root / "model.json", "profiles": root / "profiles.csv",
             "scenario": root / "scenario.toml", "plain": root / "plain.csv"}
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(paths["tx"], index=False)
    # two accounts for c000 (the larger counts), none for c199; one profile with no customer
    pd.DataFrame({"handle": ["a", "a2", "b", "c", "stranger"], "followers": [50, 90_000, 10, 500, 10**7],
                  "customer_id": ["c000", "c000", "c001", "c002", None]}).to_csv(paths["profiles"], index=False)
    paths["scenario"].write_text(SCENARIO, encoding="utf-8")
    from fairserve.cli import main

    try:
        main(["value", "fit", str(paths["tx"]), "--out", str(paths["model"]), "--scores-out", str(paths["plain"])])
    except SystemExit as exc:  # pragma: no cover
        assert not exc.code
    assert pd.read_csv(paths["plain"])["clv"].notna().all()  # a fit that means something
    return paths


def test_value_score_with_profiles_writes_followers_and_influence(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scores.csv"
    code, stdout, err = run_cli(["value", "score", str(files["tx"]), "--model", str(files["model"]), "--out",
                                 str(out), "--profiles", str(files["profiles"]), "--json"], capsys)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["followers_source"] == f"followers from {files['profiles']}" and doc["customers_with_followers"] == 3
    scores = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert scores.loc["c000", "followers"] == 90_000 and scores.loc["c199", "followers"] == 0
    assert scores["influence"].between(0, 1).all()
    assert scores.loc["c000", "influence"] == 1.0 and scores.loc["c199", "influence"] == 0.0
    influence = scores["influence"].astype(float)
    assert influence["c000"] > influence["c002"] > influence["c001"]


def test_synthetic_followers_are_labelled_synthetic(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scores.csv"
    code, stdout, err = run_cli(["value", "score", str(files["tx"]), "--model", str(files["model"]), "--out",
                                 str(out), "--synthetic-followers", "5"], capsys)
    assert code == 0, err
    assert "synthetic followers (seed 5)" in stdout
    assert {"followers", "influence"} <= set(pd.read_csv(out).columns)


def test_simulate_warns_when_a_policy_reads_influence_the_base_lacks(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", str(files["scenario"]), "--customers", str(files["plain"]), "-r", "1", "--json"]
    code, _, err = run_cli([*argv, "-p", "influence-first"], capsys)
    assert code == 0 and "policy influence-first uses followers, influence" in err and "--profiles" in err
    code, _, err = run_cli([*argv, "-p", "value-first"], capsys)  # reads no influence: nothing to say
    assert code == 0 and "warning" not in err
    code, _, err = run_cli([*argv, "-p", "influence-first", "--profiles", str(files["profiles"])], capsys)
    assert code == 0 and "warning" not in err and f"influence: followers from {files['profiles']}" in err


def test_whatif_takes_profiles_and_they_change_who_is_a_star(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["whatif", str(files["scenario"]), "--customer", "c000", "--customers", str(files["plain"]),
            "-p", "influence-first", "-r", "1", "--json"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0 and "warning" in err
    without = json.loads(out)["policies"]["influence-first"]["tier"]
    code, out, err = run_cli([*argv, "--profiles", str(files["profiles"])], capsys)
    assert code == 0, err
    with_profiles = json.loads(out)["policies"]["influence-first"]["tier"]
    assert (without, with_profiles) == ("everyone", "star")


def test_profiles_need_customers(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["simulate", str(files["scenario"]), "-r", "1", "--profiles", str(files["profiles"])],
                           capsys)
    assert code == 2 and "needs --customers" in err


def test_a_base_with_followers_but_no_influence_gets_influence_from_them(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = pd.read_csv(files["plain"], dtype={"customer_id": str})
    base["followers"] = 0
    base.loc[base["customer_id"] == "c000", "followers"] = 10**6
    scores = tmp_path / "scores.csv"
    base.to_csv(scores, index=False)
    code, out, err = run_cli(["whatif", str(files["scenario"]), "--customer", "c000", "--customers", str(scores),
                              "-p", "influence-first", "-r", "1", "--json"], capsys)
    assert code == 0 and "warning" not in err, err
    assert json.loads(out)["policies"]["influence-first"]["tier"] == "star"


def test_fit_scores_out_with_profiles_writes_what_score_writes(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "fit.csv", tmp_path / "score.csv"
    code, _, err = run_cli(["value", "fit", str(files["tx"]), "--scores-out", str(one), "--profiles",
                            str(files["profiles"])], capsys)
    assert code == 0, err
    code, _, err = run_cli(["value", "score", str(files["tx"]), "--model", str(files["model"]), "--out", str(two),
                            "--profiles", str(files["profiles"])], capsys)
    assert code == 0, err
    a, b = pd.read_csv(one), pd.read_csv(two)
    pd.testing.assert_frame_equal(a[["customer_id", "followers", "influence"]], b[["customer_id", "followers",
                                                                                    "influence"]])
    code, _, err = run_cli(["value", "fit", str(files["tx"]), "--profiles", str(files["profiles"])], capsys)
    assert code == 2 and "needs --scores-out" in err
