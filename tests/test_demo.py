"""The main job on real CDNOW data: every part runs, on the same decide(), and tells the seeds' story."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fairserve.cli import main
from fairserve.demo import DEMO_POLICIES, demo_scenario, pick_customers, run_demo
from fairserve.policy import load_policy
from fairserve.report.fmt import money, num, pct
from fairserve.sim.engine import decide_contacts
from fairserve.sim.scenario import draw_contacts


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    steps: list[str] = []
    out = run_demo(replications=2, whatif_replications=3, seed=1, step=steps.append)
    out.steps = steps  # type: ignore[attr-defined]
    return out


def test_demo_scores_every_real_customer_and_finds_no_bad_rows(result) -> None:  # type: ignore[no-untyped-def]
    assert result.problems == 0
    assert len(result.scores) == 23_570
    assert result.scores["clv"].ge(0).all()
    assert result.scores["influence"].between(0, 1).all()
    assert any(step.startswith("simulating") for step in result.steps)


def test_demo_compares_the_four_built_in_policies_over_all_channels(result) -> None:  # type: ignore[no-untyped-def]
    policies = result.comparison["policies"]
    assert list(policies) == list(DEMO_POLICIES)
    for entry in policies.values():
        assert set(entry["channels"]) == {"phone", "email", "chat", "social"}
        assert entry["arrivals"] > 0
    # FIFO lets nobody pass; the more weight a policy gives reach, the more passes reach alone explains
    assert policies["fifo"]["all"]["all"]["overtaken"] == 0
    by_influence = {name: policies[name]["all"]["all"]["overtaken_by_influence"] for name in DEMO_POLICIES}
    assert by_influence["influence-first"] > by_influence["balanced"] > by_influence["value-first"]
    # value-first's zero is its policy's doing: on the same week's contacts it gives nobody influence minutes,
    # while influence-first does give some (so the measure would see them)
    contacts = draw_contacts(demo_scenario(), np.random.default_rng(1), result.scores)
    minutes = {
        name: decide_contacts(contacts, load_policy(name))["influence_min"].fillna(0.0) for name in DEMO_POLICIES
    }
    assert (minutes["value-first"] == 0).all() and by_influence["value-first"] == 0
    assert (minutes["influence-first"] > 0).mean() > 0.1
    # every policy is measured against the same targets, stated with the comparison
    assert result.comparison["targets_text"].startswith("phone 80% in 20 s")
    assert all(0 < entry["all"]["all"]["promise_kept"] <= 1 for entry in policies.values())
    # value-first serves the top value decile sooner than the bottom one
    vd = policies["value-first"]["value_deciles"]
    assert vd["D10"]["mean_wait"] < vd["D1"]["mean_wait"]


def test_demo_picks_the_seeds_two_customers(result) -> None:  # type: ignore[no-untyped-def]
    scores = result.scores
    picks = pick_customers(scores)
    loyal = scores.set_index("customer_id").loc[picks["loyal"]]
    influencer = scores.set_index("customer_id").loc[picks["influencer"]]
    assert loyal["followers"] == 0
    assert loyal["clv"] == scores.loc[scores["followers"] == 0, "clv"].max()
    assert influencer["value_percentile"] <= 0.5
    assert influencer["followers"] == scores.loc[scores["value_percentile"] <= 0.5, "followers"].max()
    loyal_view = result.whatifs["loyal"]["policies"]
    influencer_view = result.whatifs["influencer"]["policies"]
    assert loyal_view["value-first"]["tier"] == load_top_tier("value-first")
    assert influencer_view["influence-first"]["tier"] == load_top_tier("influence-first")
    assert influencer_view["balanced"]["tier"] != load_top_tier("balanced")


def load_top_tier(name: str) -> str:
    from fairserve.policy import load_policy

    return load_policy(name).tier_names[0]


def test_demo_command_writes_one_folder_and_ends_with_the_computed_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--replications", "1", "--whatif-replications", "2", "--currency", "€"])
    assert exc.value.code in (0, None)
    out = capsys.readouterr().out
    for name in DEMO_POLICIES:
        assert name in out
    assert "What if that was you?" in out
    assert "SLA measured against the scenario's targets" in " ".join(out.split())
    folder = tmp_path / "fairserve-demo"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "scores.csv", "summary.json"]
    lines = [line for line in out.splitlines() if line.strip()]
    paths = [line.split(":", 1)[1].strip() for line in lines if line.startswith(("scores:", "summary:", "report:"))]
    assert paths == ["fairserve-demo/scores.csv", "fairserve-demo/summary.json", "fairserve-demo/report.html"]
    # the report's path is the last path printed, and the answer, computed from the JSON's numbers, ends the output
    data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    ending = " ".join(out.split("report:  fairserve-demo/report.html", 1)[1].split())
    assert ending == f"The answer. {data['answer']}"
    c = contrast_of(data)
    assert c["policy"] == "influence-first" and c["baseline"] == "fifo"
    top = data["policies"]["influence-first"]["value_deciles"]["D10"]
    base = data["policies"]["fifo"]["value_deciles"]["D10"]
    assert f"{num(top['mean_wait'])} against {num(base['mean_wait'])} minutes" in data["answer"]
    assert f"{pct(top['abandon_rate'])} against {pct(base['abandon_rate'])}" in data["answer"]
    rar = data["policies"]["influence-first"]["all"]["revenue_at_risk"]
    assert f"to {money(rar, '€')}" in data["answer"]
    # it leads with the policy that orders the desks as influence-first does, then says why fifo differs
    assert data["answer"].index("than under value-first") < data["answer"].index("than under fifo")
    assert "Against fifo, which serves each desk in arrival order" in data["answer"]
    assert list(data["policies"]["fifo"]["value_deciles"])[:3] == ["D1", "D2", "D3"]
    # every next: command runs as printed, from the folder the demo ran in
    commands = [line[len("next: "):] for line in lines if line.startswith("next: ")]
    assert commands == data["next"] and len(commands) == 2
    exe = Path(sys.executable).with_name("fairserve")
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "fairserve"
        done = subprocess.run([str(exe), *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (command, done.stderr[-2000:])
        assert "Traceback" not in done.stderr
    assert (folder / "rerun.html").exists()  # the rerun wrote its report where it said


def contrast_of(data: dict[str, object]) -> dict[str, object]:
    verdict = data["verdict"]
    assert isinstance(verdict, dict)
    return verdict["contrasts"]["influence-first"]  # type: ignore[no-any-return]


def test_demo_json_prints_the_summary_and_nothing_else(
    result, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    import fairserve.cli.demo

    monkeypatch.setattr(fairserve.cli.demo, "run_demo", lambda **_kw: result)  # the real run is the test above
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--json", "--out", "out dir"])
    assert exc.value.code in (0, None)
    data = json.loads(capsys.readouterr().out)  # one JSON object, no tables
    assert data["files"]["report"] == "out dir/report.html" and (tmp_path / "out dir" / "report.html").exists()
    assert data["answer"].startswith("Under influence-first, customers in the top value decile")
    assert data["focus"] == "influence-first" and data["baseline"] == "fifo"
    assert set(data["whatifs"]) == {"loyal", "influencer"}
    assert "'out dir/scores.csv'" in data["next"][0]  # a folder with a space is quoted, so the command still runs
