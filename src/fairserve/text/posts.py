"""Reading a file of posts or labelled texts: CSV/TSV, JSON lines, Parquet or plain text, one text a line.

An edge module (it reads files), shared by the ``text`` and ``listen`` commands and by scenarios whose segments
draw their texts from a file (:mod:`fairserve.sim.texts`). A file that is not UTF-8 is read with the bad bytes
replaced and the first bad line named on stderr; a missing column names the columns the file has.
"""

from __future__ import annotations

import io as _io
import json
import sys
from pathlib import Path

import pandas as pd

from fairserve.errors import FairserveError

__all__ = ["read_posts"]


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        print(f"warning: {source}: not valid UTF-8 (first bad byte 0x{data[exc.start]:02x} on line {line}); bad "
              "bytes were replaced by U+FFFD and the texts holding them are flagged not_utf8", file=sys.stderr)
        return data.decode("utf-8-sig", errors="replace")


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


def read_posts(path: Path | str, text_col: str, required: tuple[str, ...] = (), option: str = "--text-col"
               ) -> pd.DataFrame:
    """Read a posts or labelled file: CSV/TSV, JSON lines, Parquet, or plain text (``.txt``, one text a line,
    column ``text``). ``-`` reads standard input as plain text. Columns are read as strings."""
    source = str(path)
    if source == "-":
        return pd.DataFrame({text_col: _decode(sys.stdin.buffer.read(), "<stdin>").splitlines()})
    p = Path(path)
    if p.is_dir():
        raise FairserveError(f"{p}: is a folder, not a file")
    if not p.is_file():
        raise FairserveError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FairserveError(f"{p}: the file is empty")
    name = p.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(p)
        elif name.endswith((".jsonl", ".ndjson")):
            frame = _jsonl(_decode(p.read_bytes(), source), source)
        elif name.endswith(".txt"):
            frame = pd.DataFrame({text_col: _decode(p.read_bytes(), source).splitlines()})
        else:
            sep = "\t" if name.endswith(".tsv") else ","
            frame = pd.read_csv(_io.StringIO(_decode(p.read_bytes(), source)), dtype=str, sep=sep,
                                keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise FairserveError(f"{p}: cannot read the file ({str(exc).splitlines()[0]})") from None
    for col in (text_col, *required):
        if col not in frame.columns:
            have = ", ".join(map(str, frame.columns[:12])) or "none"
            raise FairserveError(f"{p}: no column '{col}' (the file has: {have}); name it with "
                                 f"{option if col == text_col else 'the matching option'}")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame
