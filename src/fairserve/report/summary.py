"""The JSON summary of a comparison: the verdict and its numbers, the top line per policy, deciles in order.

What ``fairserve demo`` writes as ``summary.json`` and prints with ``--json``; the report's verdict paragraph is
``summary["verdict"]["text"]``, so a reader (or a test) can check the page against these numbers.
"""

from __future__ import annotations

import math
from typing import Any

from fairserve.report.fmt import DEFAULT_CURRENCY, ordered
from fairserve.report.verdict import answer, baseline_of, contrast, focus_of, verdict

__all__ = ["TOP_LINE", "summary"]

TOP_LINE = (
    "mean_wait",
    "p95_wait",
    "sla",
    "promise_kept",
    "abandon_rate",
    "overtaken",
    "overtaken_by_influence",
    "revenue_at_risk",
    "reputational_exposure",
)


def _clean(x: Any) -> Any:
    """Strict JSON: NaN and infinities as None, dates as ISO text, NumPy scalars as Python numbers."""
    if hasattr(x, "isoformat"):
        return x.isoformat()
    if hasattr(x, "item") and not isinstance(x, list | tuple | dict):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def summary(
    result: dict[str, Any],
    *,
    currency: str = DEFAULT_CURRENCY,
    whatifs: dict[str, dict[str, Any]] | None = None,
    staffing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The comparison in brief: verdict, the answer for the focus policy, per-policy top line and deciles.

    Returns ``{"scenario", "seed", "replications", "time_unit", "currency", "targets", "baseline", "focus",
    "answer", "verdict": {...}, "policies": {label: {"policy", "all", "value_deciles", "influence_deciles",
    "tiers", "channels"}}, "whatifs", "staffing"}``, each group with the :data:`TOP_LINE` metrics and their
    ``*_ci95``; deciles in order D1..D10; NaN written as null.
    """
    focus = focus_of(result)
    base = baseline_of(result)
    policies: dict[str, Any] = {}
    for label, entry in result["policies"].items():
        out: dict[str, Any] = {"policy": entry.get("policy", {}), "arrivals": entry.get("arrivals")}
        for section in ("all", "tiers", "channels", "value_deciles", "influence_deciles"):
            groups = entry.get(section) or {}
            names = ordered(groups) if section.endswith("deciles") else list(groups)
            out[section] = {
                g: {m: groups[g].get(m) for k in TOP_LINE for m in (k, f"{k}_ci95") if m in groups[g]}
                for g in names
            }
        out["all"] = out["all"].get("all", {})
        policies[label] = out
    said = verdict(result, currency)
    return _clean(
        {
            "scenario": result["scenario"],
            "seed": result["seed"],
            "replications": result["replications"],
            "time_unit": result["time_unit"],
            "currency": currency,
            "targets": result["targets"],
            "targets_text": result["targets_text"],
            "baseline": base,
            "focus": focus,
            "answer": _answer(result, focus, base, currency),
            "verdict": said,
            "policies": policies,
            "whatifs": {
                role: {
                    "customer": w["customer"],
                    "segment": w["segment"],
                    "target": w["target"],
                    "policies": {
                        k: {m: v[m] for m in ("tier", "mean_wait", "mean_wait_ci95", "p_abandon", "p_sla")}
                        for k, v in w["policies"].items()
                    },
                }
                for role, w in (whatifs or {}).items()
            },
            "staffing": staffing,
        }
    )


def _answer(result: dict[str, Any], focus: str | None, base: str, currency: str) -> str:
    """The demo's answer: ``focus`` against value-first where it was compared, then against the baseline.

    fifo serves each desk in arrival order while the other built-ins order a desk shared by channels by due time,
    so the answer leads with two policies that order desks alike (value-first), and says why the comparison with
    fifo, which follows, differs (new-user reviews).
    """
    if not focus:
        return ""
    against_base = answer(contrast(result, focus, base), currency)
    if "value-first" not in result["policies"] or "value-first" in (focus, base):
        return against_base
    lead = answer(contrast(result, focus, "value-first"), currency)
    if base == "fifo":
        return (f"{lead} Against fifo, which serves each desk in arrival order where the others serve a shared "
                f"desk by due time, the picture differs: {against_base[:1].lower()}{against_base[1:]}")
    return f"{lead} {against_base}"
