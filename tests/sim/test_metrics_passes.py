"""The metrics' compiled passes against the previous pandas/NumPy computation, and the frameless timed path.

``replication_metrics`` sums each group in one pass over the rows (:func:`fairserve.sim._kernel.group_sums`) and
gathers only the waits for the percentiles. These tests hold it to the definitions it replaced, computed here the
old way on the same frame: a pandas groupby of the measured rows, NumPy means, sums and (linear) percentiles of
each group's columns. Counts, shares and percentiles must be equal; float sums and means to 1e-12 (NumPy sums
pairwise, the pass sums compensated: both are the exact sum up to rounding).
"""

from __future__ import annotations

import math
from collections import ChainMap
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fairserve.sim import _kernel
from fairserve.sim.engine import _replicate, resolve_policy, run_replication
from fairserve.sim.metrics import _percentiles_of, add_outcomes, outcome_columns, replication_metrics
from fairserve.sim.scenario import Scenario, draw_contacts, scenario_from_dict

ROUNDED = {"mean_wait", "mean_wait_served", "revenue_at_risk", "revenue_at_risk_per_contact", "reputational_exposure"}


def old_group_metrics(g: pd.DataFrame) -> dict[str, float]:
    """The metrics of one group as computed before the compiled passes (NumPy on the group's columns)."""
    wait = g["wait"].to_numpy(dtype=float)
    served = g["served"].to_numpy(dtype=bool)
    n = wait.size
    if n == 0:
        return {}
    over = g["overtaken"].to_numpy()
    over_inf = g["overtaken_influence"].to_numpy()
    p90, p95 = np.percentile(wait, [90, 95])
    return {
        "arrivals": float(n),
        "mean_wait": float(wait.mean()),
        "mean_wait_served": float(wait[served].mean()) if served.any() else math.nan,
        "p90_wait": float(p90),
        "p95_wait": float(p95),
        "p_wait": float(np.mean(wait > 0)),
        "sla": float(np.mean(g["sla_ok"].to_numpy())),
        "promise_kept": float(np.mean(g["promise_ok"].to_numpy())),
        "abandon_rate": float(1.0 - served.mean()),
        "overtaken": float(over.mean()),
        "p_overtaken": float(np.mean(over > 0)),
        "overtaken_by_influence": float(over_inf.mean()),
        "displacements": float(over.sum()),
        "displacements_by_influence": float(over_inf.sum()),
        "revenue_at_risk": float(g["revenue_at_risk"].to_numpy().sum()),
        "revenue_at_risk_per_contact": float(g["revenue_at_risk"].to_numpy().mean()),
        "reputational_exposure": float(g["exposure"].to_numpy().sum()),
    }


def old_decile(x: pd.Series) -> np.ndarray:
    v = x.to_numpy(dtype=float)
    d = (np.minimum(np.floor(np.nan_to_num(v) * 10), 9) + 1).astype(int)
    return np.where(np.isnan(v), "unknown", np.char.add("D", d.astype(str)))


