"""Read and validate input files: the only file I/O of the fairserve core.

Customers, transactions, social profiles and contacts are read from CSV (optionally gzipped), Parquet or JSON
lines; the format comes from the file's extension. Every reader maps the user's column names onto the canonical
fields (see :data:`fairserve.io_validate.SCHEMAS` and ``docs/input.md``), reads identifiers as strings (``00042``
keeps its zeros), and validates every row at once with vectorised pandas operations
(:mod:`fairserve.io_validate`).

A file with bad rows is refused whole: :class:`~fairserve.errors.InputError` lists every problem (file, 1-based
data row, column, what is wrong). With ``skip_bad_rows=True`` the good rows are returned instead and the bad ones,
with their original values and a ``_problem`` column, are written to a side file, so no row is lost silently.

TOML documents (scenario and policy files) are read by :func:`read_toml` (:mod:`fairserve.io_toml`), which only
reads and parses: each caller validates the dict it returns.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError, InputError, Problem
from fairserve.io_toml import TomlFileError, read_toml
from fairserve.io_validate import KINDS, canonical_kind, validate_rows

__all__ = [
    "KINDS",
    "BadByte",
    "Loaded",
    "TomlFileError",
    "decode_text",
    "engine_reads_itself",
    "parse_csv_text",
    "read_bytes",
    "read_contacts",
    "read_customers",
    "read_json_object",
    "read_raw_table",
    "read_scores",
    "read_social_profiles",
    "read_table",
    "read_toml",
    "read_transactions",
    "validate_frame",
    "write_table",
]

_CSV = (".csv", ".csv.gz", ".txt", ".tsv")
_PARQUET = (".parquet", ".pq")
_JSONL = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True)
class Loaded:
    """The result of every reader.

    Attributes
    ----------
    frame:
        The good rows: canonical column names and dtypes (ids ``str``, dates ``datetime64[ns]``, amounts
        ``float64``).
    rows_read:
        Data rows in the file (header excluded), good and bad.
    problems:
        The problems of the rejected rows; non-empty only with ``skip_bad_rows=True``.
    rejects_path:
        Where the rejected rows were written, or None when none were.
    """

    frame: pd.DataFrame
    rows_read: int
    problems: tuple[Problem, ...]
    rejects_path: Path | None


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for ext in (*_CSV, *_PARQUET, *_JSONL):
        if name.endswith(ext):
            return ext
    return path.suffix.lower()


def _stem(path: Path) -> str:
    ext = _suffix(path)
    return path.name[: -len(ext)] if path.name.lower().endswith(ext) and ext else path.stem


@dataclass(frozen=True)
class BadByte:
    """Where bytes first stop being UTF-8 (see :func:`decode_text`).

    ``str()`` gives ``byte 0xe9 at byte offset 41, line 3``, as the ``not valid UTF-8 text`` messages say it.

    Attributes
    ----------
    value:
        The byte.
    offset:
        Its 0-based offset in the (decompressed) bytes.
    line:
        The 1-based line it is on.
    """

    value: int
    offset: int
    line: int

    def __str__(self) -> str:
        return f"byte 0x{self.value:02x} at byte offset {self.offset}, line {self.line}"


def read_bytes(path: str | Path) -> bytes:
    """Return a file's bytes, decompressed when its name ends in ``.gz`` (any input may be gzipped).

    Parameters
    ----------
    path:
        The file; whether it exists is the caller's check (each names a missing file in its own words).

    Returns
    -------
    bytes
        The file's contents, gunzipped for a ``.gz`` name.

    Raises
    ------
    InputError
        ``<path>: cannot read the file (<why>)`` when a ``.gz`` file is not gzip data, is cut short or fails its
        checksum.
    """
    path = Path(path)
    data = path.read_bytes()
    if not path.name.lower().endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError([Problem(str(path), None, None, f"cannot read the file ({why})")]) from None


def decode_text(data: bytes) -> tuple[str, BadByte | None]:
    """Decode bytes as UTF-8 (a leading BOM dropped), replacing bytes that are not UTF-8 rather than failing.

    Every reader of text decodes through this function, so a file that is not UTF-8 is described alike
    everywhere; each reader decides whether that refuses the file (:func:`read_json_object`), the rows holding
    a replaced byte (:func:`read_table`), or only warrants a warning (:func:`fairserve.text.posts.read_posts`).

    Parameters
    ----------
    data:
        The bytes, e.g. from :func:`read_bytes`.

    Returns
    -------
    text : str
        The text; each byte that is not UTF-8 is U+FFFD.
    bad : BadByte or None
        The first byte that is not UTF-8, or None when every byte is.
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        bad = BadByte(data[exc.start], exc.start, data.count(b"\n", 0, exc.start) + 1)
        return data.decode("utf-8-sig", errors="replace"), bad


