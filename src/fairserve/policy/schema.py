"""The policy file: a TOML document validated with pydantic v2 into a frozen :class:`PolicySpec`.

A policy is data, not code. Every duration in the file is in **minutes** (head starts and SLAs alike); the
engine returns SLAs in seconds. Unknown keys are errors, and every error names the file, the dotted path of the
bad field (``tiers[2].sla.phone``) and why, as a :class:`PolicyError`. The reference of every key is
``docs/policy-file.md``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fairserve.errors import FairserveError
from fairserve.model import Channel

__all__ = [
    "ChannelSLA",
    "Conditions",
    "InfluenceRule",
    "Need",
    "PolicyError",
    "PolicySpec",
    "Risk",
    "Tier",
    "content_hash",
    "parse_policy",
    "read_policy_file",
]

NUMERIC_SIGNALS = ("clv", "profit", "loyalty", "value_percentile", "influence", "followers")
"""The numeric signals a tier condition may test, each as ``<signal>_min`` (the value must be at least this)."""


class PolicyError(FairserveError):
    """A policy file was refused: ``file``, the dotted ``field`` path (or None) and ``message`` say why."""

    def __init__(self, file: str, field: str | None, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = file if field is None else f"{file}: field '{field}'"
        super().__init__(f"{where}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ChannelSLA(_Strict):
    """A service-level target per channel, in minutes: the contact should be answered within this time."""

    phone: float = Field(gt=0)
    email: float = Field(gt=0)
    chat: float = Field(gt=0)
    social: float = Field(gt=0)

    def minutes(self, channel: Channel | str) -> float:
        """Return the target of ``channel`` in minutes."""
        return float(getattr(self, str(channel)))


class Conditions(_Strict):
    """What a customer must have to be in a tier; every condition given must hold (AND).

    An unknown value (the customer has no score, or the contact no customer) never meets a condition.
    """

    clv_min: float | None = None
    profit_min: float | None = None
    loyalty_min: float | None = Field(default=None, ge=0, le=1)
    value_percentile_min: float | None = Field(default=None, ge=0, le=1)
    influence_min: float | None = Field(default=None, ge=0, le=1)
    followers_min: float | None = Field(default=None, ge=0)
    status_in: tuple[str, ...] | None = Field(default=None, min_length=1)
    account_in: tuple[str, ...] | None = Field(default=None, min_length=1)

    def is_empty(self) -> bool:
        """True when the tier has no condition (it takes everyone who reaches it)."""
        return all(v is None for v in self.model_dump().values())


class Tier(_Strict):
    """One service tier: who is in it, its head start and its SLA per channel."""

    name: str = Field(min_length=1, max_length=40)
    description: str = ""
    when: Conditions = Conditions()
    head_start_min: float = Field(default=0.0, ge=0)
    sla: ChannelSLA


class Need(_Strict):
    """How the contact's need moves it: each a head start in minutes, added together."""

    severity: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    negative_sentiment: float = Field(default=0.0, ge=0)
    negative_below: float = Field(default=-0.3, ge=-1, le=1)
    complaint: float = Field(default=0.0, ge=0)
    repeat_each: float = Field(default=0.0, ge=0)
    repeat_max: float = Field(default=0.0, ge=0)


class InfluenceRule(_Strict):
    """What follower reach may do: head start ``min(cap_min, slope_min x influence percentile)``."""

    slope_min: float = Field(default=0.0, ge=0)
    cap_min: float | None = Field(default=None, ge=0)
    may_change_tier: bool = False


class Risk(_Strict):
    """Reputational risk: ``log10(1 + audience) x negativity >= threshold`` on the listed channels is flagged."""

    threshold: float = Field(default=3.0, gt=0)
    channels: tuple[Channel, ...] = (Channel.SOCIAL,)
    route: Literal["service", "social-care"] = "service"
    head_start_min: float = Field(default=0.0, ge=0)
    sla: ChannelSLA | None = None


class PolicySpec(_Strict):
    """The whole policy file, validated."""

    name: str = Field(min_length=1, max_length=60)
    version: str = Field(min_length=1, max_length=40)
    description: str = ""
    strict: bool = False
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=32)
    need: Need = Need()
    influence: InfluenceRule = InfluenceRule()
    risk: Risk | None = None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (not part of the policy file; see docs/policy-file.md)"
    if kind == "missing":
        loc = err.get("loc", ())
        if loc and isinstance(loc[-1], int):
            return f"too few items: item [{loc[-1]}] is missing"
        return "required key is missing"
    return str(err.get("msg", "invalid value"))


def _check(spec: PolicySpec, file: str) -> None:
    """Checks across fields, each naming its field."""
    seen: dict[str, int] = {}
    for i, tier in enumerate(spec.tiers):
        if tier.name in seen:
            raise PolicyError(
                file, f"tiers[{i}].name", f"duplicate tier name '{tier.name}' (also tiers[{seen[tier.name]}])"
            )
        seen[tier.name] = i
        if tier.when.influence_min is not None and not spec.influence.may_change_tier:
            raise PolicyError(
                file,
                f"tiers[{i}].when.influence_min",
                "a tier condition on influence needs influence.may_change_tier = true",
            )
        if tier.when.followers_min is not None and not spec.influence.may_change_tier:
            raise PolicyError(
                file,
                f"tiers[{i}].when.followers_min",
                "a tier condition on followers needs influence.may_change_tier = true",
            )
    if spec.influence.slope_min > 0 and spec.influence.cap_min is None:
        raise PolicyError(file, "influence.cap_min", "an explicit cap is required when influence.slope_min > 0")
    if spec.influence.may_change_tier and spec.strict:
        raise PolicyError(
            file,
            "influence.may_change_tier",
            "with strict = true a tier is an infinite head start, so influence would have no cap; refused",
        )
    if spec.risk is not None and spec.risk.route == "social-care" and spec.risk.sla is None:
        raise PolicyError(file, "risk.sla", "route = 'social-care' needs the social-care queue's own SLA")
    if spec.risk is not None and spec.risk.route == "service" and spec.risk.sla is not None:
        raise PolicyError(file, "risk.sla", "an SLA for risk only applies with route = 'social-care'")
    if spec.need.repeat_each > 0 and spec.need.repeat_max == 0:
        raise PolicyError(file, "need.repeat_max", "repeat_each > 0 needs a cap (repeat_max > 0)")


def parse_policy(data: dict[str, Any], file: str = "<policy>") -> PolicySpec:
    """Validate a parsed policy document.

    Raises
    ------
    PolicyError
        Naming ``file``, the dotted path of the first bad field and why.
    """
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise PolicyError(file, _dotted(tuple(err["loc"])) or None, _message(err)) from None
    _check(spec, file)
    return spec


def read_policy_file(path: str | Path) -> PolicySpec:
    """Read and validate the TOML policy file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(str(path), None, f"not valid TOML: {exc}") from None
    return parse_policy(data, str(path))


def content_hash(spec: PolicySpec) -> str:
    """The sha256 hex digest of the policy's canonical content (sorted-key JSON of the validated model).

    Two files that differ only in layout, comments or key order have the same hash.
    """
    payload = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()

