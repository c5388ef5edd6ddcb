"""The customer's "why am I in this tier?" answer, rendered from a Decision by :mod:`fairserve.policy.explain`.

With an open contact, the answer is the Decision that contact was stored with (never re-decided), its place in
line and an expected wait (its place divided by the queue's hand-outs per second over the last 30 minutes; none
when there were none). Without one, it is the decision a phone call made now would get under the active policy.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from fairserve.model import Channel, Contact, Customer, Decision, Grant, QueueKey, Reason
from fairserve.policy import Policy, decide
from fairserve.policy.explain import customer_statement, decision_to_dict
from fairserve.service.intake import position_of
from fairserve.service.store import contacts

__all__ = ["decision_from_dict", "explain_customer", "render_html"]

_WINDOW = 1800.0


def _reason(d: dict[str, Any]) -> Reason:
    return Reason(d["signal"], d["value"], d["effect"], d["text"], float(d.get("minutes") or 0.0))


def decision_from_dict(d: dict[str, Any]) -> Decision:
    """The Decision that :func:`fairserve.policy.explain.decision_to_dict` wrote (the inverse, field for field)."""
    k = d["key"]
    g = d.get("guarantee_seconds")
    return Decision(
        contact_id=d["contact_id"], customer_id=d["customer_id"], tier=d["tier"], queue=d["queue"],
        key=QueueKey(int(k["rank"]), float(k["virtual_arrival"]), float(k["arrival"]), str(k["contact_id"])),
        head_start_min=float(d["head_start_min"]), influence_min=float(d["influence_min"]),
        sla_seconds=float(d["sla_seconds"]), sla_deadline=float(d["sla_deadline"]),
        reasons=tuple(_reason(r) for r in d["reasons"]), policy_name=d["policy"]["name"],
        policy_version=d["policy"]["version"], policy_hash=d["policy"]["hash"], flags=tuple(d.get("flags", ())),
        guarantee_seconds=math.inf if g is None else float(g), pass_window_min=float(d["pass_window_min"]),
        channel_offset_min=float(d["channel_offset_min"]),
        entitlements=tuple(Grant(e["name"], e["description"], e["amount"], bool(e["owed_to_influence"]),
                                 tuple(_reason(r) for r in e["reasons"])) for e in d.get("entitlements", ())),
    )


def _expected_wait(conn: Connection, queue: str, position: int, now: float) -> float | None:
    c = contacts.c
    served = conn.execute(select(func.count()).where(c.queue == queue, c.assigned_at >= now - _WINDOW)).scalar_one()
    if not served:
        return None
    return position / (int(served) / _WINDOW)


def explain_customer(conn: Connection, customer: Customer, policy: Policy, now: float) -> dict[str, Any]:
    """The customer's tier, the facts it rests on, reach's part, what would change it, and their place in line."""
    c = contacts.c
    row = conn.execute(
        select(contacts).where(c.customer_id == customer.customer_id, c.state.in_(("waiting", "assigned")))
        .order_by(c.arrival.desc()).limit(1)
    ).first()
    open_contact: dict[str, Any] | None = None
    if row is not None:
        decision = decision_from_dict(json.loads(row.decision))
        open_contact = {"id": row.id, "channel": row.channel, "state": row.state, "sla_deadline": row.sla_deadline,
                        "position": None, "expected_wait_seconds": None}
        if row.state == "waiting":
            pos = position_of(conn, row)
            open_contact["position"] = pos
            open_contact["expected_wait_seconds"] = _expected_wait(conn, row.queue, pos, now)
        basis = "your open contact"
    else:
        preview = Contact(contact_id="preview", channel=Channel.PHONE, arrival=now, customer_id=customer.customer_id)
        decision = decide(preview, customer, policy, now)
        basis = "a phone call made now"
    tier_effect = f"tier={decision.tier}"
    reach = [r for r in decision.reasons if r.signal == "influence"]
    followers = any(r.minutes > 0 or r.effect.startswith("tier=") for r in reach) or decision.influence_min > 0
    return {
        "customer_id": customer.customer_id,
        "basis": basis,
        "tier": decision.tier,
        "facts": [r.text for r in decision.reasons if r.effect == tier_effect],
        "followers_played_a_part": followers,
        "what_would_change_it": [r.text for r in decision.reasons if r.signal == "next_tier"],
        "statement": customer_statement(decision),
        "open_contact": open_contact,
        "policy": {"name": decision.policy_name, "version": decision.policy_version, "hash": decision.policy_hash},
        "decision": decision_to_dict(decision),
    }


def _minutes(seconds: float) -> str:
    m = seconds / 60.0
    if m >= 90:
        return f"about {m / 60:.0f} hours"
    return f"about {m:.0f} minutes" if m >= 1.5 else "about a minute" if m >= 0.5 else "under a minute"


def _place(oc: dict[str, Any] | None, basis: str) -> str:
    if oc is None:
        return ("You have no open contact with us right now. The tier below is the one a phone call made now "
                "would get.")
    if oc["position"] is not None:
        wait = oc["expected_wait_seconds"]
        ahead = oc["position"] - 1
        others = "nobody is" if ahead == 0 else "1 person is" if ahead == 1 else f"{ahead} people are"
        return (f"You are number {oc['position']} in line ({others} ahead of you)"
                + (f"; expected wait {_minutes(wait)}." if wait is not None else "."))
    return "An agent is handling your contact now."


def render_html(answer: dict[str, Any]) -> str:
    """The customer's page, readable on a phone: their tier in plain words, the facts it rests on, whether follower
    counts played a part, what would change it, and their place in line; styled by the dashboard's stylesheet."""

    e = html.escape
    tier = e(answer["tier"])
    oc = answer["open_contact"]
    facts = answer["facts"]
    changes = answer["what_would_change_it"]
    lines = [line.strip().lstrip("- ").strip() for line in answer["statement"].splitlines() if line.strip()]
    reach = [line for line in lines if "follower" in line.lower()]
    parts = [
        f"<h1>Your tier: {tier}</h1>",
        f"<p class='answer' id='tier-plain'>You are in the {tier} tier: it sets how soon we answer you "
        f"compared with other customers. This page explains why, from the decision we actually made "
        f"(based on {e(answer['basis'])}).</p>",
        f"<section aria-labelledby='place-h'><h2 id='place-h'>Your place in the queue</h2>"
        f"<p class='place' id='place'>{e(_place(oc, answer['basis']))}</p></section>",
        "<section aria-labelledby='facts-h'><h2 id='facts-h'>What your tier rests on</h2>",
        ("<ul id='facts'>" + "".join(f"<li>{e(f)}</li>" for f in facts) + "</ul>") if facts else
        "<p id='facts'>No fact about you raised your tier: it is the policy's default tier.</p>",
        "</section>",
        "<section aria-labelledby='followers-h'><h2 id='followers-h'>Did your follower count play a part?</h2>",
        f"<p class='answer' id='followers'>{'Yes.' if answer['followers_played_a_part'] else 'No.'}</p>",
        "".join(f"<p>{e(line)}</p>" for line in reach if line != "Your follower count played a part in this "
                "decision, as stated above."),
        "</section>",
        "<section aria-labelledby='change-h'><h2 id='change-h'>What would change it</h2>",
        ("<ul id='changes'>" + "".join(f"<li>{e(c)}</li>" for c in changes) + "</ul>") if changes else
        "<p id='changes'>Nothing would raise it: you are in the policy's highest tier.</p>",
        "</section>",
        "<section aria-labelledby='why-h'><h2 id='why-h'>The whole decision</h2><ul id='statement'>"
        + "".join(f"<li>{e(line)}</li>" for line in lines) + "</ul></section>",
    ]
    p = answer["policy"]
    parts.append(f"<p class='policy'>Policy {e(p['name'])} {e(p['version'])} ({e(p['hash'][:12])}).</p>")
    return _page("Why am I in this tier?", "".join(parts))


def _page(title: str, body: str) -> str:
    """A customer-facing page: ``body`` (HTML) under ``title``, with the dashboard's stylesheet and icon only."""
    from fairserve.service.web import asset_version

    v = asset_version()
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<meta name='referrer' content='no-referrer'>"
            f"<title>{html.escape(title)}</title><link rel='stylesheet' href='/static/fairserve.css?v={v}'>"
            f"<link rel='icon' href='/static/favicon.svg?v={v}' type='image/svg+xml'>"
            "</head><body class='me'><main id='main'>" + body + "</main></body></html>")


def render_link_error_html(unknown_customer: bool = False) -> str:
    """The customer's page when their link cannot open it: expired, not valid, or its customer is gone."""
    text = ("We no longer have the customer this link was made for; ask us for a new one." if unknown_customer
            else "This link has expired or is not valid; ask us for a new one.")
    return _page("Link not valid", f"<h1>Link not valid</h1><p class='answer' id='link-error'>{text}</p>")
