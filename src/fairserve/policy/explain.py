"""Plain-language explanations, rendered only from a Decision's Reasons.

Two views of one decision:

* :func:`agent_view` for the agent: why this contact is where it is, the tier, the SLA and the head start broken
  down into its parts;
* :func:`customer_statement` for the customer: their tier, the facts it rests on, what would change it, and
  whether follower counts played a part.

Both are built from ``decision.reasons`` (and the Decision's own fields, which the reasons produced), never
from the customer or the policy, so what a customer is told cannot disagree with what was decided. The phrase
helpers below are also what :func:`fairserve.policy.decide` uses to write each Reason's ``text``.
"""

from __future__ import annotations

import math
from typing import Any

from fairserve.model import Decision, Reason

__all__ = ["WHO_MAY_PASS", "agent_view", "customer_statement", "decision_to_dict", "shown_minutes"]

# the opening words of the reason that says who may pass a contact (the simulator's what-if leaves it out of the
# reasons of a contact that passed someone: it is about that contact's own place, not about why it passed)
WHO_MAY_PASS = "Who may be answered before you although they came later"

_LABELS = {
    "clv": "expected future spend (CLV)",
    "profit": "expected profit",
    "loyalty": "loyalty score",
    "value_percentile": "value rank",
    "influence": "follower reach",
    "followers": "follower count",
    "status": "status",
    "account": "account",
}
_SEVERITY = ("routine", "minor", "urgent", "critical")


def fmt_value(signal: str, v: Any) -> str:
    """A signal's value the way a person reads it."""
    if v is None:
        return "unknown"
    if signal in ("clv", "profit"):
        return f"${v:,.2f}" if abs(v) < 100 else f"${v:,.0f}"
    if signal in ("value_percentile", "influence"):
        top = max(0.0, (1.0 - float(v)) * 100.0)
        if top >= 1:
            return f"top {top:.0f}%"
        return f"top {top:.1f}%" if top >= 0.1 else "top 0.1%"  # "top 0.0%" reads as nobody
    if signal == "followers":
        return f"{float(v):,.0f}"
    if signal == "loyalty":
        return f"{float(v):.2f}"
    return str(v)


# Minutes are shown rounded to 9 decimals (60 nanoseconds). A head start or a pass window is a sum or difference
# of the policy's own minute values, and binary floats add noise in the last digits (1.1 + 0.1 is
# 1.2000000000000002): about 1e-15 of the value, far below 9 decimals, while no policy value, clock or queue
# tells 60 ns apart. So the shown value is the one the policy's numbers add up to, and nothing real is rounded
# away. Only what is presented is rounded: the engine orders the queue by the unrounded arithmetic.
SHOWN_DECIMALS = 9


def shown_minutes(m: float) -> float:
    """``m`` minutes as presented (JSON, text): without float noise (see :data:`SHOWN_DECIMALS`)."""
    return round(float(m), SHOWN_DECIMALS)


def minutes(m: float) -> str:
    """``8 minutes``, ``1 minute``, ``0.5 minutes``."""
    m = shown_minutes(m)
    if m == int(m):
        k = int(m)
        return f"{k} minute" if k == 1 else f"{k} minutes"
    return f"{m:.1f} minutes"