def old_replication_metrics(frame: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """The previous definitions: measured rows grouped by pandas (order of appearance, missing labels dropped)."""
    m = frame[frame["measured"].to_numpy(dtype=bool)]
    out: dict[str, dict[str, dict[str, float]]] = {"all": {"all": old_group_metrics(m)}}
    for key, col in (("segments", "segment"), ("tiers", "tier"), ("channels", "channel")):
        groups = m.groupby(m[col].astype(object), sort=False, dropna=True)
        out[key] = {str(k): old_group_metrics(g) for k, g in groups}
    for key, col in (("value_deciles", "value_percentile"), ("influence_deciles", "influence")):
        if col in m and m[col].notna().any():
            groups = m.groupby(old_decile(m[col]), sort=True)
            out[key] = {str(k): old_group_metrics(g) for k, g in groups}
    return out


def assert_same_metrics(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert list(got) == list(want)
    for section in want:
        assert list(got[section]) == list(want[section]), section  # the same groups, in the same order
        for name, row in want[section].items():
            assert set(got[section][name]) == set(row), (section, name)
            for metric, value in row.items():
                g = got[section][name][metric]
                if metric in ROUNDED and not math.isnan(value):
                    assert g == pytest.approx(value, rel=1e-12, abs=0.0), (section, name, metric)
                else:
                    assert g == value or (math.isnan(g) and math.isnan(value)), (section, name, metric, g, value)


def old_outcomes(frame: pd.DataFrame, scenario: Scenario) -> dict[str, np.ndarray]:
    """The outcome columns as computed before (whole-array expressions)."""
    within = dict(zip((s.name for s in scenario.segments), scenario.segment_within(), strict=True))
    target = frame["segment"].astype(object).map(within).to_numpy(dtype=float)
    promise = frame["sla_seconds"].to_numpy(dtype=float) / scenario.unit_seconds
    promise = np.where(np.isnan(promise), np.inf, promise)
    wait = frame["wait"].to_numpy(dtype=float)
    served = frame["served"].to_numpy(dtype=bool)
    ok = served & (wait <= target)
    late = served & ~ok
    churn = scenario.churn
    p = (
        churn.base
        + churn.abandon * (~served)
        + late * (churn.sla_miss + churn.per_unit_late * np.where(late, wait - target, 0.0))
    )
    p = np.minimum(p, 1.0)
    clv = np.nan_to_num(frame["clv"].to_numpy(dtype=float), nan=0.0) if "clv" in frame else np.zeros(len(frame))
    public = frame["public"].to_numpy(dtype=bool)
    reach = np.nan_to_num(frame["reach"].to_numpy(dtype=float), nan=0.0)
    negativity = np.maximum(0.0, -np.nan_to_num(frame["sentiment"].to_numpy(dtype=float), nan=0.0))
    return {"target_units": target, "sla_ok": ok, "promise_units": promise, "promise_ok": served & (wait <= promise),
            "p_churn": p, "revenue_at_risk": clv * p, "exposure": np.where(public & ~ok, reach * negativity, 0.0)}


def _scenario() -> Scenario:
    return scenario_from_dict(
        {
            "churn": {"base": 0.01, "abandon": 0.2, "sla_miss": 0.05, "per_unit_late": 5.0},
            "center": {"agents": 4, "duration": 400.0, "warmup": 20.0},
            "segments": [
                {"name": "vip", "arrival_rate": 1.0, "handle_mean": 1.0, "patience_mean": 3.0, "tier": "gold",
                 "clv": 900.0, "value_percentile": 0.97},
                {"name": "chat", "arrival_rate": 2.5, "handle_mean": 1.0, "patience_mean": 2.0, "channel": "chat",
                 "influence": 0.95, "clv": 50.0, "value_percentile": 0.35, "retrial_prob": 0.5},
                {"name": "post", "arrival_rate": 0.6, "handle_mean": 1.5, "patience_mean": 30.0, "channel": "social",
                 "reach": 5000.0, "sentiment": -0.8},
            ],
        }
    )


@pytest.mark.parametrize("policy", ["influence-first", "tier-strict", "fifo"])
def test_metrics_equal_the_previous_computation_on_a_simulated_frame(policy: str) -> None:
    scen = _scenario()
    _, decider = resolve_policy(policy)
    frame = add_outcomes(run_replication(scen, decider, np.random.default_rng(5)), scen)
    assert not frame["measured"].all() and frame["value_percentile"].isna().any()  # warm-up, call-backs, unknown
    assert_same_metrics(replication_metrics(frame), old_replication_metrics(frame))
    for col, values in old_outcomes(frame, scen).items():  # the outcomes bit for bit
        np.testing.assert_array_equal(frame[col].to_numpy(), values, err_msg=col)
    assert (frame["p_churn"] > 0.01).any() and (frame["p_churn"] == 1.0).any() and (frame["exposure"] > 0).any()


def test_a_grouping_with_one_label_everywhere_is_everyone() -> None:
    """One channel, one decile, no score: such groupings take no pass of their own and still equal the old way."""
    scen = _scenario()
    frame = add_outcomes(run_replication(scen, resolve_policy("tier-strict")[1], np.random.default_rng(7)), scen)
    frame["channel"] = pd.Categorical(["chat"] * len(frame), categories=["phone", "chat"])
    frame["value_percentile"] = 0.97
    frame["influence"] = np.nan
    got = replication_metrics(frame)
    assert list(got["channels"]) == ["chat"] and list(got["value_deciles"]) == ["D10"]
    assert "influence_deciles" not in got
    assert_same_metrics(got, old_replication_metrics(frame))
    frame["measured"] = False  # nobody measured: no group at all
    got = replication_metrics(frame)
    assert got == {"all": {"all": {}}, "segments": {}, "tiers": {}, "channels": {}}
    assert_same_metrics(got, old_replication_metrics(frame))


def test_missing_labels_unused_categories_and_unmeasured_groups_form_no_group() -> None:
    rng = np.random.default_rng(3)
    n = 500
    seg = pd.Categorical.from_codes(rng.integers(-1, 3, n), dtype=pd.CategoricalDtype(["a", "b", "c", "never"]))
    tier = rng.choice(["x", "y"], n).astype(object)  # object, with None: no tier
    tier[rng.uniform(size=n) < 0.1] = None
    measured = rng.uniform(size=n) < 0.8
    channel = np.where(np.arange(n) < 50, "email", "phone").astype(object)  # email only in unmeasured rows
    measured[:50] = False
    score = rng.uniform(size=n)
    score[rng.uniform(size=n) < 0.2] = np.nan
    score[:5] = [0.0, 1.0, 0.1, 0.999, 0.5]
    served = rng.uniform(size=n) < 0.7
    wait = np.where(rng.uniform(size=n) < 0.3, 0.0, rng.exponential(1.0, n))
    frame = pd.DataFrame(
        {
            "segment": seg, "tier": tier, "channel": channel, "measured": measured, "wait": wait, "served": served,
            "overtaken": rng.integers(0, 4, n), "overtaken_influence": rng.integers(0, 2, n),
            "sla_ok": served & (wait < 0.5), "promise_ok": served & (wait < 1.0),
            "revenue_at_risk": rng.exponential(100.0, n), "exposure": np.where(served, 0.0, rng.exponential(9.0, n)),
            "value_percentile": score, "influence": np.where(measured, np.nan, 0.5),  # known when unmeasured only
        }
    )
    got = replication_metrics(frame)
    assert_same_metrics(got, old_replication_metrics(frame))
    assert "never" not in got["segments"] and "email" not in got["channels"] and "influence_deciles" not in got
    assert {"D1", "D10", "D2", "unknown"} <= set(got["value_deciles"])
    # the same columns given as a dict of arrays and categoricals (the timed path) give the same metrics
    assert replication_metrics({str(c): frame[c].array for c in frame.columns}) == got


def test_a_group_of_only_unserved_contacts_has_no_mean_wait_served() -> None:
    frame = pd.DataFrame(
        {"segment": ["a", "a", "b"], "tier": ["t"] * 3, "channel": ["phone"] * 3, "measured": [True] * 3,
         "wait": [1.0, 2.0, 0.0], "served": [False, False, True], "overtaken": [0, 1, 0],
         "overtaken_influence": [0, 0, 0], "sla_ok": [False, False, True], "promise_ok": [False, False, True],
         "revenue_at_risk": [1.0, 2.0, 0.0], "exposure": [0.0] * 3}
    )
    got = replication_metrics(frame)
    assert math.isnan(got["segments"]["a"]["mean_wait_served"]) and got["segments"]["b"]["mean_wait_served"] == 0.0
    assert_same_metrics(got, old_replication_metrics(frame))


def test_the_compiled_passes_equal_their_plain_python_selves() -> None:
    rng = np.random.default_rng(8)
    n = 300
    codes = np.stack([rng.integers(-1, 4, n), rng.integers(-1, 2, n)]).astype(np.int8)  # two groupings
    offsets = np.array([0, 4, 6])
    keep = rng.uniform(size=n) < 0.9
    args = (rng.exponential(1.0, n), rng.uniform(size=n) < 0.5, rng.integers(0, 3, n), rng.integers(0, 2, n),
            rng.uniform(size=n) < 0.5, rng.uniform(size=n) < 0.5, rng.exponential(5.0, n), rng.exponential(2.0, n))
    sums, first = _kernel.group_sums(codes, offsets, keep, *args)
    plain_sums, plain_first = _kernel._group_sums(codes, offsets, keep, *args)
    np.testing.assert_array_equal(sums, plain_sums)
    np.testing.assert_array_equal(first, plain_first)
    assert sums[-1, 0] == keep.sum() and first[-1] == np.flatnonzero(keep)[0]  # the last row: every kept row
    for g in range(2):
        for k in range(offsets[g + 1] - offsets[g]):
            on = (codes[g] == k) & keep
            assert sums[offsets[g] + k, 0] == on.sum() and sums[offsets[g] + k, 7] == args[2][on].sum()
            assert sums[offsets[g] + k, 1] == pytest.approx(args[0][on].sum(), rel=1e-15)
    kept, positive = np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64)
    wait = np.where(rng.uniform(size=n) < 0.3, 0.0, args[0])
    assert _kernel.count_by_group(codes[0], keep, wait, kept, positive) == 0
    plain_kept, plain_positive = np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64)
    _kernel._count_by_group(codes[0], keep, wait, plain_kept, plain_positive)
    np.testing.assert_array_equal(kept, plain_kept)
    np.testing.assert_array_equal(positive, plain_positive)
    for only_positive, counts in ((False, kept), (True, positive)):
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        grouped = _kernel.gather_by_group(codes[0], keep, wait, bounds, positive=only_positive)
        plain = np.empty(bounds[-1])
        _kernel._gather_by_group(codes[0], keep, wait, bounds, plain, only_positive)
        np.testing.assert_array_equal(grouped, plain)
        for k in range(4):  # each group's (positive) waits, in row order
            on = (codes[0] == k) & keep & ((wait > 0) | (not only_positive))
            assert kept[k] == np.sum((codes[0] == k) & keep)
            np.testing.assert_array_equal(grouped[bounds[k] : bounds[k + 1]], wait[on])
    wait[np.flatnonzero(keep & (codes[0] >= 0))[:2]] = [np.nan, -1.0]  # neither zero nor positive: counted
    assert _kernel.count_by_group(codes[0], keep, wait, np.zeros(4, np.int64), np.zeros(4, np.int64)) == 2


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_])
def test_buffers_start_on_a_huge_page_and_hold_what_they_are_filled_with(dtype: type) -> None:
    for n in (0, 10, 300_000, 1_000_003):
        b = _kernel.buffer(n, dtype, 1)
        assert b.shape == (n,) and b.dtype == dtype and b.flags.c_contiguous and b.flags.writeable
        assert (b == 1).all()
        if b.nbytes >= 2**21:
            assert b.ctypes.data % 2**21 == 0


