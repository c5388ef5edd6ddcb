"""A self-contained HTML report of a policy comparison: tables, inline SVG charts, definitions; no external assets."""

from __future__ import annotations

import html
import math
from typing import Any

from fairserve.report.charts import abandonment_chart, displacement_chart, wait_chart

__all__ = ["render_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
.ci{color:#777;font-size:.85em}
figure{margin:1em 0}
code{background:#f4f4f4;padding:0 .2em}
"""

_COLUMNS = [
    ("mean_wait", "mean wait", True),
    ("p95_wait", "p95 wait", False),
    ("p_wait", "P(wait>0)", True),
    ("sla", "SLA met", True),
    ("promise_kept", "promise kept", True),
    ("abandon_rate", "abandoned", True),
    ("overtaken", "overtaken / contact", True),
    ("overtaken_by_influence", "by influence", True),
    ("revenue_at_risk", "revenue at risk", True),
    ("reputational_exposure", "exposure", True),
]


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:,.4g}" if abs(x) < 1e5 else f"{x:,.0f}"


def _cell(row: dict[str, Any], key: str, ci: bool) -> str:
    text = _num(row.get(key))
    if ci and f"{key}_ci95" in row:
        lo, hi = row[f"{key}_ci95"]
        if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
            text += f' <span class="ci">[{_num(lo)}, {_num(hi)}]</span>'
    return f"<td>{text}</td>"


def _table(rows: dict[str, dict[str, Any]], first: str = "group") -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in _COLUMNS)
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>" + "".join(_cell(row, k, ci) for k, _, ci in _COLUMNS) + "</tr>"
        for name, row in rows.items()
    )
    return f"<table><tr><th>{first}</th>{head}</tr>{body}</table>"


def render_html(result: dict[str, Any], title: str | None = None) -> str:
    """The report of a :func:`fairserve.sim.compare_policies` result, as one HTML document."""
    title = title or f"fairserve: policy comparison on {result.get('scenario', 'scenario')}"
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>{result['replications']} independent replications (root seed {result['seed']}); every policy was run "
        "on the same simulated contacts (common random numbers). Intervals are 95% Student-t intervals over "
        f"replications. Waits in {html.escape(result['time_unit'])}s.</p>",
        "<p>SLA measured against the scenario's targets: "
        f"{html.escape(result['targets_text'])}; the same for every policy.</p>",
        "<h2>Policies at a glance</h2>"
        + _table({k: v["all"]["all"] for k, v in result["policies"].items() if v.get("all")}, "policy"),
        "<h2>Who waits</h2><figure>" + wait_chart(result) + "</figure>",
        "<h2>Who gives up</h2><figure>" + abandonment_chart(result) + "</figure>",
        "<h2>Who is bumped</h2><figure>" + displacement_chart(result) + "</figure>",
    ]
    for label, entry in result["policies"].items():
        pol = entry.get("policy", {})
        meta = ", ".join(f"{k} <code>{html.escape(str(v))[:16]}</code>" for k, v in pol.items())
        parts.append(
            f"<h2>Policy {html.escape(label)}</h2><p>{meta}; {entry['arrivals']:,} measured arrivals, "
            f"simulated in {entry['elapsed_s']:.2f} s.</p><h3>By segment</h3>" + _table(entry["segments"])
        )
        for section, name in (
            ("tiers", "By tier"),
            ("channels", "By channel"),
            ("value_deciles", "By value decile"),
            ("influence_deciles", "By influence decile"),
        ):
            if entry.get(section):
                parts.append(f"<h3>{name}</h3>" + _table(entry[section]))
    parts.append(
        "<h2>Definitions</h2><ul>"
        "<li><b>mean wait</b>: time in queue over all arrivals (0 if answered at once; until abandoning if they "
        "gave up).</li><li><b>SLA met</b>: share answered within the scenario's target for their channel (the same "
        "for every policy); abandoned contacts miss it.</li>"
        "<li><b>promise kept</b>: share answered within the policy's own promise to them.</li>"
        "<li><b>overtaken</b>: later arrivals served while the contact waited; <b>by influence</b>: those that "
        "passed it only thanks to their influence minutes.</li>"
        "<li><b>revenue at risk</b>: expected CLV lost to churn per replication, under the scenario's churn "
        "response (see docs/scenario.md; the defaults are assumptions to calibrate), lateness measured against "
        "the scenario's target.</li>"
        "<li><b>exposure</b>: reach × negativity of public contacts (social, or a segment that says public) left "
        "unresolved past the scenario's target.</li></ul>"
        "</body></html>"
    )
    return "\n".join(parts)
