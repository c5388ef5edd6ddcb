"""The `fairserve policy` commands: list, check (exit codes), explain, audit and diff, text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policy_strategies import FOLLOWER_SEED

from cli_helpers import run_cli as _run
from fairserve.policy import builtin_names, load_policy


def test_list_shows_every_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["policy", "list", "--json"], capsys)
    assert code == 0
    listed = json.loads(out)
    assert [p["name"] for p in listed] == builtin_names()
    assert all(p["hash"] == load_policy(p["name"]).content_hash for p in listed)


def test_check_accepts_a_good_file_and_refuses_a_bad_one_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = Path(__file__).parents[2] / "src/fairserve/policy/policies/balanced.toml"
    code, out, _ = _run(["policy", "check", str(good)], capsys)
    assert code == 0 and "balanced 2.0: valid" in out
    assert "at most (min): phone 0.1, email 10, chat 0.1, social 2" in out
    assert "wait guarantee (min): phone 3, email 720, chat 4, social 120" in out
    bad = tmp_path / "bad.toml"
    text = good.read_text()
    assert "cap = { phone = 0.1," in text
    bad.write_text(text.replace("cap = { phone = 0.1,", "cap = { phone = -0.1,"))
    code, out, err = _run(["policy", "check", str(bad)], capsys)
    assert code == 2
    assert "influence.cap.phone" in err and str(bad) in err


def test_explain_prints_both_views_and_json_carries_the_policy_identity(
    cdnow_scores_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["policy", "explain", "--policy", "value-first", "--scores", str(cdnow_scores_file), "--customer", "00001"]
    code, out, _ = _run(args, capsys)
    assert code == 0 and "For the agent" in out and "For the customer" in out and "You are in the" in out
    code, out, _ = _run([*args, "--json", "--channel", "email", "--text", "URGENT: refund now, this is unacceptable"],
                        capsys)
    payload = json.loads(out)
    policy = load_policy("value-first")
    assert payload["policy"] == {"name": "value-first", "version": policy.version, "hash": policy.content_hash}
    assert payload["text_classification"]["complaint"] is True
    assert payload["text_classification"]["severity"] == 2
    assert payload["sla_seconds"] == 2880 * 60  # standard tier, email


def test_explain_an_unknown_customer_is_exit_2(cdnow_scores_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["policy", "explain", "--policy", "fifo", "--scores", str(cdnow_scores_file),
                         "--customer", "nobody"], capsys)
    assert code == 2 and "nobody" in err


@pytest.mark.parametrize("name", builtin_names())
def test_audit_prints_the_table_for_each_builtin_on_cdnow(
    name: str, cdnow_scores_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["policy", "audit", "--policy", name, "--scores", str(cdnow_scores_file),
            "--synthetic-followers", str(FOLLOWER_SEED)]
    code, out, _ = _run(base, capsys)
    assert code == 0
    assert "Tier by value decile" in out and "Tier by influence decile" in out and "23,570 customers" in out
    code, out, _ = _run([*base, "--json"], capsys)
    payload = json.loads(out)
    assert payload["policy"]["name"] == name and payload["customers"] == 23_570
    assert payload["followers_source"] == f"synthetic followers (seed {FOLLOWER_SEED})"


def test_audit_reads_followers_from_a_profiles_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("customer_id,clv,profit,loyalty,value_percentile\n1,5,1,0.1,0.3\n2,50,9,0.2,0.6\n3,900,200,0.5,1\n")
    profiles = tmp_path / "profiles.csv"
    profiles.write_text("platform,handle,followers,customer_id\nx,@a,2000000,1\nx,@b,10,2\nx,@c,0,3\n")
    code, out, _ = _run(["policy", "audit", "--policy", "influence-first", "--scores", str(scores),
                         "--profiles", str(profiles), "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["tier_counts"] == {"star": 1, "known": 0, "everyone": 2}
    assert payload["owed_to_influence"] == 1


def test_diff_reports_the_matrix(cdnow_scores_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["policy", "diff", "value-first", "balanced", "--scores", str(cdnow_scores_file), "--json"],
                        capsys)
    assert code == 0
    payload = json.loads(out)
    total = sum(sum(row.values()) for row in payload["matrix"].values())
    assert total == payload["customers"] == 23_570
    assert 0 < payload["changed"] < 23_570


def test_check_of_a_missing_file_and_explain_on_an_unknown_channel_are_exit_2(
    tmp_path: Path, cdnow_scores_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["policy", "check", str(tmp_path / "absent.toml")], capsys)
    assert code == 2 and "no such policy file" in err
    code, _, err = _run(["policy", "explain", "--policy", "fifo", "--scores", str(cdnow_scores_file),
                         "--customer", "00001", "--channel", "fax"], capsys)
    assert code == 2 and "fax" in err


def _piped(argv: list[str]) -> str:
    """Run ``fairserve ARGV`` as a whole process with stdout piped and COLUMNS=60; return stdout."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "60"}
    run = subprocess.run([sys.executable, "-m", "fairserve", *argv], capture_output=True, text=True, env=env,
                         check=True)
    return run.stdout


