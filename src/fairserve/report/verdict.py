"""The plain-language verdict: which policy costs whom how much, computed from a comparison's numbers.

Nothing here is written by hand: :func:`contrast` takes the figures out of a :func:`fairserve.sim.compare_policies`
result, and :func:`answer` and :func:`verdict` only put them into sentences. The demo's closing answer, the
report's first paragraph and the JSON summary are all made here, so the three always say the same.
"""

from __future__ import annotations

import math
from typing import Any

from fairserve.report.fmt import DEFAULT_CURRENCY, money, num, pct

__all__ = ["answer", "baseline_of", "contrast", "focus_of", "verdict"]


def baseline_of(result: dict[str, Any]) -> str:
    """The policy the others are compared with: ``fifo`` when compared, else the first policy."""
    names = list(result["policies"])
    return "fifo" if "fifo" in names else names[0]


def focus_of(result: dict[str, Any]) -> str | None:
    """The policy the seeds' question is about: ``influence-first`` when compared, else the last non-baseline."""
    names = [n for n in result["policies"] if n != baseline_of(result)]
    if not names:
        return None
    return "influence-first" if "influence-first" in names else names[-1]


def _change(new: float, old: float) -> float:
    """Relative change ``new / old - 1`` (NaN when ``old`` is 0 or unknown)."""
    if not (math.isfinite(new) and math.isfinite(old)) or old == 0:
        return math.nan
    return new / old - 1.0


def _get(entry: dict[str, Any], section: str, group: str, metric: str) -> tuple[float, list[float]]:
    row = entry.get(section, {}).get(group, {})
    value = row.get(metric, math.nan)
    return float(value) if value is not None else math.nan, list(row.get(f"{metric}_ci95", [math.nan, math.nan]))


def _apart(a: list[float], b: list[float]) -> bool:
    """True when two 95% intervals do not overlap (a conservative sign the difference is not replication noise)."""
    if not all(math.isfinite(x) for x in (*a, *b)):
        return False
    return a[1] < b[0] or b[1] < a[0]


def contrast(result: dict[str, Any], policy: str, baseline: str | None = None) -> dict[str, Any]:
    """The figures of ``policy`` against ``baseline``: top value and top influence decile, revenue, exposure.

    Returns a dict of plain numbers (means over replications; ``*_change`` relative, e.g. 0.35 for 35% more;
    ``*_clear`` True when the two policies' 95% intervals do not overlap).
    """
    baseline = baseline or baseline_of(result)
    pol, base = result["policies"][policy], result["policies"][baseline]
    out: dict[str, Any] = {"policy": policy, "baseline": baseline, "time_unit": result["time_unit"]}
    for key, section, group, metric in (
        ("top_value_wait", "value_deciles", "D10", "mean_wait"),
        ("top_value_abandon", "value_deciles", "D10", "abandon_rate"),
        ("top_influence_wait", "influence_deciles", "D10", "mean_wait"),
        ("top_influence_abandon", "influence_deciles", "D10", "abandon_rate"),
        ("wait", "all", "all", "mean_wait"),
        ("sla", "all", "all", "sla"),
        ("revenue_at_risk", "all", "all", "revenue_at_risk"),
        ("exposure", "all", "all", "reputational_exposure"),
    ):
        new, new_ci = _get(pol, section, group, metric)
        old, old_ci = _get(base, section, group, metric)
        out[key] = new
        out[f"{key}_baseline"] = old
        out[f"{key}_change"] = _change(new, old)
        out[f"{key}_clear"] = _apart(new_ci, old_ci)
    out["revenue_at_risk_delta"] = out["revenue_at_risk"] - out["revenue_at_risk_baseline"]
    return out


def _more(change: float, up: str, down: str, same: str) -> str:
    """``35% longer`` / ``12% shorter`` / ``as long`` for a relative change."""
    if not math.isfinite(change):
        return ""
    if abs(change) < 0.005:
        return same
    return f"{abs(change):.0%} {up if change > 0 else down}"


def _wait_phrase(c: dict[str, Any], key: str, unit: str) -> str:
    change = c[f"{key}_change"]
    new, old = c[key], c[f"{key}_baseline"]
    if not math.isfinite(change):
        return f"wait {num(new)} {unit}s on average (against {num(old)})"
    words = _more(change, "longer", "less", "as long")
    noise = "" if c[f"{key}_clear"] else ", within replication noise"
    return f"wait {words} ({num(new)} against {num(old)} {unit}s on average{noise})"


