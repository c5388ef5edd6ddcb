"""The policy file: a TOML document validated with pydantic v2 into a frozen :class:`PolicySpec`.

A policy is data, not code. Every duration in the file is in **minutes** (head starts and SLAs alike); the
engine returns SLAs in seconds. Unknown keys are errors, and every error names the file, the dotted path of the
bad field (``tiers[2].sla.phone``) and why, as a :class:`PolicyError`. The reference of every key is
``docs/policy-file.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, ValidationError

from fairserve.errors import FairserveError
from fairserve.model import Channel
from fairserve.validation_words import Wording, file_problems, plain_errors

__all__ = [
    "CHANNELS",
    "CLAIM_FLAGS",
    "CLAIM_SIGNALS",
    "Allocation",
    "ChannelRule",
    "ChannelSLA",
    "Channels",
    "Conditions",
    "Entitlement",
    "HeadStart",
    "InfluenceAmount",
    "InfluenceRule",
    "Need",
    "PerChannel",
    "Points",
    "PolicyError",
    "PolicySpec",
    "Risk",
    "Tier",
    "content_hash",
    "parse_policy",
    "per_channel",
    "read_policy_file",
]

CHANNELS = ("phone", "email", "chat", "social")
"""The channels, in the order every per-channel table of the engine uses."""

NUMERIC_SIGNALS = ("clv", "profit", "loyalty", "value_percentile", "influence", "followers")
"""The numeric signals a tier condition may test, each as ``<signal>_min`` (the value must be at least this)."""


class PolicyError(FairserveError):
    """A policy file was refused: ``file``, the dotted ``field`` path (or None) and ``message`` say why.

    ``more`` holds the other problems of the same file as ``(field, message)`` pairs; ``problems`` is all of
    them, the first being ``(field, message)``. One problem reads ``file: field: message``; several, a line
    ``file: N problems:`` and then one indented ``field: message`` line each, as a scenario's
    (:func:`fairserve.validation_words.file_problems`).
    """

    def __init__(self, file: str, field: str | None, message: str,
                 more: Sequence[tuple[str | None, str]] = ()) -> None:
        self.file = file
        self.field = field
        self.message = message
        self.problems = [(field, message), *more]
        super().__init__(file_problems(file, self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ChannelSLA(_Strict):
    """A service-level promise per channel, in minutes: the contact should be answered within this time."""

    phone: StrictFloat = Field(gt=0)
    email: StrictFloat = Field(gt=0)
    chat: StrictFloat = Field(gt=0)
    social: StrictFloat = Field(gt=0)

    def minutes(self, channel: Channel | str) -> float:
        """Return the target of ``channel`` in minutes."""
        return float(getattr(self, str(channel)))


class PerChannel(_Strict):
    """A head start stated per channel, in the policy's head-start unit; a channel left out gets 0."""

    phone: StrictFloat = Field(default=0.0, ge=0)
    email: StrictFloat = Field(default=0.0, ge=0)
    chat: StrictFloat = Field(default=0.0, ge=0)
    social: StrictFloat = Field(default=0.0, ge=0)


HeadStart = Annotated[StrictFloat, Field(ge=0)] | PerChannel
"""A head start: one number for every channel, or a table per channel (``{ phone = 0.5, email = 120 }``)."""


def per_channel(value: float | PerChannel) -> tuple[float, float, float, float]:
    """A head start as four numbers in :data:`CHANNELS` order (phone, email, chat, social)."""
    if isinstance(value, PerChannel):
        return tuple(float(getattr(value, ch)) for ch in CHANNELS)  # type: ignore[return-value]
    return (float(value),) * 4


class ChannelRule(_Strict):
    """What the policy says of one channel: its answer-time target and the longest wait it allows, in minutes.

    ``target`` orders contacts of different channels in one queue (each is due ``target`` after it arrived) and,
    with ``head_start_unit = "target"``, is the unit of every head start on that channel. ``guarantee`` is the
    wait guarantee: a contact that has waited longer is served before every contact still within its own.
    """

    target: StrictFloat | None = Field(default=None, gt=0)
    guarantee: StrictFloat | None = Field(default=None, gt=0)


