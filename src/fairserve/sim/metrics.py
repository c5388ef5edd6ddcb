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
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fairserve.sim import _kernel
from fairserve.sim.scenario import Scenario

__all__ = ["add_outcomes", "ci95", "outcome_columns", "replication_metrics", "summarise"]

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

Columns = pd.DataFrame | Mapping[str, Any]
"""A replication's columns by name: a :class:`pandas.DataFrame`, or a mapping to arrays, Series and categoricals."""

_OUTCOME_COLUMNS = ("target_units", "sla_ok", "promise_units", "promise_ok", "p_churn", "revenue_at_risk", "exposure")


def _values(column: Any, dtype: Any) -> np.ndarray:
    """A column (array, Series or extension array) as a NumPy array of ``dtype`` (no copy when it already is)."""
    if isinstance(column, np.ndarray):
        return column.astype(dtype, copy=False)
    return np.asarray(column.to_numpy(dtype=dtype))


def _categorical(column: Any) -> pd.Categorical | None:
    """The column as a categorical, when it is one (a categorical Series or array); else None."""
    values = column.array if isinstance(column, pd.Series) else column
    return values if isinstance(values, pd.Categorical) else None


def _per_label(column: Any, value_of: dict[str, float]) -> np.ndarray:
    """``value_of[label]`` for each row's label (NaN for a label not in it): by code for a categorical."""
    cat = _categorical(column)
    if cat is None:
        return pd.Series(np.asarray(column, dtype=object)).map(value_of).to_numpy(dtype=float)
    table = np.array([value_of.get(str(c), np.nan) for c in cat.categories] + [np.nan])
    return table[cat.codes]  # code -1 (missing) takes the last entry, NaN


def outcome_columns(cols: Columns, scenario: Scenario, for_metrics: bool = False) -> dict[str, np.ndarray]:
    """The outcomes of each contact of a replication (see the module docstring for the definitions), as arrays.

    ``cols`` holds the replication's columns (a frame of :func:`fairserve.sim.engine.run_replication`, or its
    columns by name). Gives ``target_units`` (the scenario's answer-within target, time units), ``sla_ok``
    (answered within it), ``promise_units`` (the policy's own promise, time units; inf: none) and
    ``promise_ok``, ``p_churn``, ``revenue_at_risk`` and ``exposure``. Without a ``public`` column social
    contacts count as public; without ``reach`` or ``sentiment`` they are unknown (no exposure).
    ``for_metrics``: only the columns :func:`replication_metrics` reads (``sla_ok``, ``promise_ok``,
    ``revenue_at_risk``, ``exposure``; the last two left unwritten zeros when nothing is at risk or exposed).

    Every contact's outcomes come from one compiled pass (:data:`fairserve.sim._kernel.outcomes`).
    """
    unit = scenario.unit_seconds
    within = dict(zip((s.name for s in scenario.segments), scenario.segment_within(), strict=True))
    target = _per_label(cols["segment"], within)
    unknown = np.isnan(target)  # a segment the scenario does not list (hand-made frames): its channel's target
    if unknown.any():
        channel = np.asarray(cols["channel"], dtype=object)[unknown]
        target[unknown] = [scenario.target_within(str(c)) for c in channel]
    wait = _values(cols["wait"], np.float64)
    n = wait.size
    if "public" in cols:
        public = _values(cols["public"], np.bool_)
    else:
        public = np.asarray(np.asarray(cols["channel"], dtype=object) == "social", dtype=bool)
    clv = _values(cols["clv"], np.float64) if "clv" in cols else _NONE
    reach, sentiment = (_values(cols[c], np.float64) if c in cols else _NONE for c in ("reach", "sentiment"))
    out = {"sla_ok": _kernel.buffer(n, np.bool_), "promise_ok": _kernel.buffer(n, np.bool_)}
    if not for_metrics:
        out.update(target_units=target, promise_units=_kernel.buffer(n, np.float64),
                   p_churn=_kernel.buffer(n, np.float64))
    out["revenue_at_risk"] = _kernel.buffer(n, np.float64) if clv.size or not for_metrics else np.zeros(n)
    out["exposure"] = _kernel.buffer(n, np.float64) if public.any() or not for_metrics else np.zeros(n)
    churn = scenario.churn
    _kernel.outcomes(
        wait, _values(cols["served"], np.bool_), target, _values(cols["sla_seconds"], np.float64), float(unit),
        float(churn.base), float(churn.abandon), float(churn.sla_miss), float(churn.per_unit_late),
        clv, public, reach, sentiment,
        out["sla_ok"], out.get("promise_units", _NONE), out["promise_ok"], out.get("p_churn", _NONE),
        out["revenue_at_risk"] if clv.size or not for_metrics else _NONE,
        out["exposure"] if public.any() or not for_metrics else _NONE,
    )
    return {c: out[c] for c in _OUTCOME_COLUMNS if c in out}