def _sla(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 2 * 3600:
        return minutes(round(seconds / 60.0, 1))
    hours = seconds / 3600.0
    return f"{hours:.0f} hours" if hours == int(hours) else f"{hours:.1f} hours"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def condition_text(signal: str, v: Any, lo: float, tier: str) -> str:
    """A met numeric tier condition."""
    if signal in ("value_percentile", "influence"):
        return f"{_cap(_LABELS[signal])} in the {fmt_value(signal, v)} of customers is within the " \
            f"{fmt_value(signal, lo)} needed for {tier}."
    return f"{_cap(_LABELS[signal])} of {fmt_value(signal, v)} is at or above {fmt_value(signal, lo)}, " \
        f"the threshold for {tier}."


def set_text(signal: str, v: Any, tier: str) -> str:
    """A met status/account tier condition."""
    return f"The {_LABELS[signal]} on file is '{v}', which belongs to the {tier} tier."


def default_tier_text(tier: str, first: bool) -> str:
    """The tier is the one for everyone (no conditions, or none of the higher tiers' were met)."""
    if first:
        return f"Everyone is in the {tier} tier."
    return f"No higher tier's conditions are met, so the tier is {tier}."


def next_tier_text(name: str, when: Any) -> str:
    """What the tier above needs (``when`` is that tier's Conditions)."""
    parts = []
    for sig in ("clv", "profit", "loyalty", "value_percentile", "influence", "followers"):
        lo = getattr(when, f"{sig}_min")
        if lo is not None:
            parts.append(f"{_LABELS[sig]} of at least {fmt_value(sig, lo)}")
    for sig in ("status", "account"):
        allowed = getattr(when, f"{sig}_in")
        if allowed is not None:
            parts.append(f"{_LABELS[sig]} {' or '.join(repr(a) for a in allowed)}")
    needs = " and ".join(parts) if parts else "no condition"
    return f"The next tier up, {name}, needs {needs}."


def tier_head_start_text(tier: str, m: float) -> str:
    """The tier's head start."""
    return f"Contacts in the {tier} tier are answered as if placed {minutes(m)} earlier."


def strict_text(tier: str, rank: int, n: int) -> str:
    """A strict tier's rank."""
    if rank == 0:
        return f"The {tier} tier is served before every other tier."
    if rank == n - 1:
        return f"The {tier} tier is served after every other tier, in order of arrival."
    return f"The {tier} tier is served after {rank} higher tier(s) and before the rest."


def influence_tier_text(v: Any, lower: str, tier: str) -> str:
    """Influence raised the tier."""
    return f"Follower reach ({fmt_value('influence', v)}) raised the tier from {lower} to {tier}; " \
        f"without it the tier would be {lower}."


def severity_text(sev: int, m: float) -> str:
    """The severity head start."""
    return f"Severity {sev} of 3 ({_SEVERITY[sev]}): answered as if placed {minutes(m)} earlier."


def sentiment_text(s: Any, m: float) -> str:
    """The negative-sentiment head start."""
    return f"The message reads as unhappy (tone {float(s):+.2f} on a -1 to +1 scale): {minutes(m)} earlier."


def complaint_text(m: float) -> str:
    """The complaint head start."""
    return f"It is a complaint: answered as if placed {minutes(m)} earlier."


def repeat_text(rep: int, m: float) -> str:
    """The repeat-contact head start."""
    times = "time" if rep == 1 else "times"
    return f"Contacted {rep} {times} before about this: {minutes(m)} earlier."


def influence_text(x: float, m: float, cap: float) -> str:
    """The capped influence head start."""
    return f"Follower reach ({fmt_value('influence', x)} of customers) added {minutes(m)}; " \
        f"the policy lets reach add at most {minutes(cap)}."


def influence_none_text(cap: float, may_change_tier: bool) -> str:
    """The policy weighs reach, but this contact gained nothing from it."""
    can = f"add up to {minutes(cap)}" if cap > 0 else ""
    if may_change_tier:
        can = f"{can} and raise the tier" if can else "raise the tier"
    return f"Under this policy follower reach can {can}; here it gave no advantage."


def risk_text(audience: Any, score: float, threshold: float, queue: str, sla: float, m: float) -> str:
    """The reputational-risk flag."""
    head = f"A public post seen by about {float(audience):,.0f} people with a negative tone " \
        f"(risk {score:.1f}, threshold {threshold:.1f}) is flagged as a reputational risk"
    if queue == "social-care":
        tail = f"; it goes to the social-care team, who aim to answer within {_sla(sla)}"
    else:
        tail = "; it stays in the service queue with the flag"
    extra = f", answered as if placed {minutes(m)} earlier" if m > 0 else ", with no head start for it"
    return head + tail + extra + "."


def entitlement_tier_text(tiers: list[str]) -> str:
    """An entitlement that comes with a tier."""
    names = " or ".join(tiers)
    return f"It comes with the {names} tier{'s' if len(tiers) > 1 else ''}, which is yours."


def entitlement_influence_text(x: float, without: bool, amount0: float) -> str:
    """Follower reach granted or raised an entitlement."""
    reach = fmt_value("influence", x)
    if not without:
        return f"Your follower reach ({reach} of customers) is why you have it: without it you would not."
    return f"Your follower reach ({reach} of customers) raised the amount; without it, it would be {amount0:,.2f}."


def _at_most(seconds: float) -> str:
    """A bound as a person reads it, rounded UP (so a stated bound is never smaller than the true one)."""
    if seconds < 120:
        k = math.ceil(seconds - 1e-9)
        return "1 second" if k == 1 else f"{k} seconds"
    if seconds < 2 * 3600:
        return minutes(math.ceil(seconds / 6.0 - 1e-9) / 10.0)
    hours = math.ceil(seconds / 360.0 - 1e-9) / 10.0
    return f"{hours:g} hours"


def order_text(higher: str, window: float, guarantees: bool, own_guarantee: float, by_due: bool) -> str:
    """Who may be answered before this contact although they came later (from the evaluator's numbers).

    ``higher`` names the strict tiers above (empty when none), ``window`` is the minutes after this arrival
    within which a later contact of the same rank could pass it with a larger head start, ``guarantees`` whether
    the policy has wait guarantees, ``own_guarantee`` this contact's in seconds (inf: none), ``by_due`` whether
    channels sharing a queue are ordered by due time.
    """
    parts = []
    if higher:
        parts.append(f"contacts in a higher tier ({higher}) are always answered first")
    same = "of your tier " if higher else ""
    if window > 0.0:
        if by_due:
            rule = (
                "it is due earlier than yours (due = arrival + its channel's target - its head start; a queue "
                "shared by several channels serves the one due first)"
            )
        else:
            rule = "its head start is larger than yours by more than the time between the two arrivals"
        parts.append(
            f"a later contact {same}is answered first only if {rule}, so only one that arrived within "
            f"{_at_most(window * 60.0)} after yours"
        )
    else:
        parts.append(f"no later contact {same}can pass yours with a head start")
    if guarantees:
        parts.append(
            "a contact that has waited past its channel's wait guarantee is answered before those within theirs"
        )
    text = f"{WHO_MAY_PASS}: " + "; ".join(parts) + "."
    if math.isfinite(own_guarantee):
        text += (
            f" Once you have waited {_at_most(own_guarantee)}, you are answered before everyone still within"
            " theirs."
        )
    return text


def wait_text(waited: float) -> str:
    """Waiting: the place is kept (who may pass is the "order" reason)."""
    return f"Waited {minutes(round(waited / 60.0, 1))} so far; the place in line is kept as it waits."


# ---------------------------------------------------------------------------------------------- renderers


def _about(m: float) -> str:
    """A Decision's minutes in a sentence, to the hundredth (rounded from the shown value, so the JSON form of the
    Decision renders the same words)."""
    return minutes(round(shown_minutes(m), 2))


def _by(decision: Decision, signal: str) -> list[Reason]:
    return [r for r in decision.reasons if r.signal == signal]


def agent_view(decision: Decision) -> str:
    """What the agent sees: tier, queue, SLA, and the head start broken down, from the reasons only."""
    lines = [
        f"Contact {decision.contact_id} (customer {decision.customer_id or 'unknown'}): tier {decision.tier}, "
        f"queue {decision.queue}.",
    ]
    lines.append(
        f"Head start {_about(decision.head_start_min)} "
        f"(of which follower reach {_about(decision.influence_min)}); "
        f"answer within {_sla(decision.sla_seconds)}"
        + (
            f"; wait guarantee {_sla(decision.guarantee_seconds)}."
            if math.isfinite(decision.guarantee_seconds)
            else "."
        )
    )
    if decision.key.rank:
        lines.append(f"Strict priority rank {decision.key.rank} (0 is served first).")
    if decision.flags:
        lines.append(f"Flags: {', '.join(decision.flags)}.")
    for r in decision.reasons:
        part = f" [{r.minutes:+.1f} min]" if r.minutes else ""
        lines.append(f"  - {r.signal}: {r.text}{part}")
    for g in decision.entitlements:
        amount = f" up to {g.amount:,.2f}" if g.amount is not None else ""
        owed = " [owed to follower reach]" if g.owed_to_influence else ""
        lines.append(f"  - entitlement {g.name}{amount}{owed}: " + " ".join(r.text for r in g.reasons))
    lines.append(f"Policy {decision.policy_name} {decision.policy_version} ({decision.policy_hash[:12]}).")
    return "\n".join(lines)


def customer_statement(decision: Decision) -> str:
    """What the customer is told: their tier, the facts behind it, what would change it, and reach's part."""
    tier_facts = [r for r in decision.reasons if r.effect == f"tier={decision.tier}"]
    lines = [f"You are in the {decision.tier} tier."]
    for r in tier_facts:
        lines.append(r.text)
    for r in _by(decision, "next_tier"):
        lines.append(r.text)
    head = [r for r in decision.reasons if r.minutes > 0]
    if head:
        lines.append(
            f"In all, your contact is answered as if placed {_about(decision.head_start_min)} earlier:"
        )
        for r in head:
            lines.append(f"  - {r.text}")
    elif not any(r.effect.startswith("rank=") for r in decision.reasons):
        lines.append("Your contact has no head start: its place comes from its arrival time.")
    for r in decision.reasons:
        if r.effect.startswith("rank="):
            lines.append(r.text)
    for r in _by(decision, "order"):
        lines.append(r.text)
    for r in _by(decision, "risk"):
        if r.minutes == 0:
            lines.append(r.text)
    reach = _by(decision, "influence")
    if any(r.minutes > 0 or r.effect.startswith("tier=") for r in reach):
        lines.append("Your follower count played a part in this decision, as stated above.")
    elif reach:
        lines.extend(r.text for r in reach)
    else:
        lines.append("Your follower count played no part in this decision.")
    lines.append(f"We aim to answer within {_sla(decision.sla_seconds)}.")
    lines.extend(_entitlement_lines(decision))
    return "\n".join(lines)


def _entitlement_lines(decision: Decision) -> list[str]:
    """Each granted entitlement with the facts it rests on (from the Decision's grants only)."""
    lines = []
    for g in decision.entitlements:
        what = g.description or g.name
        amount = f" (up to {g.amount:,.2f})" if g.amount is not None else ""
        lines.append(f"You are entitled to: {what}{amount}.")
        lines.extend(f"  - {r.text}" for r in g.reasons)
    return lines


def _reason_dict(r: Reason) -> dict[str, Any]:
    # a reason's minutes are not a sum (one policy value, or reach's slope x percentile) and decide what the views
    # list, so they stay as the evaluator gave them; the order reason's value is the pass window, a difference of sums
    value = shown_minutes(r.value) if r.signal == "order" and isinstance(r.value, float) else r.value
    return {"signal": r.signal, "value": value, "effect": r.effect, "minutes": r.minutes, "text": r.text}


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """The Decision as plain JSON-ready data, policy name, version and hash included.

    Minutes are as shown (:func:`shown_minutes`: without float noise); the queue key keeps its exact seconds.
    """
    return {
        "contact_id": decision.contact_id,
        "customer_id": decision.customer_id,
        "tier": decision.tier,
        "queue": decision.queue,
        "key": decision.key._asdict(),
        "head_start_min": shown_minutes(decision.head_start_min),
        "influence_min": shown_minutes(decision.influence_min),
        "sla_seconds": decision.sla_seconds,
        "sla_deadline": decision.sla_deadline,
        "guarantee_seconds": decision.guarantee_seconds if math.isfinite(decision.guarantee_seconds) else None,
        "pass_window_min": shown_minutes(decision.pass_window_min),
        "channel_offset_min": shown_minutes(decision.channel_offset_min),
        "flags": list(decision.flags),
        "entitlements": [
            {
                "name": g.name,
                "description": g.description,
                "amount": g.amount,
                "owed_to_influence": g.owed_to_influence,
                "reasons": [_reason_dict(r) for r in g.reasons],
            }
            for g in decision.entitlements
        ],
        "reasons": [_reason_dict(r) for r in decision.reasons],
        "policy": {
            "name": decision.policy_name,
            "version": decision.policy_version,
            "hash": decision.policy_hash,
        },
    }
