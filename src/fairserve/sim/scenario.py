"""The scenario file: who calls, how often, how long they talk, how long they wait, and how many agents answer.

A scenario is TOML, validated on load with pydantic; a bad value raises :class:`ScenarioError` naming the file and
the field (``segments[1].arrival_rate``). The keys are documented in ``docs/scenario.md``. All rates and times share
the scenario's ``time_unit`` (minute by default); the policy engine works in seconds, and the simulator converts.

This module also draws the random parts of one replication (:func:`draw_contacts`): Poisson arrivals per segment
(time-varying rates by thinning; Lewis & Shedler 1979), handling times and patience. Arrivals are independent of
the policy, so every policy of a comparison sees the same contacts (common random numbers).

References
----------
Devroye, L. (1986). *Non-Uniform Random Variate Generation*. Springer, chapter V.2.
Lewis, P. A. W., & Shedler, G. S. (1979). Simulation of nonhomogeneous Poisson processes by thinning.
*Naval Research Logistics Quarterly* 26(3), 403-413.
"""

from __future__ import annotations

import importlib.resources
import math
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from fairserve.errors import FairserveError
from fairserve.io_toml import TomlFileError, read_toml
from fairserve.model import Channel
from fairserve.validation_words import Wording, file_problems, plain_errors, shown

__all__ = [
    "DEFAULT_TARGETS",
    "LONGEST_YEARS",
    "Center",
    "Churn",
    "Pool",
    "Scenario",
    "ScenarioError",
    "Segment",
    "Target",
    "draw_contacts",
    "load_scenario",
    "longest_time",
    "parse_duration",
    "scenario_from_dict",
]

UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
_DURATION_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}


LONGEST_YEARS = 10


def longest_time(time_unit: str) -> float:
    """The longest ``[center]`` duration or warm-up a scenario may have, in ``time_unit``: :data:`LONGEST_YEARS`
    years (of 365.25 days), far beyond what a contact-centre study simulates; ``1e12`` minutes asked for
    arrays of terabytes and ``1e308`` for more arrivals than a Poisson draw can count."""
    return LONGEST_YEARS * 365.25 * 86_400 / UNIT_SECONDS[time_unit]


MAX_CONTACTS = 1_000_000_000
"""Contacts one replication may draw: about 100 GB of arrays, past any machine it runs on (a national contact
centre's year is a few hundred million)."""


class ScenarioError(FairserveError):
    """A scenario file or dict was refused; the message names the file, the field and why."""