def test_the_timed_replication_equals_the_frame_path() -> None:
    """``compare_policies``' replication (no frames) gives the metrics of run_replication + add_outcomes."""
    scen = _scenario()
    policies = [resolve_policy(p) for p in ("influence-first", "tier-strict")]
    child = np.random.SeedSequence(11)
    got = _replicate((scen, policies, None, "auto", None), child)
    contacts = draw_contacts(scen, np.random.default_rng(np.random.SeedSequence(11)))
    for label, decider in policies:
        frame = add_outcomes(run_replication(scen, decider, np.random.default_rng(0), contacts=contacts), scen)
        metrics, measured, _ = got[label]
        assert metrics == replication_metrics(frame) and measured == int(frame["measured"].sum())
        outcomes = outcome_columns(ChainMap({}, {str(c): frame[c] for c in frame.columns}), scen)
        for col, values in outcomes.items():
            np.testing.assert_array_equal(values, frame[col].to_numpy())


def test_a_grouping_that_parts_the_contacts_as_another_does_equals_the_old_way() -> None:
    """Tiers that follow the segments (by other names, in another order) share the segments' pass; tiers that
    differ from them in one measured row do not; a difference in unmeasured rows only does not count."""
    rng = np.random.default_rng(21)
    n = 2_000
    seg_codes = rng.integers(-1, 3, n)
    tier_of = np.array(["silver", "basic", "gold", "none"], dtype=object)  # segment k -> tier; -1 -> "none"
    frame = pd.DataFrame(
        {
            "segment": pd.Categorical.from_codes(seg_codes, dtype=pd.CategoricalDtype(["a", "b", "c", "d"])),
            "tier": pd.Categorical(tier_of[seg_codes], categories=["gold", "silver", "basic", "none", "unused"]),
            "channel": np.where(rng.uniform(size=n) < 0.5, "chat", "phone").astype(object),
            "measured": rng.uniform(size=n) < 0.9,
            "wait": np.where(rng.uniform(size=n) < 0.4, 0.0, rng.exponential(1.0, n)),
            "served": rng.uniform(size=n) < 0.8,
            "overtaken": rng.integers(0, 4, n), "overtaken_influence": rng.integers(0, 2, n),
            "sla_ok": rng.uniform(size=n) < 0.7, "promise_ok": rng.uniform(size=n) < 0.6,
            "revenue_at_risk": rng.exponential(100.0, n), "exposure": rng.exponential(9.0, n),
        }
    )
    frame.loc[seg_codes < 0, "tier"] = np.nan  # no segment, no tier: -1 in both
    got = replication_metrics(frame)
    assert list(got["tiers"]) != list(got["segments"]) and len(got["tiers"]) == len(got["segments"]) == 3
    for name, tier in (("a", "silver"), ("b", "basic"), ("c", "gold")):
        assert got["tiers"][tier] == got["segments"][name]
    assert_same_metrics(got, old_replication_metrics(frame))
    unmeasured = int(np.flatnonzero(~frame["measured"].to_numpy() & (seg_codes == 0))[0])
    frame.loc[unmeasured, "tier"] = "gold"  # in no measured row: the partitions still agree
    assert_same_metrics(replication_metrics(frame), old_replication_metrics(frame))
    measured_row = int(np.flatnonzero(frame["measured"].to_numpy() & (seg_codes == 0))[-1])
    frame.loc[measured_row, "tier"] = "gold"  # one measured contact of segment a in tier gold: no longer equal
    changed = replication_metrics(frame)
    assert changed["tiers"]["gold"]["arrivals"] == got["tiers"]["gold"]["arrivals"] + 1
    assert_same_metrics(changed, old_replication_metrics(frame))


