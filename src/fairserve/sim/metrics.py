"""What a policy costs and whom: waits, abandonment, SLA, displacements, revenue at risk, reputational exposure.

Definitions (all waits in the scenario's time unit, over the contacts that arrived after the warm-up):

* ``mean_wait``: mean time in queue over ALL arrivals -- zero for those served at once, the time to service for
  the others, the time until they gave up for those who abandoned (the Erlang A convention, Little's law);
  ``p90_wait``/``p95_wait`` are percentiles of the same; ``mean_wait_served`` is over answered contacts only.
* ``p_wait``: share of arrivals that had to wait at all (found every agent busy).
* ``sla``: share of arrivals answered within the SCENARIO's target for their channel (``[targets]``, else
  :data:`fairserve.sim.scenario.DEFAULT_TARGETS`; a segment's own ``sla`` overrides it); an abandoned contact
  counts as a miss. Every policy of a comparison is measured against the same targets, so no policy looks
  better by promising less.
* ``promise_kept``: share of arrivals answered within the policy's own promise to them (the decision's
  ``sla_seconds``; no promise counts as kept when answered); abandoned contacts break it.
* ``abandon_rate``: share that gave up before being answered.
* displacements: ``overtaken`` counts, per contact, the later arrivals served while it waited; ``p_overtaken``
  is the share overtaken at least once; ``overtaken_by_influence`` counts those overtakes that happened only
  because of the overtaker's influence minutes (with them removed, its key would have come after).
* ``revenue_at_risk``: expected CLV lost to churn, ``sum(clv * p_churn)`` with the scenario's churn response
  (:class:`fairserve.sim.scenario.Churn`), lateness measured against the scenario's target; contacts of
  unknown CLV add nothing.
* ``reputational_exposure``: ``sum(reach * max(0, -sentiment))`` over PUBLIC contacts (social posts, or a
  segment that says ``public = true``) left unresolved past the scenario's target (abandoned, or answered
  late): the audience of unhappy customers the centre kept waiting in public. A phone call has no audience.

Across replications each metric is reported as the mean and a 95% Student-t interval
(``mean_ci95``); replications are independent (seeds from ``numpy.random.SeedSequence.spawn``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fairserve.sim.scenario import Scenario

__all__ = ["add_outcomes", "ci95", "replication_metrics", "summarise"]

RATE_METRICS = (
    "mean_wait",
    "mean_wait_served",
    "p90_wait",
    "p95_wait",
    "p_wait",
    "sla",
    "promise_kept",
    "abandon_rate",
    "overtaken",
    "p_overtaken",
    "overtaken_by_influence",
    "revenue_at_risk_per_contact",
)
TOTAL_METRICS = ("arrivals", "displacements", "displacements_by_influence", "revenue_at_risk", "reputational_exposure")


def add_outcomes(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Add the outcomes of each contact to a replication frame (see the module docstring for the definitions).

    Adds ``target_units`` (the scenario's answer-within target, time units), ``sla_ok`` (answered within it),
    ``promise_units`` (the policy's own promise, time units; inf: none) and ``promise_ok``, ``p_churn``,
    ``revenue_at_risk`` and ``exposure``. A frame without a ``public`` column counts social contacts as public.
    """
    unit = scenario.unit_seconds
    within = dict(zip((s.name for s in scenario.segments), scenario.segment_within(), strict=True))
    target = frame["segment"].map(within).to_numpy(dtype=float)
    unknown = np.isnan(target)  # a segment the scenario does not list (hand-made frames): its channel's target
    if unknown.any():
        channel = frame["channel"].astype(str).to_numpy()[unknown]
        target[unknown] = [scenario.target_within(c) for c in channel]
    promise = frame["sla_seconds"].to_numpy(dtype=float) / unit
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
    if "public" in frame:
        public = frame["public"].to_numpy(dtype=bool)
    else:
        public = (frame["channel"].astype(str) == "social").to_numpy(dtype=bool)
    reach = np.nan_to_num(frame["reach"].to_numpy(dtype=float), nan=0.0)
    negativity = np.maximum(0.0, -np.nan_to_num(frame["sentiment"].to_numpy(dtype=float), nan=0.0))
    return frame.assign(
        target_units=target,
        sla_ok=ok,
        promise_units=promise,
        promise_ok=served & (wait <= promise),
        p_churn=p,
        revenue_at_risk=clv * p,
        exposure=np.where(public & ~ok, reach * negativity, 0.0),
    )


_OUTCOMES = (
    "wait",
    "served",
    "overtaken",
    "overtaken_influence",
    "sla_ok",
    "promise_ok",
    "revenue_at_risk",
    "exposure",
)