def parse_duration(text: str | float, unit_seconds: float) -> float:
    """``"20s"``, ``"1.5m"``, ``"2h"`` or a bare number (already in the time unit) -> time units.

    ``unit_seconds`` is the length of the time unit in seconds (60 for minutes).

    Raises
    ------
    FairserveError
        When ``text`` is neither a number nor a number followed by s, m, min, h (or their long forms).
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not m or (m.group(2) and m.group(2).lower() not in _DURATION_UNITS):
        raise FairserveError(f"not a duration: {text!r} (try 20s, 1.5m, 2h, or a number in the time unit)")
    value = float(m.group(1))
    return value if not m.group(2) else value * _DURATION_UNITS[m.group(2).lower()] / unit_seconds


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Center(_Model):
    """The contact centre: agents, how long to simulate, and in which time unit."""

    agents: StrictInt = Field(ge=1, description="number of agents on the service queue")
    duration: StrictFloat = Field(gt=0, allow_inf_nan=False, description="simulated time after warm-up, in time_unit")
    warmup: StrictFloat = Field(default=0.0, ge=0, allow_inf_nan=False,
                          description="time simulated and discarded before measuring")
    time_unit: Literal["second", "minute", "hour"] = "minute"
    social_care_agents: StrictInt = Field(
        default=0, ge=0, description="agents of the social-care queue; 0 = the service agents take it too"
    )

    @model_validator(mode="after")
    def _not_too_long(self) -> Center:
        longest = longest_time(self.time_unit)
        for name in ("duration", "warmup"):
            value = getattr(self, name)
            if value > longest:
                raise ValueError(f"{name} = {value:g} {self.time_unit}s is more than {LONGEST_YEARS} years "
                                 f"({longest:,.0f} {self.time_unit}s), the longest a scenario simulates")
        return self


class Pool(_Model):
    """A group of agents with its own queue, answering some channels (skills-based routing, one skill each)."""

    name: str
    agents: StrictInt = Field(ge=1)
    channels: list[Channel] = Field(min_length=1)


class Churn(_Model):
    """How waiting turns into lost customers: P(churn) per contact, times the customer's CLV, is revenue at risk.

    ``p = base + abandon * abandoned + sla_miss * (answered after the SLA) + per_unit_late * time past the SLA``,
    capped at 1. The defaults are assumptions to calibrate on your own retention data (see docs/scenario.md).
    """

    base: StrictFloat = Field(default=0.0, ge=0, le=1)
    abandon: StrictFloat = Field(default=0.10, ge=0, le=1)
    sla_miss: StrictFloat = Field(default=0.03, ge=0, le=1)
    per_unit_late: StrictFloat = Field(default=0.0, ge=0, description="extra churn probability per time unit past SLA")


_WITHIN = ("a duration greater than 0 (a number in the scenario's time unit, or text such as '20s', '1.5m' "
           "or '2h')")


class Target(_Model):
    """A channel's service target: ``share`` of its contacts answered within ``within``.

    ``within`` is a number in the scenario's ``time_unit`` or a duration text (``"20s"``, ``"4h"``).
    """

    within: StrictFloat | str
    share: StrictFloat = Field(default=0.8, gt=0, le=1, description="the share to answer within `within`")

    @field_validator("within", mode="before")
    @classmethod
    def _positive(cls, within: Any) -> Any:
        if isinstance(within, bool) or not isinstance(within, int | float | str):
            return within  # the type check says what it must be
        try:
            value = parse_duration(within, 1.0)
        except FairserveError:
            value = math.nan
        if not value > 0:
            raise ValueError(f"must be {_WITHIN}, not {shown(within)}")
        return within


DEFAULT_TARGETS: dict[Channel, Target] = {
    Channel.PHONE: Target(within="20s", share=0.8),
    Channel.CHAT: Target(within="60s", share=0.8),
    Channel.EMAIL: Target(within="24h", share=0.8),
    Channel.SOCIAL: Target(within="60min", share=0.8),
}
"""The service targets of a scenario that sets none for a channel (see ``docs/scenario.md`` for why these)."""


class Segment(_Model):
    """One stream of contacts: a Poisson arrival rate, handling and patience laws, and who the customers are."""

    name: str
    arrival_rate: StrictFloat = Field(gt=0, allow_inf_nan=False, description="contacts per time unit (Poisson)")
    rate_profile: list[StrictFloat] | None = Field(
        default=None, description="multipliers of arrival_rate over equal slices of warm-up + duration (thinning)"
    )
    handle_mean: StrictFloat = Field(gt=0)
    handle: Literal["exponential", "lognormal", "empirical"] = "exponential"
    handle_cv: StrictFloat = Field(default=1.0, gt=0, description="coefficient of variation (lognormal)")
    handle_samples: list[StrictFloat] | None = None
    patience_mean: StrictFloat | None = Field(default=None, gt=0, description="left out: infinitely patient")
    patience: Literal["exponential", "empirical"] = "exponential"
    patience_samples: list[StrictFloat] | None = None
    retrial_prob: StrictFloat = Field(default=0.0, ge=0, le=1, description="P(an abandoning customer calls again)")
    retrial_delay_mean: StrictFloat = Field(default=5.0, gt=0,
                                            description="mean time before calling again (exponential)")
    max_retrials: StrictInt = Field(default=1, ge=0, description="how many times one customer may call again")
    channel: Channel = Channel.PHONE
    tier: str | None = None
    sla: StrictFloat | None = Field(
        default=None, gt=0, description="answer-within target in time_unit; default: the scenario's for the channel"
    )
    public: StrictBool | None = Field(
        default=None, description="contacts are public posts (reputational exposure); default: social only"
    )
    account: str | None = Field(default=None, description="the organisation of every contact (policy `account`)")
    severity: StrictInt = Field(default=0, ge=0, le=3)
    sentiment: StrictFloat | None = Field(default=None, ge=-1, le=1)
    complaint: StrictBool = False
    reach: StrictFloat | None = Field(default=None, ge=0)
    clv: StrictFloat | None = None
    profit: StrictFloat | None = None
    loyalty: StrictFloat | None = Field(default=None, ge=0, le=1)
    influence: StrictFloat | None = Field(default=None, ge=0, le=1)
    followers: StrictInt | None = Field(default=None, ge=0)
    value_percentile: StrictFloat | None = Field(default=None, ge=0, le=1)
    customers: Literal["none", "base"] = Field(
        default="none", description="'base': each contact is a customer drawn from the scored customer base"
    )
    sampling: Literal["uniform", "propensity"] = "uniform"
    propensity_column: str = "contact_propensity"
    texts: str | None = Field(
        default=None, description="a file of texts (CSV, JSON lines, Parquet, .txt); each contact draws one, and "
        "its severity, sentiment and complaint are read from it by the text triage"
    )
    text_column: str = Field(default="text", min_length=1, description="the column of `texts` holding the text")

    @model_validator(mode="after")
    def _samples_given(self) -> Segment:
        given = sorted({"severity", "sentiment", "complaint"} & self.model_fields_set)
        if self.texts is not None and given:
            raise ValueError(f"a segment with texts reads {', '.join(given)} from them: leave "
                             f"{'it' if len(given) == 1 else 'them'} out, or leave out texts")
        if self.handle == "empirical" and not self.handle_samples:
            raise ValueError("handle = 'empirical' needs handle_samples")
        if self.patience == "empirical" and not self.patience_samples:
            raise ValueError("patience = 'empirical' needs patience_samples")
        if self.rate_profile is not None and (not self.rate_profile or min(self.rate_profile) < 0):
            raise ValueError("rate_profile must be a list of one or more multipliers of at least 0, not "
                             f"{shown(self.rate_profile)}")
        return self


class Scenario(_Model):
    """A whole scenario: the centre, optional agent pools, segments, service targets and the churn response."""

    name: str = "scenario"
    center: Center
    pools: list[Pool] = Field(default_factory=list)
    segments: list[Segment] = Field(min_length=1)
    targets: dict[Channel, Target] = Field(
        default_factory=dict, description="per channel; a channel left out takes DEFAULT_TARGETS"
    )
    churn: Churn = Field(default_factory=Churn)
    # the need signals read from each segment's texts (name -> text, severity, sentiment, complaint), filled by
    # fairserve.sim.texts when the scenario is loaded: files are read at the edge, never while drawing
    _text_signals: dict[str, pd.DataFrame] = PrivateAttr(default_factory=dict)

    def with_text_signals(self, signals: dict[str, pd.DataFrame]) -> Scenario:
        """A copy whose segments with ``texts`` draw from ``signals`` (segment name -> ``text, severity,
        sentiment, complaint``, one row per text; see :func:`fairserve.sim.texts.read_segment_texts`)."""
        need = {"text", "severity", "sentiment", "complaint"}
        for name, frame in signals.items():
            if name not in {s.name for s in self.segments}:
                raise ScenarioError(f"text signals for {name!r}, which is not a segment")
            if not need <= set(frame.columns) or frame.empty:
                raise ScenarioError(f"segment {name!r}: text signals need rows with columns {sorted(need)}")
        out = self.model_copy()
        out._text_signals = {**self._text_signals, **signals}
        return out

    def text_signals(self, name: str) -> pd.DataFrame:
        """The texts segment ``name`` draws from, with their need signals; an error when they were not read."""
        if name not in self._text_signals:
            raise ScenarioError(f"segment {name!r} draws texts, but they were not read: load the scenario with "
                                "load_scenario, or give them with Scenario.with_text_signals")
        return self._text_signals[name]

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

    @model_validator(mode="after")
    def _drawable(self) -> Scenario:
        # an arrival rate far past any contact centre (1e13 a minute) crashed NumPy's Poisson draw ("lam value too
        # large") or asked for more memory than exists: refused here, with the number it would draw
        drawn = sum(s.arrival_rate * max(s.rate_profile or [1.0]) for s in self.segments) * self.horizon
        if drawn > MAX_CONTACTS:
            raise ValueError(
                f"the arrival rates over warm-up + duration ask for about {drawn:,.0f} contacts a replication, more "
                f"than the {MAX_CONTACTS:,} fairserve simulates; lower the arrival_rate of the segments or shorten "
                "the [center] duration or warmup")
        return self

    @property
    def unit_seconds(self) -> float:
        """Seconds in one time unit."""
        return UNIT_SECONDS[self.center.time_unit]

    @property
    def horizon(self) -> float:
        """Warm-up plus measured duration, in time units."""
        return self.center.warmup + self.center.duration

    def target(self, channel: Channel | str) -> Target:
        """The service target of ``channel``: the scenario's, else :data:`DEFAULT_TARGETS`."""
        ch = Channel(str(channel))
        return self.targets.get(ch, DEFAULT_TARGETS[ch])

    def target_within(self, channel: Channel | str) -> float:
        """How soon a contact of ``channel`` is to be answered, in time units (the yardstick of ``sla``)."""
        return parse_duration(self.target(channel).within, self.unit_seconds)

    def segment_within(self) -> list[float]:
        """Each segment's answer-within target in time units: its own ``sla``, else its channel's target."""
        return [s.sla if s.sla is not None else self.target_within(s.channel) for s in self.segments]

    def describe_targets(self, channels: list[str] | None = None) -> str:
        """The targets in words, e.g. ``"phone 80% in 20 s, chat 80% in 60 s"`` (``channels``: those, in order)."""
        names = channels if channels is not None else [str(c) for c in Channel]
        parts = []
        for name in names:
            t = self.target(name)
            parts.append(f"{name} {t.share:.0%} in {_words(self.target_within(name) * self.unit_seconds)}")
        own = [f"{s.name} in {_words(s.sla * self.unit_seconds)}" for s in self.segments if s.sla is not None]
        return ", ".join(parts) + (f" (segments' own: {', '.join(own)})" if own else "")

    def fixed_tiers(self) -> list[str]:
        """Fixed segment tiers in scenario order, each once: the statuses a scenario's segments give."""
        out: list[str] = []
        for seg in self.segments:
            if seg.tier is not None and seg.tier not in out:
                out.append(seg.tier)
        return out

    def needs_customers(self) -> bool:
        """True when a segment draws its customers from a scored base."""
        return any(s.customers == "base" for s in self.segments)