def test_same_partition_compiled_and_plain() -> None:
    keep = np.array([True, True, True, False, True])
    cases = [
        (np.array([0, 1, 0, 1, -1]), np.array([2, 0, 2, 0, -1]), True, [2, 0], [1, -1, 0]),
        (np.array([0, 1, 0, 1, -1]), np.array([2, 0, 2, 2, -1]), True, [2, 0], [1, -1, 0]),  # row 3 not kept
        (np.array([0, 1, 0, 1, -1]), np.array([2, 0, 0, 0, -1]), False, None, None),  # 0 -> 2 and 0 -> 0
        (np.array([0, 1, 0, 1, -1]), np.array([2, 2, 2, 0, -1]), False, None, None),  # 0 and 1 -> 2
        (np.array([0, 1, 0, 1, -1]), np.array([2, 0, 2, 0, 1]), False, None, None),  # -1 against a group
    ]
    for func in (_kernel.same_partition, getattr(_kernel.same_partition, "py_func", _kernel.same_partition)):
        for a, b, same, to_want, back_want in cases:
            to, back = np.full(2, -1, dtype=np.int64), np.full(3, -1, dtype=np.int64)
            assert func(a.astype(np.int8), b.astype(np.int8), keep, to, back) == same
            if same:
                assert to.tolist() == to_want and back.tolist() == back_want


