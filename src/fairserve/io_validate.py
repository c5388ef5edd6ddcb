"""Row-level validation of input tables: the canonical schemas and vectorised parsers behind :mod:`fairserve.io`.

Every field of every row is checked in one pass of whole-column pandas operations (no Python loop over rows), and
every bad row is reported at once as a :class:`~fairserve.errors.Problem` naming the file, the 1-based data row,
the user's column and what is wrong. Messages are built only for the bad rows, so a clean file of millions of rows
costs a few column scans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairserve.errors import InputError, Problem
from fairserve.model import Channel

# pyarrow is a pandas dependency here (pandas 3 keeps strings in Arrow arrays): its C++ string-to-number cast is
# what makes a clean numeric column cheap; pandas.to_numeric is kept for columns with a value it refuses

__all__ = ["KINDS", "MAX_AMOUNT", "SCHEMAS", "Field", "canonical_kind", "resolve_columns", "separator_hint",
           "validate_rows"]


#: The largest transaction amount: the value summary sums amounts exactly as DECIMAL(18, 6) (12 digits before the
#: point; as a float, to the cent), so every reader refuses a larger one alike (``check`` as well as ``value fit``).
MAX_AMOUNT = 999_999_999_999.99


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical column: its parser (``kind``), whether a value is required, its default and its range."""

    name: str
    kind: str  # id | str | text | date | datetime | float | int | bool | channel
    required: bool = False
    default: object = None
    low: float | None = None
    high: float | None = None
    cap: float | None = None  # the largest value that can be held (not a range: a larger one is refused alone)


SCHEMAS: dict[str, tuple[Field, ...]] = {
    "transactions": (
        Field("customer_id", "id", required=True),
        Field("date", "date", required=True),
        Field("amount", "float", required=True, low=0.0, cap=MAX_AMOUNT),
        Field("product_line", "str"),
        Field("account", "str"),
        Field("quantity", "float", low=0.0),
    ),
    "customers": (
        Field("customer_id", "id", required=True),
        Field("status", "str"),
        Field("account", "str"),
        Field("since", "date"),
        Field("products_held", "int", low=0),
    ),
    "profiles": (
        Field("handle", "id", required=True),
        Field("platform", "str", default="generic"),
        Field("followers", "int", required=True, low=0),
        Field("engagement", "float", low=0.0),
        Field("verified", "bool", default=False),
        Field("customer_id", "id"),
    ),
    "contacts": (
        Field("contact_id", "id", required=True),
        Field("channel", "channel", required=True),
        Field("arrival", "datetime", required=True),
        Field("text", "text", default=""),
        Field("customer_id", "id"),
        Field("handle", "id"),
        Field("severity", "int", default=0, low=0, high=3),
        Field("sentiment", "float", low=-1.0, high=1.0),
        Field("complaint", "bool", default=False),
        Field("repeat", "int", default=0, low=0),
        Field("reach", "float", low=0.0),
        Field("public", "bool"),
        Field("handle_seconds", "float", low=0.0),  # handling time where known (`simulate --contacts` replays it)
    ),
    "claimants": (
        Field("claimant_id", "id", required=True),
        Field("customer_id", "id"),
        Field("fare", "float", low=0.0),
        Field("checked_in_hours", "float", low=0.0),
        Field("severity", "int", default=0, low=0, high=3),
        Field("medical", "bool", default=False),
        Field("reduced_mobility", "bool", default=False),
        Field("unaccompanied_minor", "bool", default=False),
        Field("children", "bool", default=False),
        Field("status", "str"),
    ),
    "contact_history": (  # past contacts, for the cost to serve (`value score --contacts`)
        Field("customer_id", "id", required=True),
        Field("channel", "str", required=True),  # any channel a --channel-cost may price
        Field("date", "date", required=True),
    ),
    "scores": (  # the output of `fairserve value score`; columns not listed here are kept (numbers as numbers)
        Field("customer_id", "id", required=True),
        Field("clv", "float", required=True),
        Field("profit", "float"),
        Field("loyalty", "float", low=0.0, high=1.0),
        Field("value_percentile", "float", low=0.0, high=1.0),
        Field("influence", "float", low=0.0, high=1.0),
        Field("followers", "float", low=0.0),
        Field("p_alive", "float", low=0.0, high=1.0),
        Field("monetary_value", "float", low=0.0),
        Field("expected_purchases", "float", low=0.0),
        Field("expected_spend", "float", low=0.0),
        Field("status", "str"),
        Field("account", "str"),
    ),
}
KINDS = tuple(SCHEMAS)
_KEEPS_OTHER_COLUMNS = frozenset({"customers", "scores"})
"""Kinds whose columns outside the schema are kept; for ``scores`` a field the file lacks stays absent."""
_UNIQUE: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "profiles": ("platform", "handle"),
    "contacts": ("contact_id",),
    "claimants": ("claimant_id",),
    "scores": ("customer_id",),
}
_ALIASES = {"social_profiles": "profiles", "social": "profiles", "profile": "profiles", "contact": "contacts",
            "customer": "customers", "transaction": "transactions", "claimant": "claimants",
            "score": "scores", "history": "contact_history", "contact-history": "contact_history"}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_CHANNELS = tuple(c.value for c in Channel)
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def canonical_kind(kind: str) -> str:
    """Return the schema name for ``kind`` (``"social_profiles"`` -> ``"profiles"``), or raise ValueError."""
    key = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if key not in SCHEMAS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {', '.join(KINDS)}")
    return key


