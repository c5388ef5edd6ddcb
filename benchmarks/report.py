"""How fast does the demo's report open? Load event and every chart drawn, in headless Chromium, against a page
holding only Plotly's bundle.

Usage::

    python benchmarks/report.py [--report fairserve-demo/report.html] [--runs 9]

Without ``--report`` the script runs ``fairserve demo --out TMP`` first (the command a new user runs) and measures
the report it wrote. Each run opens the page in a fresh browser context (nothing cached) from a ``file://`` URL and
records, in the page's own clock (``performance.now()``, from the start of navigation):

- ``load``: the load event's end (every script run, so every ``Plotly.newPlot`` called);
- ``drawn``: the first moment every ``.plotly-graph-div`` holds its ``svg.main-svg``, polled every animation frame.

The peer, measured in the same runs and alternated with the report, is a page of the same bundle and no chart:
the part of the time any page with Plotly pays before a single chart is drawn. The issue's goal is the report's
``drawn`` under 2 seconds, and its size under 10 MB. Headless Chromium is Debian's (``make browser``), driven by
Playwright; nothing is fetched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_helpers import chromium

# runs in the page: resolves with the time (ms since navigation start) at which every chart had drawn
_DRAWN = """() => new Promise(done => {
  const check = () => {
    const divs = [...document.querySelectorAll('.plotly-graph-div')];
    if (divs.every(d => d.querySelector('svg.main-svg'))) done({charts: divs.length, drawn: performance.now()});
    else requestAnimationFrame(check);
  };
  check();
})"""
_LOAD = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"


def demo_report(folder: Path) -> Path:
    """Run ``fairserve demo --out folder`` as a user would and return the report it wrote."""
    exe = Path(sys.executable).with_name("fairserve")
    subprocess.run([str(exe), "demo", "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return folder / "report.html"


def bundle_page(folder: Path) -> Path:
    """A page with Plotly's bundle (the same bytes the report inlines) and no chart."""
    from fairserve.report.html import plotly_js

    page = folder / "plotly-only.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><script>{plotly_js()}</script></head>"
                    "<body><p>Plotly only</p></body></html>", encoding="utf-8")
    return page


def open_once(browser: Any, path: Path) -> dict[str, float]:
    """One cold open of ``path``: load event end and every chart drawn, in milliseconds since navigation."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "about:"))
               else r.abort())
    page.goto(path.as_uri(), wait_until="load")
    seen = page.evaluate(_DRAWN)
    load = float(page.evaluate(_LOAD))
    context.close()
    if errors:
        raise SystemExit(f"{path}: the page raised {errors[0]}")
    return {"load": load, "drawn": max(load, float(seen["drawn"])), "charts": float(seen["charts"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, help="a report.html to open (default: run fairserve demo)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairserve-report-bench-") as tmp:
        folder = Path(tmp)
        report = args.report or demo_report(folder / "demo")
        peer = bundle_page(folder)
        times: dict[str, list[dict[str, float]]] = {"report": [], "plotly only": []}
        with chromium() as browser:
            open_once(browser, peer)  # warm the browser process itself, not the page (each run is a new context)
            for _ in range(args.runs):
                times["report"].append(open_once(browser, report))
                times["plotly only"].append(open_once(browser, peer))
        size = report.stat().st_size
        load = os.getloadavg()
        result: dict[str, Any] = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_average": [round(x, 2) for x in load],
            "runs": args.runs,
            "report_bytes": size,
            "charts": int(times["report"][0]["charts"]),
        }
        print(f"report: {report.name}, {size / 1e6:.2f} MB, {result['charts']} charts; {args.runs} cold opens each,"
              f" load average {load[0]:.1f}")
        print(f"{'page':<12} {'load median':>12} {'drawn median':>13} {'drawn best':>11} {'drawn worst':>12}")
        for name, runs in times.items():
            drawn = [r["drawn"] / 1000 for r in runs]
            loads = [r["load"] / 1000 for r in runs]
            result[name] = {"load_median_s": statistics.median(loads), "drawn_median_s": statistics.median(drawn),
                            "drawn_best_s": min(drawn), "drawn_worst_s": max(drawn)}
            print(f"{name:<12} {statistics.median(loads):>11.2f}s {statistics.median(drawn):>12.2f}s"
                  f" {min(drawn):>10.2f}s {max(drawn):>11.2f}s")
        ratio = result["report"]["drawn_median_s"] / result["plotly only"]["drawn_median_s"]
        result["ratio_to_plotly_only"] = ratio
        goal = result["report"]["drawn_median_s"] < 2.0 and size < 10e6
        print(f"report / plotly only: {ratio:.2f}x; goal (drawn < 2 s, size < 10 MB): {'met' if goal else 'not met'}")
        if args.json:
            args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