def parse_csv_text(text: str, source: str) -> pd.DataFrame:
    """CSV (or, for a ``.tsv`` source, tab-separated) text as a frame of strings, rows numbered from 1; an empty
    cell is missing.

    The reader of every CSV input, for the edges that decode a file themselves (the posts of
    :mod:`fairserve.text.posts`). Raises :class:`~fairserve.errors.InputError` naming each row with more fields
    than the header (pandas would shift such a row's values silently), or an empty file.
    """
    frame, problems = _csv_frame(text, source)
    if problems:
        raise InputError(problems, total_rows=len(frame))
    return frame


def _csv_frame(text: str, source: str, data: bytes | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse CSV text with every column as strings; a row with more fields than the header is a problem.

    A row with fewer fields is read with the missing trailing values empty, as pandas does. ``data``, when given,
    is the UTF-8 the text was decoded from, handed to Arrow as it is (see :func:`_arrow_csv_frame`).
    """
    sep = "\t" if source.lower().endswith((".tsv", ".tsv.gz")) else ","
    quotes = data.count(b'"') if data is not None else text.count('"')  # ~0.3 s a GB, a few % of the parse
    if quotes % 2:  # a quote left open makes the count odd (a literal quote inside a field may too)
        _refuse_unclosed_quote(text, sep, source)
    fast = _arrow_csv_frame(text, sep, data)
    frame, problems = (fast, []) if fast is not None else _pandas_csv_frame(text, source, sep)
    if len(frame) and frame.iloc[-1].astype("str").str.contains("\n", regex=False).any():
        _refuse_unclosed_quote(text, sep, source)  # the last value running over lines may be the file's rest
    return frame, problems


def _refuse_unclosed_quote(text: str, sep: str, source: str) -> None:
    """Raise :class:`~fairserve.errors.InputError` when a quote opens a field and is never closed."""
    open_quote = _unclosed_quote(text, sep, source)
    if open_quote is not None:
        raise InputError([open_quote])


def _unclosed_quote(text: str, sep: str, source: str) -> Problem | None:
    """The problem of a quote that opens a field and is never closed, or None when every such quote closes.

    Such a quote makes the rest of the file one field: Arrow and pandas read it so (a row whose value runs to the
    end of the file, later rows gone), and the csv module stops at its field size limit. Only the quote
    characters are visited (a quote opens a field when it is the field's first character; a quote inside an
    unquoted field is a literal, as both parsers read it), so the scan is cheap even on a large file.
    """
    pos, multiline = 0, []  # multiline: (open, close) of the closed quoted fields that hold a newline
    while (start := text.find('"', pos)) >= 0:
        if start and text[start - 1] not in (sep, "\n", "\r"):
            pos = start + 1  # a literal quote inside an unquoted field
            continue
        end = start + 1
        while (end := text.find('"', end)) >= 0 and text.startswith('""', end):
            end += 2  # a doubled quote inside the quoted field
        if end < 0:
            break
        if text.find("\n", start, end) >= 0:
            multiline.append((start, end))
        pos = end + 1
    else:
        return None
    record = text.rfind("\n", 0, start) + 1  # where the record holding the open quote begins
    for first, last in reversed(multiline):
        if first < record - 1 < last:
            record = text.rfind("\n", 0, first) + 1
    line = text.count("\n", 0, start) + 1
    message = (f"a quote opens this field (line {line}) and is never closed, so the rest of the file would be "
               "read as this one value; close the quote, or remove it")
    inside = sum(text.count("\n", first, last) for first, last in multiline if last < record)
    row = len(re.findall(r"(?m)^(?!\r?$)", text[:record])) - inside  # the lines before, less the header, + 1
    if row < 1:
        return Problem(source, None, None, f"the header: {message}")
    top = text.lstrip("\r\n")
    head = next(csv.reader([top[: top.find("\n") + 1 or len(top)]], delimiter=sep), [])
    index = len(next(csv.reader([text[record:start]], delimiter=sep), [""])) - 1 if start > record else 0
    field = head[index] if index < len(head) else f"column {index + 1}"
    return Problem(source, row, field, message)


def _pandas_csv_frame(text: str, source: str, sep: str) -> tuple[pd.DataFrame, list[Problem]]:
    """:func:`_csv_frame` by pandas' C parser, and by the csv module for rows with too many fields."""
    try:
        with warnings.catch_warnings():  # a long first row is a warning ("loss of data"): make it an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], sep=sep,
                                index_col=False)
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame, []
    except pd.errors.EmptyDataError:
        raise InputError([Problem(source, None, None, "file is empty (no header row)")], total_rows=0) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        pass  # some rows have the wrong number of fields: find each one (slow path, only for such files)
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        records = [r for r in reader if r]
    except csv.Error as exc:  # e.g. a field over the module's size limit: a quote never closed, found above
        _refuse_unclosed_quote(text, sep, source)
        raise InputError([Problem(source, None, None, f"not readable as CSV at line {reader.line_num} ({exc})")]
                         ) from None
    header, body = records[0], records[1:]
    width = len(header)
    problems = [Problem(source, i, None, f"row has {len(r)} fields, the header has {width}; extra values "
                        f"{r[width:]!r}") for i, r in enumerate(body, 1) if len(r) > width]
    fitted = [(r + [""] * width)[:width] for r in body]
    frame = pd.DataFrame(fitted, columns=header, index=pd.RangeIndex(1, len(body) + 1), dtype="str")
    return frame.replace("", np.nan).astype("str"), problems