def separator_hint(header: list[str]) -> str:
    """When a CSV's header, read on commas, is one column holding another separator: a hint that says so.

    ``''`` when the header is not such a column. Shared by every reader that holds a CSV to the documented rule
    (docs/input.md: comma separated): :func:`resolve_columns` and the value summary's engines, whose own CSV
    reader would guess the separator.
    """
    if len(header) != 1:
        return ""
    for sep, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
        if sep in str(header[0]):
            return (f"the file seems to separate its fields with {word}, and fairserve reads comma-separated files "
                    "(save it as CSV with commas)")
    return ""


def resolve_columns(
    header: list[str], kind: str, source: str, columns: Mapping[str, str] | None
) -> tuple[dict[str, str], list[Problem]]:
    """Map each canonical field to the user's column present in ``header``; problems for missing columns.

    A field maps to ``columns[field]`` when given, else to the column named like the field. When that exact name
    is absent, a unique case-insensitive match is taken. Fields whose column is absent map to nothing (optional
    fields) or give a file-level problem (required fields).
    """
    fields = {f.name: f for f in SCHEMAS[kind]}
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(fields))
    if unknown:
        raise InputError([Problem(source, None, u, f"no field '{u}' in {kind}; fields: {', '.join(fields)}")
                          for u in unknown])
    lower: dict[str, list[str]] = {}
    for col in header:
        lower.setdefault(col.strip().lower(), []).append(col)
    found: dict[str, str] = {}
    problems: list[Problem] = []
    hint = separator_hint(header)
    for name, spec in fields.items():
        wanted = columns.get(name, name)
        matches = [wanted] if wanted in header else lower.get(wanted.strip().lower(), [])
        if len(matches) == 1:
            found[name] = matches[0]
        elif spec.required:
            problems.append(Problem(source, None, wanted, f"missing column '{wanted}' (required for {kind} "
                                    f"field '{name}'); columns found: {', '.join(map(str, header)) or 'none'}"
                                    f"{'; the header is one column: ' + hint if hint else ''}"))
    if kind == "contacts" and "customer_id" not in found and "handle" not in found:
        problems.append(Problem(source, None, columns.get("customer_id", "customer_id"),
                                "contacts need a 'customer_id' column, a 'handle' column, or both"))
    return found, problems


def _text(raw: pd.Series, strip: bool = True) -> pd.Series:
    """Return ``raw`` as pandas strings with missing values kept missing (numbers print without a '.0')."""
    if pd.api.types.is_float_dtype(raw.dtype):
        finite = raw.dropna()
        if len(finite) and bool((finite == np.floor(finite)).all()):
            raw = raw.astype("Int64")
    if pd.api.types.is_bool_dtype(raw.dtype):
        raw = raw.map({True: "true", False: "false"})
    text = raw.astype("str")
    return text.str.strip() if strip else text


