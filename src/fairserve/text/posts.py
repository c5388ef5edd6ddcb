"""Reading a file of posts or labelled texts: CSV/TSV, JSON lines, Parquet or plain text, one text a line.

An edge module (it reads files), shared by the ``text`` and ``listen`` commands and by scenarios whose segments
draw their texts from a file (:mod:`fairserve.sim.texts`). A file that is not UTF-8 is read with the bad bytes
replaced and the first bad line named on stderr; a missing column names the columns the file has.
:func:`check_reach` checks the columns a post's reach is computed from (followers, reposts, replies, likes,
verified, public) and names every bad row.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError, InputError, Problem
from fairserve.io import decode_text, parse_csv_text, read_bytes

__all__ = ["REACH_COUNTS", "check_reach", "read_posts"]

REACH_COUNTS = ("followers", "reposts", "replies", "likes")
_FORMATS = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".parquet", ".pq")  # by the name's end, less any .gz
_FLAGS = {"", "1", "0", "1.0", "0.0", "true", "false", "yes", "no", "y", "n"}


def _decode(data: bytes, source: str) -> str:
    """The text of ``data``; bytes that are not UTF-8 are replaced and the first one is named on stderr."""
    text, bad = decode_text(data)
    if bad is not None:
        print(f"warning: {source}: not valid UTF-8 (first bad byte 0x{bad.value:02x} on line {bad.line}); bad "
              "bytes were replaced by U+FFFD and the texts holding them are flagged not_utf8", file=sys.stderr)
    return text


def _read_text(path: Path, source: str) -> str:
    """:func:`_decode` of the file's bytes (gunzipped for a ``.gz`` name); a broken gzip is a one-line error."""
    try:
        data = read_bytes(path)
    except InputError as exc:  # "<file>: cannot read the file (<why>)", as every other unreadable file here
        raise FairserveError("; ".join(map(str, exc.problems))) from None
    return _decode(data, source)


def _jsonl(text: str, source: str) -> pd.DataFrame:
    """JSON lines as a frame of objects (ids keep their type); a bad line is an error naming it."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FairserveError(f"{source}, line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise FairserveError(f"{source}, line {number}: a JSON object is needed, not {type(record).__name__}")
        records.append(record)
    return pd.DataFrame(records, dtype=object)


def read_posts(path: Path | str, text_col: str, required: tuple[str, ...] = (),
               options: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a posts or labelled file: CSV/TSV, JSON lines, Parquet, or plain text (``.txt``, one text a line,
    column ``text``). ``-`` reads standard input as plain text. Columns are read as strings.

    Parameters
    ----------
    path:
        The file, or ``-`` for standard input.
    text_col:
        The column of the texts.
    required:
        Other columns the file must have.
    options:
        Column -> how the user names it (``{"label": "--label-col"}``), for the message when the file lacks it;
        ``text_col`` is ``--text-col`` unless given here, any other column "the matching option".

    Raises
    ------
    FairserveError
        Naming the file: missing, a folder, of a type not listed above (by its extension), empty, unreadable,
        without one of the columns, or with no rows.
    """
    source = str(path)
    if source == "-":
        return pd.DataFrame({text_col: _decode(sys.stdin.buffer.read(), "<stdin>").splitlines()})
    p = Path(path)
    if p.is_dir():
        raise FairserveError(f"{p}: is a folder, not a file")
    if not p.is_file():
        raise FairserveError(f"{p}: no such file")
    name = p.name.lower().removesuffix(".gz")
    if not name.endswith(_FORMATS):  # as fairserve.io refuses it: a spreadsheet read as CSV gives nonsense
        ext = Path(name).suffix
        raise FairserveError(f"{p}: unsupported file type {repr(ext) if ext else '(no extension)'}: use "
                             ".csv, .tsv, .txt, .jsonl, .ndjson (each also gzipped, .gz), .parquet or .pq")
    if p.stat().st_size == 0:
        raise FairserveError(f"{p}: the file is empty")
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(p)
        elif name.endswith((".jsonl", ".ndjson")):
            frame = _jsonl(_read_text(p, source), source)
        elif name.endswith(".txt"):
            frame = pd.DataFrame({text_col: _read_text(p, source).splitlines()})
        else:  # fairserve.io's CSV reader: a row with more fields than the header is an error naming the row
            frame = parse_csv_text(_read_text(p, source), source).fillna("").astype(str)
    except (ValueError, OSError, pd.errors.ParserError, EOFError) as exc:
        raise FairserveError(f"{p}: cannot read the file ({str(exc).splitlines()[0]})") from None
    if frame.empty:  # a header only: every command would report nothing (or crash on a first date) and exit 0
        raise FairserveError(f"{p}: the file has no rows")
    for col in (text_col, *required):
        if col not in frame.columns:
            have = ", ".join(map(str, frame.columns[:12])) or "none"
            named = {text_col: "--text-col", **(options or {})}.get(col, "the matching option")
            raise FairserveError(f"{p}: no column '{col}' (the file has: {have}); name it with {named}")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def check_reach(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """``frame`` with its reach columns checked: counts (:data:`REACH_COUNTS`) are whole numbers >= 0 and
    ``verified`` / ``public`` are yes/no values (true, false, 1, 0, yes, no, y, n); an empty cell reads as 0 or
    the default. Columns that are not there are not needed.

    Raises
    ------
    InputError
        Listing every bad cell: file, row (1-based data row, as :func:`read_posts` numbers them), field, value.
    """
    problems: list[Problem] = []
    for col in REACH_COUNTS:
        if col not in frame.columns:
            continue
        raw = frame[col]
        text = raw.astype(str).str.strip()
        empty = raw.isna() | text.eq("") | text.str.lower().isin(["nan", "none", "<na>"])
        number = pd.to_numeric(raw.where(~empty), errors="coerce")
        bad = ~empty & ~(number.notna() & np.isfinite(number.fillna(0)) & (number >= 0) & (number % 1 == 0))
        for row in frame.index[bad]:
            value = raw.loc[row]
            why = "a negative count" if pd.notna(number.loc[row]) and number.loc[row] < 0 else "not a whole number"
            problems.append(Problem(source, int(row), col, f"{value!r} is {why} (a count of 0 or more is needed)"))
    for col in ("verified", "public"):
        if col not in frame.columns:
            continue
        values = frame[col].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
        bad = ~values.str.strip().str.lower().isin(_FLAGS)
        for row in frame.index[bad]:
            problems.append(Problem(source, int(row), col, f"{frame[col].loc[row]!r} is not yes/no "
                                    "(true, false, 1, 0, yes, no, y, n)"))
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field or ""))
        raise InputError(problems, total_rows=len(frame))
    return frame