def _arrow_csv_frame(text: str, sep: str, data: bytes | None = None) -> pd.DataFrame | None:
    """The frame :func:`_csv_frame` reads, parsed by Arrow's multi-threaded CSV reader; None when it cannot be.

    Arrow's reader is multi-threaded and several times faster than pandas' C parser on a large file
    (``benchmarks/scores.py`` times the whole reader against the previous one). Arrow is used only where it reads
    exactly what pandas would: every column as text, only an empty field
    missing, quoted newlines allowed, at least one data row, and a header on one line with no repeated name
    (pandas renames a repeat).
    Anything else (a row with a wrong number of fields, an empty file) returns None, and pandas reads the file
    with its own rules and messages. A test holds both readers to the same frame.

    Arrow reads ``data``, the bytes ``text`` was decoded from, when the caller has them and every byte was UTF-8
    (a file's bytes: Arrow drops a leading BOM as :func:`decode_text` does); otherwise, or when ``text`` itself
    starts with a BOM (the file had two, and Arrow would keep the second in a name pandas strips), ``text``
    encoded again.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first = text[: text.find("\n") + 1] or text
    try:
        header = next(csv.reader(io.StringIO(first), delimiter=sep), [])
    except csv.Error:  # e.g. lines ended by a lone carriage return
        return None
    if not header or len(set(header)) != len(header) or first.count('"') % 2:
        return None  # no header, a repeated name, or a newline inside a quoted name: pandas' rules
    try:
        table = pacsv.read_csv(
            pa.py_buffer(text.encode("utf-8") if data is None or text.startswith("\ufeff") else data),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                 strings_can_be_null=True, null_values=[""]),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows == 0 or table.column_names != header:
        return None
    frame = table.to_pandas()
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _jsonl_frame(text: str, source: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse JSON lines; each value becomes a string (ids keep their form), a row is a line number."""
    records: list[dict[str, object]] = []
    lines: list[int] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a line must hold one JSON object")
        except ValueError as exc:
            problems.append(Problem(source, number, None, f"not a JSON object ({exc}): {line[:200]!r}"))
            record = {}
        records.append({k: _json_text(v) for k, v in record.items()})
        lines.append(number)
    frame = pd.DataFrame.from_records(records, index=pd.Index(lines, dtype="int64"))
    return frame.astype("str") if len(frame.columns) else frame, problems


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _load_raw(path: Path, source: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Read ``path`` into a raw frame (index = reported row number) plus problems found while reading."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "file not found"
        raise InputError([Problem(source, None, None, what)])
    ext = _suffix(path)
    if ext in _PARQUET:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputError([Problem(source, None, None, f"not a readable Parquet file: {exc}")]) from None
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame, []
    if ext not in _CSV and ext not in _JSONL:
        raise InputError([Problem(source, None, None, f"unsupported file type '{ext}': use .csv, .csv.gz, "
                                  ".txt, .tsv, .parquet, .pq, .jsonl or .ndjson (JSON lines also .gz)")])
    data = read_bytes(path)
    text, undecodable = decode_text(data)
    if ext in _JSONL:
        frame, problems = _jsonl_frame(text, source)
    else:  # Arrow reads the bytes themselves when they are all UTF-8; else the text with U+FFFD for bad bytes
        frame, problems = _csv_frame(text, source, data if undecodable is None else None)
    if undecodable is not None:
        message = f"not valid UTF-8 text (first bad {undecodable}); save the file as UTF-8"
        spots: dict[int | None, str | None] = {}
        if any("\ufffd" in str(c) for c in frame.columns):  # the header itself: no field name to show
            spots[None] = None
        for col in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[col].dtype):
                hit = frame[col].astype("str").str.contains("\ufffd", regex=False).fillna(False).to_numpy(bool)
                for row in frame.index[hit]:
                    spots.setdefault(int(row), str(col))
        problems += [Problem(source, r, c, message) for r, c in sorted(spots.items(), key=lambda x: x[0] or 0)]
        if not spots:
            problems.append(Problem(source, None, None, message))
    return frame, problems