def _parse_dates(raw: pd.Series, with_time: bool) -> pd.Series:
    """Parse ISO dates, YYYYMMDD and ISO datetimes (offsets converted to UTC); NaT where unparseable.

    For a date field an ISO datetime keeps the calendar date as written (no shift to UTC).
    """
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        out = raw.dt.tz_convert(None) if getattr(raw.dt, "tz", None) is not None else raw
        out = out.astype("datetime64[ns]")
        return out if with_time else out.dt.normalize()
    text = _text(raw)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    plain = text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
    compact = text.str.fullmatch(r"\d{8}").fillna(False).astype(bool)
    stamped = text.str.match(_ISO_DATE + r"[T ]").fillna(False).astype(bool) & ~plain
    if plain.any():
        out[plain] = pd.to_datetime(text[plain], format="%Y-%m-%d", errors="coerce")
    if compact.any():
        out[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
    if stamped.any():
        full = pd.to_datetime(text[stamped], format="ISO8601", errors="coerce", utc=True).dt.tz_convert(None)
        if with_time:
            out[stamped] = full
        else:
            day = pd.to_datetime(text[stamped].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
            out[stamped] = day.where(full.notna())
    return out


def _parse(raw: pd.Series, spec: Field) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column; return (values, unparseable mask over non-empty cells, what a valid value looks like)."""
    kind = spec.kind
    if kind in ("date", "datetime"):
        values = _parse_dates(raw, with_time=kind == "datetime")
        what = "a date (YYYY-MM-DD, YYYYMMDD or an ISO datetime)"
        return values, values.isna(), what if kind == "date" else what.replace("a date", "a date/time")
    if kind in ("float", "int"):
        if pd.api.types.is_bool_dtype(raw.dtype) or not pd.api.types.is_numeric_dtype(raw.dtype):
            values = _numbers(_text(raw), integers=False)
        else:
            values = raw.astype("float64")
        bad = ~np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
        if kind == "int":
            whole = np.floor(values) == values
            return values, pd.Series(bad, index=raw.index) | ~whole.fillna(False), "a whole number"
        return values, pd.Series(bad, index=raw.index), "a number"
    if kind == "bool":
        if pd.api.types.is_bool_dtype(raw.dtype):
            return raw.astype("boolean"), pd.Series(False, index=raw.index), "true/false"
        low = _text(raw).str.lower()
        values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        values[low.isin(_TRUE)] = True
        values[low.isin(_FALSE)] = False
        return values, values.isna(), "true/false, yes/no or 1/0"
    text = _text(raw, strip=kind != "text")
    if kind == "channel":
        text = text.str.lower()
        return text, ~text.isin(_CHANNELS), "one of " + ", ".join(_CHANNELS)
    if kind == "str" and spec.name == "platform":
        text = text.str.lower()
    return text, pd.Series(False, index=raw.index), "text"


def _show(value: object) -> str:
    text = repr(str(value))
    return text if len(text) <= 42 else text[:39] + "...'"


def _out_of_range(values: pd.Series, spec: Field) -> tuple[pd.Series, str]:
    vals = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.zeros(len(vals), dtype=bool)
    with np.errstate(invalid="ignore"):
        if spec.low is not None:
            bad |= vals < spec.low
        if spec.high is not None:
            bad |= vals > spec.high
    if spec.low is not None and spec.high is not None:
        rule = f"between {spec.low:g} and {spec.high:g}"
    else:
        rule = "negative" if spec.low == 0 else f"below {spec.low:g}"
    return pd.Series(bad, index=values.index), rule


def _finish(values: pd.Series, spec: Field) -> pd.Series:
    """Give a column of good rows its canonical dtype (nullable only where an optional value is missing)."""
    if spec.kind == "int":
        values = values.astype("float64")
        return values.astype("int64") if not values.isna().any() else values.astype("Int64")
    if spec.kind == "float":
        return values.astype("float64")
    if spec.kind == "bool":
        return values.astype("bool") if not values.isna().any() else values.astype("boolean")
    if spec.kind in ("date", "datetime"):
        return values.astype("datetime64[ns]")
    return values.astype("str")


def _absent(spec: Field, index: pd.Index) -> pd.Series:
    """The column of an optional field the file does not have: its default, or missing."""
    if spec.kind in ("date", "datetime"):
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if spec.default is not None:
        return pd.Series([spec.default] * len(index), index=index, dtype=object)
    return pd.Series(np.nan, index=index, dtype="float64" if spec.kind in ("int", "float") else "str")


def validate_rows(
    frame: pd.DataFrame, kind: str, source: str, columns: Mapping[str, str] | None, rows: np.ndarray
) -> tuple[pd.DataFrame, list[Problem], pd.Series]:
    """Validate ``frame`` as ``kind``; ``rows`` are the data-row numbers reported for its rows (in order).

    Returns the canonical frame of the good rows (new RangeIndex), the problems sorted by row, and the mask of
    bad rows (indexed like ``frame``). A missing required column makes every row bad and gives one file-level
    problem.
    """
    kind = canonical_kind(kind)
    header = [str(c) for c in frame.columns]
    frame = frame.set_axis(header, axis=1)
    found, problems = resolve_columns(header, kind, source, columns)
    bad = pd.Series(False, index=frame.index)
    if problems:
        return pd.DataFrame(columns=[f.name for f in SCHEMAS[kind]]), problems, ~bad
    cells: list[tuple[np.ndarray, str, str, pd.Series]] = []  # (positions, column, message template, raw)
    out: dict[str, pd.Series] = {}
    for spec in SCHEMAS[kind]:
        col = found.get(spec.name)
        if col is None:
            out[spec.name] = _absent(spec, frame.index)
            continue
        raw = frame[col]
        empty = raw.isna()
        if not pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_datetime64_any_dtype(raw.dtype):
            empty = empty | (_text(raw) == "").fillna(True)
        values, unparsed, what = _parse(raw, spec)
        unparsed = unparsed & ~empty
        if spec.required and empty.any():
            cells.append((np.flatnonzero(empty.to_numpy()), col, "required value is empty", raw))
        if unparsed.any():
            cells.append((np.flatnonzero(unparsed.to_numpy()), col, f"not {what}: {{value}}", raw))
        failed = (empty & spec.required) | unparsed
        if spec.low is not None or spec.high is not None:
            outside, rule = _out_of_range(values, spec)
            outside &= ~failed
            if outside.any():
                message = (f"{spec.name} is negative: {{value}}" if rule == "negative"
                           else f"{spec.name} must be {rule}: {{value}}")
                cells.append((np.flatnonzero(outside.to_numpy()), col, message, raw))
            failed |= outside
        if spec.cap is not None:
            with np.errstate(invalid="ignore"):
                over = pd.Series(values.to_numpy(dtype="float64", na_value=np.nan) > spec.cap, index=values.index)
            over &= ~failed
            if over.any():
                cells.append((np.flatnonzero(over.to_numpy()), col,
                              f"{spec.name} is too large (at most {spec.cap:,.2f}): {{value}}", raw))
            failed |= over
        bad |= failed
        if spec.default is not None and empty.any():
            values = values.astype(object).where(~empty, spec.default)
        out[spec.name] = values
    canon = pd.DataFrame(out, index=frame.index)
    if kind == "contacts":
        nobody = canon["customer_id"].isna() & canon["handle"].isna()
        if nobody.any():
            col = found.get("customer_id", found.get("handle", "customer_id"))
            cells.append((np.flatnonzero(nobody.to_numpy()), col, "needs a customer_id or a handle",
                          frame[col]))
            bad |= nobody
    keys = _UNIQUE.get(kind)
    if keys:
        key_frame = canon[list(keys)]
        present = key_frame.notna().all(axis=1)
        dup = key_frame.duplicated(keep="first") & present
        if dup.any():
            where = pd.Series(np.arange(len(canon)), index=pd.MultiIndex.from_frame(key_frame))
            firsts = where[(present & ~dup).to_numpy()]
            positions = np.flatnonzero(dup.to_numpy())
            first = firsts.reindex(where.index[positions]).to_numpy()
            col = found[keys[-1]]
            for pos, first_pos in zip(positions, first, strict=True):
                shown = "/".join(str(k) for k in key_frame.iloc[pos])
                problems.append(Problem(source, int(rows[pos]), col, f"duplicate {'/'.join(keys)} '{shown}' "
                                        f"(first at row {rows[first_pos]})"))
            bad |= dup
    for positions, col, template, raw in cells:
        problems.extend(Problem(source, int(rows[p]), col, template.format(value=_show(v)))
                        for p, v in zip(positions, raw.iloc[positions], strict=True))
    order = {c: i for i, c in enumerate(header)}
    problems.sort(key=lambda p: (p.row or 0, order.get(p.field or "", len(order))))
    good = ~bad.to_numpy()
    specs = {spec.name: spec for spec in SCHEMAS[kind]}
    canon = pd.DataFrame({str(n): _finish(series[good], specs[str(n)]) for n, series in canon.items()})
    if kind == "scores":  # an absent optional field stays absent (e.g. no influence: derived from followers)
        canon = canon[[name for name in canon.columns if name in found]]
    if kind in _KEEPS_OTHER_COLUMNS:
        extra = [c for c in header if c not in set(found.values())]
        kept = frame.loc[good, extra]
        if kind == "scores":  # value score's other outputs: numbers stay numbers, dates and text stay text
            kept = kept.apply(_numbers_where_all_are)
        canon = pd.concat([canon, kept], axis=1)
    if kind == "scores":  # in the file's order
        position = {str(name): header.index(found.get(str(name), str(name))) for name in canon.columns}
        canon = canon[[name for _, name in sorted((i, name) for name, i in position.items())]]
    return canon.reset_index(drop=True), problems, bad


def _numbers_where_all_are(column: pd.Series) -> pd.Series:
    """``column`` as float64 when every non-empty value is a number, else as it is."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column
    head = column.iloc[:1000].dropna()  # one value that is not a number settles it, without parsing them all
    if len(head) and pd.to_numeric(head, errors="coerce").isna().any():
        return column
    parsed = _numbers(column)
    return parsed if bool((parsed.notna() | column.isna()).all()) else column


def _numbers(text: pd.Series, integers: bool = True) -> pd.Series:
    """``pd.to_numeric(text, errors="coerce")``, through Arrow's cast when it takes every value.

    pandas parses the strings one by one; Arrow's cast does the whole column in C++, much faster (measured as
    part of the reader by ``benchmarks/scores.py``), but refuses the column at the first value it cannot read.
    So a column
    Arrow takes whole is cast, to int64 when ``integers`` and every value is up to 18 digits with an optional
    minus (as ``to_numeric`` gives), else to float64; any other column goes to ``to_numeric``, which marks its bad
    values NaN. A test holds the two to the same values on tricky strings (signs, exponents, spaces, inf, nan, huge
    numbers).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(text, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = None
    if arr is not None and integers and arr.null_count == 0 and pc.all(
            pc.match_substring_regex(arr, r"^[+-]?[0-9]+$")).as_py():
        # whole numbers: to_numeric gives int64 (uint64 past it); Arrow's int cast would also read '0x10'
        if not pc.all(pc.match_substring_regex(arr, r"^-?[0-9]{1,18}$")).as_py():
            arr = None  # a '+' or 19 digits and more: to_numeric's own rules
        else:
            return pd.Series(pc.cast(arr, pa.int64()).to_numpy(), index=text.index, name=text.name)
    if arr is not None:
        try:
            floats = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
            return pd.Series(floats, index=text.index, name=text.name, dtype="float64")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    parsed = pd.to_numeric(text, errors="coerce")
    return parsed if integers else parsed.astype("float64")
