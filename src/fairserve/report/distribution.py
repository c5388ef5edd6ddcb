"""Wait-time distributions per value and influence decile: quantiles of one replication's contacts, per policy.

:func:`fairserve.sim.compare_policies` reports each group's mean wait and its 90th and 95th percentiles over
replications. To draw the whole distribution (a box per decile and policy), :func:`replication_waits` re-runs
the comparison's FIRST replication -- the same seed child, so the very same contacts, decided and served the
same way -- and keeps each measured contact's wait; :func:`wait_quantiles` summarises them per decile. Only the
quantiles reach the page (a few numbers per box), not the contacts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["QUANTILES", "replication_waits", "wait_quantiles"]

QUANTILES = {"p05": 0.05, "q1": 0.25, "median": 0.5, "q3": 0.75, "p95": 0.95}


def replication_waits(
    scenario: Any, policies: list[Any], seed: int, customers: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Each policy's measured contacts of the comparison's first replication: wait, served, deciles' scores.

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
        keep = frame["measured"].to_numpy(dtype=bool)
        cols = [c for c in ("wait", "served", "value_percentile", "influence") if c in frame]
        out[label] = frame.loc[keep, cols].reset_index(drop=True)
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
