"""How many agents each policy needs for the scenario's targets, and whether a scenario is overloaded.

Computed from the scenario and from what :func:`fairserve.sim.compare_policies` returns, with the formulas of
:mod:`fairserve.sim.erlang`:

* **any order** -- Erlang A (:func:`fairserve.sim.erlang.agents_needed` with the channel's mean patience): the
  agents for which the channel as a whole answers its target share within its target time. The order of the
  queue does not change this average, so it is the same for every policy.
* **every tier** -- the agents for which EVERY tier of the policy answers the target share within the target
  time, if the tiers were served in strict order (the policy's tier order, the top tier first). Each tier's
  mean wait is Cobham's (:func:`fairserve.sim.erlang.priority_waits`); its service level is read off as
  ``1 - C exp(-t C / W_k)`` with ``C`` the Erlang C probability of waiting, which is Erlang C's exact service
  level when there is one tier (so FIFO's figure is Erlang C's). Strict order is the most a policy can favour
  its top tier, so this is an upper bound for policies that give head starts in minutes; it leaves patience
  out (nobody abandons), which also errs on the side of more agents.

Assumptions, stated where they are shown: each channel is staffed on its own (channels that share a pool are
summed); a channel's arrival rate is its measured arrivals (call-backs included) over the measured duration;
every channel has the same tier mix as the whole centre (the simulator reports tiers across channels).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from fairserve.sim.erlang import StaffingError, agents_needed, erlang_c, priority_waits
from fairserve.sim.scenario import Scenario

__all__ = ["PoolLoad", "channel_needs", "overload_warnings", "pool_loads", "staffing_table"]


@dataclass(frozen=True)
class PoolLoad:
    """The offered load of one pool of agents, from the scenario's rates (before any simulation)."""

    pool: str
    channels: list[str]
    agents: int
    arrival_rate: float
    handle_mean: float
    load_per_agent: float
    abandonment: bool


def _pools(scenario: Scenario) -> list[tuple[str, list[str], int]]:
    pooled = {str(c) for p in scenario.pools for c in p.channels}
    service = sorted({str(s.channel) for s in scenario.segments if str(s.channel) not in pooled})
    out = [("service", service, scenario.center.agents)]
    out += [(p.name, [str(c) for c in p.channels], p.agents) for p in scenario.pools]
    return out


def _rate(seg: Any) -> float:
    profile = seg.rate_profile or [1.0]
    return float(seg.arrival_rate) * sum(profile) / len(profile)


def pool_loads(scenario: Scenario) -> list[PoolLoad]:
    """Each pool's arrival rate, mean handling time and load per agent (``rate * handle / agents``).

    ``abandonment`` is False when no contact of the pool ever gives up (no segment of it has a patience): such
    a pool at a load per agent of 1 or more has a queue that only grows.
    """
    out = []
    for name, channels, agents in _pools(scenario):
        segs = [s for s in scenario.segments if str(s.channel) in channels]
        if not segs:
            continue
        rate = sum(_rate(s) for s in segs)
        work = sum(_rate(s) * s.handle_mean for s in segs)
        out.append(
            PoolLoad(
                pool=name,
                channels=channels,
                agents=agents,
                arrival_rate=rate,
                handle_mean=work / rate if rate > 0 else math.nan,
                load_per_agent=work / agents,
                abandonment=any(s.patience_mean is not None for s in segs),
            )
        )
    return out


def overload_warnings(scenario: Scenario) -> list[str]:
    """Plain-language warnings for pools at a load per agent of 1 or more where nobody abandons."""
    unit = scenario.center.time_unit
    return [
        f"pool '{p.pool}' ({', '.join(p.channels)}) is overloaded: {p.arrival_rate:.3g} contacts per {unit} x "
        f"{p.handle_mean:.3g} {unit}s of handling = {p.load_per_agent * p.agents:.3g} agents' work for {p.agents} "
        f"agent{'s' if p.agents != 1 else ''} (load {p.load_per_agent:.2f} per agent) and nobody abandons, so its "
        "queue grows for the whole run and its waits depend on how long you simulate"
        for p in pool_loads(scenario)
        if p.load_per_agent >= 1 and not p.abandonment
    ]


