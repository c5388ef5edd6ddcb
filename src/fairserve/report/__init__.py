"""Reports: a policy comparison as a self-contained HTML page with inline SVG charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fairserve.report.html import render_html

__all__ = ["render_html", "write_report"]


def write_report(result: dict[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Write :func:`render_html` of ``result`` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result, title), encoding="utf-8")
    return path