def _group_metrics(g: dict[str, np.ndarray]) -> dict[str, float]:
    """The metrics of one group of contacts, given its outcome columns (:data:`_OUTCOMES`) as arrays."""
    wait = g["wait"].astype(float, copy=False)
    served = g["served"].astype(bool, copy=False)
    n = wait.size
    if n == 0:
        return {}
    over = g["overtaken"]
    over_inf = g["overtaken_influence"]
    p90, p95 = np.percentile(wait, [90, 95])
    return {
        "arrivals": float(n),
        "mean_wait": float(wait.mean()),
        "mean_wait_served": float(wait[served].mean()) if served.any() else math.nan,
        "p90_wait": float(p90),
        "p95_wait": float(p95),
        "p_wait": float(np.mean(wait > 0)),
        "sla": float(np.mean(g["sla_ok"])),
        "promise_kept": float(np.mean(g["promise_ok"])),
        "abandon_rate": float(1.0 - served.mean()),
        "overtaken": float(over.mean()),
        "p_overtaken": float(np.mean(over > 0)),
        "overtaken_by_influence": float(over_inf.mean()),
        "displacements": float(over.sum()),
        "displacements_by_influence": float(over_inf.sum()),
        "revenue_at_risk": float(g["revenue_at_risk"].sum()),
        "revenue_at_risk_per_contact": float(g["revenue_at_risk"].mean()),
        "reputational_exposure": float(g["exposure"].sum()),
    }


def _by_group(cols: dict[str, np.ndarray], codes: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    """Metrics per group: rows with ``codes == k`` form group ``names[k]`` (code -1: in no group).

    One stable sort by group gathers every group's rows contiguously and in row order, instead of a pandas
    group frame of every column per group.
    """
    if len(names) == 1 and codes.min() == 0:  # one group of every row (e.g. a single channel): no gather
        return {names[0]: _group_metrics(cols)}
    key = codes.astype(np.int16) if len(names) < 2**15 else codes  # small codes: a linear radix sort
    order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    rows = {c: v[order] for c, v in cols.items()}
    return {
        name: _group_metrics({c: v[bounds[k] : bounds[k + 1]] for c, v in rows.items()}) for k, name in enumerate(names)
    }


def _deciles(x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each row's decile ``D1``..``D10`` of a score in [0, 1] (``unknown`` when missing), as codes and names.

    Names are in sorted text order (``D1``, ``D10``, ``D2``, ..., ``unknown``); only the deciles that occur.
    """
    v = np.asarray(x, dtype=float)
    known = ~np.isnan(v)
    d = np.minimum(np.floor(v[known] * 10), 9) + 1
    present = np.unique(d)
    labels = [f"D{int(k)}" for k in present] + ([] if known.all() else ["unknown"])
    by_text = np.argsort(np.array(labels))
    code_of = np.empty(len(labels), dtype=np.int64)
    code_of[by_text] = np.arange(len(labels))
    codes = np.empty(v.size, dtype=np.int64)
    codes[known] = code_of[np.searchsorted(present, d)]
    codes[~known] = code_of[-1]
    return codes, [labels[i] for i in by_text]


def replication_metrics(frame: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics of one replication (measured contacts, with outcomes) by segment, tier, channel and deciles.

    Groups of text columns come in order of first appearance; deciles in sorted order.
    """
    keep: Any = frame["measured"].to_numpy(dtype=bool)
    if keep.all():  # nothing to leave out (no warm-up, no call-backs): the columns as they are, no copies
        keep = slice(None)
    cols = {c: frame[c].to_numpy()[keep] for c in _OUTCOMES}
    out: dict[str, dict[str, dict[str, float]]] = {"all": {"all": _group_metrics(cols)}}
    for key, col in (("segments", "segment"), ("tiers", "tier"), ("channels", "channel")):
        codes, uniques = pd.factorize(frame[col][keep])  # missing labels get -1 and no group, like groupby
        out[key] = _by_group(cols, codes, [str(u) for u in uniques])
    for key, col in (("value_deciles", "value_percentile"), ("influence_deciles", "influence")):
        if col in frame:
            score = frame[col].to_numpy(dtype=float)[keep]
            if (~np.isnan(score)).any():
                out[key] = _by_group(cols, *_deciles(score))
    return out


def ci95(values: list[float] | np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval over replications (NaN interval with fewer than two)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def summarise(reps: list[dict[str, dict[str, dict[str, float]]]]) -> dict[str, Any]:
    """Combine per-replication metrics into means with ``*_ci95`` intervals, group by group."""
    out: dict[str, Any] = {}
    for section in reps[0]:
        names: list[str] = []
        for r in reps:
            for name in r.get(section, {}):
                if name not in names:
                    names.append(name)
        out[section] = {}
        for name in names:
            row: dict[str, Any] = {}
            for metric in TOTAL_METRICS + RATE_METRICS:
                vals = [r.get(section, {}).get(name, {}).get(metric, math.nan) for r in reps]
                mean, lo, hi = ci95(vals)
                row[metric] = mean
                row[f"{metric}_ci95"] = [lo, hi]
            out[section][name] = row
    return out
