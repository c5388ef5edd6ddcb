"""Numbers people can read: money, shares, waits, intervals and deciles, formatted the same everywhere.

The report, the demo's answer and the terminal tables all format through these functions, so a figure reads
the same on the page, in the JSON summary's text and in the terminal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DEFAULT_CURRENCY",
    "clip_interval",
    "decile_key",
    "interval",
    "money",
    "num",
    "ordered",
    "pct",
]

DEFAULT_CURRENCY = "$"
_DECILE = re.compile(r"^D(\d+)$")


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def num(x: Any, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits with thousands separators, never in scientific notation.

    Examples
    --------
    >>> num(21950.4), num(0.01234), num(float("nan"))
    ('21,950', '0.0123', '–')
    """
    if not _finite(x):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    return "0" if text in ("-0", "-0.0") else text


def money(x: Any, currency: str = DEFAULT_CURRENCY, *, signed: bool = False) -> str:
    """An amount of money, whole units with thousands separators: ``$21,950``, ``€1,234``, ``-$80``.

    Below 10 (a unit is then a tenth or more of the amount) the cents are kept: ``$5.20``, not ``$5``. A currency
    written as letters (``EUR``, ``kr``) goes after the amount with a space; a symbol before it. ``signed`` puts
    ``+`` before positive amounts (for changes).
    """
    if not _finite(x):
        return "–"
    x = float(x)
    decimals = 2 if abs(x) < 10 and round(abs(x), 2) != round(abs(x)) else 0
    shown = round(abs(x), decimals)
    sign = "-" if x < 0 and shown > 0 else ("+" if signed and x > 0 and shown > 0 else "")
    amount = f"{abs(x):,.{decimals}f}"
    if currency and currency.isalpha():
        return f"{sign}{amount} {currency}"
    return f"{sign}{currency}{amount}"


def pct(x: Any, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage: ``0.0512 -> '5.1%'``."""
    if not _finite(x):
        return "–"
    return f"{100 * float(x):,.{digits}f}%"


def clip_interval(
    lo: Any, hi: Any, lower: float | None = 0.0, upper: float | None = None
) -> tuple[float, float]:
    """An interval cut to the quantity's range (e.g. a wait or a count is never negative, a share at most 1).

    A Student-t interval over a few replications can reach below zero for a quantity that cannot; the range is
    what the quantity can be, so the bound past it is the range's end.
    """
    a = float(lo) if _finite(lo) else math.nan
    b = float(hi) if _finite(hi) else math.nan
    if lower is not None:
        a, b = max(a, lower), max(b, lower)
    if upper is not None:
        a, b = min(a, upper), min(b, upper)
    return a, b


def interval(
    lo: Any, hi: Any, fmt: Any = num, *, lower: float | None = 0.0, upper: float | None = None
) -> str:
    """``[lo, hi]`` formatted with ``fmt`` and cut to the range; empty when the interval is unknown."""
    a, b = clip_interval(lo, hi, lower, upper)
    if not (math.isfinite(a) and math.isfinite(b)):
        return ""
    return f"[{fmt(a)}, {fmt(b)}]"


def decile_key(name: str) -> tuple[int, int, str]:
    """Sort key that puts ``D1 < D2 < ... < D10`` and anything else (``unknown``) after, by name."""
    m = _DECILE.match(name)
    return (0, int(m.group(1)), "") if m else (1, 0, name)


def ordered(names: Iterable[str]) -> list[str]:
    """Decile names in numeric order: ``['D1', 'D10', 'D2', 'unknown'] -> ['D1', 'D2', 'D10', 'unknown']``."""
    return sorted(names, key=decile_key)
