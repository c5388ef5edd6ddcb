"""One replication in detail: wait distributions per decile, and who overtook whom and why, per policy.

:func:`fairserve.sim.compare_policies` reports each group's mean wait, its 90th and 95th percentiles and its
overtake counts over replications. To draw the whole distribution (a box per decile and policy) and to say
what caused each overtake, :func:`replication_waits` re-runs the comparison's FIRST replication -- the same
seed child, so the very same contacts, decided and served the same way -- and keeps each contact's outcome;
:func:`wait_quantiles` summarises the waits per decile and :func:`overtake_causes` the overtakes by cause.
Only these summaries reach the page, not the contacts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CAUSES", "QUANTILES", "overtake_causes", "overtake_pairs", "replication_waits", "wait_quantiles"]

QUANTILES = {"p05": 0.05, "q1": 0.25, "median": 0.5, "q3": 0.75, "p95": 0.95}
CAUSES = {
    "tier": "a higher tier (strict order)",
    "tier_head_start": "another tier's head start",
    "need": "same tier, due sooner (need, channel target)",
    "influence": "influence minutes alone",
    "guarantee": "a wait guarantee that ran out",
}
"""Why a later contact was served first (:func:`overtake_pairs`), with the words the report uses."""
_KEEP = ("t", "tier", "wait", "start", "served", "happened", "measured", "pool", "rank", "virtual_arrival",
         "influence_min", "by_guarantee", "overtaken", "overtaken_influence", "value_percentile", "influence")


def replication_waits(
    scenario: Any, policies: list[Any], seed: int, customers: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Each policy's contacts of the comparison's first replication: outcome, decision key, deciles' scores.

    Replication 1 of :func:`fairserve.sim.compare_policies` draws its contacts from
    ``SeedSequence(seed).spawn(n)[0]``, which is ``spawn(1)[0]`` for any ``n``; every policy then runs on those
    contacts exactly as there.
    """
    from fairserve.sim.engine import resolve_policy, run_replication
    from fairserve.sim.metrics import add_outcomes
    from fairserve.sim.scenario import draw_contacts

    child = np.random.SeedSequence(seed).spawn(1)[0]
    contacts = draw_contacts(scenario, np.random.default_rng(child), customers)
    out = {}
    for label, decider in (resolve_policy(p) for p in policies):
        frame = add_outcomes(run_replication(scenario, decider, np.random.default_rng(0), contacts=contacts), scenario)
        out[label] = frame[[c for c in _KEEP if c in frame]].reset_index(drop=True)
    return out


def _decile(score: np.ndarray) -> np.ndarray:
    """``D1``..``D10`` of a score in [0, 1] (the simulator's rule: ``min(floor(10 x), 9) + 1``), '' when missing."""
    d = np.minimum(np.floor(score * 10), 9) + 1
    return np.where(np.isnan(score), "", np.char.add("D", np.nan_to_num(d).astype(int).astype(str)))


