"""Matplotlib charts of a policy comparison, returned as inline SVG text (no files, no network).

Each chart is a grouped bar chart: one group per segment, one bar per policy, with the 95% interval over
replications as an error bar where there is one.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

__all__ = ["abandonment_chart", "bar_chart", "displacement_chart", "wait_chart"]

# text stays text (smaller, searchable); a fixed salt gives stable ids, so the same result gives the same SVG
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
_RC: Any = {"svg.fonttype": "none", "svg.hashsalt": "fairserve"}


def _svg(fig: Figure) -> str:
    """The figure as SVG text; a bare ``Figure`` (no pyplot), so no global backend or state is touched."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: the SVG is inlined in HTML


def bar_chart(result: dict[str, Any], metric: str, title: str, ylabel: str, *, overlay: str | None = None) -> str:
    """Grouped bars of ``metric`` per segment (x) and policy (colour); ``overlay`` hatches a part of each bar."""
    policies = list(result["policies"])
    segments: list[str] = []
    for entry in result["policies"].values():
        segments += [s for s in entry["segments"] if s not in segments]
    x = np.arange(len(segments))
    width = 0.8 / max(len(policies), 1)
    fig = Figure(figsize=(max(5.0, 1.2 * len(segments) + 2), 3.2))
    ax = fig.subplots()
    for k, label in enumerate(policies):
        rows = result["policies"][label]["segments"]
        vals = np.array([rows.get(s, {}).get(metric, np.nan) for s in segments], dtype=float)
        cis = np.array([rows.get(s, {}).get(f"{metric}_ci95", [np.nan, np.nan]) for s in segments], dtype=float)
        err = np.vstack([vals - cis[:, 0], cis[:, 1] - vals])
        err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        pos = x - 0.4 + width * (k + 0.5)
        colour = _COLOURS[k % len(_COLOURS)]  # one colour per policy, the same in every chart
        ax.bar(pos, np.nan_to_num(vals), width, yerr=err, capsize=2, label=label, color=colour)
        if overlay is not None:
            part = np.array([rows.get(s, {}).get(overlay, np.nan) for s in segments], dtype=float)
            ax.bar(pos, np.nan_to_num(part), width, color="none", edgecolor="black", hatch="///", linewidth=0.5)
    ax.set_xticks(x, segments)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def wait_chart(result: dict[str, Any]) -> str:
    """Mean wait by segment per policy."""
    return bar_chart(result, "mean_wait", "Mean wait by segment (95% CI)", f"wait ({result['time_unit']})")


def abandonment_chart(result: dict[str, Any]) -> str:
    """Abandonment rate by segment per policy."""
    return bar_chart(result, "abandon_rate", "Abandonment by segment (95% CI)", "share abandoned")


def displacement_chart(result: dict[str, Any]) -> str:
    """Later arrivals served first, per contact; the hatched part is owed to influence alone."""
    return bar_chart(
        result,
        "overtaken",
        "Overtaken per contact by later arrivals (hatched: by influence)",
        "overtakes per contact",
        overlay="overtaken_by_influence",
    )