_NONE = np.empty(0)


def _nonzero(x: np.ndarray) -> np.ndarray:
    """``x``, or empty when every item is zero (nothing to add: :func:`fairserve.sim._kernel.group_sums`)."""
    return x if x.any() else _NONE


def add_outcomes(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The replication frame with the outcomes of each contact added (the columns of :func:`outcome_columns`)."""
    out = pd.DataFrame(outcome_columns(frame, scenario), index=frame.index, copy=False)  # fresh arrays: no copy
    return pd.concat([frame.drop(columns=[c for c in _OUTCOME_COLUMNS if c in frame]), out], axis=1)


_SUMS = ("wait", "served", "wait_served", "waited", "sla_ok", "promise_ok", "overtaken", "p_overtaken",
         "overtaken_influence", "revenue_at_risk", "exposure")
"""The columns of :func:`fairserve.sim._kernel.group_sums`' table, after the row count (column 0)."""


def _group_metrics(n: float, s: dict[str, float], p90: float, p95: float) -> dict[str, float]:
    """The metrics of one group of ``n`` contacts from its sums ``s`` (:data:`_SUMS`) and wait percentiles."""
    return {
        "arrivals": n,
        "mean_wait": s["wait"] / n,
        "mean_wait_served": s["wait_served"] / s["served"] if s["served"] > 0 else math.nan,
        "p90_wait": p90,
        "p95_wait": p95,
        "p_wait": s["waited"] / n,
        "sla": s["sla_ok"] / n,
        "promise_kept": s["promise_ok"] / n,
        "abandon_rate": 1.0 - s["served"] / n,
        "overtaken": s["overtaken"] / n,
        "p_overtaken": s["p_overtaken"] / n,
        "overtaken_by_influence": s["overtaken_influence"] / n,
        "displacements": s["overtaken"],
        "displacements_by_influence": s["overtaken_influence"],
        "revenue_at_risk": s["revenue_at_risk"],
        "revenue_at_risk_per_contact": s["revenue_at_risk"] / n,
        "reputational_exposure": s["exposure"],
    }


def _percentiles(wait: np.ndarray, scratch: bool = False) -> tuple[float, float]:
    """The 90th and 95th percentiles of ``wait`` (NumPy's default, linear interpolation).

    ``scratch``: ``wait`` is a temporary that may be reordered in place (no copy; the same percentiles).
    """
    p90, p95 = np.percentile(wait, [90, 95], overwrite_input=scratch)
    return float(p90), float(p95)


_Q = np.true_divide(np.array([90, 95]), 100)  # the quantiles, as np.percentile(x, [90, 95]) makes them


def _percentiles_of(zeros: int, positive: np.ndarray) -> tuple[float, float]:
    """:func:`_percentiles` of ``zeros`` zero waits and the ``positive`` ones (reordered in place).

    Equal to ``np.percentile`` of all the waits, operation for operation (its "linear" method: virtual index
    ``(n - 1) * q``, the order statistics on either side, clamped at the ends, and its interpolation), but only
    the positive waits are partitioned: an order statistic below ``zeros`` is zero. Tests hold it to
    ``np.percentile``.
    """
    n = zeros + positive.size
    virtual = (n - 1) * _Q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= n - 1
    prev[above] = nxt[above] = -1
    below = virtual < 0
    prev[below] = nxt[below] = 0
    prev, nxt = prev.astype(np.intp), nxt.astype(np.intp)
    gamma = virtual - prev
    at = np.concatenate((prev, nxt)) % n  # -1: the largest
    kth = np.unique(at[at >= zeros] - zeros)
    if kth.size:
        positive.partition(kth)
    values = np.where(at >= zeros, positive[np.maximum(at - zeros, 0)] if positive.size else 0.0, 0.0)
    a, b = values[:2], values[2:]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return float(out[0]), float(out[1])


def _labels(column: Any) -> tuple[np.ndarray, list[str]]:
    """A label column as codes (-1: missing, in no group, as in a groupby) and the name of each code."""
    cat = _categorical(column)
    if cat is not None:
        return cat.codes, [str(c) for c in cat.categories]
    codes, uniques = pd.factorize(np.asarray(column, dtype=object))
    return codes, [str(u) for u in uniques]


_DECILE_NAMES = [f"D{k}" for k in range(1, 11)] + ["unknown"]


def _deciles(x: np.ndarray) -> np.ndarray:
    """Each row's decile of a score in [0, 1] as a code: ``k - 1`` for ``Dk``, 10 when missing (``unknown``)."""
    d = np.floor(x * 10)
    np.minimum(d, 9, out=d)
    d[np.isnan(x)] = 10
    return d.astype(np.int8)


def replication_metrics(cols: Columns) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics of one replication (measured contacts, with outcomes) by segment, tier, channel and deciles.

    ``cols``: a frame of :func:`add_outcomes`, or the same columns by name. Groups of text columns come in
    order of first appearance among the measured contacts (missing labels in no group); deciles ``D1``..``D10``
    and ``unknown`` (no score) in sorted text order, only those that occur, and only when some measured contact
    has a score.

    Every grouping is summed in ONE pass over the rows (:func:`fairserve.sim._kernel.group_sums`: counts and
    sums per group, no column gathered); then each grouping's waits are put together by group
    (:func:`fairserve.sim._kernel.gather_by_group`) for the percentiles, which depend on the waits alone, not
    on their order. A grouping that parts the measured contacts exactly as an earlier one does (the tiers of a
    scenario whose segments each have their own tier) takes no pass of its own: its groups are the earlier
    one's, by other names (:func:`fairserve.sim._kernel.same_partition`). The waits of everyone are read
    before the overtakes, which may still be counted on another thread (:func:`fairserve.sim.engine._replicate`).
    """
    keep = _values(cols["measured"], bool)
    wait = _values(cols["wait"], np.float64)
    measured = int(np.count_nonzero(keep))
    groupings: list[tuple[str, np.ndarray, list[str]]] = [
        (key, *_labels(cols[col])) for key, col in (("segments", "segment"), ("tiers", "tier"), ("channels", "channel"))
    ]
    for key, col in (("value_deciles", "value_percentile"), ("influence_deciles", "influence")):
        if col in cols:
            groupings.append((key, _deciles(_values(cols[col], float)), _DECILE_NAMES))
    # a grouping with one label in every row has one group, everyone: it needs no pass of its own
    alone = {key: int(c[0]) for key, c, _ in groupings if c.size and c[0] >= 0 and bool((c == c[0]).all())}
    summed: list[tuple[str, np.ndarray, list[str]]] = []
    # grouping -> (the summed grouping it equals, its own group -> that grouping's, -1: no measured contact)
    alias: dict[str, tuple[int, np.ndarray]] = {}
    for key, c, names in groupings:
        if key in alone:
            continue
        for g, (_, c2, names2) in enumerate(summed):
            to, back = np.full(len(names), -1, dtype=np.int64), np.full(len(names2), -1, dtype=np.int64)
            if _kernel.same_partition(c, c2, keep, to, back):
                alias[key] = (g, to)
                break
        else:
            summed.append((key, c, names))
    offsets = np.zeros(len(summed) + 1, dtype=np.int64)
    np.cumsum([len(names) for _, _, names in summed], out=offsets[1:])
    codes = np.stack([c for _, c, _ in summed]) if summed else np.empty((0, keep.size), dtype=np.int8)
    pct_of, everyone = _wait_percentiles(codes, keep, wait, measured, [len(names) for _, _, names in summed])
    arrays = (
        wait,
        _values(cols["served"], np.bool_),
        _values(cols["overtaken"], np.int64),
        _values(cols["overtaken_influence"], np.int64),
        _values(cols["sla_ok"], np.bool_),
        _values(cols["promise_ok"], np.bool_),
        *(_nonzero(_values(cols[c], np.float64)) for c in ("revenue_at_risk", "exposure")),
    )
    sums, first = _kernel.group_sums(codes, offsets, keep, *arrays)
    sums = np.vstack([sums, np.zeros((1, sums.shape[1]))])  # row -1: a group no measured contact is in
    first = np.append(first, -1)
    index = {key: g for g, (key, _, _) in enumerate(summed)}

    def section(key: str | None, names: list[str], by_name: bool = False) -> dict[str, dict[str, float]]:
        """The metrics of grouping ``key``'s groups (None: everyone) with a measured contact, named ``names``.

        In order of first appearance, or ``by_name`` in sorted text order.
        """
        if key is None:
            rows, pct = np.array([len(sums) - 2]), [everyone]
        else:
            g, to = alias.get(key, (index.get(key, -1), None))
            rows = np.arange(offsets[g], offsets[g + 1])
            pct = pct_of[g]
            if to is not None:
                rows = np.where(to >= 0, offsets[g] + to, len(sums) - 1)
                pct = [pct[k] if k >= 0 else (math.nan, math.nan) for k in to.tolist()]
        counts = sums[rows, 0].astype(np.int64)
        order = np.argsort(names if by_name else np.where(first[rows] < 0, keep.size, first[rows]), kind="stable")
        return {
            names[k]: _group_metrics(float(counts[k]), dict(zip(_SUMS, sums[rows[k], 1:].tolist(), strict=True)),
                                     *pct[k])
            for k in order.tolist()
            if counts[k] > 0
        }

    out = {"all": section(None, ["all"]) if measured else {"all": {}}}
    for key, _, names in groupings:
        if key in alone:
            k = alone[key]
            if measured and (k < 10 or not key.endswith("_deciles")):  # deciles: only if someone has a score
                out[key] = {names[k]: dict(out["all"]["all"])}
            elif not key.endswith("_deciles"):
                out[key] = {}
            continue
        if not key.endswith("_deciles"):
            out[key] = section(key, names)
        else:
            scored = section(key, names, by_name=True)
            if any(name != "unknown" for name in scored):  # some measured contact has a score
                out[key] = scored
    return out


_NO_PERCENTILES = (math.nan, math.nan)


def _wait_percentiles(
    codes: np.ndarray, keep: np.ndarray, wait: np.ndarray, measured: int, sizes: list[int]
) -> tuple[list[list[tuple[float, float]]], tuple[float, float]]:
    """The wait percentiles of each group of each grouping (``codes[g]``, ``sizes[g]`` groups), and everyone's.

    Each grouping's positive waits are put together by group (:func:`fairserve.sim._kernel.gather_by_group`),
    and the percentiles taken from them and the count of zero waits (:func:`_percentiles_of`); when a
    grouping's groups hold every measured contact, its positive waits are everyone's. A wait that is neither
    zero nor positive (NaN, negative) sends the grouping back to ``np.percentile`` of all its waits.
    """
    if measured == 0:
        return [[_NO_PERCENTILES] * size for size in sizes], _NO_PERCENTILES
    per_grouping: list[list[tuple[float, float]]] = []
    everyone: tuple[float, float] | None = None
    for g, size in enumerate(sizes):
        kept, positive = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
        odd = _kernel.count_by_group(codes[g], keep, wait, kept, positive)
        bounds = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(kept if odd else positive, out=bounds[1:])
        waits = _kernel.gather_by_group(codes[g], keep, wait, bounds, positive=not odd)
        spans = [waits[bounds[k] : bounds[k + 1]] for k in range(size)]
        if odd:
            per_grouping.append([_percentiles(x, scratch=True) if kept[k] else _NO_PERCENTILES
                                 for k, x in enumerate(spans)])
        else:
            per_grouping.append([_percentiles_of(int(kept[k] - positive[k]), x) if kept[k] else _NO_PERCENTILES
                                 for k, x in enumerate(spans)])
        if everyone is None and int(kept.sum()) == measured:  # every measured contact is in one of the groups
            everyone = _percentiles(waits, scratch=True) if odd else _percentiles_of(measured - int(positive.sum()),
                                                                                    waits)
    if everyone is None:  # no grouping holds everyone: their waits on their own
        kept, positive = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        one = np.zeros(keep.size, dtype=np.int8)
        if _kernel.count_by_group(one, keep, wait, kept, positive):
            everyone = _percentiles(wait) if measured == keep.size else _percentiles(wait[keep], scratch=True)
        else:
            bounds = np.array([0, positive[0]], dtype=np.int64)
            everyone = _percentiles_of(measured - int(positive[0]),
                                       _kernel.gather_by_group(one, keep, wait, bounds, positive=True))
    return per_grouping, everyone


def ci95(values: list[float] | np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval over replications (NaN interval with fewer than two)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    from scipy.special import stdtrit  # the t quantile (scipy.stats.t.ppf calls it); imported only when needed

    half = float(stdtrit(x.size - 1, 0.975) * x.std(ddof=1) / math.sqrt(x.size))
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