def test_outcomes_of_unknown_and_infinite_scores_equal_the_old_way_compiled_and_plain() -> None:
    """NaN and infinite CLV, reach and sentiment (np.nan_to_num's rules), in the compiled pass and in plain
    Python; and the columns the metrics read are the same when only those are asked for."""
    scen = _scenario()
    frame = add_outcomes(run_replication(scen, resolve_policy("tier-strict")[1], np.random.default_rng(9)), scen)
    rng = np.random.default_rng(2)
    n = len(frame)
    for col, specials in (("clv", [np.nan, np.inf, -np.inf, 0.0]), ("reach", [np.nan, np.inf, 0.0]),
                          ("sentiment", [np.nan, np.inf, -np.inf, 0.0, 0.5])):
        values = frame[col].to_numpy(dtype=float).copy()
        pick = rng.uniform(size=n) < 0.3
        values[pick] = rng.choice(specials, int(pick.sum()))
        frame[col] = values
    frame["public"] = rng.uniform(size=n) < 0.5
    with np.errstate(over="ignore"):  # the largest float times a negativity above 1 overflows, as in NumPy
        want = old_outcomes(frame, scen)
    assert (np.abs(want["revenue_at_risk"]) > 1e300).any() and (np.abs(want["exposure"]) > 1e300).any()
    compiled = outcome_columns(frame, scen)
    plain_kernel = _kernel.outcomes
    try:
        _kernel.outcomes = getattr(plain_kernel, "py_func", plain_kernel)
        plain = outcome_columns(frame, scen)
    finally:
        _kernel.outcomes = plain_kernel
    for got in (compiled, plain):
        assert list(got) == list(want)
        for col, values in want.items():
            np.testing.assert_array_equal(got[col], values, err_msg=col)
    subset = outcome_columns(frame, scen, for_metrics=True)
    assert list(subset) == ["sla_ok", "promise_ok", "revenue_at_risk", "exposure"]
    for col, values in subset.items():
        np.testing.assert_array_equal(values, want[col], err_msg=col)