def _abandon_phrase(c: dict[str, Any], key: str) -> str:
    change = c[f"{key}_change"]
    new, old = c[key], c[f"{key}_baseline"]
    if not math.isfinite(change):
        return f"abandon {pct(new)} of the time (against {pct(old)})"
    words = _more(change, "more", "less", "as often")
    return f"abandon {words} ({pct(new)} against {pct(old)})"


def answer(c: dict[str, Any], currency: str = DEFAULT_CURRENCY) -> str:
    """One or two sentences on ``policy`` against ``baseline`` from a :func:`contrast`.

    Example: "Under influence-first, customers in the top value decile wait 35% longer (2.1 against 1.6 minutes
    on average) and abandon 20% more (5.1% against 4.2%) than under fifo; revenue at risk rises by $1,234
    (to $10,400)."
    """
    unit = c["time_unit"]
    p, b = c["policy"], c["baseline"]
    text = (
        f"Under {p}, customers in the top value decile {_wait_phrase(c, 'top_value_wait', unit)} and "
        f"{_abandon_phrase(c, 'top_value_abandon')} than under {b}"
    )
    if math.isfinite(c["top_influence_wait"]):
        text += f", while those in the top influence decile {_wait_phrase(c, 'top_influence_wait', unit)}"
    delta = c["revenue_at_risk_delta"]
    if math.isfinite(delta):
        verb = "rises" if delta > 0 else "falls" if delta < 0 else "stays"
        amount = f" by {money(abs(delta), currency)}" if round(delta) != 0 else ""
        text += (
            f"; revenue at risk {verb}{amount} (to {money(c['revenue_at_risk'], currency)} from "
            f"{money(c['revenue_at_risk_baseline'], currency)})"
        )
    exposure = c["exposure_change"]
    if math.isfinite(exposure) and abs(exposure) >= 0.005:
        text += f" and reputational exposure {'rises' if exposure > 0 else 'falls'} by {abs(exposure):.0%}"
    elif c["exposure_baseline"] == 0 and c["exposure"] > 0:
        text += f" and reputational exposure rises from none to {num(c['exposure'])}"
    return text + "."


def _exposure_words(overall: dict[str, dict[str, Any]], least: str) -> str:
    values = {o.get("reputational_exposure", math.nan) for o in overall.values()}
    if len(values) == 1:
        return f"every policy leaves the same reputational exposure ({num(values.pop())})"
    return f"the least reputational exposure under {least} ({num(overall[least]['reputational_exposure'])})"


def verdict(result: dict[str, Any], currency: str = DEFAULT_CURRENCY) -> dict[str, Any]:
    """The report's opening paragraph and the numbers behind it.

    Returns ``{"text", "baseline", "contrasts": {policy: contrast}, "least_revenue_at_risk", "least_exposure",
    "best_sla"}``; ``text`` names the run, gives :func:`answer` for every policy against the baseline and says
    which policy puts the least revenue at risk, leaves the least exposure and meets the targets most often.
    """
    baseline = baseline_of(result)
    policies = result["policies"]
    contrasts = {name: contrast(result, name, baseline) for name in policies if name != baseline}
    overall = {name: entry.get("all", {}).get("all", {}) for name, entry in policies.items()}

    def best(metric: str, low: bool = True) -> str:
        vals = {n: o.get(metric, math.nan) for n, o in overall.items()}
        known = {n: v for n, v in vals.items() if v is not None and math.isfinite(v)}
        if not known:
            return ""
        return (min if low else max)(known, key=lambda n: known[n])

    least_rar, least_exp, best_sla = best("revenue_at_risk"), best("reputational_exposure"), best("sla", low=False)
    parts = [
        f"Over {result['replications']} simulated run{'s' if result['replications'] != 1 else ''} of scenario "
        f"{result['scenario']} (seed {result['seed']}), every policy measured against the same targets "
        f"({result['targets_text']}):"
    ]
    parts += [answer(c, currency) for c in contrasts.values()]
    if least_rar:
        parts.append(
            f"The least revenue at risk is under {least_rar} ({money(overall[least_rar]['revenue_at_risk'], currency)})"
            f", {_exposure_words(overall, least_exp)}, and {best_sla} meets the targets most often "
            f"({pct(overall[best_sla]['sla'])} of contacts answered in time)."
        )
    return {
        "text": " ".join(parts),
        "baseline": baseline,
        "contrasts": contrasts,
        "least_revenue_at_risk": least_rar,
        "least_exposure": least_exp,
        "best_sla": best_sla,
    }