def wait_quantiles(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Per policy, per decile kind (``value_deciles``, ``influence_deciles``), per decile: wait quantiles and mean.

    Returns ``{label: {kind: {"D1": {"p05", "q1", "median", "q3", "p95", "mean", "n"}, ...}}}`` with deciles
    in order D1..D10.
    """
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for label, frame in frames.items():
        if "measured" in frame:
            frame = frame[frame["measured"].to_numpy(dtype=bool)]
        wait = frame["wait"].to_numpy(dtype=float)
        kinds: dict[str, dict[str, dict[str, float]]] = {}
        for kind, col in (("value_deciles", "value_percentile"), ("influence_deciles", "influence")):
            if col not in frame:
                continue
            decile = _decile(frame[col].to_numpy(dtype=float))
            groups: dict[str, dict[str, float]] = {}
            for k in range(1, 11):
                w = wait[decile == f"D{k}"]
                if w.size == 0:
                    continue
                qs = np.quantile(w, list(QUANTILES.values()))
                groups[f"D{k}"] = {
                    **{name: float(q) for name, q in zip(QUANTILES, qs, strict=True)},
                    "mean": float(w.mean()),
                    "n": float(w.size),
                }
            if groups:
                kinds[kind] = groups
        out[label] = kinds
    return out


def overtake_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Every overtake of one replication: who (``i``, row of ``frame``) was passed by whom (``j``) and why.

    ``j`` overtook ``i`` when both were in the same pool, ``j`` arrived later and started service while ``i``
    still waited -- the simulator's definition (:func:`fairserve.sim._kernel._overtakes`), so the pairs per
    ``i`` add up to its ``overtaken``. The cause, checked in this order: ``guarantee`` (``j`` was served ahead of
    the queue order because its wait passed the policy's guarantee), ``tier`` (``j`` ranked in a higher tier),
    ``influence`` (same tier, and without its influence minutes ``j``'s key would have come after ``i``'s -- the
    simulator's ``overtaken_influence``), ``tier_head_start`` (same rank, ``j`` in another tier whose head
    start put it first: the tier rests on whatever the policy's tiers rest on, value or reach), else ``need``
    (same tier, ``j`` due sooner: its need signals or its channel's target).
    """
    t = frame["t"].to_numpy(dtype=float)
    start = frame["start"].to_numpy(dtype=float)
    real = frame["happened"].to_numpy(dtype=bool)
    end = np.where(np.isnan(start), np.where(real, t + frame["wait"].to_numpy(dtype=float), t), start)
    pool = frame["pool"].to_numpy()
    rank = frame["rank"].to_numpy(dtype=np.int64)
    va = frame["virtual_arrival"].to_numpy(dtype=float)
    plain = va + 60.0 * np.nan_to_num(frame["influence_min"].to_numpy(dtype=float))
    forced = frame["by_guarantee"].to_numpy(dtype=bool)
    found_i, found_j = [], []
    for k in np.unique(pool):
        idx = np.flatnonzero(pool == k)
        idx = idx[np.argsort(t[idx], kind="stable")]
        tk = t[idx]
        lo = np.arange(1, idx.size + 1)
        hi = np.searchsorted(tk, end[idx], side="left")  # later arrivals that came before i stopped waiting
        n = np.maximum(hi - lo, 0)
        n[~(end[idx] > tk)] = 0
        ii = np.repeat(np.arange(idx.size), n)
        jj = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
        passed = start[idx[jj]] < end[idx[ii]]
        found_i.append(idx[ii[passed]])
        found_j.append(idx[jj[passed]])
    i = np.concatenate(found_i) if found_i else np.empty(0, dtype=np.int64)
    j = np.concatenate(found_j) if found_j else np.empty(0, dtype=np.int64)
    by_influence = (rank[j] == rank[i]) & (plain[j] > va[i])
    tier = frame["tier"].astype(str).to_numpy()
    cause = np.select(
        [forced[j], rank[j] < rank[i], by_influence, tier[j] != tier[i]],
        ["guarantee", "tier", "influence", "tier_head_start"],
        default="need",
    )
    return pd.DataFrame({"i": i, "j": j, "cause": cause})


def overtake_causes(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Per policy: overtakes per contact by cause, by value decile of the one passed and of the one passing.

    Returns ``{label: {"totals": {cause: overtakes}, "passed": {decile: {cause: per contact}}, "passing":
    {decile: {cause: per contact}}}}``, over the measured contacts of the replication (a contact that passed
    counts in ``passing`` when the one it passed was measured); deciles in order D1..D10.
    """
    out: dict[str, dict[str, Any]] = {}
    for label, frame in frames.items():
        pairs = overtake_pairs(frame)
        measured = frame["measured"].to_numpy(dtype=bool)
        pairs = pairs[measured[pairs["i"].to_numpy()]]
        entry: dict[str, Any] = {"totals": {c: int((pairs["cause"] == c).sum()) for c in CAUSES}}
        if "value_percentile" in frame:
            decile = _decile(frame["value_percentile"].to_numpy(dtype=float))
            contacts = {str(k): int(v) for k, v in pd.Series(decile[measured]).value_counts().items()}
            for side, col in (("passed", "i"), ("passing", "j")):
                counts: dict[Any, dict[Any, Any]] = pd.crosstab(
                    decile[pairs[col].to_numpy()], pairs["cause"].to_numpy()
                ).to_dict(orient="index")
                entry[side] = {
                    d: {c: float(counts.get(d, {}).get(c, 0)) / n for c in CAUSES}
                    for d, n in sorted(contacts.items(), key=lambda kv: int(kv[0][1:]) if kv[0] else 99)
                    if d
                }
        out[label] = entry
    return out