class Channels(_Strict):
    """The per-channel rules (see :class:`ChannelRule`)."""

    phone: ChannelRule = ChannelRule()
    email: ChannelRule = ChannelRule()
    chat: ChannelRule = ChannelRule()
    social: ChannelRule = ChannelRule()

    def rule(self, channel: Channel | str) -> ChannelRule:
        """The rule of ``channel``."""
        rule: ChannelRule = getattr(self, str(channel))
        return rule


class Conditions(_Strict):
    """What a customer must have to be in a tier; every condition given must hold (AND).

    An unknown value (the customer has no score, or the contact no customer) never meets a condition.
    """

    clv_min: StrictFloat | None = None
    profit_min: StrictFloat | None = None
    loyalty_min: StrictFloat | None = Field(default=None, ge=0, le=1)
    value_percentile_min: StrictFloat | None = Field(default=None, ge=0, le=1)
    influence_min: StrictFloat | None = Field(default=None, ge=0, le=1)
    followers_min: StrictFloat | None = Field(default=None, ge=0)
    status_in: tuple[str, ...] | None = Field(default=None, min_length=1)
    account_in: tuple[str, ...] | None = Field(default=None, min_length=1)

    def is_empty(self) -> bool:
        """True when the tier has no condition (it takes everyone who reaches it)."""
        return all(v is None for v in self.model_dump().values())


class Tier(_Strict):
    """One service tier: who is in it, its head start and its SLA promise per channel."""

    name: str = Field(min_length=1, max_length=40)
    description: str = ""
    when: Conditions = Conditions()
    head_start: HeadStart = 0.0
    sla: ChannelSLA


class Need(_Strict):
    """How the contact's need moves it: each a head start (per channel or one number), added together."""

    severity: tuple[HeadStart, HeadStart, HeadStart, HeadStart] = (0.0, 0.0, 0.0, 0.0)
    negative_sentiment: HeadStart = 0.0
    negative_below: StrictFloat = Field(default=-0.3, ge=-1, le=1)
    complaint: HeadStart = 0.0
    repeat_each: HeadStart = 0.0
    repeat_max: HeadStart = 0.0


class InfluenceRule(_Strict):
    """What follower reach may do: head start ``min(cap, slope x influence percentile)``."""

    slope: HeadStart = 0.0
    cap: HeadStart | None = None
    may_change_tier: StrictBool = False


class Risk(_Strict):
    """Reputational risk: ``log10(1 + audience) x negativity >= threshold`` on a public contact is flagged.

    Only public contacts (a social post, or a contact that says it is public) on the listed channels are scored.
    """

    threshold: StrictFloat = Field(default=3.0, gt=0)
    channels: tuple[Channel, ...] = (Channel.SOCIAL,)
    route: Literal["service", "social-care"] = "service"
    head_start: HeadStart = 0.0
    sla: ChannelSLA | None = None


class InfluenceAmount(_Strict):
    """How much follower reach may add to an entitlement's amount: ``min(cap, slope x influence percentile)``."""

    slope: StrictFloat = Field(default=0.0, ge=0)
    cap: StrictFloat = Field(ge=0)


class Entitlement(_Strict):
    """A treatment a customer is entitled to (a fee waiver, a callback, goodwill credit up to an amount, ...).

    Granted when the customer is in one of ``tiers`` (if given) and every condition in ``when`` holds (if any).
    With ``by_influence = false`` (the default) follower reach can neither grant it nor raise its amount: the tier
    it reads is the one the customer would have without influence, and ``when`` may not test influence.
    """

    name: str = Field(min_length=1, max_length=60)
    description: str = ""
    tiers: tuple[str, ...] | None = Field(default=None, min_length=1)
    when: Conditions = Conditions()
    amount: StrictFloat | None = Field(default=None, ge=0)
    by_influence: StrictBool = False
    influence_amount: InfluenceAmount | None = None


