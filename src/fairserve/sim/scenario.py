"""The scenario file: who calls, how often, how long they talk, how long they wait, and how many agents answer.

A scenario is TOML, validated on load with pydantic; a bad value raises :class:`ScenarioError` naming the file and
the field (``segments[1].arrival_rate``). The keys are documented in ``docs/scenario.md``. All rates and times share
the scenario's ``time_unit`` (minute by default); the policy engine works in seconds, and the simulator converts.

This module also draws the random parts of one replication (:func:`draw_contacts`): Poisson arrivals per segment
(time-varying rates by thinning; Lewis & Shedler 1979), handling times and patience. Arrivals are independent of
the policy, so every policy of a comparison sees the same contacts (common random numbers).

References
----------
Lewis, P. A. W., & Shedler, G. S. (1979). Simulation of nonhomogeneous Poisson processes by thinning.
*Naval Research Logistics Quarterly* 26(3), 403-413.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fairserve.errors import FairserveError
from fairserve.model import Channel

__all__ = [
    "Center",
    "Churn",
    "Pool",
    "Scenario",
    "ScenarioError",
    "Segment",
    "draw_contacts",
    "load_scenario",
    "scenario_from_dict",
]

UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


class ScenarioError(FairserveError):
    """A scenario file or dict was refused; the message names the file, the field and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Center(_Model):
    """The contact centre: agents, how long to simulate, and in which time unit."""

    agents: int = Field(ge=1, description="number of agents on the service queue")
    duration: float = Field(gt=0, description="simulated time after warm-up, in time_unit")
    warmup: float = Field(default=0.0, ge=0, description="time simulated and discarded before measuring")
    time_unit: Literal["second", "minute", "hour"] = "minute"
    social_care_agents: int = Field(
        default=0, ge=0, description="agents of the social-care queue; 0 = the service agents take it too"
    )


class Pool(_Model):
    """A group of agents with its own queue, answering some channels (skills-based routing, one skill each)."""

    name: str
    agents: int = Field(ge=1)
    channels: list[Channel] = Field(min_length=1)


class Churn(_Model):
    """How waiting turns into lost customers: P(churn) per contact, times the customer's CLV, is revenue at risk.

    ``p = base + abandon * abandoned + sla_miss * (answered after the SLA) + per_unit_late * time past the SLA``,
    capped at 1. The defaults are assumptions to calibrate on your own retention data (see docs/scenario.md).
    """

    base: float = Field(default=0.0, ge=0, le=1)
    abandon: float = Field(default=0.10, ge=0, le=1)
    sla_miss: float = Field(default=0.03, ge=0, le=1)
    per_unit_late: float = Field(default=0.0, ge=0, description="extra churn probability per time unit past SLA")


class Segment(_Model):
    """One stream of contacts: a Poisson arrival rate, handling and patience laws, and who the customers are."""

    name: str
    arrival_rate: float = Field(gt=0, description="contacts per time unit (Poisson)")
    rate_profile: list[float] | None = Field(
        default=None, description="multipliers of arrival_rate over equal slices of warm-up + duration (thinning)"
    )
    handle_mean: float = Field(gt=0)
    handle: Literal["exponential", "lognormal", "empirical"] = "exponential"
    handle_cv: float = Field(default=1.0, gt=0, description="coefficient of variation (lognormal)")
    handle_samples: list[float] | None = None
    patience_mean: float | None = Field(default=None, gt=0, description="left out: infinitely patient")
    patience: Literal["exponential", "empirical"] = "exponential"
    patience_samples: list[float] | None = None
    channel: Channel = Channel.PHONE
    tier: str | None = None
    sla: float | None = Field(default=None, gt=0, description="SLA target in time_unit; default: the policy's")
    severity: int = Field(default=0, ge=0, le=3)
    sentiment: float | None = Field(default=None, ge=-1, le=1)
    complaint: bool = False
    reach: float | None = Field(default=None, ge=0)
    clv: float | None = None
    profit: float | None = None
    loyalty: float | None = Field(default=None, ge=0, le=1)
    influence: float | None = Field(default=None, ge=0, le=1)
    followers: int | None = Field(default=None, ge=0)
    value_percentile: float | None = Field(default=None, ge=0, le=1)
    customers: Literal["none", "base"] = Field(
        default="none", description="'base': each contact is a customer drawn from the scored customer base"
    )
    sampling: Literal["uniform", "propensity"] = "uniform"
    propensity_column: str = "contact_propensity"

    @model_validator(mode="after")
    def _samples_given(self) -> Segment:
        if self.handle == "empirical" and not self.handle_samples:
            raise ValueError("handle = 'empirical' needs handle_samples")
        if self.patience == "empirical" and not self.patience_samples:
            raise ValueError("patience = 'empirical' needs patience_samples")
        if self.rate_profile is not None and (not self.rate_profile or min(self.rate_profile) < 0):
            raise ValueError("rate_profile must be a non-empty list of non-negative multipliers")
        return self


