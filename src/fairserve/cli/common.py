"""Shared pieces of the CLI: consoles (stdout for results, stderr for progress and errors) and JSON output."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console

__all__ = ["console", "err_console", "print_json"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def print_json(payload: Any) -> None:
    """Print ``payload`` as one JSON document on stdout (non-finite floats become null)."""
    print(json.dumps(_clean(payload), indent=2, default=str))