def _rejects_file(path: Path, rejects_path: str | Path | None) -> Path:
    return Path(rejects_path) if rejects_path is not None else path.with_name(f"{_stem(path)}.rejected.csv")


def read_table(
    path: str | Path,
    kind: str,
    *,
    columns: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
) -> Loaded:
    """Read and validate one input file of ``kind`` (``transactions``, ``customers``, ``profiles``, ``contacts``).

    Parameters
    ----------
    path:
        A ``.csv`` (or ``.csv.gz``), ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson`` file.
    columns:
        Canonical field -> the file's column name, for the fields whose column is named differently.
    skip_bad_rows:
        Return the good rows and write the bad ones to ``rejects_path`` instead of refusing the file.
    rejects_path:
        Where rejected rows go; default ``<input stem>.rejected.csv`` next to the input.

    Raises
    ------
    InputError
        Listing every problem, when a row is bad (unless ``skip_bad_rows``) or the file as a whole is unusable
        (not found, unsupported type, empty, a required column missing).
    """
    path = Path(path)
    kind = canonical_kind(kind)
    source = str(path)
    raw, problems = _load_raw(path, source)
    if any(p.row is None for p in problems):
        raise InputError(problems, total_rows=len(raw))
    pre_bad = raw.index.isin([p.row for p in problems])
    frame, found, bad_read = validate_rows(raw[~pre_bad], kind, source, columns, raw.index[~pre_bad].to_numpy())
    if any(p.row is None for p in found):  # a missing column: the rows that failed to read may be why
        raise InputError(problems + found, total_rows=len(raw))
    problems = sorted(problems + found, key=lambda p: p.row or 0)
    if not problems:
        return Loaded(frame, len(raw), (), None)
    if not skip_bad_rows:
        raise InputError(problems, total_rows=len(raw))
    bad = pre_bad.copy()
    bad[~pre_bad] = bad_read.to_numpy()
    target = _rejects_file(path, rejects_path)
    rejected = raw.loc[bad].copy()
    notes: dict[int, list[str]] = {}
    for p in problems:
        if p.row is not None:
            notes.setdefault(p.row, []).append(str(p).removeprefix(f"{source}, "))
    rejected["_problem"] = ["; ".join(notes.get(int(r), [])) for r in rejected.index]
    target.parent.mkdir(parents=True, exist_ok=True)
    rejected.to_csv(target, index=False)
    return Loaded(frame, len(raw), tuple(problems), target)


def read_transactions(
    path: str | Path,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    product_col: str | None = None,
    account_col: str | None = None,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
) -> Loaded:
    """Read purchases: ``customer_id``, ``date``, ``amount`` (>= 0), optional ``product_line``, ``account``,
    ``quantity``. See :func:`read_table`."""
    columns = {"customer_id": customer_col, "date": date_col, "amount": amount_col}
    if product_col is not None:
        columns["product_line"] = product_col
    if account_col is not None:
        columns["account"] = account_col
    return read_table(path, "transactions", columns=columns, skip_bad_rows=skip_bad_rows,
                      rejects_path=rejects_path)


def read_customers(
    path: str | Path,
    *,
    customer_col: str = "customer_id",
    columns: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
) -> Loaded:
    """Read customers: unique ``customer_id``, optional ``status``, ``account``, ``since``, ``products_held``;
    other columns are kept as read. See :func:`read_table`."""
    mapping = {"customer_id": customer_col, **dict(columns or {})}
    return read_table(path, "customers", columns=mapping, skip_bad_rows=skip_bad_rows, rejects_path=rejects_path)