def _every_tier(rate: float, handle: float, shares: list[float], within: float, target: float) -> int | None:
    """Fewest agents for which each tier (strict order) answers ``target`` of its contacts within ``within``."""
    mu = 1.0 / handle
    rates = [rate * s for s in shares if s > 0]
    c = math.floor(rate * handle) + 1
    while c <= 100_000:
        try:
            waits = priority_waits(rates, mu, c)
        except StaffingError:
            return None
        pw = erlang_c(c, rate * handle)
        if pw <= 0 or all(1.0 - pw * math.exp(-within * pw / w) >= target for w in waits if w > 0):
            return c
        c += 1
    return None


def channel_needs(scenario: Scenario, result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per channel: measured arrival rate, handle mean, patience and the target, from scenario and result."""
    duration = scenario.center.duration
    out: dict[str, dict[str, float]] = {}
    first = next(iter(result["policies"].values()))
    for channel, target in result["targets"].items():
        segs = [s for s in scenario.segments if str(s.channel) == channel]
        weights = [_rate(s) for s in segs]
        total = sum(weights)
        if total <= 0:
            continue
        handle = sum(w * s.handle_mean for w, s in zip(weights, segs, strict=True)) / total
        impatient = [(w, s.patience_mean) for w, s in zip(weights, segs, strict=True) if s.patience_mean]
        patience = (
            sum(w * p for w, p in impatient) / sum(w for w, _ in impatient) if len(impatient) == len(segs) else math.inf
        )
        arrivals = first.get("channels", {}).get(channel, {}).get("arrivals", math.nan)
        rate = arrivals / duration if math.isfinite(arrivals) and arrivals > 0 else total
        out[channel] = {
            "arrival_rate": rate,
            "handle_mean": handle,
            "patience_mean": patience,
            "within": float(target["within"]),
            "share": float(target["share"]),
        }
    return out


def staffing_table(
    scenario: Scenario, result: dict[str, Any], tier_order: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """Agents needed per channel: ``any order`` (Erlang A) and, per policy, ``every tier`` (strict order).

    ``tier_order`` maps a policy label to its tiers, top first (``Policy.tier_names``); a policy left out has its
    tiers ordered by their simulated mean wait. Returns ``{"channels": {channel: {..., "any_order": n}},
    "policies": {label: {channel: n or None}}, "staffed": {channel: agents of its pool}}``.
    """
    needs = channel_needs(scenario, result)
    staffed = {c: agents for _, channels, agents in _pools(scenario) for c in channels}
    channels: dict[str, dict[str, Any]] = {}
    for channel, n in needs.items():
        try:
            patience = None if math.isinf(n["patience_mean"]) else n["patience_mean"]
            any_order: int | None = agents_needed(
                n["arrival_rate"], n["handle_mean"], n["share"], n["within"], patience_mean=patience
            ).agents
        except StaffingError:
            any_order = None
        channels[channel] = {**n, "any_order": any_order}
    policies: dict[str, dict[str, int | None]] = {}
    for label, entry in result["policies"].items():
        tiers = entry.get("tiers", {})
        order = (tier_order or {}).get(label) or sorted(tiers, key=lambda t: tiers[t].get("mean_wait", math.inf))
        total = sum(tiers.get(t, {}).get("arrivals", 0.0) for t in order) or 1.0
        shares = [tiers.get(t, {}).get("arrivals", 0.0) / total for t in order if t in tiers]
        policies[label] = {
            c: _every_tier(n["arrival_rate"], n["handle_mean"], shares or [1.0], n["within"], n["share"])
            for c, n in needs.items()
        }
    return {"channels": channels, "policies": policies, "staffed": staffed}


def as_dicts(loads: list[PoolLoad]) -> list[dict[str, Any]]:
    """Pool loads as plain dicts (for JSON)."""
    return [asdict(p) for p in loads]
