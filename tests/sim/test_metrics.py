"""Metric definitions on hand-made outcomes, the t-interval, and what compare_policies reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fairserve.sim.engine import compare_policies, key_function
from fairserve.sim.metrics import add_outcomes, ci95, replication_metrics
from fairserve.sim.scenario import scenario_from_dict


def _scenario(**churn: float) -> object:
    return scenario_from_dict(
        {
            "center": {"agents": 1, "duration": 10.0},
            "segments": [{"name": "s", "arrival_rate": 1.0, "handle_mean": 1.0, "sla": 1.0}],
            "churn": churn,
        }
    )


def _frame() -> pd.DataFrame:
    # four contacts: answered at once, answered late (wait 3 > SLA 1), abandoned, answered on time
    return pd.DataFrame(
        {
            "segment": ["s"] * 4,
            "tier": ["t"] * 4,
            "channel": ["phone"] * 4,
            "wait": [0.0, 3.0, 2.0, 0.5],
            "served": [True, True, False, True],
            "sla_seconds": [np.inf, 300.0, 60.0, 20.0],  # the policy's own promise: inf, 5, 1 and 1/3 minutes
            "public": [True, True, True, False],
            "clv": [100.0, 100.0, 1000.0, np.nan],
            "reach": [10.0, 1000.0, 50.0, 7.0],
            "sentiment": [-0.5, -0.5, 0.2, -1.0],
            "overtaken": [0, 2, 1, 0],
            "overtaken_influence": [0, 1, 0, 0],
            "measured": [True] * 4,
            "value_percentile": [np.nan] * 4,
            "influence": [np.nan] * 4,
        }
    )


def test_outcomes_follow_the_documented_definitions() -> None:
    out = add_outcomes(_frame(), _scenario(abandon=0.2, sla_miss=0.05, per_unit_late=0.01, base=0.0))  # type: ignore[arg-type]
    # the yardstick is the scenario's target (the segment's sla of 1 minute), not the policy's promise
    assert out["sla_ok"].tolist() == [True, False, False, True]
    assert out["promise_ok"].tolist() == [True, True, False, False]
    np.testing.assert_allclose(out["p_churn"], [0.0, 0.05 + 0.01 * 2.0, 0.2, 0.0])
    np.testing.assert_allclose(out["revenue_at_risk"], [0.0, 100 * 0.07, 1000 * 0.2, 0.0])
    # exposure: public contacts unresolved past the target (late or abandoned) x reach x negativity; positive
    # sentiment adds nothing, and the last contact (late for its promise, but not public) adds nothing either
    np.testing.assert_allclose(out["exposure"], [0.0, 1000 * 0.5, 0.0, 0.0])
    m = replication_metrics(out)["segments"]["s"]
    assert m["mean_wait"] == pytest.approx(5.5 / 4)
    assert m["mean_wait_served"] == pytest.approx(3.5 / 3)
    assert m["p_wait"] == 0.75 and m["sla"] == 0.5 and m["promise_kept"] == 0.5 and m["abandon_rate"] == 0.25
    assert m["overtaken"] == 0.75 and m["p_overtaken"] == 0.5 and m["overtaken_by_influence"] == 0.25
    assert m["revenue_at_risk"] == pytest.approx(207.0) and m["reputational_exposure"] == pytest.approx(500.0)


def test_ci95_is_the_student_t_interval() -> None:
    x = [1.0, 2.0, 4.0, 7.0]
    mean, lo, hi = ci95(x)
    want = stats.t.interval(0.95, 3, loc=np.mean(x), scale=stats.sem(x))
    assert mean == 3.5 and lo == pytest.approx(want[0]) and hi == pytest.approx(want[1])
    assert np.isnan(ci95([1.0])[1])


def _two_segment(**extra: object) -> object:
    return scenario_from_dict(
        {
            "center": {"agents": 10, "duration": 300.0, "warmup": 10.0},
            "segments": [
                {
                    "name": "gold",
                    "arrival_rate": 3.0,
                    "handle_mean": 1.0,
                    "patience_mean": 2.0,
                    "tier": "gold",
                    "clv": 900.0,
                    "reach": 20000.0,
                    "sentiment": -0.8,
                },
                {
                    "name": "basic",
                    "arrival_rate": 6.5,
                    "handle_mean": 1.0,
                    "patience_mean": 2.0,
                    "tier": "basic",
                    "clv": 50.0,
                    **extra,
                },
            ],
        }
    )


def test_compare_policies_reports_the_contract_keys_and_uses_common_random_numbers() -> None:
    out = compare_policies(_two_segment(), ["fifo", "tier-strict"], replications=3, seed=5)  # type: ignore[arg-type]
    fifo, strict = out["policies"]["fifo"], out["policies"]["tier-strict"]
    for entry in (fifo, strict):
        assert set(entry["segments"]) == {"gold", "basic"} and entry["elapsed_s"] > 0
        row = entry["segments"]["basic"]
        for key in ("mean_wait", "p_wait", "abandon_rate", "sla", "revenue_at_risk", "overtaken"):
            assert key in row and len(row[f"{key}_ci95"]) == 2
    assert fifo["arrivals"] == strict["arrivals"]  # the same contacts for both policies
    assert fifo["segments"]["gold"]["overtaken"] == 0.0 and fifo["segments"]["basic"]["overtaken"] == 0.0
    assert strict["segments"]["gold"]["overtaken"] == 0.0 < strict["segments"]["basic"]["overtaken"]
    assert strict["segments"]["gold"]["mean_wait"] < fifo["segments"]["gold"]["mean_wait"]
    assert strict["segments"]["basic"]["mean_wait"] > fifo["segments"]["basic"]["mean_wait"]
    # the same seed gives the same numbers
    again = compare_policies(_two_segment(), ["fifo"], replications=3, seed=5)  # type: ignore[arg-type]
    assert again["policies"]["fifo"]["segments"] == fifo["segments"]


def test_influence_overtakes_are_attributed_to_influence() -> None:
    # influence-first gives head starts for reach; the basic segment's influencers pass gold's non-influencers
    scen = _two_segment(influence=0.99, followers=100000)
    out = compare_policies(scen, ["influence-first", "fifo"], replications=2, seed=1)  # type: ignore[arg-type]
    gold = out["policies"]["influence-first"]["segments"]["gold"]
    assert gold["overtaken_by_influence"] > 0
    assert gold["overtaken_by_influence"] <= gold["overtaken"]
    assert out["policies"]["fifo"]["segments"]["gold"]["overtaken_by_influence"] == 0.0


def test_without_targets_each_channel_is_measured_against_the_documented_default() -> None:
    scen = scenario_from_dict(
        {
            "center": {"agents": 1, "duration": 10.0},
            "segments": [
                {"name": "p", "arrival_rate": 1.0, "handle_mean": 1.0},
                {"name": "e", "arrival_rate": 1.0, "handle_mean": 1.0, "channel": "email"},
            ],
        }
    )
    frame = pd.DataFrame(
        {
            "segment": ["p", "p", "e", "e"],
            "channel": ["phone", "phone", "email", "email"],
            "wait": [0.3, 0.4, 1000.0, 1500.0],  # minutes: 18 s and 24 s on the phone, 16.7 h and 25 h by email
            "served": [True] * 4,
            "sla_seconds": [np.inf] * 4,
            "reach": [np.nan] * 4,
            "sentiment": [np.nan] * 4,
        }
    )
    out = add_outcomes(frame, scen)  # type: ignore[arg-type]
    assert out["sla_ok"].tolist() == [True, False, True, False]  # phone 20 s, email 24 h
    np.testing.assert_allclose(out["target_units"], [1 / 3, 1 / 3, 1440.0, 1440.0])
    assert out["promise_ok"].all()  # no promise: answered is kept


def _yardstick_scenario() -> object:
    shared = {"handle_mean": 1.0, "patience_mean": 3.0, "clv": 400.0, "sentiment": -0.8, "reach": 50_000.0}
    return scenario_from_dict(
        {
            "center": {"agents": 4, "duration": 300.0, "warmup": 10.0},
            "targets": {"phone": {"within": "30s"}, "social": {"within": 2.0, "share": 0.9}},
            "segments": [
                {"name": "gold", "arrival_rate": 1.5, "tier": "gold", **shared},
                {"name": "basic", "arrival_rate": 2.5, **shared},
                {"name": "post", "arrival_rate": 0.5, "channel": "social", **shared},
            ],
        }
    )


def _named(decider, name: str):  # type: ignore[no-untyped-def]
    decider.name = name
    return decider


def test_a_smaller_promise_changes_promise_kept_and_nothing_else() -> None:
    # two policies with the same order (gold first) that promise 10 seconds and one day: measured against the
    # scenario's targets, they are the same policy; only the promise kept differs
    def gold_first(f: pd.DataFrame) -> np.ndarray:
        return (f["status"].astype(str) != "gold").to_numpy(dtype=np.int64)

    small = _named(key_function(gold_first, sla_seconds=10.0), "promise-10s")
    large = _named(key_function(gold_first, sla_seconds=86_400.0), "promise-1d")
    out = compare_policies(_yardstick_scenario(), [small, large], replications=3, seed=2)  # type: ignore[arg-type]
    a, b = out["policies"]["promise-10s"], out["policies"]["promise-1d"]
    for section in ("all", "segments", "channels", "tiers"):
        for group, row in a[section].items():
            for metric in ("sla", "revenue_at_risk", "reputational_exposure", "mean_wait"):
                assert row[metric] == b[section][group][metric], (section, group, metric)
    assert a["all"]["all"]["promise_kept"] < 0.5 < b["all"]["all"]["promise_kept"]
    assert 0 < a["all"]["all"]["sla"] < 1 and a["all"]["all"]["reputational_exposure"] > 0
    assert out["targets"]["phone"] == {"within": 0.5, "within_seconds": 30.0, "share": 0.8}
    assert out["targets"]["social"]["share"] == 0.9 and "phone 80% in 30 s" in out["targets_text"]


def test_only_public_contacts_add_reputational_exposure() -> None:
    # a phone call with a huge audience and a furious customer has no audience in the call: no exposure;
    # the same customer posting on social does, and so does a phone segment that says its contacts are public
    seg = {"arrival_rate": 2.0, "handle_mean": 1.0, "patience_mean": 1.0, "sentiment": -1.0, "followers": 10**7}
    scen = scenario_from_dict(
        {
            "center": {"agents": 2, "duration": 200.0},
            "segments": [
                {"name": "call", **seg, "reach": 1e7},
                {"name": "post", **seg, "reach": 1e7, "channel": "social"},
                {"name": "open-letter", **seg, "reach": 1e7, "public": True},
            ],
        }
    )
    fifo = key_function(lambda f: np.zeros(len(f)))
    rows = compare_policies(scen, [fifo], replications=2, seed=3)["policies"]["decide"]["segments"]
    assert rows["call"]["abandon_rate"] > 0.2  # plenty of late and abandoned calls ...
    assert rows["call"]["reputational_exposure"] == 0.0  # ... and not one adds exposure
    assert rows["post"]["reputational_exposure"] > 1e7
    assert rows["open-letter"]["reputational_exposure"] > 1e7