def test_percentiles_from_the_positive_waits_and_a_count_of_zeros_equal_numpy() -> None:
    """np.percentile's linear method, bit for bit, on samples of 1 to 3,000 with ties, all zeros, no zero."""
    rng = np.random.default_rng(17)
    for trial in range(3_000):
        n = int(rng.integers(1, 40)) if trial % 4 else int(rng.integers(40, 3_000))
        zeros = int(rng.integers(0, n + 1)) if trial % 7 else (0 if trial % 2 else n)
        positive = rng.exponential(1.0, n - zeros)
        if trial % 3 == 0:
            positive = np.round(positive, 1) + 0.1  # ties
        waits = np.concatenate([np.zeros(zeros), positive])
        rng.shuffle(waits)
        p90, p95 = np.percentile(waits, [90, 95])
        assert _percentiles_of(zeros, positive.copy()) == (p90, p95), (n, zeros)


def test_waits_that_are_neither_zero_nor_positive_take_numpy_percentiles_of_all_waits() -> None:
    rng = np.random.default_rng(23)
    n = 400
    frame = pd.DataFrame(
        {
            "segment": rng.choice(["a", "b"], n).astype(object), "tier": rng.choice(["x", "y", "z"], n).astype(object),
            "channel": ["phone"] * n, "measured": rng.uniform(size=n) < 0.9,
            "wait": np.where(rng.uniform(size=n) < 0.5, 0.0, rng.exponential(1.0, n)),
            "served": rng.uniform(size=n) < 0.9, "overtaken": rng.integers(0, 3, n),
            "overtaken_influence": np.zeros(n, dtype=np.int64), "sla_ok": rng.uniform(size=n) < 0.5,
            "promise_ok": rng.uniform(size=n) < 0.5, "revenue_at_risk": np.zeros(n), "exposure": np.zeros(n),
        }
    )
    assert_same_metrics(replication_metrics(frame), old_replication_metrics(frame))
    frame.loc[np.flatnonzero(frame["measured"].to_numpy())[:3], "wait"] = [-0.5, -2.0, -0.1]
    got = replication_metrics(frame)
    assert got["all"]["all"]["p90_wait"] == np.percentile(frame.loc[frame["measured"], "wait"], 90)
    assert_same_metrics(got, old_replication_metrics(frame))
