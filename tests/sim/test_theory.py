"""The simulator, running the real policies, against exact queueing theory -- for any seed.

Erlang C for FIFO, Cobham (1954) for strict non-preemptive priority between tiers (the built-in ``tier-strict``
policy with the scenario's tier order), and Erlang A (Garnett, Mandelbaum & Reiman 2002) for FIFO with exponential
patience. The run's seed is ``FAIRSERVE_TEST_SEED`` if set, else drawn from ``os.urandom``; every failure message
names it, and each check derives its own seed from it (``_seed``), so checks draw independent contacts.

Per-seed checks (fast). There are ``CHECKS`` = 31 comparisons (9 Erlang C, 10 Cobham, 12 Erlang A), each on
``REPLICATIONS`` = 50 independent replications. The standard error SE of the simulated mean is read back from the
reported 95% Student-t interval (half-width / t(0.975, 49), see ``fairserve.sim.metrics.ci95``). A comparison
passes when

* ``|sim - exact| <= K * SE`` with ``K = t(1 - 1e-3 / (2 * 31), 49) = 4.58``: by Bonferroni the probability that a
  correct simulator fails any of the 31 is at most ``FAMILY_ALPHA`` = 1e-3, whatever the seed; and
* ``|sim - exact| <= RTOL * exact`` with ``RTOL`` = 4%, a bound that does not trust the SE, so a simulator whose
  replications scatter wildly cannot hide a gross bias behind a wide interval. Every SE below is at most 0.64%
  of the exact value, so 4% is at least 6.3 SE and adds under 1e-6 to the false-alarm probability.

The t-interval is honest here because the replications are long (20,000 to 45,000 time units, or 1,000 to 6,000
for Erlang A; 20,000 to 900,000 arrivals each) and start measuring after a warm-up of 200 time units, against
relaxation times under 25, so replication means are close to normal and the empty start leaves no visible bias:
over 18 calibration runs of these models (558 comparisons, with a warm-up of only 30) the standardised
deviations had mean -0.04, standard deviation 0.98, largest |z| 3.4, and matched t(49) (Kolmogorov-Smirnov
p = 0.17).

Run lengths were chosen from the variances measured in those runs so that every relative SE is at most about
0.64%. The smallest bias that fails with probability 99%, ``(K + 2.33 * sqrt(1 + K**2 / 98)) * SE`` (the SE is
itself estimated) = 7.14 SE, as a share of the exact value:

=============================  ==============================================  =====================================
model                          mean wait                                       other metrics
=============================  ==============================================  =====================================
M/M/50 load 0.9                4.5%                                            p_wait 1.8%, sla 0.8%
M/M/10 load 0.8 handle 2       4.5%                                            p_wait 1.5%, sla 0.9%
M/M/4 load 0.75                4.6%                                            p_wait 1.4%, sla 1.3%
two tiers M/M/6 load 0.83      gold 1.8%, silver 4.4%, all tiers 4.1%
three tiers M/M/15 load 0.8    gold 2.2%, silver 2.6%, bronze 4.5%, all 4.1%
two tiers M/M/4 load 0.75      gold 2.3%, silver 4.6%, all tiers 4.2%
M/M/50+M load 0.9              4.4%                                            p_wait 2.8%, abandon 4.5%, sla 0.6%
M/M/50+M overloaded 1.1        4.2%                                            p_wait 2.0%, abandon 4.0%, sla 4.0%
M/M/10+M patience 0.5          4.6%                                            p_wait 3.2%, abandon 4.3%, sla 1.0%
=============================  ==============================================  =====================================

So a mean wait 5% off fails every one of these checks with probability above 99.8%.

Coverage checks (slow). Each of the three runs ``STUDIES`` = 300 independent studies of 10 replications (the
default of ``compare_policies``) on a small model and counts, per metric, how many reported 95% intervals cover
the exact value: Binomial(300, p), p the true coverage. With 10 finite replications p is not exactly 0.95 (the
replication means of a mean wait are a little skewed; bootstraps of 1,500 to 2,000 replications of these models
gave 0.945 to 0.952), so the acceptance region (``_acceptance``) keeps each tail below ``COVERAGE_ALPHA`` = 1e-3
shared among the test's metrics for any p in [0.94, 0.96]: a count in [266, 298] passes for Erlang C's three
metrics, in [265, 298] for the four of Cobham and of Erlang A. The probability that an honest metric fails is at
most 7.1e-6 at p = 0.95 and 1.5e-4 anywhere in [0.94, 0.96]; over the 11 metrics of the three tests, 6.0e-5 at
p = 0.95, 1.8e-4 at 0.945, and at most 9.9e-4. A coverage of 0.85 fails with probability 0.94 to 0.96, one of 0.88
with 0.53 to 0.60.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np
import pytest
from scipy import stats

from fairserve.sim.engine import compare_policies
from fairserve.sim.erlang import priority_waits, staffing
from fairserve.sim.scenario import scenario_from_dict

SEED = int(os.environ.get("FAIRSERVE_TEST_SEED") or int.from_bytes(os.urandom(4), "little"))
REPRO = f"reproduce with FAIRSERVE_TEST_SEED={SEED}"

# ---- per-seed checks -------------------------------------------------------------------------------------------

ERLANG_C_METRICS = ("p_wait", "mean_wait", "sla")
ERLANG_A_METRICS = ("p_wait", "mean_wait", "abandon_rate", "sla")

ERLANG_C_SETS = [
    pytest.param(45.0, 1.0, 50, 0.1, 20_000.0, id="M/M/50 load 0.9"),
    pytest.param(4.0, 2.0, 10, 0.5, 45_000.0, id="M/M/10 load 0.8 handle 2"),
    pytest.param(3.0, 1.0, 4, 0.25, 25_000.0, id="M/M/4 load 0.75"),
]
COBHAM_SETS = [
    pytest.param([2.0, 3.0], 6, 38_000.0, id="two tiers M/M/6 load 0.83"),
    pytest.param([3.0, 3.0, 6.0], 15, 25_000.0, id="three tiers M/M/15 load 0.8"),
    pytest.param([1.0, 2.0], 4, 28_000.0, id="two tiers M/M/4 load 0.75"),
]
ERLANG_A_SETS = [
    pytest.param(45.0, 1.0, 2.0, 50, 0.1, 6_000.0, id="M/M/50+M load 0.9"),
    pytest.param(55.0, 1.0, 1.0, 50, 0.1, 1_000.0, id="M/M/50+M overloaded 1.1"),
    pytest.param(9.0, 1.0, 0.5, 10, 0.2, 2_200.0, id="M/M/10+M patience 0.5"),
]

REPLICATIONS = 50
FAMILY_ALPHA = 1e-3
CHECKS = (
    len(ERLANG_C_SETS) * len(ERLANG_C_METRICS)
    + sum(len(p.values[0]) + 1 for p in COBHAM_SETS)  # every tier, and the conservation law on the whole
    + len(ERLANG_A_SETS) * len(ERLANG_A_METRICS)
)
K = float(stats.t.ppf(1.0 - FAMILY_ALPHA / (2 * CHECKS), REPLICATIONS - 1))
RTOL = 0.04
T95 = float(stats.t.ppf(0.975, REPLICATIONS - 1))


def _seed(label: str) -> int:
    """The run's seed, made distinct per check so that the checks draw independent contacts."""
    return (SEED + zlib.crc32(label.encode())) % 2**32