class Scenario(_Model):
    """A whole scenario: the centre, optional agent pools, segments and the churn response."""

    name: str = "scenario"
    center: Center
    pools: list[Pool] = Field(default_factory=list)
    segments: list[Segment] = Field(min_length=1)
    churn: Churn = Field(default_factory=Churn)

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        seen: set[str] = set()
        for pool in self.pools:
            for ch in pool.channels:
                if ch in seen:
                    raise ValueError(f"channel {ch!s} is in more than one pool")
                seen.add(ch)
        return self

    @property
    def unit_seconds(self) -> float:
        """Seconds in one time unit."""
        return UNIT_SECONDS[self.center.time_unit]

    @property
    def horizon(self) -> float:
        """Warm-up plus measured duration, in time units."""
        return self.center.warmup + self.center.duration

    def fixed_tiers(self) -> list[str]:
        """Fixed segment tiers in scenario order, each once (for ``Policy.with_tier_order``)."""
        out: list[str] = []
        for seg in self.segments:
            if seg.tier is not None and seg.tier not in out:
                out.append(seg.tier)
        return out

    def needs_customers(self) -> bool:
        """True when a segment draws its customers from a scored base."""
        return any(s.customers == "base" for s in self.segments)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML); :class:`ScenarioError` names the bad field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"  {_where(e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError(f"{source}: invalid scenario:\n" + "\n".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    data.setdefault("name", path.stem)
    return scenario_from_dict(data, str(path))


