"""What an allocation costs, and for whom: several policies' allocations of the same claimants side by side.

For each policy: how many receive the good, how many owe that to follower reach, who receives it by value decile
and by influence decile, and -- for a ``"lowest"`` good such as being denied boarding -- the **value at risk**:
the CLV of those who receive it times a churn response (an assumption to calibrate on your own retention data;
the default 0.2 is a placeholder, not a measured figure). With ``customer`` it also answers "what if that was
you?": that claimant's rank, outcome and reasons under each policy.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fairserve.errors import FairserveError
from fairserve.policy.allocation import AllocationResult
from fairserve.policy.audit import decile_of

__all__ = ["compare"]


def compare(
    claimants: pd.DataFrame, results: list[AllocationResult], *, churn: float = 0.2, customer: str | None = None
) -> dict[str, Any]:
    """Summarise ``results`` (one per policy, same claimants) by value and influence decile; see module docstring."""
    base = claimants.assign(claimant_id=claimants["claimant_id"].astype(str)).set_index("claimant_id")
    out: dict[str, Any] = {"churn_response": churn, "policies": {}}
    for res in results:
        t = res.table.set_index("claimant_id")
        got = t["receives"].astype(bool)
        entry: dict[str, Any] = {
            "version": res.policy[1],
            "hash": res.policy[2],
            "good": res.good,
            "direction": res.direction,
            "receives": int(got.sum()),
            "owed_to_influence": int(t["owed_to_influence"].sum()),
        }
        for key, col in (("by_value_decile", "value_percentile"), ("by_influence_decile", "influence")):
            if col in base.columns:
                dec = decile_of(base[col].reindex(t.index))
                counts = dec[got].value_counts()
                entry[key] = {str(int(float(str(k)))): int(v) for k, v in sorted(counts.items())}
            else:
                entry[key] = {}
        if res.direction == "lowest" and "clv" in base.columns:
            clv = pd.to_numeric(base["clv"].reindex(t.index), errors="coerce").fillna(0.0)
            entry["value_at_risk"] = float((clv[got] * churn).sum())
        else:
            entry["value_at_risk"] = None
        out["policies"][res.policy[0]] = entry
    if customer is not None:
        key = "customer_id" if "customer_id" in claimants.columns else "claimant_id"
        match = claimants[claimants[key].astype(str) == str(customer)]
        if match.empty:
            match = claimants[claimants["claimant_id"].astype(str) == str(customer)]
        if match.empty:
            raise FairserveError(f"no claimant with customer_id or claimant_id '{customer}'")
        cid = str(match.iloc[0]["claimant_id"])
        you: dict[str, Any] = {"claimant_id": cid, "policies": {}}
        for res in results:
            row = res.table[res.table["claimant_id"] == cid].iloc[0]
            you["policies"][res.policy[0]] = {
                "rank": int(row["rank"]),
                "of": len(res.table),
                "points": float(row["points"]),
                "receives": bool(row["receives"]),
                "owed_to_influence": bool(row["owed_to_influence"]),
                "reasons": list(row["reasons"]),
            }
        out["customer"] = you
    return out