CLAIM_SIGNALS = ("fare", "checked_in_hours", "severity")
"""Numeric signals of a claimant beside the customer's: fare paid, hours checked in before departure, need 0-3."""
CLAIM_FLAGS = ("medical", "reduced_mobility", "unaccompanied_minor", "children")
"""Yes/no facts of a claimant a rank may give points for (urgent medical travel, reduced mobility, ...)."""


class Points(_Strict):
    """Points per unit of a numeric signal, at most ``max`` (unknown values earn none)."""

    per: StrictFloat
    max: StrictFloat | None = Field(default=None, ge=0)


class Allocation(_Strict):
    """How the policy ranks claimants for a scarce good, and who gets it.

    A claimant's points are the sum of ``points`` (per unit of a numeric signal: clv, profit, loyalty,
    value_percentile, fare, checked_in_hours, severity), ``status`` and ``tiers`` points by name (the tier
    without influence), ``flags`` points for yes/no facts, and influence points ``min(cap, slope x
    percentile)``. Ties are broken by earlier check-in, then by claimant id. ``direction = "highest"`` gives the
    goods to the most points (an upgrade); ``"lowest"`` to the fewest (being denied boarding).
    """

    good: str = Field(default="good", min_length=1, max_length=60)
    description: str = ""
    direction: Literal["highest", "lowest"] = "highest"
    points: dict[str, Points | StrictFloat] = Field(default_factory=dict)
    status: dict[str, StrictFloat] = Field(default_factory=dict)
    tiers: dict[str, StrictFloat] = Field(default_factory=dict)
    flags: dict[str, StrictFloat] = Field(default_factory=dict)
    influence: InfluenceAmount | None = None


class PolicySpec(_Strict):
    """The whole policy file, validated."""

    name: str = Field(min_length=1, max_length=60)
    version: str = Field(min_length=1, max_length=40)
    description: str = ""
    strict: StrictBool = False
    head_start_unit: Literal["minute", "target"] = "minute"
    channels: Channels = Channels()
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=32)
    need: Need = Need()
    influence: InfluenceRule = InfluenceRule()
    risk: Risk | None = None
    entitlements: tuple[Entitlement, ...] = ()
    allocation: Allocation | None = None


_RENAMED = {
    "head_start_min": "'head_start' (a head start is in the policy's head_start_unit, minutes by default: one "
                      "number, or a table per channel; see docs/policy-file.md)",
    "slope_min": "'slope' (influence adds min(cap, slope x influence percentile), the percentile from 0 to 1: "
                 "slope is a head start in the policy's head_start_unit, minutes by default; see "
                 "docs/policy-file.md)",
    "cap_min": "'cap' (the most influence may add to min(cap, slope x influence percentile): a head start in the "
               "policy's head_start_unit, minutes by default, required when slope > 0; see docs/policy-file.md)",
}
"""Keys of the first policy format (always minutes) and what each is now, with its own reason."""

_WORDING = Wording(PolicySpec, "policy file", "docs/policy-file.md", renamed=_RENAMED)
"""How a policy file's errors are worded (:mod:`fairserve.validation_words`, as a scenario's are)."""


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
    if any(per_channel(spec.influence.slope)) and spec.influence.cap is None:
        raise PolicyError(file, "influence.cap", "an explicit cap is required when influence.slope > 0")
    if spec.head_start_unit == "target":
        for ch in CHANNELS:
            if spec.channels.rule(ch).target is None:
                raise PolicyError(
                    file, f"channels.{ch}.target", "head_start_unit = 'target' needs every channel's target"
                )
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
    _check_treatment(spec, file)
    need = spec.need
    for each, most, ch in zip(per_channel(need.repeat_each), per_channel(need.repeat_max), CHANNELS, strict=True):
        if each > 0 and most == 0:
            raise PolicyError(file, "need.repeat_max", f"repeat_each > 0 on {ch} needs a cap there (repeat_max > 0)")