def _words(seconds: float) -> str:
    """A duration in the largest unit that keeps it short: ``20 s``, ``1.5 min``, ``24 h``."""
    for unit, size in (("h", 3600.0), ("min", 60.0)):
        if seconds >= size and (seconds / size) == round(seconds / size, 2):
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


_WORDING = Wording(Scenario, "scenario", "docs/scenario.md", choices={("Target", "within"): _WITHIN})
"""How a scenario's errors are worded (:mod:`fairserve.validation_words`); a duration's type, a number or a
text, says too little, so its words are given."""


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML); :class:`ScenarioError` names the bad field.

    The problems are in plain words that name the bad value and what is expected, not pydantic's, laid out as a
    policy file's are (:func:`fairserve.validation_words.file_problems`): one problem is one line,
    ``two-tiers.toml: segments[1].arrival_rate: must be a number greater than 0, not -2``; several are a line
    ``two-tiers.toml: 2 problems:`` and one indented ``<TOML path>: <what is wrong>`` line each.
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [(where or None, what) for where, what in plain_errors(exc.errors(), _WORDING)]
        raise ScenarioError(file_problems(source, problems)) from None


def builtin_scenarios() -> list[str]:
    """Names of the example scenarios shipped in ``fairserve/sim/scenarios`` (``demo-week``, ``two-tiers``, ...)."""
    folder = importlib.resources.files("fairserve.sim").joinpath("scenarios")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def _builtins_hint(stem: str) -> str:
    """What to give instead of a scenario file that does not exist: the built-in scenarios by name (the closest
    first, when the name looks like a typo of one) and the folder they are in, to copy one from."""
    import difflib

    names = builtin_scenarios()
    close = difflib.get_close_matches(stem, names, n=1, cutoff=0.6)
    folder = importlib.resources.files("fairserve.sim").joinpath("scenarios")
    return (
        (f"Did you mean {close[0]}? " if close else "")
        + f"The built-in scenarios are {', '.join(names[:-1])} and {names[-1]}: give one by name "
        f"(`fairserve simulate {close[0] if close else names[0]}`), or copy one from {folder} to start your own"
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file; a file that does not exist may name a shipped example.

    ``demo-week`` or ``demo-week.toml`` (when no such file is in the working folder) loads the example of that
    name from the package, so the scenarios the docs mention run from anywhere.
    """
    path = Path(path)
    stem = path.name[: -len(".toml")] if path.name.endswith(".toml") else path.name
    if not path.exists() and path.parent == Path(".") and stem in builtin_scenarios():
        res = importlib.resources.files("fairserve.sim").joinpath("scenarios", f"{stem}.toml")
        with importlib.resources.as_file(res) as shipped:
            return load_scenario(shipped)
    try:
        data = read_toml(path, "scenario")
    except TomlFileError as exc:
        if not path.exists():
            raise ScenarioError(f"{exc}. {_builtins_hint(stem)}") from None
        raise ScenarioError(str(exc)) from None
    data.setdefault("name", path.stem)
    scenario = scenario_from_dict(data, str(path))
    if any(s.texts is not None for s in scenario.segments):
        from fairserve.sim.texts import read_segment_texts

        try:
            scenario = read_segment_texts(scenario, path.parent)
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: {exc}") from None
    return scenario


def _arrivals(scenario: Scenario, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times on [0, horizon), in order, and the segment of each.

    The superposition of the segments' Poisson processes is one Poisson process of the summed (peak) rate whose
    points belong to segment ``k`` with probability ``peak_k / sum(peak)``; rate profiles are then applied by
    thinning (Lewis & Shedler 1979). Drawing it this way gives the arrivals already sorted.
    """
    horizon = scenario.horizon
    profiles = [np.asarray(s.rate_profile if s.rate_profile is not None else [1.0], float) for s in scenario.segments]
    peaks = np.array([s.arrival_rate * float(p.max()) for s, p in zip(scenario.segments, profiles, strict=True)])
    total = float(peaks.sum())
    if total <= 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    from fairserve.sim._kernel import buffer  # fresh arrays on huge pages (few page faults)

    n = int(rng.poisson(total * horizon))
    # given their count, Poisson points are sorted uniforms, drawn in order without a sort: the normalised
    # partial sums of n + 1 exponentials are the order statistics of n uniforms (Devroye 1986, ch. V.2).
    # standard_exponential and random draw exactly what exponential(1.0) and uniform() do, into given arrays.
    gaps = rng.standard_exponential(out=buffer(n + 1, np.float64))
    scale = horizon / gaps.sum()
    t = np.cumsum(gaps[:n], out=gaps[:n])  # in place: a million-row temporary less
    t *= scale
    seg = _segment_of(rng.random(out=buffer(n, np.float64)), np.cumsum(peaks) / total)
    thinned = [k for k, prof in enumerate(profiles) if prof.size > 1 or prof[0] != 1.0]
    if not thinned:
        return t, seg
    keep = np.ones(n, dtype=bool)
    for k in thinned:
        prof = profiles[k]
        on = np.flatnonzero(seg == k)
        slot = np.minimum((t[on] / horizon * prof.size).astype(np.int64), prof.size - 1)
        keep[on] = rng.uniform(size=on.size) < prof[slot] / prof.max()
    return t[keep], seg[keep]


def _segment_of(u: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Segment ``k`` of each uniform ``u``: how many of the cumulative shares ``edges[:-1]`` are at most ``u``.

    The last edge is 1 up to rounding and is left out, so ``u`` just below 1 stays in the last segment. For a
    few segments, one comparison pass per edge is several times faster than a binary search per point.
    """
    if edges.size > 8:
        return np.minimum(np.searchsorted(edges, u, side="right"), edges.size - 1).astype(np.int64)
    seg = np.zeros(u.size, dtype=np.int64)
    for edge in edges[:-1]:
        seg += u >= edge
    return seg


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


def _base_codes(customers: pd.DataFrame, col: str, categories: list[str]) -> np.ndarray | None:
    """Codes of the customer base's text column ``col`` in ``categories``, which gains the base's values.

    None when the base has no such column; a missing or non-text value is code -1 (unknown).
    """
    if col not in customers:
        return None
    names = customers[col].astype(object).to_numpy()
    categories.extend(v for v in dict.fromkeys(pd.unique(names)) if isinstance(v, str) and v not in categories)
    return np.asarray(pd.Categorical(names, categories=categories).codes, dtype=np.int64)


def draw_contacts(
    scenario: Scenario,
    rng: np.random.Generator,
    customers: pd.DataFrame | None = None,
    arrivals: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    shared: bool = False,
) -> pd.DataFrame:
    """Draw one replication's contacts, in arrival order: the policy's input columns plus the simulator's.

    Returns a frame with ``contact_id`` (0, 1, ... in arrival order), ``channel``, ``arrival`` (seconds, for the
    policy), ``t`` (time units), ``handle``, ``patience`` (time units), ``segment``, ``severity``,
    ``sentiment``, ``complaint``, ``repeat``, ``reach``, ``public`` (True/False: the segment's ``public``, by
    default True on social only), ``status`` and ``account`` (the segment's ``tier`` and ``account``, else the
    customer base's columns of those names, else missing), ``customer_id`` and the customer scores that any
    segment gives (``clv``, ``profit``, ...; a score no segment gives is left out here, and the simulator hands
    it to the policy as unknown, NaN), and ``profile``: contacts with equal profiles differ only in their
    arrival time, so the policy needs to decide one of each (see :func:`fairserve.sim.engine.decide_contacts`).
    Text columns are categoricals (cheap at a million rows). Handling and patience of each segment come from
    its own child stream of ``rng``.

    ``shared``: a column whose value every contact shares (and ``parent``, all -1 without call-backs) is a
    read-only view of that one value instead of a million copies, when no customer base or text writes into
    the columns; for the simulator's own frames, which it only reads (pandas cannot set a value in such a
    column, so the frames given to users have their own arrays). The values are the same either way.
    """
    from fairserve.sim._kernel import buffer  # fresh columns on huge pages (few page faults)

    segs = scenario.segments
    t, seg = _arrivals(scenario, rng) if arrivals is None else arrivals  # given: a replayed log's, in order
    n = t.size
    streams = rng.spawn(len(segs))
    handle = buffer(n, np.float64)
    members = [np.flatnonzero(seg == k) for k in range(len(segs))]
    endless = all(s.patience != "empirical" and s.patience_mean is None for s in segs)
    patience = buffer(n, np.float64, np.inf if endless else None)  # nobody abandons: no draw to spread
    for k, (s, srng) in enumerate(zip(segs, streams, strict=True)):
        handle[members[k]] = _handle(s, members[k].size, srng)
        if not endless:
            patience[members[k]] = _patience(s, members[k].size, srng)
    from_base = [s.customers == "base" for s in segs]
    # a column every contact has the same value of is one read-only value seen n times (no memory), unless the
    # base or the texts write into the columns below
    shared = shared and not any(from_base) and all(s.texts is None for s in segs)

    def table(values: list[Any], dtype: Any = float, codes: bool = False) -> np.ndarray:
        per_segment = np.asarray(values, dtype=dtype)
        if np.array_equal(per_segment, np.full_like(per_segment, per_segment[0]), equal_nan=True):  # no gather
            if shared and not codes:  # (a categorical's codes stay an array of their own)
                return np.broadcast_to(per_segment[:1], (n,))
            return buffer(n, dtype, per_segment[0])
        return np.take(per_segment, seg, out=buffer(n, dtype), mode="clip")  # valid indices: clip skips a copy

    none = np.nan
    code_type = np.int64 if any(from_base) else np.int8  # the codes of text columns: a base may bring many values
    statuses = scenario.fixed_tiers()
    status = table([statuses.index(s.tier) if s.tier is not None else -1 for s in segs], code_type, codes=True)
    accounts = list(dict.fromkeys(s.account for s in segs if s.account is not None))
    account = table([accounts.index(s.account) if s.account is not None else -1 for s in segs], code_type, codes=True)
    public = [s.public if s.public is not None else s.channel == Channel.SOCIAL for s in segs]
    frame: dict[str, Any] = {
        "contact_id": np.arange(n, dtype=np.int64),
        "channel": _cat(table([list(Channel).index(s.channel) for s in segs], np.int8, codes=True),
                        [str(c) for c in Channel]),
        "arrival": np.multiply(t, scenario.unit_seconds, out=buffer(n, np.float64)),
        "t": t,
        "handle": handle,
        "patience": patience,
        "segment": _cat(seg, [s.name for s in segs]),
        "severity": table([s.severity for s in segs], np.int64),
        "sentiment": table([none if s.sentiment is None else s.sentiment for s in segs]),
        "complaint": table([s.complaint for s in segs], bool),
        "repeat": np.zeros(n, dtype=np.int64),
        "reach": table([none if s.reach is None else s.reach for s in segs]),
        "public": table(public, bool),
    }
    for col in _CUSTOMER_COLUMNS:
        given = [getattr(s, col) for s in segs]
        base_has = customers is not None and col in customers and any(from_base)
        if base_has or any(v is not None for v in given):
            frame[col] = table([none if v is None else float(v) for v in given])
    cust = np.full(n, -1, dtype=code_type)
    row = None  # the customer base row of each contact (-1: none), when some segment draws from the base
    ids: Any = []
    if any(from_base):
        if customers is None or customers.empty:
            name = segs[from_base.index(True)].name
            raise ScenarioError(f"segment {name!r} draws from a customer base, but none was given")
        codes, ids = pd.factorize(customers["customer_id"].astype(str))
        row = base_row = np.full(n, -1, dtype=np.int64)
        base_status = _base_codes(customers, "status", statuses)
        base_account = _base_codes(customers, "account", accounts)
        for k, s in enumerate(segs):
            if s.customers != "base":
                continue
            idx = members[k]
            weights = None
            if s.sampling == "propensity":
                if s.propensity_column not in customers:
                    raise ScenarioError(f"segment {s.name!r}: customer base has no column {s.propensity_column!r}")
                w = np.nan_to_num(customers[s.propensity_column].to_numpy(dtype=float), nan=0.0)
                if w.min() < 0 or w.sum() <= 0:
                    raise ScenarioError(
                        f"segment {s.name!r}: {s.propensity_column!r} must be non-negative with a positive sum"
                    )
                weights = w / w.sum()
            pick = streams[k].choice(len(customers), idx.size, p=weights)
            cust[idx] = codes[pick]
            base_row[idx] = pick
            for col in _CUSTOMER_COLUMNS:
                if col in customers:
                    frame[col][idx] = customers[col].to_numpy(dtype=float)[pick]
            if base_status is not None and s.tier is None:
                status[idx] = base_status[pick]
            if base_account is not None and s.account is None:
                account[idx] = base_account[pick]
            if s.reach is None and "followers" in customers:
                frame["reach"][idx] = customers["followers"].to_numpy(dtype=float)[pick]
    text_code = _draw_texts(scenario, members, streams, frame)
    frame["status"] = _cat(status, statuses)
    frame["account"] = _cat(account, accounts)
    frame["customer_id"] = _cat(cust, ids)
    # contacts with the same profile have the same policy inputs but for their arrival time
    if customers is None and text_code is None:
        profile = seg  # the segment is the profile (seg * 1 + 0)
    else:
        profile = np.multiply(seg, 1 + (0 if customers is None else len(customers)), out=buffer(n, np.int64))
    if row is not None:  # + row + 1: 0 for a contact not drawn from the base (row -1)
        profile += row
        profile += 1
    if text_code is not None:  # a drawn text is part of the profile: its signals are policy inputs
        profile *= int(text_code.max()) + 2
        profile += text_code + 1
    frame["profile"] = profile
    frame["parent"] = np.broadcast_to(np.array([-1], dtype=np.int64), (n,)) if shared else buffer(n, np.int64, -1)
    out = pd.DataFrame(frame, copy=False)  # every column is a fresh array: no need to copy them into blocks
    if any(s.retrial_prob > 0 and s.max_retrials > 0 for s in segs):
        out = _add_retrials(out, scenario, rng.spawn(1)[0])
    return out


def _draw_texts(scenario: Scenario, members: list[np.ndarray], streams: list[np.random.Generator],
                frame: dict[str, Any]) -> np.ndarray | None:
    """Give each contact of a segment with ``texts`` one of them, uniformly, and the need signals read from it.

    Sets ``severity``, ``sentiment`` and ``complaint`` of those contacts in ``frame`` and adds the column ``text``
    (a categorical over every segment's texts). Returns each contact's text code (-1: none), or None when no
    segment has texts. Draws from the segment's own stream after its other draws, so scenarios without texts
    draw exactly as before.
    """
    segs = scenario.segments
    if all(s.texts is None for s in segs):
        return None
    n = frame["contact_id"].size
    code = np.full(n, -1, dtype=np.int64)
    names: list[str] = []
    for k, s in enumerate(segs):
        if s.texts is None:
            continue
        table = scenario.text_signals(s.name)
        idx = members[k]
        pick = streams[k].integers(0, len(table), idx.size)
        code[idx] = len(names) + pick
        names.extend(table["text"].astype(str))
        frame["severity"][idx] = table["severity"].to_numpy(dtype=np.int64)[pick]
        frame["sentiment"][idx] = table["sentiment"].to_numpy(dtype=float)[pick]
        frame["complaint"][idx] = table["complaint"].to_numpy(dtype=bool)[pick]
    # the same text in two segments is one category, so equal texts compare equal
    uniques, inverse = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    text = np.where(code >= 0, inverse[np.maximum(code, 0)], -1)
    frame["text"] = _cat(text, uniques)
    return code


def _add_retrials(frame: pd.DataFrame, scenario: Scenario, rng: np.random.Generator) -> pd.DataFrame:
    """Add every POSSIBLE call-back: the contact a customer would make if their previous one abandoned.

    A call-back of contact ``p`` arrives at ``t[p] + patience[p] + delay`` with ``repeat + 1``; it happens only
    if ``p`` really abandoned, which the event loop knows by then (``parent`` column; see
    :func:`fairserve.sim.engine.existing`). Drawing the candidates up front keeps every queue key static.
    """
    segs = scenario.segments
    prob = np.array([s.retrial_prob for s in segs])
    delay = np.array([s.retrial_delay_mean for s in segs])
    levels = np.array([s.max_retrials for s in segs])
    stride = int(frame["profile"].max()) + 1 if len(frame) else 1
    parts = [frame]
    last = frame
    for level in range(1, int(levels.max()) + 1):
        code = last["segment"].cat.codes.to_numpy()
        pat = last["patience"].to_numpy()
        u = rng.uniform(size=len(last))
        pick = np.flatnonzero(np.isfinite(pat) & (u < prob[code]) & (levels[code] >= level))
        if pick.size == 0:
            break
        child = last.iloc[pick].copy()
        c = code[pick]
        child["parent"] = child["contact_id"].to_numpy()
        child["t"] = child["t"].to_numpy() + pat[pick] + rng.exponential(1.0, pick.size) * delay[c]
        child["arrival"] = child["t"].to_numpy() * scenario.unit_seconds
        handle = child["handle"].to_numpy(dtype=float).copy()
        patience = child["patience"].to_numpy(dtype=float).copy()
        for k, seg in enumerate(segs):
            on = np.flatnonzero(c == k)
            if on.size:
                handle[on] = _handle(seg, on.size, rng)
                patience[on] = _patience(seg, on.size, rng)
        child["handle"] = handle
        child["patience"] = patience
        child["repeat"] = child["repeat"].to_numpy() + 1
        child["profile"] = child["profile"].to_numpy() + stride
        child["contact_id"] = -2 - np.arange(pick.size) - sum(len(x) for x in parts)  # provisional; -1 = none
        parts.append(child)
        last = child
    out = pd.concat(parts, ignore_index=True)
    old_id = out["contact_id"].to_numpy()
    order = np.argsort(out["t"].to_numpy(), kind="stable")
    out = out.iloc[order].reset_index(drop=True)
    new_of_old = dict(zip(old_id[order].tolist(), range(len(out)), strict=True))
    out["parent"] = [new_of_old[p] if p != -1 else -1 for p in out["parent"].tolist()]
    out["contact_id"] = np.arange(len(out), dtype=np.int64)
    return out
