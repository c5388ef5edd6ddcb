"""The policy comparison report: one self-contained HTML page with interactive Plotly charts, offline.

Plotly's JavaScript ships in its wheel and is inlined once in the page's head; each chart is a ``div`` with
its data and a call to ``Plotly.newPlot``. Nothing is fetched: no CDN, no fonts, no images. The page opens with
the verdict (:mod:`fairserve.report.verdict`), computed from the same numbers as the charts.
"""

from __future__ import annotations

import html
import math
from functools import cache
from typing import Any

import plotly.io as pio

from fairserve.report import charts
from fairserve.report.fmt import DEFAULT_CURRENCY, interval, money, num, ordered, pct
from fairserve.report.verdict import verdict

__all__ = ["plotly_js", "render_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}
#verdict{font-size:1.08em;background:#f3f7fb;border-left:4px solid #0072B2;padding:.8em 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.88em}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.text{text-align:left}
.ci{color:#666;font-size:.85em}
code{background:#f4f4f4;padding:0 .2em}
.chart{min-height:380px}
.panels{display:flex;flex-wrap:wrap;gap:1.5em}.panel{flex:1 1 520px;min-width:0}
.wide{overflow-x:auto;max-width:100%;margin:.5em 0 1.5em}.wide table{margin:0}
.wide tr>:first-child{position:sticky;left:0;background:#fff;white-space:nowrap}
.wide .wrap{white-space:normal;min-width:9em}
td code{word-break:break-all}
@media (max-width:1000px){body{margin:1em auto}.ci{display:block}th,td{padding:.25em .4em}}
.note{color:#555;font-size:.9em}
details{margin:.5em 0}
"""

_CONFIG = {"displaylogo": False, "responsive": True}


@cache
def plotly_js() -> str:
    """Plotly's JavaScript bundle from the installed wheel (read once per process)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _wide(table: str) -> str:
    """A table in its own box, which scrolls sideways (first column held in view) when the window is narrower."""
    return f"<div class=wide>{table}</div>"


def _figure(fig: Any, div_id: str) -> str:
    """A chart as a ``div`` and its ``Plotly.newPlot`` call (no script tag of Plotly itself)."""
    body = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG)
    return f'<div class="chart" data-chart="{div_id}">{body}</div>'


# the columns of the tables: key, heading, kind (wait, share, count, money, exposure)
_COLUMNS = [
    ("mean_wait", "mean wait", "wait"),
    ("p95_wait", "p95 wait", "wait"),
    ("p_wait", "P(wait>0)", "share"),
    ("sla", "within target", "share"),
    ("promise_kept", "promise kept", "share"),
    ("abandon_rate", "abandoned", "share"),
    ("overtaken", "overtaken / contact", "count"),
    ("overtaken_by_influence", "by influence", "count"),
    ("revenue_at_risk", "revenue at risk", "money"),
    ("reputational_exposure", "exposure", "count"),
]


def _cell(row: dict[str, Any], key: str, kind: str, currency: str) -> str:
    value = row.get(key)
    lo, hi = row.get(f"{key}_ci95", [None, None])
    if kind == "share":
        text, ci = pct(value), interval(lo, hi, pct, upper=1.0)
    elif kind == "money":

        def fmt(x: Any) -> str:
            return money(x, currency)

        text, ci = fmt(value), interval(lo, hi, fmt)
    else:
        text, ci = num(value), interval(lo, hi)
    return f'<td>{text}{f" <span class=ci>{ci}</span>" if ci else ""}</td>'


def _table(rows: dict[str, dict[str, Any]], first: str, currency: str) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in _COLUMNS)
    body = "".join(
        f"<tr><td>{html.escape(str(name))}</td>"
        + "".join(_cell(row, k, kind, currency) for k, _, kind in _COLUMNS)
        + "</tr>"
        for name, row in rows.items()
    )
    return _wide(f"<table><tr><th>{html.escape(first)}</th>{head}</tr>{body}</table>")


def _whatif_panel(role: str, res: dict[str, Any], currency: str) -> str:
    c = res["customer"]
    unit = res["time_unit"]
    who = {
        "loyal": "the highest-value customer with no followers",
        "influencer": "the most-followed customer with below-median value",
    }.get(role, role)
    followers = c.get("followers")
    facts = [f"CLV {money(c.get('clv'), currency)}"]
    if followers is not None and isinstance(followers, int | float) and math.isfinite(followers):
        facts.append(f"{int(followers):,} followers")
    rows = []
    for label, r in res["policies"].items():
        lo, hi = r.get("mean_wait_ci95", [None, None])
        reasons = "; ".join(r.get("reasons", [])) or "–"
        by = [o for o in r.get("overtakers", [])]
        passed = "".join(
            f"<li>a {html.escape(str(o.get('channel', '')))} contact in tier {html.escape(str(o['tier']))}, "
            f"{num(o['arrived_after'])} {unit}s later{' (by influence)' if o['by_influence'] else ''}</li>"
            for o in by
        )
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td class=text>{html.escape(str(r['tier']))}</td>"
            f"<td>{num(r['mean_wait'])} <span class=ci>{interval(lo, hi)}</span></td>"
            f"<td>{pct(r['p_sla'])}</td><td>{pct(r['p_abandon'])}</td>"
            f"<td>{num(r['overtaken'])} ({num(r['overtaken_by_influence'])})</td>"
            f"<td class=text>{html.escape(reasons)}{f'<ul>{passed}</ul>' if passed else ''}</td></tr>"
        )
    return (
        f"<div class=panel><h3>Customer {html.escape(str(c['customer_id']))}: {html.escape(who)}</h3>"
        f"<p>{', '.join(facts)}; a {html.escape(str(res['segment']))} contact, {res['replications']} simulated "
        f"weeks; target: answered within {num(res['target'])} {unit}s under every policy.</p>"
        + _wide(
            f"<table><tr><th>policy</th><th>tier</th><th>mean wait ({unit}s)</th><th>within target</th>"
            f"<th>abandons</th><th>overtaken (by influence)</th><th>why, and who passed them</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        + "</div>"
    )


def _causes_table(causes: dict[str, Any], labels: dict[str, str]) -> str:
    head = "".join(f"<th>{html.escape(w)}</th>" for w in labels.values())
    rows = ""
    for policy, entry in causes.items():
        totals = entry.get("totals", {})
        n = sum(totals.values())
        cells = "".join(f"<td>{pct(totals.get(c, 0) / n) if n else '–'}</td>" for c in labels)
        rows += f"<tr><td>{html.escape(policy)}</td><td>{n:,}</td>{cells}</tr>"
    return (
        _wide(f"<table><tr><th>policy</th><th>overtakes in the run</th>{head}</tr>{rows}</table>")
        + "<p class=note>Every overtake of the comparison's first replication, run again on the same contacts, "
        "by what put the later contact first, checked in this order: a wait guarantee that ran out; a higher tier "
        "in strict order; influence minutes without which it would have come after; another tier's head start "
        "(a tier rests on what the policy's tiers rest on: value, loyalty or reach); else the same tier and due "
        "sooner (need signals, or its channel's target). The counts per contact add up to the simulator's, and "
        "those by influence to its count by influence.</p>"
    )


def _staffing_html(table: dict[str, Any], policies: list[str], unit: str) -> str:
    channels = list(table["channels"])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in channels)

    def row(name: str, values: list[Any]) -> str:
        cells = "".join(f"<td>{v if v is not None else '–'}</td>" for v in values)
        return f"<tr><td class=wrap>{html.escape(name)}</td>{cells}</tr>"

    ch = table["channels"]
    rows = [
        row("load (agents' worth of work)", [num(ch[c]["arrival_rate"] * ch[c]["handle_mean"]) for c in channels]),
        row("agents in the scenario (the channel's pool)", [table["staffed"].get(c) for c in channels]),
        row("any order (Erlang A, with patience)", [ch[c]["any_order"] for c in channels]),
        *(
            row(f"{p}: every tier in strict order", [table["policies"].get(p, {}).get(c) for c in channels])
            for p in policies
        ),
    ]
    return (
        _wide(f"<table><tr><th class=wrap>agents needed for the target</th>{head}</tr>{''.join(rows)}</table>")
        + "<p class=note>Each channel staffed on its own, its arrival rate as measured (call-backs included). "
        "<b>Any order</b>: Erlang A, the agents for which the channel as a whole meets its target share; the order "
        "of the queue does not change this average. <b>Every tier</b>: the agents for which each of the policy's "
        "tiers meets the target if tiers were served in strict order (Cobham's priority waits, patience left out), "
        "the most a policy can favour its top tier; FIFO's is plain Erlang C. See fairserve.report.staffing.</p>"
    )


def render_html(
    result: dict[str, Any],
    title: str | None = None,
    *,
    currency: str = DEFAULT_CURRENCY,
    staffing: dict[str, Any] | None = None,
    whatifs: dict[str, dict[str, Any]] | None = None,
    policy_files: dict[str, str] | None = None,
    command: str | None = None,
    warnings: list[str] | None = None,
    distribution: dict[str, Any] | None = None,
    causes: dict[str, Any] | None = None,
) -> str:
    """The report of a :func:`fairserve.sim.compare_policies` result, as one self-contained HTML document.

    Parameters
    ----------
    result:
        The comparison.
    currency:
        Put before (a symbol) or after (letters) every amount of money.
    staffing:
        :func:`fairserve.report.staffing.staffing_table` of the scenario, when known.
    whatifs:
        ``{role: fairserve.sim.whatif(...)}`` for the customers to follow ("what if that was you?").
    policy_files:
        Where each policy came from (a built-in name or a path), by label.
    command:
        The command that reruns this comparison.
    warnings:
        Shown before the verdict (for example an overloaded pool).
    distribution:
        :func:`fairserve.report.distribution.wait_quantiles` of one replication, drawn as boxes per decile.
    causes:
        :func:`fairserve.report.distribution.overtake_causes` of the same replication.
    """
    title = title or f"fairserve: policy comparison on {result.get('scenario', 'scenario')}"
    labels = list(result["policies"])
    said = verdict(result, currency)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f'<script type="text/javascript">{plotly_js()}</script></head><body>',
        f"<h1>{html.escape(title)}</h1>",
        *(f"<p class=note><b>Warning:</b> {html.escape(w)}</p>" for w in warnings or []),
        f"<p id=verdict>{html.escape(said['text'])}</p>",
        "<h2>Policies at a glance</h2>"
        + _table({k: v["all"]["all"] for k, v in result["policies"].items() if v.get("all")}, "policy", currency)
        + f"<p class=note>Means over {result['replications']} replications, 95% intervals in brackets (cut to what "
        f"the quantity can be); waits in {html.escape(result['time_unit'])}s. Within target: answered within the "
        f"scenario's target for the channel ({html.escape(result['targets_text'])}), the same for every policy; "
        "promise kept: within the policy's own promise.</p>",
        "<h2>Who waits</h2>",
    ]
    has_value = any(e.get("value_deciles") for e in result["policies"].values())
    has_influence = any(e.get("influence_deciles") for e in result["policies"].values())
    unit = result["time_unit"]
    for kind, key, shown in (("value_deciles", "value", has_value), ("influence_deciles", "influence", has_influence)):
        if not shown:
            continue
        parts.append(_figure(charts.decile_wait_chart(result, kind), f"wait-{key}"))
        if distribution and any(kind in d for d in distribution.values()):
            parts.append(_figure(charts.distribution_chart(distribution, kind, unit), f"spread-{key}"))
    if not (has_value or has_influence):
        parts.append("<p class=note>No customer base was given, so there are no value or influence deciles.</p>")
    parts += [
        "<h2>Service level and abandonment</h2>",
        _figure(charts.service_chart(result), "service"),
        "<h2>Who is bumped</h2>",
        _figure(charts.displacement_chart(result), "displacement"),
        "<p class=note>A contact is overtaken when a later arrival is served while it waits. The share owed to "
        "influence alone is the overtakes that would not have happened without the overtaker's influence minutes; "
        "the rest come from the policy's value and need rules and its channel targets.</p>",
    ]
    if causes and any(sum(e.get("totals", {}).values()) > 0 for e in causes.values()):
        from fairserve.report.distribution import CAUSES

        parts += [
            _figure(charts.cause_chart(causes, CAUSES), "causes"),
            _causes_table(causes, CAUSES),
        ]
    parts += [
        "<h2>What each policy costs</h2>",
        _figure(charts.cost_chart(result, currency), "cost"),
    ]
    if staffing is not None:
        parts += [
            "<h2>Staffing for the targets</h2>",
            _figure(charts.staffing_chart(staffing, labels), "staffing"),
            _staffing_html(staffing, labels, result["time_unit"]),
        ]
    if whatifs:
        parts.append("<h2>What if that was you?</h2><div class=panels>")
        parts += [_whatif_panel(role, res, currency) for role, res in whatifs.items()]
        parts.append("</div>")
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td class=text>{html.escape(str(e.get('policy', {}).get('name', '')))}"
        f"</td><td class=text>{html.escape(str(e.get('policy', {}).get('version', '')))}</td>"
        f"<td class=text>{html.escape((policy_files or {}).get(label, label))}</td>"
        f"<td class=text><code>{html.escape(str(e.get('policy', {}).get('content_hash', '–')))}</code></td></tr>"
        for label, e in result["policies"].items()
    )
    parts += [
        "<h2>Policies, scenario and seed</h2>",
        _wide(
            "<table><tr><th>policy</th><th>name</th><th>version</th><th>file</th><th>content hash (sha256)</th></tr>"
            f"{rows}</table>"
        ),
        f"<p>Scenario <code>{html.escape(str(result['scenario']))}</code>, root seed <code>{result['seed']}</code>, "
        f"{result['replications']} replications; every policy ran on the same simulated contacts (common random "
        "numbers)."
        + (f" Rerun with <code>{html.escape(command)}</code>." if command else "")
        + "</p>",
        "<h2>Details by segment, tier, channel and decile</h2>",
    ]
    for label, entry in result["policies"].items():
        body = ""
        for section, name in (
            ("segments", "segment"),
            ("tiers", "tier"),
            ("channels", "channel"),
            ("value_deciles", "value decile"),
            ("influence_deciles", "influence decile"),
        ):
            rows_of = entry.get(section) or {}
            if section.endswith("deciles"):
                rows_of = {k: rows_of[k] for k in ordered(rows_of)}
            if rows_of:
                body += f"<h4>By {name}</h4>" + _table(rows_of, name, currency)
        parts.append(
            f"<details><summary>{html.escape(label)}: {entry['arrivals']:,} measured arrivals</summary>{body}</details>"
        )
    parts.append(
        "<h2>Definitions</h2><ul>"
        "<li><b>mean wait</b>: time in queue over all arrivals (0 if answered at once; until abandoning if they "
        "gave up).</li><li><b>within target</b>: share answered within the scenario's target for their channel "
        "(the same for every policy); abandoned contacts miss it.</li>"
        "<li><b>promise kept</b>: share answered within the policy's own promise to them.</li>"
        "<li><b>overtaken</b>: later arrivals served while the contact waited; <b>by influence</b>: those that "
        "passed it only thanks to their influence minutes.</li>"
        "<li><b>revenue at risk</b>: expected CLV lost to churn per simulated run, under the scenario's churn "
        "response (docs/scenario.md; the defaults are assumptions to calibrate), lateness measured against the "
        "scenario's target.</li>"
        "<li><b>exposure</b>: reach × negativity of public contacts (social, or a segment that says public) left "
        "unresolved past the scenario's target.</li></ul></body></html>"
    )
    return "\n".join(parts)
