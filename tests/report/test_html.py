"""The HTML report is one self-contained page: Plotly inlined once, every section, nothing fetched, stable bytes."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from fairserve.report import write_report
from fairserve.report.html import plotly_js
from fairserve.report.verdict import verdict


def _write(comparison: dict[str, Any], path: Path, **kw: Any) -> str:
    kwargs = {k: comparison[k] for k in ("scenario", "policies", "whatifs", "customers")}
    return write_report(comparison["result"], path, **{**kwargs, **kw}).read_text(encoding="utf-8")


def test_report_inlines_plotly_once_and_fetches_nothing(comparison: dict[str, Any], tmp_path: Path) -> None:
    text = _write(comparison, tmp_path / "sub" / "report.html")
    assert text.count(plotly_js()) == 1  # the wheel's bundle, once
    for fetch in ("<link", "<img", "<iframe", " src=", "cdn.plot.ly/plotly", "@import"):
        assert fetch not in text, fetch
    charts = re.findall(r'data-chart="([^"]+)"', text)
    assert charts == [
        "wait-value", "spread-value", "wait-influence", "spread-influence",
        "service", "displacement", "causes", "cost", "staffing",
    ]
    assert text.count("Plotly.newPlot(") == len(charts)


def test_report_shows_every_section_the_issue_lists(comparison: dict[str, Any], tmp_path: Path) -> None:
    text = _write(comparison, tmp_path / "r.html", currency="€", command="fairserve simulate small.toml")
    for heading in ("Who waits", "Service level and abandonment", "Who is bumped", "What each policy costs",
                    "Staffing for the targets", "What if that was you?", "Policies, scenario and seed"):
        assert f"<h2>{heading}</h2>" in text
    for label, policy in comparison["policies"].items():
        assert policy.content_hash in text and f"<td>{label}</td>" in text
    assert "c0001" in text and "c0002" in text  # the two what-if customers
    assert "root seed <code>0</code>" in text and "fairserve simulate small.toml" in text
    body = re.sub(r"<script.*?</script>", "", text.split("</head>")[1], flags=re.S)
    body = re.sub(r"<td class=text>.*?</td>", "", body, flags=re.S)  # the policy's own words keep its currency
    assert "€" in body and "$" not in body  # every amount the report formats is in the chosen currency


def test_the_verdict_opens_the_page_and_is_the_computed_one(comparison: dict[str, Any], tmp_path: Path) -> None:
    text = _write(comparison, tmp_path / "r.html")
    body = text.split("<body>", 1)[1]
    first = re.search(r"<p id=verdict>(.*?)</p>", body, flags=re.S)
    assert first is not None and body.index("<p id=verdict>") < body.index("<h2>")
    import html

    assert html.unescape(first.group(1)) == verdict(comparison["result"])["text"]


def test_deciles_and_intervals_read_in_order_and_in_range(comparison: dict[str, Any], tmp_path: Path) -> None:
    text = _write(comparison, tmp_path / "r.html")
    table = text.split("<h4>By value decile</h4>")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(D\d+|unknown)</td>", table)
    assert rows == sorted(rows, key=lambda d: int(d[1:])) and "D10" in rows
    # no interval below zero and no number in scientific notation, anywhere in the tables
    tables = "".join(re.findall(r"<table>.*?</table>", text, flags=re.S))
    assert not re.search(r"\[-", tables)
    assert not re.search(r"\d\.?\d*e[+-]\d", tables)
    # the wait chart's x axis runs D1..D10
    xs = re.search(r'"x":\[("D[^\]]*)\]', text.split('data-chart="wait-value"')[1])
    assert xs is not None
    names = [s.strip('"') for s in xs.group(1).split(",")]
    assert names == sorted(names, key=lambda d: int(d[1:]))


def test_two_runs_from_one_seed_write_the_same_page(comparison: dict[str, Any], tmp_path: Path) -> None:
    first, second = copy.deepcopy(comparison), copy.deepcopy(comparison)
    for c in (first, second):  # wall-clock times are the only thing a rerun may change
        for entry in c["result"]["policies"].values():
            entry["elapsed_s"] = 0.0
    assert _write(first, tmp_path / "a.html") == _write(second, tmp_path / "b.html")
    first["result"]["policies"]["fifo"]["all"]["all"]["mean_wait"] += 1.0  # and the page shows the numbers
    assert _write(first, tmp_path / "c.html") != _write(second, tmp_path / "b.html")


def test_a_comparison_without_customers_still_renders(tmp_path: Path) -> None:
    from fairserve.sim import compare_policies
    from fairserve.sim.scenario import scenario_from_dict

    scen = scenario_from_dict(
        {"center": {"agents": 2, "duration": 50.0},
         "segments": [{"name": "gold <vip>", "arrival_rate": 1.0, "handle_mean": 1.0, "tier": "gold"}]}
    )
    result = compare_policies(scen, ["fifo", "tier-strict"], replications=2, seed=0)
    text = write_report(result, tmp_path / "r.html", scenario=scen).read_text(encoding="utf-8")
    assert "no value or influence deciles" in text
    assert "gold &lt;vip&gt;" in text and "gold <vip>" not in text.split("<body>")[1].split("<script")[0]
