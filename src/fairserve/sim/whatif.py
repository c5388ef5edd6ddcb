"""What if that was you? One customer's experience of the contact centre under each policy.

The customer's contact is placed at a random moment of the measured window of every replication (the other
contacts are the scenario's usual draw, identical across policies), then each policy is simulated. We report,
averaged over replications, how long they waited, whether they gave up, their tier and SLA, how many later
arrivals were served before them, and -- from one replication -- who those were and why, in the words of the
policy's own :class:`~fairserve.model.Decision` reasons (the same :func:`fairserve.policy.decide` the live service
calls).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from fairserve.model import Channel, Contact, Customer, customer_from_record
from fairserve.sim.engine import Kernel, resolve_policy, run_replication
from fairserve.sim.metrics import add_outcomes, ci95
from fairserve.sim.scenario import Scenario, ScenarioError, draw_contacts

__all__ = ["whatif"]

_CUSTOMER_FIELDS = ("clv", "profit", "loyalty", "influence", "value_percentile")
_KNOWN_CUSTOMER = (*_CUSTOMER_FIELDS, "followers", "status", "account")  # any of these known: a Customer


def _none(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _objects(row: pd.Series) -> tuple[Contact, Customer | None]:
    contact = Contact(
        contact_id=str(row["contact_id"]),
        channel=Channel(str(row["channel"])),
        arrival=float(row["arrival"]),
        customer_id=_none(row.get("customer_id")),
        severity=int(row["severity"]),
        sentiment=_none(float(row["sentiment"])),
        complaint=bool(row["complaint"]),
        repeat=int(row["repeat"]),
        reach=_none(float(row["reach"])),
        public=bool(row["public"]) if "public" in row else None,
    )
    if _none(row.get("customer_id")) is None and all(_none(row.get(c)) is None for c in _KNOWN_CUSTOMER):
        return contact, None
    customer_id = str(_none(row.get("customer_id")) or f"segment:{row['segment']}")
    return contact, customer_from_record(row, customer_id=customer_id)


def _reasons(row: pd.Series, decider: Any) -> list[str]:
    """Plain-language reasons of one contact's decision under a real policy (empty for a key function)."""
    if not hasattr(decider, "tier_names"):
        return []
    from fairserve.policy import decide

    contact, customer = _objects(row)
    return [r.text for r in decide(contact, customer, decider, contact.arrival).reasons]