def _scenario(agents: int, segments: list[dict[str, Any]], duration: float, sla: float, warmup: float = 200.0) -> Any:
    for s in segments:
        s.setdefault("sla", sla)
    return scenario_from_dict(
        {"center": {"agents": agents, "duration": duration, "warmup": warmup}, "segments": segments}
    )


def _misses(row: dict[str, Any], metric: str, exact: float, what: str) -> list[str]:
    """Why the simulated ``metric`` disagrees with ``exact`` (empty when it agrees)."""
    mean = row[metric]
    lo, hi = row[f"{metric}_ci95"]
    se = (hi - lo) / (2.0 * T95)  # the 95% Student-t interval over REPLICATIONS, back to its standard error
    dev = mean - exact
    line = (
        f"{what} {metric}: simulated {mean:.6g}, exact {exact:.6g}, off by {dev / exact:+.2%} = {dev / se:+.2f} SE"
        f" (limits {K:.2f} SE, {RTOL:.0%})"
    )
    return [line] if not (abs(dev) <= K * se and abs(dev) <= RTOL * abs(exact)) else []


def _assert_agree(misses: list[str]) -> None:
    assert not misses, "\n".join([*misses, REPRO])


def _run(scen: Any, policy: str, label: str, replications: int = REPLICATIONS) -> dict[str, Any]:
    out = compare_policies(scen, [policy], replications=replications, seed=_seed(label))
    assert out["replications"] == replications
    return out["policies"][policy]


