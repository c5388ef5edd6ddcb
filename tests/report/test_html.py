"""The HTML report is one self-contained page: inline SVG charts, every policy and segment, no external links."""

from __future__ import annotations

from pathlib import Path

from fairserve.report import render_html, write_report
from fairserve.sim.engine import compare_policies
from fairserve.sim.scenario import scenario_from_dict


def _result() -> dict[str, object]:
    scen = scenario_from_dict(
        {
            "center": {"agents": 5, "duration": 100.0},
            "segments": [
                {"name": "gold <vip>", "arrival_rate": 1.0, "handle_mean": 1.0, "tier": "gold"},
                {"name": "basic", "arrival_rate": 3.5, "handle_mean": 1.0, "patience_mean": 1.0, "tier": "basic"},
            ],
        }
    )
    return compare_policies(scen, ["fifo", "tier-strict"], replications=2, seed=0)


def test_report_is_self_contained_and_complete(tmp_path: Path) -> None:
    result = _result()
    path = write_report(result, tmp_path / "sub" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("<svg") == 3  # waits, abandonment, displacements
    assert "fifo" in text and "tier-strict" in text and "basic" in text and "Policies at a glance" in text
    assert "gold &lt;vip&gt;" in text and "gold <vip>" not in text.split("<svg")[0]  # names are escaped
    # nothing is fetched: no scripts, stylesheets, images or links to elsewhere (xmlns URIs are only names)
    for fetch in ("<script", "<link", "<img", "src=", 'href="http'):
        assert fetch not in text


def test_same_result_renders_the_same_page() -> None:
    result = _result()
    assert render_html(result) == render_html(result)