def test_every_table_command_piped_at_60_columns_shows_every_name_whole(cdnow_scores_file: Path) -> None:
    names = builtin_names()
    listed = _piped(["policy", "list"])
    for name in names:
        assert name in listed.split(), name  # a whole word: not 'influenc…'
        assert " > ".join(load_policy(name).tier_names) in listed
    assert "…" not in listed
    scores = ["--scores", str(cdnow_scores_file)]
    for name in names:
        audit = _piped(["policy", "audit", "--policy", name, *scores, "--synthetic-followers", str(FOLLOWER_SEED)])
        assert name in audit and "…" not in audit
        header = next(line for line in audit.splitlines() if line.startswith("value decile"))
        assert header.split() == ["value", "decile", *load_policy(name).tier_names]
    diff = _piped(["policy", "diff", "influence-first", "tier-strict", *scores])
    assert "…" not in diff
    words = diff.split()
    for name in ("influence-first", "tier-strict"):
        for tier in load_policy(name).tier_names:  # rows and columns are labelled policy:tier, whole
            assert tier in words or f"{name}:{tier}" in words, tier


def test_diff_names_each_policy_on_its_side_of_the_matrix(
    cdnow_scores_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["policy", "diff", "balanced", "influence-first", "--scores", str(cdnow_scores_file)],
                        capsys)
    assert code == 0
    lines = out.splitlines()
    assert "Rows: tier under balanced 2.0; columns: tier under influence-first 2.0" in lines
    header = next(line for line in lines if line.startswith("balanced \\ influence-first"))
    assert header.split()[3:] == list(load_policy("influence-first").tier_names)  # columns: the second's tiers
    rows = [line.split()[0] for line in lines[lines.index(header) + 1:] if line.strip()]
    assert rows == list(load_policy("balanced").tier_names)  # rows: the first's, no policy prefix


def test_simulate_piped_at_60_columns_shows_every_policy_and_segment_name_whole(tmp_path: Path) -> None:
    scenario = tmp_path / "short.toml"
    scenario.write_text('name = "short"\n[center]\nagents = 5\nduration = 30.0\nwarmup = 5.0\n'
                        '[[segments]]\nname = "gold-members"\narrival_rate = 1.5\nhandle_mean = 1.0\ntier = "gold"\n'
                        '[[segments]]\nname = "basic-members"\narrival_rate = 3.0\nhandle_mean = 1.0\n')
    argv = ["simulate", str(scenario), "--replications", "1", "--jobs", "1"]
    for name in builtin_names():
        argv += ["--policy", name]
    out = _piped(argv)
    words = out.split()
    assert "…" not in out
    for name in builtin_names():
        assert f"{name}:" in words, name  # each policy's table title starts with its whole name
    assert words.count("gold-members") == words.count("basic-members") == len(builtin_names())