@pytest.mark.parametrize(("lam", "handle", "agents", "t", "duration"), ERLANG_C_SETS)
def test_fifo_policy_matches_erlang_c(lam: float, handle: float, agents: int, t: float, duration: float) -> None:
    scen = _scenario(agents, [{"name": "all", "arrival_rate": lam, "handle_mean": handle}], duration, t)
    row = _run(scen, "fifo", f"erlang-c {agents}")["segments"]["all"]
    exact = staffing(lam, handle, agents, target_time=t)
    want = {"p_wait": exact.p_wait, "mean_wait": exact.mean_wait, "sla": exact.service_level}
    _assert_agree([m for k in ERLANG_C_METRICS for m in _misses(row, k, want[k], f"M/M/{agents}")])
    assert row["abandon_rate"] == 0.0


@pytest.mark.parametrize(("rates", "agents", "duration"), COBHAM_SETS)
def test_tier_strict_policy_matches_cobham(rates: list[float], agents: int, duration: float) -> None:
    names = ["gold", "silver", "bronze"][: len(rates)]
    segs = [{"name": n, "arrival_rate": r, "handle_mean": 1.0, "tier": n} for n, r in zip(names, rates, strict=True)]
    scen = _scenario(agents, segs, duration, 1.0)
    out = _run(scen, "tier-strict", f"cobham {rates} {agents}")
    misses = []
    for name, w in zip(names, priority_waits(rates, 1.0, agents), strict=True):
        misses += _misses(out["segments"][name], "mean_wait", w, f"tier {name}")
    # the arrival-weighted class waits are the Erlang C mean (conservation): check it on the simulated whole
    misses += _misses(out["all"]["all"], "mean_wait", staffing(sum(rates), 1.0, agents).mean_wait, "all tiers")
    _assert_agree(misses)
    assert out["segments"][names[0]]["overtaken"] == 0.0  # nobody passes the first tier


@pytest.mark.parametrize(("lam", "handle", "patience", "agents", "t", "duration"), ERLANG_A_SETS)
def test_fifo_with_exponential_patience_matches_erlang_a(
    lam: float, handle: float, patience: float, agents: int, t: float, duration: float
) -> None:
    seg = {"name": "all", "arrival_rate": lam, "handle_mean": handle, "patience_mean": patience}
    scen = _scenario(agents, [seg], duration, t)
    row = _run(scen, "fifo", f"erlang-a {lam} {agents}")["segments"]["all"]
    exact = staffing(lam, handle, agents, patience_mean=patience, target_time=t)
    want = {"p_wait": exact.p_wait, "mean_wait": exact.mean_wait, "abandon_rate": exact.abandon_rate}
    want["sla"] = exact.service_level
    _assert_agree([m for k in ERLANG_A_METRICS for m in _misses(row, k, want[k], f"M/M/{agents}+M")])


# ---- coverage of the 95% intervals (slow) ----------------------------------------------------------------------

