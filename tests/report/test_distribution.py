"""The wait distributions re-run the comparison's first replication: the same contacts, the same waits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_data import POLICIES, small_base, small_scenario

from fairserve.report.distribution import overtake_causes, overtake_pairs, replication_waits, wait_quantiles
from fairserve.sim import compare_policies


def test_the_rerun_replication_is_the_comparisons_first() -> None:
    base, scen = small_base(), small_scenario()
    one = compare_policies(scen, POLICIES, replications=1, seed=7, customers=base)
    quantiles = wait_quantiles(replication_waits(scen, POLICIES, 7, base))
    for label in POLICIES:
        for kind in ("value_deciles", "influence_deciles"):
            for decile, row in one["policies"][label][kind].items():
                if decile == "unknown":
                    continue
                mine = quantiles[label][kind][decile]
                assert mine["mean"] == pytest.approx(row["mean_wait"], rel=1e-12), (label, kind, decile)
                assert mine["n"] == row["arrivals"]


def test_quantiles_are_per_decile_and_in_order() -> None:
    frame = pd.DataFrame({"wait": np.arange(100.0), "value_percentile": np.repeat([0.95, 0.05], 50)})
    q = wait_quantiles({"p": frame})["p"]["value_deciles"]
    assert list(q) == ["D1", "D10"]
    assert q["D10"]["median"] == np.median(np.arange(50.0)) and q["D1"]["q3"] == np.quantile(np.arange(50.0, 100), 0.75)
    assert q["D1"]["p05"] <= q["D1"]["q1"] <= q["D1"]["median"] <= q["D1"]["q3"] <= q["D1"]["p95"]


def test_every_overtake_is_found_and_its_cause_agrees_with_the_simulator() -> None:
    base, scen = small_base(), small_scenario()
    frames = replication_waits(scen, POLICIES, 3, base)
    for label, frame in frames.items():
        pairs = overtake_pairs(frame)
        n = len(frame)
        # the pairs per passed contact add up to the simulator's own count, and those by influence to its count
        assert (np.bincount(pairs["i"], minlength=n) == frame["overtaken"].to_numpy()).all(), label
        by_influence = pairs["i"][pairs["cause"] == "influence"]
        assert (np.bincount(by_influence, minlength=n) == frame["overtaken_influence"].to_numpy()).all(), label
        t = frame["t"].to_numpy()
        assert (t[pairs["j"]] > t[pairs["i"]]).all()  # only later arrivals overtake
    causes = overtake_causes(frames)
    assert sum(causes["fifo"]["totals"].values()) == 0  # FIFO lets nobody pass
    assert causes["value-first"]["totals"]["influence"] == 0 and causes["influence-first"]["totals"]["influence"] > 0
    # under value-first the top value decile passes others through its tier; the bottom one is passed that way
    vf = causes["value-first"]
    assert vf["passing"]["D10"]["tier_head_start"] > vf["passing"]["D1"]["tier_head_start"]
    assert vf["passed"]["D1"]["tier_head_start"] > vf["passed"]["D10"]["tier_head_start"]
