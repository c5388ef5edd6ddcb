"""Routing hints: a Decision expressed in the priority terms of the contact-centre platform that routes the call.

fairserve can sit beside an ACD or CCaaS platform as the decision service; each answer then says how to give the
policy's order to that platform. All three read the Decision's own numbers (nothing is re-decided):

``genesys`` (Genesys Cloud)
    Genesys ranks waiting interactions by time in queue, and a priority point is worth about a minute of it, so
    ``priority = round(head_start_min)``: the head start maps almost directly, to the minute.
``amazon_connect`` (Amazon Connect)
    ``QueuePriority`` (1 is served first) carries a strict tier's rank (``rank + 1``; 1 for everyone otherwise)
    and ``QueueTimeAdjustmentSeconds`` (routing age added to the contact) the head start in whole seconds.
``twilio`` (Twilio TaskRouter)
    TaskRouter serves the highest integer ``priority`` first and ties by age; a static priority cannot grow
    while a task waits, so the whole virtual arrival becomes the priority,
    ``priority = 2**31 - 1 - round(virtual_arrival - 1_700_000_000)`` (earlier virtual arrival, higher priority;
    positive until 2091), which keeps the policy's order to the second.

What none of them can express: the wait guarantee (a contact past its channel's guarantee going first is a
hand-out rule, not a priority; fairserve's own ``next`` applies it), and, except Connect's ``QueuePriority``,
strict tiers (use one queue per tier there). The channel's ordering offset between channels that share a queue
is not carried either (Genesys and Connect queues are per channel). Each hint lists what it leaves out.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TWILIO_EPOCH", "routing_hints"]

TWILIO_EPOCH = 1_700_000_000
_INT31 = 2**31 - 1


def routing_hints(decision: dict[str, Any]) -> dict[str, Any]:
    """The platform hints of one Decision (as :func:`fairserve.policy.explain.decision_to_dict` gives it)."""
    key = decision["key"]
    rank = int(key["rank"])
    head = float(decision["head_start_min"])
    strict = rank > 0 or any(r["effect"].startswith("rank=") for r in decision["reasons"])
    guarantee = decision.get("guarantee_seconds") is not None
    left_out = (["wait guarantee"] if guarantee else []) + (
        ["channel ordering offset"] if decision.get("channel_offset_min") else [])
    return {
        "genesys": {"priority": round(head), "not_expressed": left_out + (["strict tiers"] if strict else [])},
        "amazon_connect": {"QueuePriority": rank + 1, "QueueTimeAdjustmentSeconds": round(60.0 * head),
                           "not_expressed": left_out},
        "twilio": {"priority": max(0, _INT31 - round(float(key["virtual_arrival"]) - TWILIO_EPOCH)),
                   "not_expressed": ([m for m in left_out if m != "channel ordering offset"]
                                     + (["strict tiers"] if strict else []))},
    }
