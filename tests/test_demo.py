"""The main job on real CDNOW data: every part runs, on the same decide(), and tells the seeds' story."""

from __future__ import annotations

import numpy as np
import pytest

from fairserve.cli import main
from fairserve.demo import DEMO_POLICIES, demo_scenario, pick_customers, run_demo
from fairserve.policy import load_policy
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


def test_demo_command_exits_0_and_prints_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--replications", "1", "--whatif-replications", "2"])
    assert exc.value.code in (0, None)
    out = capsys.readouterr().out
    for name in DEMO_POLICIES:
        assert name in out
    assert "What if that was you?" in out
    assert "SLA measured against the scenario's targets" in " ".join(out.split())
