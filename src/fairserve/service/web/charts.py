"""Small charts drawn on the server as inline SVG: no script, nothing fetched, readable without colour.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, *Color Universal Design*), which people with any common
colour-vision deficiency tell apart; every series also has its own dash pattern or a text label, and every chart
is followed by a table of its numbers. Each mark carries ``data-value`` (the number it draws), so a test can
check that a chart shows data and which.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["OKABE_ITO", "hbars", "line_chart", "stacked_bars"]

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")

_W, _H, _L, _R, _T, _B = 640, 260, 48, 120, 16, 44


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        top = step * 4
        if v <= top:
            return float(top)
    return float(v * 1.1)


def _frame(title: str, desc: str, body: str, cls: str, ident: str) -> str:
    return (f'<svg class="chart {cls}" id="{escape(ident)}" viewBox="0 0 {_W} {_H}" role="img" '
            f'aria-labelledby="{escape(ident)}-t {escape(ident)}-d" preserveAspectRatio="xMinYMin meet">'
            f'<title id="{escape(ident)}-t">{escape(title)}</title><desc id="{escape(ident)}-d">{escape(desc)}</desc>'
            f"{body}</svg>")


def _axis(top: float, labels: Sequence[str], slot: float) -> str:
    parts = []
    for i in range(5):
        v = top * i / 4
        y = _H - _B - (_H - _T - _B) * i / 4
        parts.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc" stroke-width="1"/>'
                     f'<text x="{_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{v:g}</text>')
    widest = max((len(lab) for lab in labels), default=1) * 7.5 + 8  # about 7.5 units a character at 12
    every = max(1, math.ceil(widest / slot))
    for i, lab in enumerate(labels):
        if i % every == 0:
            x = _L + slot * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{_H - _B + 16}" text-anchor="middle" font-size="12">'
                         f"{escape(lab)}</text>")
    return "".join(parts)


def stacked_bars(ident: str, title: str, labels: Sequence[str],
                 series: Sequence[tuple[str, str, Sequence[float]]]) -> str:
    """Bars per label, stacked by series (name, colour, values); a legend names each series in text."""
    totals = [sum(s[2][i] for s in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0.0))
    slot = (_W - _L - _R) / max(len(labels), 1)
    body = [_axis(top, labels, slot)]
    for i in range(len(labels)):
        y = float(_H - _B)
        for name, colour, values in series:
            v = float(values[i])
            if v <= 0:
                continue
            h = (_H - _T - _B) * v / top
            y -= h
            body.append(f'<rect class="mark" x="{_L + slot * i + slot * 0.15:.1f}" y="{y:.1f}" '
                        f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{colour}" stroke="#fff" stroke-width="0.5" '
                        f'data-series="{escape(name)}" data-value="{v:g}"><title>{escape(labels[i])}: '
                        f"{escape(name)} {v:g}</title></rect>")
    for j, (name, colour, _) in enumerate(series):
        y = _T + 8 + 20 * j
        body.append(f'<rect x="{_W - _R + 12}" y="{y - 9}" width="12" height="12" fill="{colour}"/>'
                    f'<text x="{_W - _R + 30}" y="{y + 2}" font-size="13">{escape(name)}</text>')
    desc = f"{len(labels)} periods; " + "; ".join(f"{n}: {sum(v):g} in all" for n, _, v in series)
    return _frame(title, desc, "".join(body), "stacked", ident)


def line_chart(ident: str, title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float]]]) -> str:
    """One line per series, each with its own colour, dash pattern and marker, labelled at its end."""
    top = _nice_max(max((max(v, default=0.0) for _, v in series), default=0.0))
    slot = (_W - _L - _R) / max(len(labels), 1)
    body = [_axis(top, labels, slot)]
    ends: list[tuple[float, str, str]] = []
    for k, (name, values) in enumerate(series):
        colour, dash = SERIES[k % len(SERIES)], DASHES[k % len(DASHES)]
        pts = [(_L + slot * (i + 0.5), _H - _B - (_H - _T - _B) * float(v) / top) for i, v in enumerate(values)]
        if not pts:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
        for (x, y), v in zip(pts, values, strict=True):
            body.append(f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}" '
                        f'data-series="{escape(name)}" data-value="{float(v):g}"><title>{escape(name)}: '
                        f"{float(v):g}</title></circle>")
        ends.append((pts[-1][1], name, colour))
    ends.sort()
    last = -1e9
    for y, name, colour in ends:  # end labels, pushed apart so none overlaps another
        y = max(y, last + 15)
        last = y
        body.append(f'<text x="{_W - _R + 8}" y="{y + 4:.1f}" font-size="13" fill="#000">'
                    f'<tspan fill="{colour}">\u25cf</tspan> {escape(name)}</text>')
    desc = f"{len(labels)} periods; " + "; ".join(f"{n}: {sum(v):g} in all" for n, v in series)
    return _frame(title, desc, "".join(body), "lines", ident)


def hbars(ident: str, title: str, labels: Sequence[str], values: Sequence[float], colour: str = "#0072B2") -> str:
    """Horizontal bars with their value written at the end of each bar."""
    top = _nice_max(max(values, default=0.0))
    row = 26
    height = max(len(labels), 1) * row + 12
    left, right = 200, 60
    body = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = 6 + i * row
        w = (_W - left - right) * float(v) / top
        body.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="14">{escape(lab)}</text>'
                    f'<rect class="mark" x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{colour}" '
                    f'data-value="{float(v):g}"><title>{escape(lab)}: {float(v):g}</title></rect>'
                    f'<text x="{left + w + 6:.1f}" y="{y + 17}" font-size="14">{float(v):g}</text>')
    desc = "; ".join(f"{lab}: {float(v):g}" for lab, v in zip(labels, values, strict=True))
    return (f'<svg class="chart hbars" id="{escape(ident)}" viewBox="0 0 {_W} {height}" role="img" '
            f'aria-labelledby="{escape(ident)}-t {escape(ident)}-d">'
            f'<title id="{escape(ident)}-t">{escape(title)}</title><desc id="{escape(ident)}-d">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")