def _arrivals(seg: Segment, horizon: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson arrival times on [0, horizon); piecewise-constant rate profile by thinning."""
    profile = np.asarray(seg.rate_profile if seg.rate_profile is not None else [1.0], dtype=float)
    peak = seg.arrival_rate * float(profile.max())
    if peak <= 0:
        return np.empty(0)
    n = int(rng.poisson(peak * horizon))
    t = np.sort(rng.uniform(0.0, horizon, n))  # given the count, Poisson times are sorted uniforms
    if profile.size > 1 or profile[0] != 1.0:
        slot = np.minimum((t / horizon * profile.size).astype(np.int64), profile.size - 1)
        keep = rng.uniform(size=n) < profile[slot] / profile.max()
        t = t[keep]
    return t


def _handle(seg: Segment, n: int, rng: np.random.Generator) -> np.ndarray:
    if seg.handle == "exponential":
        return rng.exponential(seg.handle_mean, n)
    if seg.handle == "lognormal":
        sigma2 = math.log1p(seg.handle_cv**2)
        mu = math.log(seg.handle_mean) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), n)
    return rng.choice(np.asarray(seg.handle_samples, dtype=float), n)


def _patience(seg: Segment, n: int, rng: np.random.Generator) -> np.ndarray:
    if seg.patience == "empirical":
        return rng.choice(np.asarray(seg.patience_samples, dtype=float), n)
    if seg.patience_mean is None:
        return np.full(n, np.inf)
    return rng.exponential(seg.patience_mean, n)


_CUSTOMER_COLUMNS = ("clv", "profit", "loyalty", "influence", "followers", "value_percentile")


def _cat(codes: np.ndarray, categories: Any) -> Any:
    """A categorical from integer codes (-1 = missing): no million-string column is ever built."""
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(categories)))


def draw_contacts(scenario: Scenario, rng: np.random.Generator, customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Draw one replication's contacts, sorted by arrival: the policy's input columns plus the simulator's.

    Returns a frame with ``contact_id`` (0, 1, ... in arrival order), ``channel``, ``arrival`` (seconds, for the
    policy), ``t`` (time units), ``handle``, ``patience`` (time units), ``segment``, ``severity``,
    ``sentiment``, ``complaint``, ``repeat``, ``reach`` and the customer columns (``customer_id``, ``status``,
    ``clv``, ...). Text columns are categoricals (cheap at a million rows). Each segment uses its own child
    stream of ``rng``, so adding a segment does not change the others' draws.
    """
    streams = rng.spawn(len(scenario.segments))
    parts: dict[str, list[np.ndarray]] = {}
    seg_codes, cust_codes = [], []
    statuses: list[str] = []
    base_codes, base_ids = (None, None) if customers is None else pd.factorize(customers["customer_id"].astype(str))

    def put(col: str, arr: np.ndarray) -> None:
        parts.setdefault(col, []).append(arr)

    for k, (seg, srng) in enumerate(zip(scenario.segments, streams, strict=True)):
        t = _arrivals(seg, scenario.horizon, srng)
        n = t.size
        put("t", t)
        put("handle", _handle(seg, n, srng))
        put("patience", _patience(seg, n, srng))
        seg_codes.append(np.full(n, k, dtype=np.int64))
        put("channel_code", np.full(n, list(Channel).index(seg.channel), dtype=np.int64))
        put("severity", np.full(n, seg.severity, dtype=np.int64))
        put("sentiment", np.full(n, np.nan if seg.sentiment is None else seg.sentiment))
        put("complaint", np.full(n, seg.complaint))
        put("reach", np.full(n, np.nan if seg.reach is None else seg.reach))
        status = np.full(n, -1, dtype=np.int64)
        if seg.tier is not None:
            if seg.tier not in statuses:
                statuses.append(seg.tier)
            status[:] = statuses.index(seg.tier)
        cust = np.full(n, -1, dtype=np.int64)
        cols = {
            col: np.full(n, np.nan if getattr(seg, col) is None else float(getattr(seg, col)))
            for col in _CUSTOMER_COLUMNS
        }
        if seg.customers == "base":
            if customers is None or customers.empty:
                raise ScenarioError(f"segment {seg.name!r} draws from a customer base, but none was given")
            weights = None
            if seg.sampling == "propensity":
                if seg.propensity_column not in customers:
                    raise ScenarioError(f"segment {seg.name!r}: customer base has no column {seg.propensity_column!r}")
                w = customers[seg.propensity_column].to_numpy(dtype=float)
                weights = w / w.sum()
            cust = srng.choice(len(customers), n, p=weights)
            for col in _CUSTOMER_COLUMNS:
                if col in customers:
                    cols[col] = customers[col].to_numpy(dtype=float)[cust]
            if "status" in customers and seg.tier is None:
                names = customers["status"].astype(object).to_numpy()[cust]
                for name in pd.unique(names):
                    if isinstance(name, str) and name not in statuses:
                        statuses.append(name)
                lookup = {name: i for i, name in enumerate(statuses)}
                status = np.array([lookup.get(x, -1) for x in names], dtype=np.int64)
            if seg.reach is None and "followers" in customers:
                parts["reach"][-1] = customers["followers"].to_numpy(dtype=float)[cust]
        put("status_code", status)
        cust_codes.append(cust)
        for col, arr in cols.items():
            put(col, arr)
    data = {col: np.concatenate(arrs) for col, arrs in parts.items()}
    seg_all = np.concatenate(seg_codes)
    cust_all = np.concatenate(cust_codes)
    order = np.argsort(data["t"], kind="stable")
    n_all = order.size
    frame = pd.DataFrame(
        {
            "contact_id": np.arange(n_all, dtype=np.int64),
            "channel": _cat(data.pop("channel_code")[order], categories=[str(c) for c in Channel]),
            "arrival": data["t"][order] * scenario.unit_seconds,
            **{col: arr[order] for col, arr in data.items() if col != "status_code"},
            "segment": _cat(seg_all[order], categories=[s.name for s in scenario.segments]),
            "status": _cat(data["status_code"][order], categories=statuses),
            "customer_id": _cat(
                np.where(cust_all[order] >= 0, base_codes[np.maximum(cust_all[order], 0)], -1), categories=base_ids
            )
            if base_codes is not None
            else _cat(np.full(n_all, -1), categories=[]),
            "repeat": np.zeros(n_all, dtype=np.int64),
        }
    )
    return frame