def read_social_profiles(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
) -> Loaded:
    """Read social profiles: ``handle``, ``platform`` (default ``generic``), ``followers``, optional
    ``engagement``, ``verified``, ``customer_id``; (platform, handle) unique. See :func:`read_table`."""
    return read_table(path, "profiles", columns=columns, skip_bad_rows=skip_bad_rows, rejects_path=rejects_path)


def read_contacts(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
) -> Loaded:
    """Read contacts: unique ``contact_id``, ``channel``, ``arrival``, ``customer_id`` and/or ``handle``, and
    optional ``text``, ``severity`` (0-3), ``sentiment`` ([-1, 1]), ``complaint``, ``repeat``, ``reach``.
    See :func:`read_table`."""
    return read_table(path, "contacts", columns=columns, skip_bad_rows=skip_bad_rows, rejects_path=rejects_path)


def read_claimants(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
) -> Loaded:
    """Read claimants of a scarce good: unique ``claimant_id``, optional ``customer_id``, ``fare`` (>= 0),
    ``checked_in_hours`` (>= 0, hours before departure), ``severity`` (0-3) and the yes/no flags ``medical``,
    ``reduced_mobility``, ``unaccompanied_minor``, ``children``. See :func:`read_table`."""
    return read_table(path, "claimants", columns=columns, skip_bad_rows=skip_bad_rows, rejects_path=rejects_path)


def validate_frame(
    frame: pd.DataFrame, kind: str, source: str, *, columns: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, list[Problem], pd.Series]:
    """Validate an already-loaded table as ``kind``; rows are reported as 1-based positions.

    Returns the canonical frame of the good rows, every problem, and the boolean mask of bad rows (indexed like
    ``frame``). Typed columns (datetimes, numbers) are accepted as they are; text columns are parsed.
    """
    return validate_rows(frame, kind, source, columns, np.arange(1, len(frame) + 1))


def read_scores(
    path: str | Path,
    *,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
) -> pd.DataFrame:
    """Read and validate a scored customer base (the output of ``fairserve value score``), CSV, Parquet or JSONL.

    Validated as every input is (:func:`read_table`, kind ``scores``): a unique ``customer_id`` (kept as text:
    ``00042`` keeps its zeros) and a numeric ``clv`` are required; ``loyalty``, ``value_percentile``,
    ``influence`` and ``p_alive`` must lie in [0, 1]; ``followers`` and the expected purchases and spend must not
    be negative. Other columns are kept, as numbers when every value is one. The policy audit, ``policy
    explain``, ``policy decide``, ``simulate --customers`` and ``whatif`` all read their base through this
    function.

    Raises
    ------
    InputError
        Naming the file, row and field of every problem (see :func:`read_table`), or that the file has no rows.
    """
    loaded = read_table(path, "scores", skip_bad_rows=skip_bad_rows, rejects_path=rejects_path)
    if loaded.rows_read == 0:
        raise InputError([Problem(str(path), None, None, "the scores file has no rows")], total_rows=0)
    if loaded.frame.empty:
        raise InputError([Problem(str(path), None, None, "every row of the scores file was rejected "
                                  f"(see {loaded.rejects_path})")], total_rows=loaded.rows_read)
    return loaded.frame


