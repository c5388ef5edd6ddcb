"""Prometheus metrics, read from the database at scrape time so that every worker reports the same numbers.

Written in the text exposition format (version 0.0.4) by hand (gauges, a summary of recent waits and two
counters), no client library.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from fairserve.service.store import contacts

__all__ = ["exposition"]

_RECENT = 900.0


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def exposition(conn: Connection, now: float) -> str:
    """The metrics as text: queue lengths and oldest waits per queue and channel, SLA states, decisions per policy."""
    c = contacts.c
    lines = [
        "# HELP fairserve_queue_length Contacts waiting, per queue and channel.",
        "# TYPE fairserve_queue_length gauge",
    ]
    waiting = conn.execute(
        select(c.queue, c.channel, func.count(), func.min(c.arrival)).where(c.state == "waiting")
        .group_by(c.queue, c.channel)
    ).all()
    for q, ch, n, _ in waiting:
        lines.append(f'fairserve_queue_length{{queue="{_label(q)}",channel="{_label(ch)}"}} {int(n)}')
    lines += ["# HELP fairserve_oldest_wait_seconds The longest current wait, per queue and channel.",
              "# TYPE fairserve_oldest_wait_seconds gauge"]
    for q, ch, _, oldest in waiting:
        lines.append(f'fairserve_oldest_wait_seconds{{queue="{_label(q)}",channel="{_label(ch)}"}} '
                     f"{max(0.0, now - float(oldest)):.3f}")
    lines += ["# HELP fairserve_recent_wait_seconds Waits of the contacts handed out in the last 15 minutes, per "
              "queue and channel (sum and count; their ratio is the mean wait).",
              "# TYPE fairserve_recent_wait_seconds summary"]
    for q, ch, total, n in conn.execute(
        select(c.queue, c.channel, func.sum(c.assigned_at - c.arrival), func.count())
        .where(c.assigned_at >= now - _RECENT).group_by(c.queue, c.channel)
    ):
        labels = f'queue="{_label(q)}",channel="{_label(ch)}"'
        lines.append(f"fairserve_recent_wait_seconds_sum{{{labels}}} {float(total or 0.0):.3f}")
        lines.append(f"fairserve_recent_wait_seconds_count{{{labels}}} {int(n)}")
    lines += ["# HELP fairserve_contacts Contacts by state.", "# TYPE fairserve_contacts gauge"]
    for state, n in conn.execute(select(c.state, func.count()).group_by(c.state)).all():
        lines.append(f'fairserve_contacts{{state="{_label(state)}"}} {int(n)}')
    lines += ["# HELP fairserve_sla_events_total Contacts that reached near-breach or breach of their SLA.",
              "# TYPE fairserve_sla_events_total counter"]
    for sla, n in conn.execute(select(c.sla_state, func.count()).where(c.sla_state != "ok").group_by(c.sla_state)):
        lines.append(f'fairserve_sla_events_total{{state="{_label(sla)}"}} {int(n)}')
    lines += ["# HELP fairserve_decisions_total Contacts decided, per policy name, version and hash.",
              "# TYPE fairserve_decisions_total counter"]
    for name, version, h, n in conn.execute(
        select(c.policy_name, c.policy_version, c.policy_hash, func.count())
        .group_by(c.policy_name, c.policy_version, c.policy_hash)
    ):
        lines.append(f'fairserve_decisions_total{{policy="{_label(name)}",version="{_label(version)}",'
                     f'hash="{_label(h[:12])}"}} {int(n)}')
    return "\n".join(lines) + "\n"