def whatif(
    customer_id: str,
    scenario: Scenario,
    policies: list[Any],
    customers: pd.DataFrame,
    *,
    segment: str | None = None,
    replications: int = 20,
    seed: int = 0,
    show: int = 5,
    kernel: Kernel = "auto",
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """One customer's experience under each policy, averaged over ``replications``.

    Parameters
    ----------
    customer_id:
        A ``customer_id`` of ``customers`` (the scored base: clv, profit, loyalty, value_percentile,
        influence, followers, optionally status).
    segment:
        The segment whose contact they make (channel, handling, patience); default the first segment that
        draws from the customer base, else the first segment.
    show:
        How many of the contacts that overtook them to list, with their reasons (from the last replication
        in which anyone did).
    progress:
        Called with the replication's number (from 1) after each replication (a progress bar).

    Returns
    -------
    dict
        ``{"customer": {...}, "segment", "replications", "time_unit", "target", "policies": {label: {"tier",
        "sla_seconds", "mean_wait", "mean_wait_ci95", "p_abandon", "p_sla", "p_promise_kept", "overtaken",
        "overtaken_by_influence", "reasons": [...], "overtakers": [{"arrived_after", "channel", "tier",
        "head_start_min", "influence_min", "by_influence", "by_guarantee", "reasons"}]}}}``; waits in the
        scenario's time unit. ``p_sla`` is the chance of an answer within the scenario's target for the segment
        (``target``, time units, the same for every policy), ``p_promise_kept`` within the policy's own promise
        (``sla_seconds``).
    """
    ids = customers["customer_id"].astype(str)
    match = customers[ids == str(customer_id)]
    if match.empty:
        raise ScenarioError(f"customer {customer_id!r} is not in the customer base")
    me = match.iloc[0]
    seg = next((s for s in scenario.segments if s.name == segment), None) if segment else None
    if segment and seg is None:
        raise ScenarioError(f"no segment {segment!r} in scenario {scenario.name!r}")
    if seg is None:
        seg = next((s for s in scenario.segments if s.customers == "base"), scenario.segments[0])
    resolved = [resolve_policy(p) for p in policies]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in resolved}
    shown: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in resolved}
    own_reasons: dict[str, list[str]] = {}
    base = customers if scenario.needs_customers() else None
    for done, child in enumerate(np.random.SeedSequence(seed).spawn(replications), start=1):
        if progress is not None and done > 1:
            progress(done - 1)
        rng = np.random.default_rng(child)
        contacts = draw_contacts(scenario, rng, base)
        cats = [c for c in contacts.columns if isinstance(contacts[c].dtype, pd.CategoricalDtype)]
        contacts = contacts.astype(dict.fromkeys(cats, object))
        t = float(rng.uniform(scenario.center.warmup, scenario.horizon))
        mine = contacts.iloc[[0]].copy() if len(contacts) else None
        if mine is None:  # pragma: no cover - a scenario always has arrivals
            continue
        mine["t"] = t
        mine["arrival"] = t * scenario.unit_seconds
        mine["handle"] = rng.exponential(seg.handle_mean)
        mine["patience"] = np.inf if seg.patience_mean is None else rng.exponential(seg.patience_mean)
        mine["segment"] = seg.name
        mine["channel"] = str(seg.channel)
        mine["severity"], mine["complaint"] = seg.severity, seg.complaint
        mine["sentiment"] = np.nan if seg.sentiment is None else seg.sentiment
        mine["customer_id"] = str(customer_id)
        mine["status"] = me["status"] if "status" in me and seg.tier is None else seg.tier
        mine["account"] = me["account"] if "account" in me and seg.account is None else seg.account
        mine["public"] = seg.public if seg.public is not None else seg.channel == Channel.SOCIAL
        for col in (*_CUSTOMER_FIELDS, "followers"):
            mine[col] = float(me[col]) if col in me and pd.notna(me[col]) else np.nan
        mine["reach"] = seg.reach if seg.reach is not None else mine["followers"].iloc[0]
        mine["contact_id"] = -1
        mine["profile"] = int(contacts["profile"].max()) + 1 if len(contacts) else 0  # a profile of its own
        mine["parent"] = -1
        frame = pd.concat([contacts, mine], ignore_index=True).sort_values("t", kind="stable", ignore_index=True)
        you = int(np.flatnonzero(frame["contact_id"].to_numpy() == -1)[0])
        # renumber, keeping call-backs pointing at the call they follow
        new_of_old = np.empty(len(frame), dtype=np.int64)
        old = frame["contact_id"].to_numpy()
        keep = old >= 0
        new_of_old[old[keep]] = np.flatnonzero(keep)
        parent = frame["parent"].to_numpy(dtype=np.int64)
        frame["parent"] = np.where(parent >= 0, new_of_old[np.maximum(parent, 0)], -1)
        frame["contact_id"] = np.arange(len(frame), dtype=np.int64)
        for label, decider in resolved:
            out = add_outcomes(run_replication(scenario, decider, rng, kernel=kernel, contacts=frame), scenario)
            row = out.iloc[you]
            runs[label].append(
                {
                    "wait": float(row["wait"]),
                    "abandoned": bool(row["abandoned"]),
                    "sla_ok": bool(row["sla_ok"]),
                    "promise_ok": bool(row["promise_ok"]),
                    "tier": str(row["tier"]),
                    "sla_seconds": float(row["sla_seconds"]),
                    "overtaken": int(row["overtaken"]),
                    "overtaken_by_influence": int(row["overtaken_influence"]),
                }
            )
            if label not in own_reasons:
                own_reasons[label] = _reasons(row, decider)
            if row["overtaken"] > 0:
                end = row["t"] + row["wait"]
                same_queue = (out["pool"] == row["pool"]) & out["happened"]
                later = out[same_queue & (out["t"] > row["t"]) & (out["start"] < end)].head(show)
                plain_you = float(row["virtual_arrival"])
                shown[label] = [
                    {
                        "arrived_after": float(o["t"] - row["t"]),
                        "channel": str(o["channel"]),
                        "tier": str(o["tier"]),
                        "head_start_min": float(o["head_start_min"]),
                        "influence_min": float(np.nan_to_num(o["influence_min"])),
                        "by_influence": bool(
                            not o["by_guarantee"]
                            and o["rank"] == row["rank"]
                            and o["virtual_arrival"] + np.nan_to_num(o["influence_min"]) * 60.0 > plain_you
                        ),
                        "by_guarantee": bool(o["by_guarantee"]),
                        "reasons": _reasons(o, decider),
                    }
                    for _, o in later.iterrows()
                ]
    if progress is not None and replications:
        progress(replications)
    result: dict[str, Any] = {
        "customer": {k: _none(v.item() if hasattr(v, "item") else v) for k, v in me.items()},
        "segment": seg.name,
        "replications": replications,
        "time_unit": scenario.center.time_unit,
        "target": scenario.segment_within()[scenario.segments.index(seg)],
        "policies": {},
    }
    for label, _ in resolved:
        rs = runs[label]
        mean, lo, hi = ci95([r["wait"] for r in rs])
        result["policies"][label] = {
            "tier": Counter(r["tier"] for r in rs).most_common(1)[0][0],
            "sla_seconds": rs[0]["sla_seconds"],
            "mean_wait": mean,
            "mean_wait_ci95": [lo, hi],
            "p_abandon": float(np.mean([r["abandoned"] for r in rs])),
            "p_sla": float(np.mean([r["sla_ok"] for r in rs])),
            "p_promise_kept": float(np.mean([r["promise_ok"] for r in rs])),
            "overtaken": float(np.mean([r["overtaken"] for r in rs])),
            "overtaken_by_influence": float(np.mean([r["overtaken_by_influence"] for r in rs])),
            "reasons": own_reasons.get(label, []),
            "overtakers": shown[label],
        }
    return result
