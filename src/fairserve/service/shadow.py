"""Where a shadow policy disagrees with the active one, on the contacts both decided.

Both orders are the policies' own queue keys (``rank, virtual_arrival, arrival, id``) over the same contacts, each
within its own queue; a contact's place is its position in that order. For each contact the report gives its
tier, queue and place under each policy, how many places it would move (negative: served earlier under the
shadow), and why: the head-start reasons (signal and minutes) that differ between the two decisions, as each
decision states them. Nothing is recomputed here: both decisions were made by :func:`fairserve.policy.decide`
at intake and stored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fairserve.service.store import contacts, shadow_decisions

__all__ = ["shadow_report"]


def _places(items: list[tuple[str, tuple[Any, ...]]]) -> dict[str, int]:
    by_queue: dict[str, list[tuple[tuple[Any, ...], str]]] = defaultdict(list)
    for cid, key in items:
        by_queue[key[0]].append((key[1:], cid))
    out: dict[str, int] = {}
    for rows in by_queue.values():
        for i, (_, cid) in enumerate(sorted(rows), start=1):
            out[cid] = i
    return out


def _minutes(decision: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for r in decision["reasons"]:
        if r["minutes"]:
            out[r["signal"]] += float(r["minutes"])
    return dict(out)


def shadow_report(conn: Connection, shadow_hash: str, limit: int = 5000, examples: int = 20) -> dict[str, Any]:
    """Compare the shadow policy ``shadow_hash`` with the decisions contacts were served by (their latest
    ``limit`` contacts): counts, and the ``examples`` contacts that would move most, with why."""
    c, s = contacts.c, shadow_decisions.c
    rows = conn.execute(
        select(c.id, c.queue, c.rank, c.virtual_arrival, c.arrival, c.tier, c.decision, c.state,
               s.queue.label("s_queue"), s.rank.label("s_rank"), s.virtual_arrival.label("s_va"),
               s.tier.label("s_tier"), s.decision.label("s_decision"))
        .join(shadow_decisions, s.contact_id == c.id).where(s.policy_hash == shadow_hash)
        .order_by(c.arrival.desc()).limit(limit)
    ).all()
    active = _places([(r.id, (r.queue, r.rank, r.virtual_arrival, r.arrival, r.id)) for r in rows])
    shadow = _places([(r.id, (r.s_queue, r.s_rank, r.s_va, r.arrival, r.id)) for r in rows])
    moves = []
    for r in rows:
        a, b = json.loads(r.decision), json.loads(r.s_decision)
        ma, mb = _minutes(a), _minutes(b)
        why = [{"signal": sig, "active_min": round(ma.get(sig, 0.0), 4), "shadow_min": round(mb.get(sig, 0.0), 4)}
               for sig in sorted(set(ma) | set(mb)) if abs(ma.get(sig, 0.0) - mb.get(sig, 0.0)) > 1e-9]
        moves.append({
            "contact_id": r.id, "state": r.state,
            "active": {"tier": r.tier, "queue": r.queue, "place": active[r.id], "head_start_min": a["head_start_min"]},
            "shadow": {"tier": r.s_tier, "queue": r.s_queue, "place": shadow[r.id],
                       "head_start_min": b["head_start_min"]},
            "moved": shadow[r.id] - active[r.id],
            "why": why,
        })
    policy = json.loads(rows[0].s_decision)["policy"] if rows else {"hash": shadow_hash}
    moves.sort(key=lambda m: (-abs(m["moved"]), m["contact_id"]))
    return {
        "shadow_policy": policy,
        "contacts": len(rows),
        "tier_changes": sum(m["active"]["tier"] != m["shadow"]["tier"] for m in moves),
        "queue_changes": sum(m["active"]["queue"] != m["shadow"]["queue"] for m in moves),
        "served_earlier": sum(m["moved"] < 0 for m in moves),
        "served_later": sum(m["moved"] > 0 for m in moves),
        "largest_move": max((abs(m["moved"]) for m in moves), default=0),
        "examples": [m for m in moves if m["moved"] or m["active"]["tier"] != m["shadow"]["tier"]][:examples],
    }
