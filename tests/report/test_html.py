"""The HTML report is one self-contained page: inline SVG charts, every policy and segment, no external links."""

from __future__ import annotations

from pathlib import Path

from fairserve.report import write_report
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


def test_two_runs_from_one_seed_write_the_same_page_and_it_shows_each_policys_numbers(tmp_path: Path) -> None:
    from fairserve.report.html import _num

    first, second = _result(), _result()
    for result in (first, second):  # the wall-clock time is the only thing a rerun may change
        result["elapsed_s"] = 0.0
        for entry in result["policies"].values():  # type: ignore[attr-defined]
            entry["elapsed_s"] = 0.0
    a = write_report(first, tmp_path / "a.html").read_bytes()
    b = write_report(second, tmp_path / "b.html").read_bytes()
    assert a == b  # same simulation, same charts (no random SVG ids, no dates)
    text = a.decode("utf-8")
    glance = text.split("<h2>Policies at a glance</h2>")[1].split("</table>")[0]
    for label, entry in first["policies"].items():  # type: ignore[attr-defined]
        row = glance.split(f"<td>{label}</td>")[1].split("</tr>")[0]
        overall = entry["all"]["all"]
        for metric in ("mean_wait", "sla", "promise_kept", "abandon_rate", "overtaken"):
            assert f"<td>{_num(overall[metric])}" in row, (label, metric)
    assert "SLA measured against the scenario's targets: phone 80% in 20 s" in text