def _check_treatment(spec: PolicySpec, file: str) -> None:
    """Entitlements and allocation: names known, influence only where allowed."""
    tier_names = {t.name for t in spec.tiers}
    seen: set[str] = set()
    for i, ent in enumerate(spec.entitlements):
        where = f"entitlements[{i}]"
        if ent.name in seen:
            raise PolicyError(file, f"{where}.name", f"duplicate entitlement name '{ent.name}'")
        seen.add(ent.name)
        for t in ent.tiers or ():
            if t not in tier_names:
                raise PolicyError(file, f"{where}.tiers", f"no tier named '{t}' (tiers: {', '.join(tier_names)})")
        for sig in ("influence_min", "followers_min"):
            if getattr(ent.when, sig) is not None and not ent.by_influence:
                raise PolicyError(file, f"{where}.when.{sig}", "a condition on reach needs by_influence = true")
        if ent.influence_amount is not None:
            if not ent.by_influence:
                raise PolicyError(file, f"{where}.influence_amount", "reach may raise an amount only with "
                                  "by_influence = true")
            if ent.amount is None:
                raise PolicyError(file, f"{where}.influence_amount", "needs an amount to raise")
    alloc = spec.allocation
    if alloc is None:
        return
    numeric = (*NUMERIC_SIGNALS, *CLAIM_SIGNALS)
    for sig in alloc.points:
        if sig not in numeric or sig in ("influence", "followers"):
            allowed = ", ".join(s for s in numeric if s not in ("influence", "followers"))
            hint = " (reach counts only through allocation.influence, with its cap)" if sig in (
                "influence", "followers") else ""
            raise PolicyError(file, f"allocation.points.{sig}", f"not a signal a rank may use{hint}; one of {allowed}")
    for name in alloc.tiers:
        if name not in tier_names:
            raise PolicyError(file, f"allocation.tiers.{name}", f"no tier named '{name}'")
    for flag in alloc.flags:
        if flag not in CLAIM_FLAGS:
            raise PolicyError(file, f"allocation.flags.{flag}", f"not a claimant flag; one of {', '.join(CLAIM_FLAGS)}")


def parse_policy(data: dict[str, Any], file: str = "<policy>") -> PolicySpec:
    """Validate a parsed policy document.

    Raises
    ------
    PolicyError
        Naming ``file`` and, for every bad field pydantic finds, its dotted path, what it must be and the value
        the file has (``tiers[2].sla.phone: must be a number greater than 0, not -1``); or, once the fields are
        valid, the first check across fields that fails; or saying the file is empty.
    """
    if not data:  # 0 bytes, blank lines or comments: not a policy missing one key
        raise PolicyError(file, None, "the policy file is empty (nothing but blank lines or comments); a policy "
                          "needs at least name, version and one [[tiers]] table: see docs/policy-file.md")
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        problems = [(where or None, what) for where, what in plain_errors(exc.errors(), _WORDING)]
        raise PolicyError(file, *problems[0], more=problems[1:]) from None
    _check(spec, file)
    return spec


def read_policy_file(path: str | Path) -> PolicySpec:
    """Read and validate the TOML policy file at ``path`` (the reading is :func:`fairserve.io.read_toml`'s)."""
    from fairserve.io_toml import TomlFileError, read_toml

    try:
        data = read_toml(path, "policy")
    except TomlFileError as exc:
        raise PolicyError(exc.path, None, exc.reason) from None
    return parse_policy(data, str(path))


def content_hash(spec: PolicySpec) -> str:
    """The sha256 hex digest of the policy's canonical content (sorted-key JSON of the validated model).

    Two files that differ only in layout, comments or key order have the same hash.
    """
    payload = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()

