"""What each dashboard page shows, read from the service's database: plain dicts for the templates.

Nothing here decides anything: queues, clocks and flags are the Decisions stored at intake (as
:func:`fairserve.policy.decide` made them), a contact's place is its queue key's order (:mod:`fairserve.service.queue`
hands out in that order, after the wait-guarantee probe), a customer's explanation is
:func:`fairserve.service.explanation.explain_customer`, the shadow disagreements are
:func:`fairserve.service.shadow.shadow_report`, the diff against a candidate is
:func:`fairserve.policy.audit.diff_policies` over the stored customers, and the listening view runs
:class:`fairserve.text.TextTriage` and :func:`fairserve.text.representative_posts` on the stored contacts' text.

SLA clock of a waiting contact: ``breached`` once ``now >= sla_deadline``, ``near`` once it has waited
``sla_near_fraction`` of its SLA (the SLA clock's own rule, :mod:`fairserve.service.sla`), else ``ok``; computed
at the time of the page, so the page never lags the background sweep.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd
from sqlalchemy import case, func, or_, select
from sqlalchemy.engine import Connection

from fairserve.service.customers import customer_of
from fairserve.service.explanation import explain_customer
from fairserve.service.intake import position_of
from fairserve.service.policies import compile_text, list_policies
from fairserve.service.shadow import shadow_report
from fairserve.service.store import agents, audit_lines, contact_row, contacts, customers, policies
from fairserve.service.web import charts

__all__ = [
    "agents_table",
    "breaches",
    "clock_text",
    "contact_page",
    "customer_page",
    "duration",
    "listening",
    "policy_page",
    "queue_contacts",
    "queue_summary",
    "social_queue",
    "waiting_chart",
]

_c = contacts.c
_ROW_COLS = (_c.id, _c.channel, _c.customer_id, _c.tier, _c.queue, _c.arrival, _c.sla_seconds, _c.sla_deadline,
             _c.state, _c.agent_id, _c.text, _c.decision, _c.reach)


def duration(seconds: float) -> str:
    """``1 h 05 m``, ``3 m 20 s`` or ``45 s``."""
    s = int(abs(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} m"
    if s >= 60:
        return f"{s // 60} m {s % 60:02d} s"
    return f"{s} s"


def clock_text(deadline: float, now: float) -> str:
    """What an SLA clock says: ``3 m 20 s left`` or ``breached 1 m 05 s ago`` (the page's script keeps it going)."""
    left = deadline - now
    return f"{duration(left)} left" if left > 0 else f"breached {duration(left)} ago"


def sla_status(arrival: float, sla_seconds: float, deadline: float, now: float, near_fraction: float) -> str:
    """``ok``, ``near`` or ``breached`` for a waiting contact, by the SLA clock's rule."""
    if now >= deadline:
        return "breached"
    return "near" if arrival + near_fraction * sla_seconds <= now else "ok"


def _risk(decision: dict[str, Any]) -> float | None:
    for r in decision.get("reasons", ()):
        if r.get("signal") == "risk" and isinstance(r.get("value"), int | float):
            return float(r["value"])
    return None


def _contact(row: Any, now: float, near_fraction: float, position: int | None = None) -> dict[str, Any]:
    decision = json.loads(row.decision)
    text = " ".join(str(row.text or "").split())
    return {
        "id": row.id, "short": row.id[:8], "channel": row.channel, "customer_id": row.customer_id,
        "tier": row.tier, "queue": row.queue, "state": row.state, "agent_id": row.agent_id,
        "waited": duration(now - row.arrival), "deadline": row.sla_deadline,
        "clock": clock_text(row.sla_deadline, now),
        "sla": sla_status(row.arrival, row.sla_seconds, row.sla_deadline, now, near_fraction),
        "snippet": text[:90] + ("\u2026" if len(text) > 90 else ""), "flags": list(decision.get("flags", ())),
        "risk": _risk(decision), "reach": row.reach, "position": position,
        "head_start_min": decision.get("head_start_min"),
    }


def queue_summary(conn: Connection, now: float, near_fraction: float) -> list[dict[str, Any]]:
    """Waiting contacts per queue, channel and tier: how many, the oldest wait, the nearest SLA deadline, and how
    many are near breach or breached."""
    breached = func.sum(case((_c.sla_deadline <= now, 1), else_=0))
    near = func.sum(case(((_c.arrival + near_fraction * _c.sla_seconds <= now) & (_c.sla_deadline > now), 1),
                         else_=0))
    rows = conn.execute(
        select(_c.queue, _c.channel, _c.tier, func.count(), func.min(_c.arrival), func.min(_c.sla_deadline), near,
               breached)
        .where(_c.state == "waiting").group_by(_c.queue, _c.channel, _c.tier)
        .order_by(_c.queue, _c.channel, _c.tier)
    ).all()
    return [{"queue": q, "channel": ch, "tier": t, "waiting": int(n), "oldest": duration(now - float(first)),
             "deadline": float(due), "clock": clock_text(float(due), now), "near": int(nr or 0),
             "breached": int(br or 0)} for q, ch, t, n, first, due, nr, br in rows]


def waiting_chart(queues: list[dict[str, Any]]) -> str:
    """Bars of the waiting contacts per queue and channel (the rows of :func:`queue_summary` summed over tiers)."""
    totals: dict[str, float] = {}
    for q in queues:
        label = f"{q['queue']} \u00b7 {q['channel']}"
        totals[label] = totals.get(label, 0.0) + q["waiting"]
    if not totals:
        return ""
    return charts.hbars("chart-waiting", "Contacts waiting per queue and channel", list(totals), list(totals.values()))


def agents_table(conn: Connection, now: float) -> list[dict[str, Any]]:
    """Each registered agent: skills, the contacts they hold, and how many they took in the last hour."""
    held = {a: (int(n), float(since)) for a, n, since in conn.execute(
        select(_c.agent_id, func.count(), func.min(_c.assigned_at)).where(_c.state == "assigned")
        .group_by(_c.agent_id)).all()}
    taken: dict[str, int] = dict(conn.execute(select(_c.agent_id, func.count()).where(_c.assigned_at >= now - 3600)
                              .group_by(_c.agent_id)).all())
    out = []
    for r in conn.execute(select(agents).order_by(agents.c.id)).all():
        n, since = held.get(r.id, (0, now))
        out.append({"id": r.id, "channels": r.channels.replace(",", ", "), "queues": r.queues.replace(",", ", "),
                    "capacity": r.capacity, "holding": n, "busy_for": duration(now - since) if n else "",
                    "last_hour": int(taken.get(r.id, 0))})
    return out


def breaches(conn: Connection, now: float, near_fraction: float, limit: int = 20) -> list[dict[str, Any]]:
    """Waiting contacts near or past their SLA deadline, the most overdue first."""
    rows = conn.execute(
        select(*_ROW_COLS).where(_c.state == "waiting", _c.arrival + near_fraction * _c.sla_seconds <= now)
        .order_by(_c.sla_deadline, _c.id).limit(limit)
    ).all()
    return [_contact(r, now, near_fraction) for r in rows]


def social_queue(conn: Connection, now: float, near_fraction: float, limit: int = 30) -> list[dict[str, Any]]:
    """Open contacts of the social-care queue (first) and other open social posts, each in its queue's order."""
    rows = conn.execute(
        select(*_ROW_COLS).where(_c.state.in_(("waiting", "assigned")),
                                 or_(_c.queue == "social-care", _c.channel == "social"))
        .order_by(case((_c.queue == "social-care", 0), else_=1), _c.rank, _c.virtual_arrival, _c.arrival, _c.id)
        .limit(limit)
    ).all()
    return [_contact(r, now, near_fraction) for r in rows]


def queue_contacts(conn: Connection, queue: str, now: float, near_fraction: float,
                   limit: int = 200) -> list[dict[str, Any]]:
    """The waiting contacts of ``queue`` in the order of their queue keys (place 1 is next by key)."""
    rows = conn.execute(
        select(*_ROW_COLS).where(_c.state == "waiting", _c.queue == queue)
        .order_by(_c.rank, _c.virtual_arrival, _c.arrival, _c.id).limit(limit)
    ).all()
    return [_contact(r, now, near_fraction, i) for i, r in enumerate(rows, start=1)]


def contact_page(conn: Connection, contact_id: str, now: float, near_fraction: float) -> dict[str, Any] | None:
    """One contact: its stored Decision with every reason, its place while it waits, and its audit lines."""
    row = contact_row(conn, contact_id)
    if row is None:
        return None
    position = position_of(conn, row) if row.state == "waiting" else None
    view = _contact(row, now, near_fraction, position)
    decision = json.loads(row.decision)
    g = decision.get("guarantee_seconds")
    view.update({
        "text": row.text, "source": row.source, "arrival": row.arrival, "decision": decision,
        "sla_seconds": row.sla_seconds, "guarantee": None if g is None else duration(float(g)),
        "signals_from_text": decision.get("signals_from_text", []),
        "audit": [_audit(a) for a in audit_lines(conn, contact_id=contact_id, limit=50)],
    })
    return view


def _audit(line: dict[str, Any]) -> dict[str, Any]:
    when = dt.datetime.fromtimestamp(float(line["at"]), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    detail = ", ".join(f"{k}: {v}" for k, v in line["detail"].items())
    return {**line, "when": when, "detail_text": detail}


def customer_page(conn: Connection, customer_id: str, policy: Any, now: float,
                  near_fraction: float) -> dict[str, Any] | None:
    """A customer's value, influence, tier and the plain-language explanation (the one their own link shows)."""
    customer = customer_of(conn, customer_id)
    if customer is None:
        return None
    answer = explain_customer(conn, customer, policy, now)
    rows = conn.execute(select(*_ROW_COLS).where(_c.customer_id == customer_id).order_by(_c.arrival.desc())
                        .limit(20)).all()
    guest = conn.execute(select(customers.c.guest).where(customers.c.customer_id == customer_id)).scalar_one()
    return {"customer": customer, "guest": bool(guest), "answer": answer, "facts": dict(customer.facts),
            "contacts": [_contact(r, now, near_fraction) for r in rows]}


def _bucket(span: float) -> float:
    for width in (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400):
        if span / width <= 12:
            return float(width)
    return 30 * 86400.0


def _label(t: float, width: float, multi_day: bool) -> str:
    d = dt.datetime.fromtimestamp(t, dt.UTC)
    if width >= 86400:
        return d.strftime("%d %b")
    return d.strftime("%d %b %H:%M" if multi_day else "%H:%M")


def listening(conn: Connection, triage: Any, limit: int = 2000, topics_shown: int = 5) -> dict[str, Any] | None:
    """Sentiment and topics over time, the topics table, the top risks and representative anecdotes of the latest
    ``limit`` stored contacts that carry text, read by ``triage`` (a :class:`fairserve.text.TextTriage`)."""
    from fairserve.text import representative_posts

    rows = conn.execute(
        select(_c.id, _c.arrival, _c.text, _c.channel, _c.customer_id, _c.tier, _c.decision, _c.reach)
        .where(func.length(_c.text) > 0).order_by(_c.arrival.desc()).limit(limit)
    ).all()
    if not rows:
        return None
    posts = pd.DataFrame([{"id": r.id, "arrival": float(r.arrival), "text": r.text, "channel": r.channel,
                           "customer_id": r.customer_id, "tier": r.tier,
                           "risk": _risk(json.loads(r.decision)) or 0.0} for r in rows])
    read = triage.classify(posts["text"].tolist())
    posts = pd.concat([posts, read[["sentiment", "sentiment_score", "complaint", "topic"]]], axis=1)
    start, end = float(posts["arrival"].min()), float(posts["arrival"].max())
    width = _bucket(end - start)
    first = math.floor(start / width) * width
    posts["bucket"] = ((posts["arrival"] - first) // width).astype(int)
    n = int(posts["bucket"].max()) + 1
    multi_day = end - start >= 86400 or dt.datetime.fromtimestamp(start, dt.UTC).date() != \
        dt.datetime.fromtimestamp(end, dt.UTC).date()
    labels = [_label(first + i * width, width, multi_day) for i in range(n)]
    sent = posts.groupby(["bucket", "sentiment"]).size().unstack(fill_value=0).reindex(range(n), fill_value=0)
    colours = {"negative": charts.OKABE_ITO["vermillion"], "neutral": "#999999",
               "positive": charts.OKABE_ITO["blue"]}
    sent_series = [(s, colours[s], [float(v) for v in sent[s]] if s in sent else [0.0] * n)
                   for s in ("negative", "neutral", "positive")]
    top = posts["topic"].value_counts().head(topics_shown).index.tolist()
    by_topic = posts.groupby(["bucket", "topic"]).size().unstack(fill_value=0).reindex(range(n), fill_value=0)
    topic_series = [(t, [float(v) for v in by_topic[t]]) for t in top]
    table = posts.groupby("topic").agg(posts=("text", "size"), negative=("sentiment", lambda s: (s == "negative")
                                       .mean()), complaints=("complaint", "sum"), mean=("sentiment_score", "mean"))
    table = table.sort_values("posts", ascending=False).reset_index()
    anecdotes = representative_posts(posts, per_topic=2).head(12)
    risks = posts.loc[posts["risk"] > 0].sort_values("risk", ascending=False).head(5)
    return {
        "posts": len(posts), "width": duration(width), "labels": labels,
        "start": dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "end": dt.datetime.fromtimestamp(end, dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "method": triage.method,
        "sentiment_chart": charts.stacked_bars("chart-sentiment", "Contacts by sentiment over time (UTC)", labels,
                                               sent_series),
        "sentiment_rows": [{"label": labels[i], **{s: int(v[i]) for s, _, v in sent_series}} for i in range(n)],
        "topics_chart": charts.line_chart("chart-topics", f"Contacts per topic over time (top {len(top)}, UTC)",
                                          labels, topic_series),
        "topic_names": top,
        "topic_rows": [{"label": labels[i], **{t: int(v[i]) for t, v in topic_series}} for i in range(n)],
        "topics": [{"topic": r["topic"], "posts": int(r["posts"]), "negative": float(r["negative"]),
                    "complaints": int(r["complaints"]), "mean": float(r["mean"])} for r in _records(table)],
        "anecdotes": [{"id": r["id"], "short": str(r["id"])[:8], "text": r["text"], "topic": r["topic"],
                       "sentiment": r["sentiment"], "share": float(r["cluster_share"]), "size": int(r["cluster_size"]),
                       "channel": r["channel"], "customer_id": r["customer_id"], "tier": r["tier"]}
                      for r in _records(anecdotes)],
        "risks": [{"id": r["id"], "short": str(r["id"])[:8], "text": r["text"], "risk": float(r["risk"]),
                   "channel": r["channel"], "customer_id": r["customer_id"]} for r in _records(risks)],
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _stored_customers(conn: Connection, limit: int = 100_000) -> pd.DataFrame:
    c = customers.c
    rows = conn.execute(select(c.customer_id, c.clv, c.profit, c.loyalty, c.status, c.account, c.influence,
                               c.followers, c.value_percentile).where(c.guest.is_(False)).limit(limit)).all()
    return pd.DataFrame([dict(r._mapping) for r in rows])


def candidate_policy(conn: Connection, ref: str) -> Any:
    """A candidate policy by stored hash or built-in name; raises :class:`LookupError` when it is neither."""
    from fairserve.policy import builtin_names, load_policy

    row = conn.execute(select(policies.c.body, policies.c.source).where(policies.c.hash == ref)).first()
    if row is not None:
        return compile_text(row.body, row.source)
    if ref in builtin_names():
        return load_policy(ref)
    raise LookupError(ref)


def policy_page(conn: Connection, active: Any, shadow: Any, candidate: str | None) -> dict[str, Any]:
    """The active policy, every stored one, the audit log, the shadow disagreements and a diff against a candidate."""
    from fairserve.errors import FairserveError
    from fairserve.policy import builtin_names
    from fairserve.policy.audit import diff_policies, prepare_scores

    stored = list_policies(conn)
    for p in stored:
        p["created"] = dt.datetime.fromtimestamp(float(p["created_at"]), dt.UTC).strftime("%Y-%m-%d %H:%M")
    options = [{"value": p["hash"], "label": f"{p['name']} {p['version']} ({p['hash'][:12]}, stored, {p['role']})"}
               for p in stored if p["role"] != "active"]
    options += [{"value": n, "label": f"{n} (built-in)"} for n in builtin_names()]
    if candidate is None:  # the shadow policy, else a stored one, else the first built-in sharing a tier name
        from fairserve.policy import load_policy

        stored_other = [p["hash"] for p in stored if p["role"] != "active"]
        shared = [n for n in builtin_names() if n != active.name
                  and set(load_policy(n).tier_names) & set(active.tier_names)]
        candidate = (shadow.content_hash if shadow is not None else stored_other[-1] if stored_other
                     else shared[0] if shared else None)
    diff: dict[str, Any] | None = None
    diff_error = None
    if candidate:
        try:
            other = candidate_policy(conn, candidate)
            frame = _stored_customers(conn)
            if frame.empty:
                diff_error = ("No scored customers are stored yet (POST /v1/customers/bulk), so there is no one to "
                              "compare.")
            else:
                report = diff_policies(prepare_scores(frame), active, other)
                cols = [str(x).removeprefix(f"{other.name}:") for x in report.matrix.columns]
                diff = {"a": report.a, "b": report.b, "customers": report.customers, "changed": report.changed,
                        "columns": cols,
                        "rows": [(str(i).removeprefix(f"{active.name}:"), [int(v) for v in row])
                                 for i, row in report.matrix.iterrows()]}
        except LookupError:
            diff_error = f"No stored policy has the hash {candidate!r} and no built-in policy has that name."
        except FairserveError as exc:
            diff_error = str(exc)
    disagreements = shadow_report(conn, shadow.content_hash, 5000) if shadow is not None else None
    return {"active": active, "shadow": shadow, "stored": stored, "options": options, "candidate": candidate,
            "diff": diff, "diff_error": diff_error, "shadow_report": disagreements,
            "audit": [_audit(a) for a in audit_lines(conn, limit=50)]}