def read_raw_table(path: str | Path, *, skip_bad_rows: bool = False) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON-lines table as it is (values as text, the file's own column names).

    For handing a format an engine cannot read itself (JSON lines) to one that validates by column. The file
    as a whole is checked as :func:`read_table` checks it: missing, a folder, empty, not UTF-8, a line that is
    not a JSON object. With ``skip_bad_rows`` a problem of single rows (bytes that are not UTF-8, a row too long)
    is not raised: the caller drops those rows, as :func:`read_table` with ``skip_bad_rows`` reports them.

    Raises
    ------
    InputError
        Naming the file, and the row and field where there is one.
    """
    path = Path(path)
    raw, problems = _load_raw(path, str(path))
    if problems and (not skip_bad_rows or any(p.row is None for p in problems)):
        raise InputError(problems, total_rows=len(raw))
    return raw.reset_index(drop=True)


def engine_reads_itself(path: str | Path) -> bool:
    """True for the formats a SQL engine reads directly (CSV, gzipped CSV, Parquet); False for JSON lines."""
    return _suffix(Path(path)) in (".csv", ".csv.gz", ".txt", *_PARQUET)


def read_json_object(path: str | Path, what: str) -> dict[str, object]:
    """Read a JSON document that must be one object (a saved model), with errors that name the file.

    Raises
    ------
    InputError
        ``no such <what> file``, ``is a folder``, ``file is empty``, ``not valid UTF-8 text (...)``, ``not valid
        JSON (line L, column C: ...)`` or ``holds a JSON <type>, not an object``.
    """
    path = Path(path)
    source = str(path)

    def refuse(message: str) -> InputError:
        return InputError([Problem(source, None, None, message)])

    if not path.is_file():
        raise refuse(f"is a folder, not a {what} file" if path.is_dir() else f"no such {what} file")
    data = path.read_bytes()
    if not data.strip():
        raise refuse(f"file is empty (expected a {what})")
    text, undecodable = decode_text(data)
    if undecodable is not None:
        raise refuse(f"not valid UTF-8 text (first bad {undecodable})")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(doc, dict):
        raise refuse(f"holds a JSON {type(doc).__name__}, not an object: not a {what}")
    return doc


def columns_in_file(path: str | Path) -> list[str]:
    """The column names a CSV, Parquet or JSON-lines file declares (its header, schema or first record).

    Lets a command tell a column the file gave from one the reader filled with its documented default.
    """
    p = Path(path)
    suffix = _suffix(p)
    if suffix in _PARQUET:
        import pyarrow.parquet as pq

        return list(pq.read_schema(p).names)
    opener = gzip.open if p.name.endswith(".gz") else open
    with opener(p, "rt", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if suffix in _JSONL:
        try:
            record = json.loads(first)
        except ValueError:
            return []
        return list(record) if isinstance(record, dict) else []
    return next(csv.reader([first]), [])


_WRITERS = {"csv": (".csv",), "parquet": _PARQUET, "jsonl": (".jsonl", ".ndjson")}


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a result table as ``.csv``, ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson``, by the name's ending.

    Raises
    ------
    FairserveError
        When the name ends otherwise (nothing is written).
    """
    path = Path(path)
    name = path.name.lower()
    kind = next((k for k, ends in _WRITERS.items() if name.endswith(ends)), None)
    if kind is None:
        raise FairserveError(f"{path}: the output must end in .csv, .parquet or .jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    elif kind == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        write_csv(frame, path)
    return path


# from this many rows a CSV is written by Arrow's writer: on the 1M customers of `value fit --scores-out` it took
# 1.0 s where pandas' to_csv took 9.3 s (floats formatted one by one in Python); below it pandas writes, as before
_ARROW_CSV_ROWS = 50_000


def write_csv(frame: pd.DataFrame, path: str | Path, arrow_from: int = _ARROW_CSV_ROWS) -> None:
    """Write ``frame`` as CSV: by Arrow's writer from ``arrow_from`` rows where its columns allow, else pandas'.

    Both write the same values (a test reads the two files back to the same frame); Arrow's writer quotes every
    text and writes a whole float without ``.0``. Columns it would write otherwise than pandas (booleans,
    objects, categories, times of day, time zones) keep the frame with pandas.
    """
    table = _csv_table(frame) if len(frame) >= arrow_from else None
    if table is None:
        frame.to_csv(path, index=False)
        return
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def _csv_table(frame: pd.DataFrame) -> object | None:
    """``frame`` as an Arrow table that Arrow's CSV writer writes as pandas would, or ``None``."""
    import pyarrow as pa

    names = [str(c) for c in frame.columns]
    if len(set(names)) < len(names) or not all(isinstance(c, str) for c in frame.columns):
        return None
    arrays = []
    for name in names:
        column = frame[name]
        kind = column.dtype
        if isinstance(kind, pd.DatetimeTZDtype):
            return None
        if pd.api.types.is_datetime64_dtype(kind):
            values = column.to_numpy()
            days = values.astype("datetime64[D]")
            if not (days == values)[~np.isnat(values)].all():
                return None  # a time of day: pandas writes it, Arrow's format differs
            arrays.append(pa.array(days))  # pandas writes a midnight as YYYY-MM-DD, and so does a date
        elif pd.api.types.is_bool_dtype(kind) or not (
            pd.api.types.is_float_dtype(kind) or pd.api.types.is_integer_dtype(kind)
            or (pd.api.types.is_string_dtype(kind) and not pd.api.types.is_object_dtype(kind))
        ):
            return None
        else:
            arrays.append(pa.array(column, from_pandas=True))
    return pa.table(arrays, names=names)
