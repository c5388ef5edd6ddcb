"""Reports: the policy comparison as one self-contained HTML page with interactive Plotly charts, offline.

:func:`render_html` builds the page (pure); :func:`write_report` adds what the scenario and the policy files
tell (staffing for the targets, overload warnings, where each policy came from) and writes the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairserve.report.fmt import DEFAULT_CURRENCY

if TYPE_CHECKING:
    from fairserve.report.html import render_html

__all__ = ["render_html", "report_html", "write_report"]


def report_html(
    result: dict[str, Any],
    *,
    scenario: Any = None,
    policies: dict[str, Any] | None = None,
    whatifs: dict[str, dict[str, Any]] | None = None,
    currency: str = DEFAULT_CURRENCY,
    command: str | None = None,
    title: str | None = None,
    customers: Any = None,
    distribution: bool = True,
) -> str:
    """The full report of a comparison: :func:`render_html` with staffing, warnings and policy files filled in.

    ``scenario`` (a :class:`fairserve.sim.Scenario`) gives the staffing section and the overload warnings;
    ``policies`` maps each label to its loaded :class:`fairserve.policy.Policy` (its ``source`` and tier order).
    With the scenario and the policies (and the ``customers`` the comparison ran on, if any), and
    ``distribution`` true, the first replication is run again to draw each decile's wait distribution and to say
    what caused each overtake (:mod:`fairserve.report.distribution`).
    """
    staffing = warnings = spread = causes = None
    if distribution and scenario is not None and policies:
        from fairserve.report.distribution import overtake_causes, replication_waits, wait_quantiles

        frames = replication_waits(scenario, list(policies.values()), result["seed"], customers)
        spread, causes = wait_quantiles(frames), overtake_causes(frames)
    if scenario is not None:
        from fairserve.report.staffing import overload_warnings, staffing_table

        order = {k: list(p.tier_names) for k, p in (policies or {}).items() if hasattr(p, "tier_names")}
        staffing = staffing_table(scenario, result, order)
        warnings = overload_warnings(scenario)
    files = {k: str(getattr(p, "source", k)) for k, p in (policies or {}).items()}
    from fairserve.report.html import render_html

    return render_html(
        result,
        title,
        currency=currency,
        staffing=staffing,
        whatifs=whatifs,
        policy_files=files,
        command=command,
        warnings=warnings,
        distribution=spread,
        causes=causes,
    )


def write_report(result: dict[str, Any], path: str | Path, title: str | None = None, **kwargs: Any) -> Path:
    """Write :func:`report_html` of ``result`` to ``path`` (UTF-8, folders made as needed) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(result, title=title, **kwargs), encoding="utf-8")
    return path


def __getattr__(name: str) -> Any:
    """``render_html`` on first use: Plotly is imported only by what draws a page, not by the simulator's
    overload warnings (``fairserve.report.staffing``), which ``fairserve simulate`` reads before every run."""
    if name == "render_html":
        from fairserve.report.html import render_html

        return render_html
    raise AttributeError(f"module 'fairserve.report' has no attribute {name!r}")
