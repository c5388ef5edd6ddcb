"""``fairserve demo``: the main job on the embedded default data (CDNOW)."""

from __future__ import annotations

import typer
from rich.table import Table

from fairserve import datasets
from fairserve.cli.common import console

__all__ = ["register"]


def demo() -> None:
    """Load the real CDNOW purchase log, validate it and summarise it."""
    frame = datasets.cdnow_master()
    table = Table(title="CDNOW_master (computed from the file)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("customers", f"{frame['customer_id'].nunique():,}")
    table.add_row("transactions", f"{len(frame):,}")
    table.add_row("first date", str(frame["date"].min().date()))
    table.add_row("last date", str(frame["date"].max().date()))
    table.add_row("total spend ($)", f"{frame['amount'].sum():,.2f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)
