"""Interactive Plotly charts of a policy comparison (figures only; :mod:`fairserve.report.html` places them).

Every chart has one colour per policy, the same in every chart, from the Okabe-Ito palette (safe for the
common colour-blindnesses). Deciles run D1..D10 left to right; intervals are the 95% intervals over
replications, cut to what the quantity can be (a wait is never negative, a share never above 1).
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fairserve.report.fmt import DEFAULT_CURRENCY, clip_interval, ordered

__all__ = [
    "COLOURS",
    "cause_chart",
    "cost_chart",
    "decile_wait_chart",
    "displacement_chart",
    "distribution_chart",
    "service_chart",
    "staffing_chart",
]

COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "height": 380,
    "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
    "barmode": "group",
    "legend": {"orientation": "h", "y": -0.18},
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "separators": ".,",
}


_ROOM = 330  # px a line of a title may take: a 390 px phone's chart (358 px) less the title's inset
_PLOT_ROOM = 260  # px a row of subplot titles may take on a phone's chart (its plot area is 278 px, less gaps)


def _lines(text: str, size: int) -> str:
    """``text`` broken (``<br>``) into lines that fit :data:`_ROOM` at font ``size`` (its own ``<br>`` kept).

    Plotly draws a title on one line however narrow the chart; a character of system-ui is about half the font
    size wide (0.51 measured on this page's titles), so a line gets ``_ROOM / (0.51 * size)`` characters.
    """
    chars = int(_ROOM / (0.51 * size))
    return "<br>".join(
        "<br>".join(textwrap.wrap(part, chars, break_long_words=False, break_on_hyphens=False)) or part
        for part in text.split("<br>")
    )


def _title(fig: go.Figure, text: str, size: int = 15) -> None:
    """Give ``fig`` its title and wrap it and its subplot titles to a phone's width, the top margin to hold them.

    A subplot's title (13 px) gets the room of its column on a phone, so that titles side by side never run
    into each other. The main title is placed at the top (container coordinates), the subplot titles under it,
    above the plot area, which keeps its height.
    """
    title = _lines(text, size)
    notes = fig.layout.annotations  # make_subplots' titles are the only annotations of these charts
    columns = max((sum(1 for b in notes if b.y == a.y) for a in notes), default=1)
    chars = int(_PLOT_ROOM / columns / (0.51 * 13))
    subtitles = 0
    for note in notes:
        note.text = "<br>".join(textwrap.wrap(note.text, chars, break_long_words=False, break_on_hyphens=False))
        note.font.size = 13
        subtitles = max(subtitles, note.text.count("<br>") + 1)
    lines = title.count("<br>") + 1
    top = 12 + round(1.3 * size) * lines + (17 * subtitles + 12 if subtitles else 6)
    height = fig.layout.height + top - _LAYOUT["margin"]["t"]
    # Plotly anchors a title of several lines a line higher than one of one line (measured in Chromium: its
    # first line's top 10-11 px above where it would be); start it that much lower, 10 px below the chart's top
    drop = 10 + (round(0.75 * size) if lines > 1 else 0)
    fig.update_layout(
        height=height,
        title={"text": title, "font": {"size": size}, "y": 1 - drop / height, "yref": "container", "yanchor": "top"},
        margin={**_LAYOUT["margin"], "t": top},
    )


def colour(k: int) -> str:
    """The colour of the ``k``-th policy."""
    return COLOURS[k % len(COLOURS)]


def _values(rows: dict[str, Any], names: list[str], metric: str, upper: float | None) -> dict[str, list[float]]:
    """Means and error-bar lengths of ``metric`` for groups ``names`` (intervals cut to ``[0, upper]``)."""
    y, plus, minus = [], [], []
    for name in names:
        row = rows.get(name, {})
        v = row.get(metric, math.nan)
        v = math.nan if v is None else float(v)
        ci = row.get(f"{metric}_ci95", [math.nan, math.nan])
        lo, hi = clip_interval(ci[0], ci[1], 0.0, upper)
        y.append(v)
        plus.append(max(hi - v, 0.0) if math.isfinite(hi) and math.isfinite(v) else 0.0)
        minus.append(max(v - lo, 0.0) if math.isfinite(lo) and math.isfinite(v) else 0.0)
    return {"y": y, "plus": plus, "minus": minus}


def _bars(
    fig: go.Figure,
    result: dict[str, Any],
    section: str,
    metric: str,
    *,
    col: int = 1,
    row: int = 1,
    names: list[str] | None = None,
    upper: float | None = None,
    hover: str = "%{y:,.3g}",
    legend: bool = True,
) -> None:
    """One bar per policy for each group of ``section`` (x), with its interval as an error bar.

    Tiers differ from policy to policy, so ``tiers`` are drawn each policy on its own stretch of the axis (its
    tiers in its own order) instead of one slot per tier name with gaps for the policies that lack it.
    """
    if section == "tiers" and names is None:
        for k, (label, entry) in enumerate(result["policies"].items()):
            tiers = list(entry.get(section, {}))
            v = _values(entry.get(section, {}), tiers, metric, upper)
            fig.add_trace(
                go.Bar(
                    x=[[label] * len(tiers), tiers],
                    y=v["y"],
                    name=label,
                    legendgroup=label,
                    showlegend=legend,
                    marker_color=colour(k),
                    error_y={"type": "data", "array": v["plus"], "arrayminus": v["minus"], "thickness": 1},
                    hovertemplate=f"{label}, tier %{{x}}: {hover}<extra></extra>",
                ),
                row=row,
                col=col,
            )
        return
    if names is None:
        names = []
        for entry in result["policies"].values():
            names += [n for n in entry.get(section, {}) if n not in names]
        if section.endswith("deciles"):
            names = ordered(names)
    for k, (label, entry) in enumerate(result["policies"].items()):
        v = _values(entry.get(section, {}), names, metric, upper)
        fig.add_trace(
            go.Bar(
                x=names,
                y=v["y"],
                name=label,
                legendgroup=label,
                showlegend=legend,
                marker_color=colour(k),
                error_y={"type": "data", "array": v["plus"], "arrayminus": v["minus"], "thickness": 1, "width": 3},
                hovertemplate=f"{label}<br>%{{x}}: {hover}<extra></extra>",
            ),
            row=row,
            col=col,
        )


def decile_wait_chart(result: dict[str, Any], section: str = "value_deciles") -> go.Figure:
    """Waits per decile (``value_deciles`` or ``influence_deciles``), per policy: mean, 90th and 95th percentile.

    The simulator gives each decile's mean wait and its 90th and 95th percentiles (over all arrivals, zero for
    those answered at once); the three side by side show where the distribution's bulk and its tail lie.
    """
    what = "value" if section.startswith("value") else "influence"
    unit = result["time_unit"]
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=("mean wait", "90th percentile", "95th percentile"), horizontal_spacing=0.06
    )
    for col, metric in enumerate(("mean_wait", "p90_wait", "p95_wait"), start=1):
        _bars(fig, result, section, metric, col=col, legend=col == 1, hover=f"%{{y:,.3g}} {unit}s")
    fig.update_layout(**_LAYOUT)
    _title(fig, f"Wait by {what} decile<br>(D1 lowest, D10 highest; {unit}s)")
    fig.update_yaxes(rangemode="tozero", tickformat=",")
    fig.update_yaxes(title_text=f"{unit}s", row=1, col=1)
    return fig


def distribution_chart(quantiles: dict[str, Any], section: str, unit: str) -> go.Figure:
    """Box per decile and policy from precomputed quantiles (:func:`fairserve.report.distribution.wait_quantiles`).

    The box spans the quartiles with the median inside and the mean as a dashed line; the whiskers reach the
    5th and 95th percentiles.
    """
    what = "value" if section.startswith("value") else "influence"
    fig = go.Figure()
    for k, (label, kinds) in enumerate(quantiles.items()):
        groups = kinds.get(section, {})
        names = ordered(groups)
        if not names:
            continue
        q = {key: [groups[n][key] for n in names] for key in ("p05", "q1", "median", "q3", "p95", "mean")}
        fig.add_trace(
            go.Box(
                x=names,
                q1=q["q1"],
                median=q["median"],
                q3=q["q3"],
                lowerfence=q["p05"],
                upperfence=q["p95"],
                mean=q["mean"],
                name=label,
                marker_color=colour(k),
                boxpoints=False,
                hoverinfo="x+y+name",
            )
        )
    fig.update_layout(**{**_LAYOUT, "barmode": None}, boxmode="group")
    _title(
        fig,
        f"Waits by {what} decile, one simulated run<br>box: quartiles and median (dashed: mean);<br>"
        "whiskers: 5th to 95th percentile",
        14,
    )
    fig.update_yaxes(title_text=f"{unit}s", rangemode="tozero", tickformat=",")
    return fig


def service_chart(result: dict[str, Any]) -> go.Figure:
    """Service level against the scenario's targets and abandonment, per channel and per tier, per policy."""
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=(
            "within target, by channel",
            "within target, by tier",
            "abandoned, by channel",
            "abandoned, by tier",
        ),
        vertical_spacing=0.26,
        horizontal_spacing=0.08,
    )
    pct = "%{y:.1%}"
    _bars(fig, result, "channels", "sla", row=1, col=1, upper=1.0, hover=pct)
    _bars(fig, result, "tiers", "sla", row=1, col=2, upper=1.0, hover=pct, legend=False)
    _bars(fig, result, "channels", "abandon_rate", row=2, col=1, upper=1.0, hover=pct, legend=False)
    _bars(fig, result, "tiers", "abandon_rate", row=2, col=2, upper=1.0, hover=pct, legend=False)
    targets = result.get("targets", {})
    channels = [c for c in targets if any(c in e.get("channels", {}) for e in result["policies"].values())]
    if channels:
        fig.add_trace(
            go.Scatter(
                x=channels,
                y=[targets[c]["share"] for c in channels],
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 40, "color": "#444", "line": {"width": 2}},
                name="target share",
                hovertemplate="target: %{y:.0%} of %{x} contacts in time<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.update_layout(**{**_LAYOUT, "height": 760})
    _title(fig, "Service level against the scenario's<br>targets, and abandonment")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def displacement_chart(result: dict[str, Any]) -> go.Figure:
    """Later arrivals served first, per contact and value decile; and how many of them passed by influence alone."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("all reasons", "by the overtaker's influence alone"),
        horizontal_spacing=0.08,
    )
    section = "value_deciles" if any(e.get("value_deciles") for e in result["policies"].values()) else "tiers"
    by = "value decile" if section == "value_deciles" else "tier"
    _bars(fig, result, section, "overtaken", col=1)
    _bars(fig, result, section, "overtaken_by_influence", col=2, legend=False)
    fig.update_layout(**_LAYOUT)
    _title(fig, f"Who is bumped, and by whom<br>(overtaken per contact, by {by})")
    fig.update_yaxes(rangemode="tozero")
    return fig


_CAUSE_COLOURS = {
    "tier": "#332288",
    "tier_head_start": "#88CCEE",
    "need": "#999933",
    "influence": "#CC6677",
    "guarantee": "#777777",
}


def cause_chart(causes: dict[str, Any], labels: dict[str, str]) -> go.Figure:
    """Overtakes per contact by cause: by value decile of the contact passed (left) and of the one passing (right).

    One row per policy that let anyone pass; ``causes`` is :func:`fairserve.report.distribution.overtake_causes`,
    ``labels`` the words for each cause.
    """
    rows = [p for p, e in causes.items() if sum(e.get("totals", {}).values()) > 0 and e.get("passed")]
    fig = make_subplots(
        rows=max(len(rows), 1),
        cols=2,
        shared_xaxes=True,
        subplot_titles=[t for p in rows for t in (f"{p}: passed", f"{p}: passing others")],
        vertical_spacing=0.08 if len(rows) > 2 else 0.15,
        horizontal_spacing=0.08,
    )
    for r, policy in enumerate(rows, start=1):
        for col, side in ((1, "passed"), (2, "passing")):
            groups = causes[policy][side]
            names = ordered(groups)
            for cause, words in labels.items():
                fig.add_trace(
                    go.Bar(
                        x=names,
                        y=[groups[d].get(cause, 0.0) for d in names],
                        name=words,
                        legendgroup=cause,
                        showlegend=r == 1 and col == 1,
                        marker_color=_CAUSE_COLOURS.get(cause, "#444"),
                        hovertemplate=f"{policy}, %{{x}}: %{{y:.3f}} per contact ({words})<extra></extra>",
                    ),
                    row=r,
                    col=col,
                )
    fig.update_layout(**{**_LAYOUT, "barmode": "stack", "height": 160 + 230 * max(len(rows), 1)})
    fig.update_layout(legend={"orientation": "h", "y": -0.06})
    _title(fig, "Why later contacts were served first<br>overtakes per contact, by value decile<br>(one simulated run)")
    fig.update_yaxes(rangemode="tozero")
    return fig


def cost_chart(result: dict[str, Any], currency: str = DEFAULT_CURRENCY) -> go.Figure:
    """Revenue at risk and reputational exposure side by side, one bar per policy."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"revenue at risk ({currency}, per run)", "reputational exposure (reach x negativity)"),
        horizontal_spacing=0.1,
    )
    for col, metric in enumerate(("revenue_at_risk", "reputational_exposure"), start=1):
        for k, (label, entry) in enumerate(result["policies"].items()):
            v = _values(entry.get("all", {}), ["all"], metric, None)
            amount = f"%{{y:,.0f}} {currency}" if currency.isalpha() else f"{currency}%{{y:,.0f}}"
            hover = amount if col == 1 else "%{y:,.0f}"
            fig.add_trace(
                go.Bar(
                    x=[label],
                    y=v["y"],
                    name=label,
                    legendgroup=label,
                    showlegend=col == 1,
                    marker_color=colour(k),
                    error_y={"type": "data", "array": v["plus"], "arrayminus": v["minus"], "thickness": 1},
                    hovertemplate=f"{label}: {hover}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(**_LAYOUT)
    _title(fig, "What each policy costs")
    fig.update_layout(barmode="relative")
    fig.update_yaxes(tickformat=",", rangemode="tozero")
    fig.update_yaxes(tickprefix=currency if not currency.isalpha() else "", row=1, col=1)
    return fig


def staffing_chart(table: dict[str, Any], policies: list[str]) -> go.Figure:
    """Agents each policy needs per channel for every tier to meet the target, beside the any-order need."""
    channels = list(table["channels"])
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=channels,
            y=[table["channels"][c]["any_order"] for c in channels],
            name="any order (Erlang A)",
            marker_color="#bbbbbb",
            hovertemplate="any order: %{y} agents for %{x}<extra></extra>",
        )
    )
    for k, label in enumerate(policies):
        needs = table["policies"].get(label, {})
        fig.add_trace(
            go.Bar(
                x=channels,
                y=[needs.get(c) for c in channels],
                name=f"{label}: every tier",
                marker_color=colour(k),
                hovertemplate=f"{label}: %{{y}} agents for every tier of %{{x}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=channels,
            y=[table["staffed"].get(c) for c in channels],
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 40, "color": "#444", "line": {"width": 2}},
            name="agents in the scenario (its pool)",
            hovertemplate="the scenario staffs %{x}'s pool with %{y} agents<extra></extra>",
        )
    )
    fig.update_layout(**_LAYOUT)
    _title(fig, "Agents needed for the targets")
    fig.update_yaxes(title_text="agents", rangemode="tozero")
    return fig
