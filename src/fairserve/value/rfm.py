"""The RFM summary of a transaction log, in ONE SQL query run by DuckDB (embedded) or Apache Spark.

The buy-till-you-die models (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing
Science 24(2); Schmittlein, Morrison & Colombo 1987) need, per customer, three numbers measured over a
calibration window:

``frequency``
    the number of *repeat* purchases: distinct purchase days minus one (several purchases on one day are one
    transaction, their amounts summed);
``recency``
    the time of the last purchase minus the time of the first;
``T``
    the calibration end minus the time of the first purchase;

and the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4)) needs ``monetary_value``:
the mean of the per-day amounts *excluding the first purchase day*, 0 for a customer with no repeat purchase (the
convention of lifetimes' ``summary_data_from_transaction_data``). Transactions after the calibration end are left
out of these columns; with an observation end they give ``frequency_holdout``, ``monetary_holdout`` and
``duration_holdout`` over (calibration end, observation end]. Time is in days, or in weeks measured as days / 7
(purchases in one week are NOT merged: that is what the papers do).

The summary is ONE SQL query (:mod:`fairserve.value.rfm_sql`, the query text and its settings :class:`RFMSpec`)
run by DuckDB or Spark (:mod:`fairserve.value.rfm_engine`, the engine sessions); this module holds the entry
points (:func:`summarise` and its two shortcuts), which validate the log, run the query and build the compressed
summaries the models fit on. The log is never grouped in pandas; only the compressed summaries are merged there,
from the per-customer table (one row per customer), through one sort on an integer key: faster than a second
engine query and its transfer. Every name of the three modules that other code uses is importable from here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairserve.errors import InputError, Problem
from fairserve.io_validate import MAX_AMOUNT, separator_hint
from fairserve.value.rfm_engine import Runner, spark_session
from fairserve.value.rfm_sql import Engine, RFMSpec, Types, bad_rows_sql, check_sql, summary_sql
from fairserve.value.units import Period

__all__ = [
    "Engine",
    "Period",
    "RFMSpec",
    "Summary",
    "Types",
    "compressed_summary",
    "rfm_summary",
    "spark_session",
    "summarise",
    "summary_sql",
]

_Runner = Runner  # the name this module gave the engine session before it moved to rfm_engine


@dataclass(slots=True)
class Summary:
    """The per-customer summary and its compressed form (identical (frequency, recency, T) rows merged).

    ``compressed`` has columns ``frequency, recency, T, weight``: the input the transaction models fit on.
    ``spend`` has ``frequency, monetary_value, weight`` for repeat buyers with a positive mean spend only: the
    Gamma-Gamma input.
    """

    customers: pd.DataFrame
    compressed: pd.DataFrame
    spend: pd.DataFrame
    spec: RFMSpec
    source: str
    engine: Engine = "duckdb"
    info: dict[str, Any] = field(default_factory=dict)


def _refuse_other_separator(run: Runner, spec: RFMSpec) -> None:
    """Refuse a CSV whose header, read on commas, is one column holding semicolons, tabs or '|'.

    ``fairserve check`` and every other reader refuse such a file (comma separated is the documented rule), with
    :func:`fairserve.io_validate.separator_hint`; the value commands say the same, rather than that the one
    column found is not the customer's. A comma CSV with a semicolon inside a value has a header of several
    columns and is read.
    """
    header = list(run.columns)  # every engine reads a CSV on commas (DuckDB is told to), so this is its header
    hint = separator_hint(header)
    if hint and not set(spec.columns.values()) <= set(header):
        raise InputError([Problem(run.label, None, None, f"the header {header[0]!r} is one column: {hint}")])


def _validate(run: Runner, spec: RFMSpec) -> dict[str, Any]:
    _refuse_other_separator(run, spec)
    missing = [(role, col) for role, col in spec.columns.items() if col not in run.columns]
    if missing:
        have = ", ".join(run.columns)
        raise InputError([
            Problem(run.label, None, col, f"no {role} column '{col}' (columns are: {have})")
            for role, col in missing
        ])
    run.stage(spec)  # a CSV is parsed once, here, for this check and the summary both
    n_rows, bad_cust, bad_date, bad_amount, negative, min_date, max_date = run.rows(
        check_sql(spec, run.source, run.engine, run.types)
    )[0]
    problems: list[Problem] = []
    for role, count, what, test in (
        ("customer", bad_cust, "a missing customer id", "IS NULL"),
        ("date", bad_date, "a date that is missing or not a date (YYYY-MM-DD, an ISO timestamp or YYYYMMDD)",
         "IS NULL"),
        ("amount", bad_amount, "an amount that is missing or not a number", "IS NULL"),
        ("amount", negative, "a negative amount (amounts must be >= 0)", "< 0"),
    ):
        if count:
            shown = run.rows(bad_rows_sql(spec, run.raw_source or run.source, run.engine, role,
                                          run.raw_types or run.types, test))
            for rn, value in shown:
                problems.append(Problem(run.label, int(rn), spec.columns[role], _why(value, what)))
            if count > len(shown):
                problems.append(Problem(run.label, None, spec.columns[role],
                                        f"{count} rows in all have {what}"))
    if problems:
        problems.sort(key=lambda p: (p.row is None, p.row or 0))  # in file order, the counts last
        raise InputError(problems, total_rows=int(n_rows))
    if n_rows == 0:
        raise InputError([Problem(run.label, None, None, "the transaction log has no rows")], total_rows=0)
    info = {"rows": int(n_rows), "min_date": min_date, "max_date": max_date}
    if (
        spec.calibration_end is not None
        and min_date is not None
        and dt.date.fromisoformat(str(min_date)[:10]) > spec.calibration_end
    ):
        raise InputError([Problem(
            run.label, None, spec.date_col,
            f"every transaction is after the calibration end {spec.calibration_end} "
            f"(dates run {min_date} to {max_date}); choose a later --calibration-end",
        )], total_rows=int(n_rows))
    return info


def _why(value: object, what: str) -> str:
    """What is wrong with one bad cell, in the words of ``fairserve check`` where they apply."""
    if value is None or str(value).strip() == "":
        return "required value is empty"
    if what.startswith("an amount that"):
        try:
            number = float(str(value))
        except ValueError:
            number = float("nan")
        if math.isfinite(number):  # a number the exact decimal of the summary cannot hold
            return f"{value!r} is too large for an amount (at most {MAX_AMOUNT:,.2f})"
    return f"{value!r} is not valid: {what}"


def _coerce(frame: pd.DataFrame) -> pd.DataFrame:
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["frequency"] = frame["frequency"].astype("int64")
    for col in ("recency", "T", "monetary_value"):
        frame[col] = frame[col].astype("float64")
    for col in ("tenure_days", "active_months", "window_months", "frequency_holdout", "products_held"):
        if col in frame:
            frame[col] = frame[col].fillna(0).astype("int64")
    for col in ("first_purchase", "last_purchase"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    return frame


def _merged(columns: dict[str, np.ndarray], order: np.ndarray, key: np.ndarray | None = None) -> pd.DataFrame:
    """The rows of ``columns`` taken in ``order``, each run of identical rows merged into one with a ``weight``.

    With ``order`` sorting the rows by the columns, this is ``GROUP BY`` the columns with ``COUNT(*)``, ordered
    by the same columns. ``key`` (in ``order`` already), when given, stands for all the columns in telling rows
    apart: one comparison instead of one per column.
    """
    n = len(order)
    keys = [key] if key is not None else [values[order] for values in columns.values()]
    change = np.zeros(n, dtype=bool)
    change[:1] = True
    for values in keys:
        change[1:] |= values[1:] != values[:-1]
    starts = np.flatnonzero(change)
    first = order[starts]
    merged = {name: values[first] for name, values in columns.items()}
    merged["weight"] = np.diff(np.append(starts, n)).astype(np.int64)
    return pd.DataFrame(merged)


def _compressed(customers: pd.DataFrame) -> pd.DataFrame:
    """Identical (frequency, recency, T) rows merged, with a ``weight``, ordered by those columns.

    ``recency`` and ``T`` are whole days (divided by 1 or 7), so the three columns pack into one integer key
    (frequency, then recency days, then T days) and one ``argsort`` on it orders the rows: ~0.1 s for a million
    customers, where a three-column ``lexsort`` takes ~0.4 s and the engine's GROUP BY, its transfer and a sort
    together take ~0.4 s.
    """
    frequency = customers["frequency"].to_numpy(dtype=np.int64)
    span = customers["last_purchase"].to_numpy() - customers["first_purchase"].to_numpy()
    recency_days = span // np.timedelta64(1, "D")
    t_days = customers["tenure_days"].to_numpy(dtype=np.int64)
    columns = {"frequency": frequency, "recency": customers["recency"].to_numpy(dtype=np.float64),
               "T": customers["T"].to_numpy(dtype=np.float64)}
    if not len(frequency):
        return _merged(columns, np.zeros(0, dtype=np.int64))
    r_span, t_span = int(recency_days.max()) + 1, int(t_days.max()) + 1
    if int(frequency.min()) >= 0 and min(int(recency_days.min()), int(t_days.min())) >= 0 and (
        (int(frequency.max()) + 1) * r_span * t_span < 2**63
    ):
        key = (frequency * r_span + recency_days.astype(np.int64)) * t_span + t_days
        order = np.argsort(key)  # rows with equal keys are identical: no need for a stable sort
        return _merged(columns, order, key[order])
    else:  # pragma: no cover - a log spanning millennia: the packed key would overflow
        return _merged(columns, np.lexsort((columns["T"], columns["recency"], frequency)))


def _spend(customers: pd.DataFrame) -> pd.DataFrame:
    """Identical (frequency, monetary_value) rows of repeat buyers with a positive mean spend merged, with a
    ``weight``, ordered by those columns: the Gamma-Gamma input."""
    frequency = customers["frequency"].to_numpy(dtype=np.int64)
    spend = customers["monetary_value"].to_numpy(dtype=np.float64)
    buyers = (frequency > 0) & (spend > 0)
    columns = {"frequency": frequency[buyers], "monetary_value": spend[buyers]}
    order = np.argsort(columns["monetary_value"])  # by spend (ties are identical rows), then stably by frequency
    counts = columns["frequency"][order]
    if len(counts) and int(counts.max()) < 2**16:
        counts = counts.astype(np.uint16)  # NumPy's stable sort of 16-bit integers is a radix sort: ~3x faster
    order = order[np.argsort(counts, kind="stable")]
    return _merged(columns, order)


def summarise(
    source: str | Path | pd.DataFrame,
    spec: RFMSpec | None = None,
    *,
    engine: Engine = "duckdb",
    spark: Any = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    native: bool | None = None,
    **options: Any,
) -> Summary:
    """Validate a transaction log and build its per-customer and compressed summaries in one engine session.

    Parameters
    ----------
    source:
        A CSV or Parquet file (read by the engine itself) or a pandas DataFrame.
    spec:
        Columns and time settings; keyword ``options`` (``customer_col=...``, ``period=...``) override it.
    engine:
        ``"duckdb"`` (embedded default) or ``"spark"`` (PySpark; ``spark`` may pass a session).
    threads, memory_limit:
        DuckDB settings. ``threads`` defaults to all cores. ``memory_limit`` (e.g. ``"4GB"``) defaults to what
        the summary needs, about 90 bytes per transaction of the log (at least 512 MB), rather than DuckDB's
        80% of RAM; below its need DuckDB spills to a temporary directory and slows down.

    native:
        With DuckDB and no ``memory_limit``, a big plain CSV or Parquet log that fits in memory (only the
        customer, date and amount columns in use, every row good; about 2.5 million rows or more) is summarised
        by :mod:`fairserve.value.rfm_native`, which gives the query's frame exactly, faster; anything else, a
        log with a bad row first of all, goes to the engine. ``True`` takes a plain log of any size there,
        ``False`` sends every log to the engine.

    Raises
    ------
    InputError
        A missing column, unparseable dates or amounts (with the row numbers of the first few), or a log whose
        every transaction is after the calibration end.
    """
    spec = replace(spec or RFMSpec(), **options)
    if native is not False and engine == "duckdb" and memory_limit is None:  # a plain log, grouped without it
        from fairserve.value.rfm_native import native_summary  # numba loads only for a big log

        grouped = native_summary(source, spec, threads, any_size=bool(native))
        if grouped is not None:
            customers, info = grouped
            return _summary(_coerce(customers), spec, str(source), engine, info)
    run = Runner(source, engine, spark, threads, memory_limit)
    try:
        info = _validate(run, spec)
        run.size_memory(info["rows"])
        customers = _coerce(run.summary(summary_sql(spec, run.source, engine, run.types)))
    finally:
        run.close()
    return _summary(customers, spec, run.label, engine, info)


def _summary(customers: pd.DataFrame, spec: RFMSpec, label: str, engine: Engine, info: dict[str, Any]) -> Summary:
    info["customers"] = len(customers)
    return Summary(customers, _compressed(customers), _spend(customers), spec, label, engine, info)


def rfm_summary(source: str | Path | pd.DataFrame, spec: RFMSpec | None = None, **options: Any) -> pd.DataFrame:
    """The per-customer summary (see :func:`summary_sql` for its columns); options as :func:`summarise`."""
    return summarise(source, spec, **options).customers


def compressed_summary(
    source: str | Path | pd.DataFrame, spec: RFMSpec | None = None, **options: Any
) -> pd.DataFrame:
    """Identical (frequency, recency, T) rows merged, with a ``weight`` column: what the model fit takes."""
    return summarise(source, spec, **options).compressed
