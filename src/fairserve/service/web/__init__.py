"""The dashboard of the live service: server-rendered pages (Jinja2) with a few KB of our own CSS and script.

``templates/`` holds the pages, ``static/`` the stylesheet, the script and the icon (served at ``/static``; no
build step, nothing from another host), :mod:`~fairserve.service.web.views` reads what each page shows,
:mod:`~fairserve.service.web.charts` draws the charts as SVG, and :mod:`~fairserve.service.web.session` signs
people in with the service's API keys. The routes are :mod:`fairserve.service.routes.dashboard`.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["STATIC", "TEMPLATES", "asset_version", "environment", "security_headers"]

STATIC = Path(__file__).with_name("static")
TEMPLATES = Path(__file__).with_name("templates")

# Our pages load only our own files: no inline script, no inline style, no other host.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def security_headers() -> dict[str, str]:
    """Headers of every dashboard page."""
    return {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store", "X-Frame-Options": "DENY"}


@cache
def asset_version() -> str:
    """A short hash of the static files, appended to their URLs so a browser never keeps a stale copy."""
    h = hashlib.sha256()
    for p in sorted(STATIC.iterdir()):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:10]


@cache
def environment() -> Any:
    """The Jinja2 environment of the templates (autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from fairserve.policy.explain import fmt_value
    from fairserve.service.web.views import duration
    from fairserve.service.words import count, with_article

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["asset_version"] = asset_version()
    env.filters["duration"] = duration
    env.filters["fact"] = lambda v, signal: fmt_value(signal, v)  # as the explanations write it
    env.filters["pct"] = lambda v: f"{100 * float(v):.0f}%"
    env.filters["num"] = lambda v, d=0: "" if v is None else f"{float(v):,.{d}f}"
    env.filters["count"] = lambda n, singular, plural=None: count(int(n), singular, plural)  # "1 contact"
    env.filters["with_article"] = with_article  # "an agent"
    return env