STUDIES = 300
COVERAGE_ALPHA = 1e-3  # per test, shared among its metrics
COVERAGE_TOLERANCE = (0.94, 0.96)  # true coverage of a 10-replication 95% t-interval allowed for (docstring)


def _acceptance(studies: int, alpha: float) -> tuple[int, int]:
    """Counts [lo, hi] of covering intervals accepted: each tail below ``alpha / 2`` for any true coverage in
    COVERAGE_TOLERANCE (the lower tail is largest at its low end, the upper at its high end)."""
    low, high = (stats.binom(studies, p) for p in COVERAGE_TOLERANCE)
    lo = max(x for x in range(studies + 1) if low.cdf(x - 1) <= alpha / 2)
    hi = min(x for x in range(studies + 1) if high.sf(x) <= alpha / 2)
    return lo, hi


def _coverage(scen: Any, policy: str, label: str, exact: dict[tuple[str, str, str], float]) -> None:
    """Run STUDIES independent 10-replication studies; each metric's 95% interval must cover about 95% of them."""
    seeds = np.random.SeedSequence([SEED, zlib.crc32(label.encode())]).generate_state(STUDIES, np.uint64)
    covered = dict.fromkeys(exact, 0)
    for s in seeds:
        out = compare_policies(scen, [policy], replications=10, seed=int(s))["policies"][policy]
        for (section, name, metric), value in exact.items():
            lo, hi = out[section][name][f"{metric}_ci95"]
            covered[section, name, metric] += lo <= value <= hi
    lo, hi = _acceptance(STUDIES, COVERAGE_ALPHA / len(exact))
    lines = [
        f"{label} {'/'.join(k[1:])}: {c}/{STUDIES} intervals covered, accepted {lo}..{hi}" for k, c in covered.items()
    ]
    assert all(lo <= c <= hi for c in covered.values()), "\n".join([*lines, REPRO])


def _one(metrics: dict[str, float]) -> dict[tuple[str, str, str], float]:
    return {("segments", "all", m): v for m, v in metrics.items()}


@pytest.mark.slow
def test_erlang_c_intervals_cover_the_exact_value_about_95_percent_of_the_time() -> None:
    scen = _scenario(4, [{"name": "all", "arrival_rate": 2.8, "handle_mean": 1.0}], 4000.0, 0.5, warmup=100.0)
    exact = staffing(2.8, 1.0, 4, target_time=0.5)
    metrics = {"p_wait": exact.p_wait, "mean_wait": exact.mean_wait, "sla": exact.service_level}
    _coverage(scen, "fifo", "M/M/4 load 0.7", _one(metrics))


@pytest.mark.slow
def test_cobham_intervals_cover_the_exact_value_about_95_percent_of_the_time() -> None:
    rates, names = [1.0, 1.0, 2.0], ["gold", "silver", "bronze"]
    segs = [{"name": n, "arrival_rate": r, "handle_mean": 1.0, "tier": n} for n, r in zip(names, rates, strict=True)]
    scen = _scenario(5, segs, 3000.0, 1.0, warmup=100.0)
    exact = {("segments", n, "mean_wait"): w for n, w in zip(names, priority_waits(rates, 1.0, 5), strict=True)}
    exact["all", "all", "mean_wait"] = staffing(sum(rates), 1.0, 5).mean_wait
    _coverage(scen, "tier-strict", "three tiers M/M/5 load 0.8", exact)


@pytest.mark.slow
def test_erlang_a_intervals_cover_the_exact_value_about_95_percent_of_the_time() -> None:
    seg = {"name": "all", "arrival_rate": 4.0, "handle_mean": 1.0, "patience_mean": 1.0}
    scen = _scenario(4, [seg], 1000.0, 0.2, warmup=100.0)
    exact = staffing(4.0, 1.0, 4, patience_mean=1.0, target_time=0.2)
    metrics = {"p_wait": exact.p_wait, "mean_wait": exact.mean_wait, "abandon_rate": exact.abandon_rate}
    metrics["sla"] = exact.service_level
    _coverage(scen, "fifo", "M/M/4+M load 1.0", _one(metrics))
