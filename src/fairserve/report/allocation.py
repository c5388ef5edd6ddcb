"""The allocation report: who receives a scarce good under each policy, by value and influence decile, offline.

One self-contained HTML page, written by ``fairserve policy allocate … --report OUT.html``: Plotly charts (the
JavaScript inlined once, as in the comparison report, :mod:`fairserve.report.html`) of who receives the good by
value decile and by influence decile under each policy, the comparison table with the value at risk, the
"what if that was you?" panel, the written statements of those who received it under the first policy, and the
policies' names, versions and hashes.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from fairserve.report.charts import colour
from fairserve.report.fmt import DEFAULT_CURRENCY, money
from fairserve.report.html import _STYLE, _figure, plotly_js

__all__ = ["decile_chart", "render_allocation_html"]


def decile_chart(summary: dict[str, Any], key: str, title: str) -> go.Figure:
    """Bars: how many receive the good in each decile (1 = lowest tenth, 10 = top), one colour per policy."""
    fig = go.Figure()
    deciles = [str(d) for d in range(1, 11)]
    for k, (name, row) in enumerate(summary["policies"].items()):
        counts = row.get(key, {})
        fig.add_bar(name=name, x=deciles, y=[counts.get(d, 0) for d in deciles], marker_color=colour(k))
    fig.update_layout(title=title, template="plotly_white", barmode="group", height=360,
                      xaxis_title="decile (10 = top)", yaxis_title="claimants who receive it",
                      legend={"orientation": "h", "y": -0.25}, margin={"l": 60, "r": 20, "t": 60, "b": 60})
    return fig


def render_allocation_html(
    summary: dict[str, Any], results: list[Any], *, currency: str = DEFAULT_CURRENCY, show: int = 20
) -> str:
    """The page for ``results`` (one :class:`~fairserve.policy.allocation.AllocationResult` per policy, same
    claimants) and their ``summary`` (:func:`fairserve.policy.allocation_report.compare`)."""
    first = results[0]
    e = html.escape
    rows = []
    for name, r in summary["policies"].items():
        risk = "–" if r["value_at_risk"] is None else money(r["value_at_risk"], currency)
        rows.append(f"<tr><td>{e(name)} {e(r['version'])} <code>{e(r['hash'][:12])}</code></td>"
                    f"<td>{r['receives']:,}</td><td>{r['owed_to_influence']:,}</td><td>{risk}</td></tr>")
    table = ("<table><tr><th>policy</th><th>receive</th><th>owed to follower reach</th>"
             f"<th>value at risk (CLV x {summary['churn_response']:g})</th></tr>{''.join(rows)}</table>")
    you = ""
    if "customer" in summary:
        c = summary["customer"]
        items = "".join(
            f"<li><b>{e(n)}</b>: rank {r['rank']} of {r['of']}, {'receives' if r['receives'] else 'does not receive'}"
            f" — {e(r['reasons'][-1])}</li>"
            for n, r in c["policies"].items()
        )
        you = f"<h2>What if that was you? Claimant {e(c['claimant_id'])}</h2><ul>{items}</ul>"
    got = first.table[first.table["receives"]].head(show)
    statements = "".join(
        f"<details><summary>{e(str(r['claimant_id']))}: rank {r['rank']}, {r['points']:,.1f} points</summary>"
        f"<pre>{e(r['statement'])}</pre></details>"
        for _, r in got.iterrows()
    )
    notes = "".join(f"<p class='note'>{e(n)}</p>" for n in first.notes)
    good = e(first.good)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allocation: {good}</title>
<style>{_STYLE}</style><script>{plotly_js()}</script></head><body>
<h1>Who receives: {good}</h1>
<p>{first.given:,} of {len(first.table):,} claimants receive it under each policy
({'the best-ranked' if first.direction == 'highest' else 'the worst-ranked'}); reach counts only within each
policy's cap.</p>{notes}
{table}
{_figure(decile_chart(summary, "by_value_decile", f"Who receives {first.good}, by value decile"), "alloc-value")}
{_figure(decile_chart(summary, "by_influence_decile", f"Who receives {first.good}, by influence decile"),
         "alloc-influence")}
{you}
<h2>Written statements under {e(first.policy[0])} (first {len(got):,})</h2>{statements}
</body></html>
"""
