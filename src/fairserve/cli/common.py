"""Shared pieces of the CLI: consoles (stdout for results, stderr for progress and errors), tables and JSON.

Tables (:func:`table`) never cut an identifier (a policy, tier, segment, customer or channel name): in a terminal
the identifier columns do not wrap and the other columns fold; when that cannot fit the terminal, the table is
printed as plain aligned columns, one row a line, or, when even those are wider than the terminal, as records
(one heading a row, one ``column: value`` line a cell). When stdout is not a terminal (a pipe, a file) it is
always the plain columns, whatever the width. Every listing command also has ``--json``.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["SparkConf", "SparkMaster", "check_output", "console", "err_console", "plain_table", "print_json",
           "print_whole", "prose", "prose_lines", "record_table", "refuse_no_rows", "table"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
# piped or redirected, a line is never wrapped (a review found "total profit" and its figure on two lines of a
# pipe): wrapping at 80 columns is for a person at a terminal, whole lines are for the scripts that read them
console.soft_wrap = not console.is_terminal
err_console.soft_wrap = not err_console.is_terminal


def refuse_no_rows(loaded: Any, path: Path | str, what: str) -> None:
    """Refuse a file read as :class:`fairserve.io.Loaded` that has no rows (a header only), as the scores reader
    does, or none left once the bad rows were skipped: a command would otherwise report 0 of everything and exit 0.

    Raises
    ------
    InputError
        Naming the file; ``what`` names what it holds (``contacts``).
    """
    from fairserve.errors import InputError, Problem

    if loaded.rows_read == 0:
        raise InputError([Problem(str(path), None, None, f"the {what} file has no rows")], total_rows=0)
    if loaded.frame.empty:
        raise InputError([Problem(str(path), None, None, f"every row of the {what} file was rejected (see "
                                  f"{loaded.rejects_path})")], total_rows=loaded.rows_read)


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


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``columns`` and ``rows`` as plain text: a header line, then one line a row, columns padded to align."""
    lines = [list(columns), *(list(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines) + "\n"


def _wrap(text: str, width: int, first: str, rest: str) -> str:
    """``text`` wrapped between words at ``width``, its first line led by ``first`` and the others by ``rest``;
    a word longer than a line (a path, a command) is never broken."""
    return textwrap.fill(text, max(width, len(rest) + 20), initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


def _fill(text: str, indent: int, hang: int) -> str:
    width = console.width if console.is_terminal else 1 << 30  # piped: one line, as tables are
    return _wrap(text, width, " " * indent, " " * hang)


def prose(text: str, indent: int = 0) -> None:
    """Print a paragraph on stdout wrapped at the console's width between words, wrapped lines indented by
    ``indent`` spaces (the first too), no trailing spaces; a word longer than a line (a path) is never broken.
    Not a terminal (a pipe, a file), the paragraph is one line."""
    console.file.write(_fill(text, indent, indent) + "\n")
    console.file.flush()


def prose_lines(text: str) -> None:
    """:func:`prose` for each line of ``text``, keeping its indent; a ``- `` item's wrapped lines align with its
    words."""
    for line in text.splitlines():
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        console.file.write((_fill(body, indent, indent + (2 if body.startswith("- ") else 0)) if body else "")
                           + "\n")
    console.file.flush()


def record_table(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None) -> str:
    """``rows`` as records: the first column's value as a heading, then one ``column: value`` line per cell.

    For a terminal too narrow for the plain table: nothing is cut. With ``width``, a long value wraps between
    words, its lines aligned under its first (a single word longer than the line stays whole).
    """
    name_width = max(len(c) for c in columns[1:]) if len(columns) > 1 else 0
    hang = " " * (name_width + 4)
    blocks = []
    for row in rows:
        lines = [row[0]]
        for name, cell in zip(columns[1:], row[1:], strict=True):
            label = f"  {name.ljust(name_width)}  "
            line = f"{label}{cell}".rstrip()
            lines.append(_wrap(cell, width, label, hang) if width is not None and len(line) > width else line)
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + "\n"


def _fallback(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The plain table, or, in a terminal narrower than it, the records (:func:`record_table`)."""
    plain = plain_table(columns, rows)
    if console.is_terminal and max(len(line) for line in plain.splitlines()) > console.width:
        return record_table(columns, rows, console.width)
    return plain


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    keys: Sequence[int] = (0,),
    right: Sequence[int] = (),
) -> None:
    """Print a table on stdout; no cell is ever cut or folded (identifiers of the ``keys`` columns above all).

    ``right`` lists the columns to right-justify (numbers). Not a terminal: :func:`plain_table` with the title
    above it. A terminal: a rich table at the terminal's width, unless some cell would not show whole on one
    line in it, then the plain form (wider than the terminal, but every figure readable).
    """
    cells = [[str(c) for c in r] for r in rows]
    if console.is_terminal:
        from rich.table import Table

        rich_table = Table(title=title)
        for i, name in enumerate(columns):
            if i in keys:
                rich_table.add_column(name, no_wrap=True, min_width=max([len(name), *(len(r[i]) for r in cells)]))
            else:
                rich_table.add_column(name, overflow="fold", justify="right" if i in right else "left")
        for r in cells:
            rich_table.add_row(*r)
        with console.capture() as captured:
            console.print(rich_table)
        text = captured.get()
        lines = text.splitlines()
        # every cell whole on one line: identifiers never cut, and no number folded across two lines either
        if all(any(r[i] in line for line in lines) for r in cells for i in range(len(columns))):
            console.file.write(text)
            return
    console.file.write(f"{title}\n{_fallback(columns, cells)}")
    console.file.flush()


def print_whole(rich_table: Any) -> None:
    """Print a rich ``Table`` as it is when every cell fits, else as :func:`plain_table`: never a cut cell.

    Rich shortens a cell that does not fit the terminal to ``…``; a figure so shortened says nothing, so the
    table is printed plain instead (its title above).
    """
    headers = [str(c.header) for c in rich_table.columns]
    cells = [[str(c) for c in col._cells] for col in rich_table.columns]
    rows = [list(r) for r in zip(*cells, strict=True)] if cells else []
    if console.is_terminal:
        with console.capture() as captured:
            console.print(rich_table)
        text = captured.get()
        lines = text.splitlines()
        if all(any(cell in line for line in lines) for row in rows for cell in row if cell):
            console.file.write(text)
            return
    title, caption = str(rich_table.title or ""), str(rich_table.caption or "")
    console.file.write((f"{title}\n" if title else "") + _fallback(headers, rows))
    console.file.flush()
    if caption:
        prose(caption)


#: The endings a result table may be written with (fairserve.io.write_table's formats)
TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson")


def check_output(path: Path | str, what: str = "output", *, folder: bool = False,
                 suffixes: Sequence[str] = ()) -> Path:
    """Make sure ``path`` can be written before any work is done; create its missing parent folders.

    Every command checks its outputs this way first, so a bad path is refused in one line (exit 2) and no
    command writes one output, then fails on the next. ``folder``: the output is a folder (a model directory),
    which may exist; otherwise the output is a file, and an existing folder of that name is refused.
    ``suffixes``: the endings the output is written in (``x.xlsx`` would get a CSV under an Excel name).

    Raises
    ------
    FairserveError
        Naming the path and what is wrong with it.
    """
    from fairserve.errors import FairserveError

    path = Path(path)
    if not folder and path.is_dir():
        raise FairserveError(f"{path}: is a folder; give a file name for the {what}")
    if suffixes and not path.name.lower().endswith(tuple(suffixes)):
        ends = ", ".join(suffixes[:-1]) + (" or " if len(suffixes) > 1 else "") + suffixes[-1]
        raise FairserveError(f"{path}: the {what} is written as {ends}; give a name with one of these endings")
    if folder and path.exists() and not path.is_dir():
        raise FairserveError(f"{path}: is a file; the {what} is written as a folder, give a new or existing folder")
    parent = path.parent
    for up in (parent, *parent.parents):
        if up.exists():
            if not up.is_dir():
                raise FairserveError(f"{path}: {up} is a file, not a folder")
            if not os.access(up, os.W_OK | os.X_OK):
                raise FairserveError(f"{path}: cannot write in the folder {up} (permission denied)")
            break
    parent.mkdir(parents=True, exist_ok=True)
    return path


# money: demo, simulate and policy allocate
Currency = Annotated[
    str, typer.Option("--currency", help="Symbol or code put on every amount of money, e.g. €, £, EUR.")
]

# the options of every command that runs on Spark (value fit and score, policy audit and decide)
SparkMaster = Annotated[
    str | None, typer.Option("--spark-master", help="Spark master URL (spark://HOST:7077, yarn, local[4]); "
                             "default: spark-submit's or SPARK_MASTER, else local[*]. With --engine spark.")
]
SparkConf = Annotated[
    list[str] | None, typer.Option("--spark-conf", help="A Spark setting as KEY=VALUE (repeatable; the memory "
                                   "settings are in docs/scale.md). With --engine spark.")
]
