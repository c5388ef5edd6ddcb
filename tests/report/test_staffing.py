"""Staffing for the targets, and the warning for a scenario whose queue can only grow."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from fairserve.report.staffing import overload_warnings, pool_loads, staffing_table
from fairserve.sim.erlang import agents_needed
from fairserve.sim.scenario import scenario_from_dict


def test_an_overloaded_pool_without_abandonment_is_warned_about() -> None:
    scen = scenario_from_dict(
        {
            "center": {"agents": 1, "duration": 100.0},
            "segments": [{"name": "a", "arrival_rate": 5.0, "handle_mean": 1.0}],
        }
    )
    (load,) = pool_loads(scen)
    assert load.load_per_agent == 5.0 and not load.abandonment
    (warning,) = overload_warnings(scen)
    assert "overloaded" in warning and "load 5.00 per agent" in warning


def test_no_warning_when_contacts_abandon_or_the_load_is_below_one() -> None:
    impatient = {"name": "a", "arrival_rate": 5.0, "handle_mean": 1.0, "patience_mean": 2.0}
    light = {"name": "b", "arrival_rate": 0.5, "handle_mean": 1.0}
    for seg in (impatient, light):
        scen = scenario_from_dict({"center": {"agents": 1, "duration": 10.0}, "segments": [seg]})
        assert overload_warnings(scen) == []


def test_fifo_needs_erlang_c_and_strict_tiers_never_need_fewer(comparison: dict[str, Any]) -> None:
    result, scen = comparison["result"], comparison["scenario"]
    order = {k: p.tier_names for k, p in comparison["policies"].items()}
    table = staffing_table(scen, result, order)
    phone = table["channels"]["phone"]
    erlang_c = agents_needed(phone["arrival_rate"], phone["handle_mean"], phone["share"], phone["within"]).agents
    assert table["policies"]["fifo"]["phone"] == erlang_c
    for label in result["policies"]:
        assert table["policies"][label]["phone"] >= erlang_c
    # abandonment lowers the need below Erlang C's (patience 2 minutes)
    assert phone["any_order"] <= erlang_c
    assert table["staffed"] == {"phone": 6, "social": 6}


def test_strict_tiers_cost_agents_when_the_bottom_tier_is_small() -> None:
    from fairserve.report.staffing import _every_tier

    one_queue = _every_tier(50.0, 1.0, [1.0], 1 / 3, 0.8)
    assert one_queue == agents_needed(50.0, 1.0, 0.8, 1 / 3).agents  # one tier: Erlang C exactly
    assert _every_tier(50.0, 1.0, [0.9, 0.1], 1 / 3, 0.8) > _every_tier(50.0, 1.0, [0.5, 0.5], 1 / 3, 0.8) > one_queue


def test_simulate_and_whatif_warn_before_running_an_overloaded_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from report_data import small_base

    import fairserve.sim
    from cli_helpers import run_cli

    path = tmp_path / "over.toml"
    path.write_text('[center]\nagents = 1\nduration = 50.0\n[[segments]]\nname = "a"\narrival_rate = 5.0\n'
                    'handle_mean = 1.0\ncustomers = "base"\n')
    scores = tmp_path / "scores.csv"
    small_base().to_csv(scores, index=False)
    code, _, err = run_cli(["simulate", str(path), "-r", "1", "--customers", str(scores)], capsys)
    assert code == 0, err
    assert "warning: pool 'service' (phone) is overloaded" in err and "load 5.00 per agent" in err

    said: list[str] = []

    def refuse(*_a: object, **_k: object) -> None:
        said.append(" ".join(capsys.readouterr().err.split()))  # what was said before the simulation began
        raise RuntimeError("stop here")

    monkeypatch.setattr(fairserve.sim, "compare_policies", refuse)
    monkeypatch.setattr(fairserve.sim, "whatif", refuse)
    for argv in (["simulate", str(path)], ["whatif", str(path), "--customer", "c0001"]):
        with contextlib.suppress(RuntimeError):
            run_cli([*argv, "--customers", str(scores)], capsys)
    assert len(said) == 2 and all("is overloaded" in text for text in said)
