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

Why SQL: at scale the engine must read the file itself and never hand ten million rows to pandas. The query text
is written once (:func:`summary_sql`); a small dialect shim fills in what DuckDB and Spark SQL spell differently
(the source, identifier quoting, days since the epoch, row numbers). The log is never grouped in pandas; only the
compressed summaries are merged there, from the per-customer table (one row per customer), through one sort on an
integer key: faster than a second engine query and its transfer.

The same query also yields the facts behind loyalty (tenure, months active among the last 12 of the calibration
window, product lines held, the latest status tier) and the account of each customer, so the whole per-customer
table comes out of one pass over the log.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError, InputError, Problem
from fairserve.value.units import PERIOD_DAYS, Period

__all__ = [
    "RFMSpec",
    "Summary",
    "compressed_summary",
    "rfm_summary",
    "spark_session",
    "summarise",
    "summary_sql",
]

Engine = Literal["duckdb", "spark"]

_EPOCH = dt.date(1970, 1, 1)
_VIEW = "fairserve_source"
_SHOWN_ROWS = 5
# DuckDB's memory when none is given: bytes per source row (about 1.6 times the measured need), and a floor
_MEMORY_BYTES_PER_ROW = 100
_MIN_MEMORY_MIB = 512
# Amounts are summed as exact decimals (6 places), so both engines give bit-identical sums whatever the order.
_AMOUNT = "TRY_CAST(TRY_CAST({x} AS DOUBLE) AS DECIMAL(18, 6))"
# The latest value of a text column: ordered by date, ties on one day broken by the larger text (deterministic).
_LATEST = "concat(CAST(d AS STRING), '|', {x})"


_NUMERIC = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
            "UINTEGER", "INTEGER", "LONG", "SHORT", "BYTE")
Types = dict[str, str]


def _kind(types: Types | None, col: str) -> str:
    """The engine's type name of ``col`` in upper case ('' when unknown: treat as text)."""
    return (types or {}).get(col, "").upper()


@dataclass(frozen=True, slots=True)
class RFMSpec:
    """Which columns to read and how to measure time.

    Parameters
    ----------
    customer_col, date_col, amount_col:
        Column names of the customer id (read as text, so ``"00042"`` keeps its zeros), the purchase date (an ISO
        date or timestamp) and the amount (a number).
    calibration_end:
        Last day of the calibration window (inclusive); ``None`` takes the last date of the log.
    observation_end:
        Last day of the holdout window (inclusive); ``None`` means no holdout columns.
    period:
        ``"day"`` or ``"week"`` (days / 7, purchases not merged by week).
    account_col, status_col, product_col:
        Optional columns: the organisation a customer belongs to (B2B), a status tier the company already keeps
        (the latest value per customer is used) and a product line (distinct lines per customer are counted).
    margins, default_margin:
        Gross margin per product line (pairs of line and fraction) and for lines not listed. With a product
        column and margins, each customer's ``margin`` is the spend-weighted mean margin of the lines they
        bought in the calibration window.
    """

    customer_col: str = "customer_id"
    date_col: str = "date"
    amount_col: str = "amount"
    calibration_end: dt.date | None = None
    observation_end: dt.date | None = None
    period: Period = "day"
    account_col: str | None = None
    status_col: str | None = None
    product_col: str | None = None
    margins: tuple[tuple[str, float], ...] = ()
    default_margin: float = 0.3

    def __post_init__(self) -> None:
        if self.period not in PERIOD_DAYS:
            raise FairserveError(f"period must be 'day' or 'week', not {self.period!r}")
        if self.observation_end is not None:
            if self.calibration_end is None:
                raise FairserveError("an observation end (holdout) needs a calibration end")
            if self.observation_end <= self.calibration_end:
                raise FairserveError(
                    f"observation end {self.observation_end} must be after calibration end {self.calibration_end}"
                )

    @property
    def period_days(self) -> float:
        """Days per time unit of ``recency`` and ``T``: 1 for ``"day"``, 7 for ``"week"``."""
        return PERIOD_DAYS[self.period]

    @property
    def columns(self) -> dict[str, str]:
        """The source columns this spec reads, keyed by role."""
        roles = {"customer": self.customer_col, "date": self.date_col, "amount": self.amount_col}
        for role, name in (("account", self.account_col), ("status", self.status_col),
                           ("product", self.product_col)):
            if name is not None:
                roles[role] = name
        return roles


@dataclass(frozen=True, slots=True)
class _Dialect:
    name: Engine
    quote_char: str
    days_template: str  # days since 1970-01-01 of the DATE expression {x}
    rownum: str  # a row number over the source in file order
    from_days_template: str  # the DATE {x} days after 1970-01-01
    compact_date_template: str  # parse {x} as YYYYMMDD (the CDNOW files' format), NULL when it is not
    bit_template: str  # the integer 2 ** {x} for 0 <= {x} < 12, as a bit shift (POWER is a slower double)

    def ts(self, expr: str) -> str:
        """An ISO date/timestamp or a YYYYMMDD date as TIMESTAMP; NULL when it is neither."""
        return f"COALESCE(TRY_CAST({expr} AS TIMESTAMP), {self.compact_date_template.format(x=expr)})"

    def q(self, name: str) -> str:
        return f"{self.quote_char}{name.replace(self.quote_char, self.quote_char * 2)}{self.quote_char}"

    def days(self, expr: str) -> str:
        return self.days_template.format(x=expr)

    def from_days(self, expr: str) -> str:
        return self.from_days_template.format(x=expr)


_DIALECTS: dict[str, _Dialect] = {
    "duckdb": _Dialect("duckdb", '"', "date_diff('day', DATE '1970-01-01', {x})", "row_number() OVER ()",
                      "CAST(DATE '1970-01-01' + CAST({x} AS INTEGER) AS DATE)",
                      "try_strptime(CAST({x} AS VARCHAR), '%Y%m%d')", "(1 << ({x}))"),
    "spark": _Dialect(
        "spark", "`", "datediff({x}, DATE '1970-01-01')",
        "row_number() OVER (ORDER BY monotonically_increasing_id())",
        "date_add(DATE '1970-01-01', CAST({x} AS INT))",
        "try_to_timestamp(CAST({x} AS STRING), 'yyyyMMdd')",
        "shiftleft(1, {x})",
    ),
}


def _exprs(spec: RFMSpec, d: _Dialect, types: Types | None) -> dict[str, str]:
    """Typed expressions for the customer, date (DATE) and amount (exact decimal) columns of the source.

    Text columns are parsed (NULL when they do not parse); columns the file already types (Parquet DATE, DOUBLE,
    ...) are used as they are, which saves the engine a parse per row.
    """
    cust, date, amount = d.q(spec.customer_col), d.q(spec.date_col), d.q(spec.amount_col)
    kind_c, kind_d, kind_a = (_kind(types, c) for c in (spec.customer_col, spec.date_col, spec.amount_col))
    customer = cust if kind_c in ("VARCHAR", "STRING") else f"CAST({cust} AS STRING)"
    if kind_d == "DATE":
        day = date
    elif kind_d.startswith("TIMESTAMP"):
        day = f"CAST({date} AS DATE)"
    else:
        day = f"CAST({d.ts(date)} AS DATE)"
    typed = kind_a.startswith(_NUMERIC) and not kind_a.startswith("INTERVAL")
    money = f"TRY_CAST({amount} AS DECIMAL(18, 6))" if typed else _AMOUNT.format(x=amount)
    return {"customer": customer, "date": day, "amount": money}


def summary_sql(spec: RFMSpec, source: str, engine: Engine = "duckdb", types: Types | None = None) -> str:
    """Return the one SQL query that builds the per-customer summary from ``source`` (a table expression).

    Output columns, one row per customer whose first purchase is on or before the calibration end, ordered by
    ``customer_id``: ``customer_id, frequency, recency, T, monetary_value, first_purchase, last_purchase,
    tenure_days, active_months, window_months`` and, when asked for, ``frequency_holdout, monetary_holdout,
    duration_holdout, account, status, products_held``. ``types`` (column name to the engine's type name) lets
    the query skip parsing columns the file already types.
    """
    d = _DIALECTS[engine]
    e = _exprs(spec, d, types)
    unit = repr(spec.period_days)  # "1.0" or "7.0"
    month = "(year({x}) * 12 + month({x}))"  # a month's index (year * 12 + month) of the DATE {x}
    if spec.calibration_end is not None:  # literals, so the engine can filter while it scans
        cal_end = spec.calibration_end
        cal_d, cal_month = f"DATE '{cal_end.isoformat()}'", str(cal_end.year * 12 + cal_end.month)
        bounds = f"SELECT {cal_d} AS cal_d, {cal_month} AS cal_month"
    else:  # the last date of the log
        cal_d, cal_month = "b.cal_d", "b.cal_month"
        bounds = f"SELECT MAX(d) AS cal_d, {month.format(x='MAX(d)')} AS cal_month\n  FROM clean"
    obs_end = spec.observation_end
    if obs_end is not None:
        # per-day rows run to the observation end; the calibration columns take the days up to cal_d only
        obs_d = f"DATE '{obs_end.isoformat()}'"
        day_filter = f"\n  WHERE d <= {obs_d}"
        in_cal = f"d <= {cal_d}"
        cal_aggs = (
            f"MAX(CASE WHEN {in_cal} THEN d END) AS last_d,\n"
            f"         SUM(CASE WHEN {in_cal} THEN 1 ELSE 0 END) - 1 AS frequency,\n"
            f"         SUM(CASE WHEN {in_cal} THEN amount ELSE 0.0 END) - min_by(amount, d) AS repeat_amount,\n"
            f"         SUM(CASE WHEN {in_cal} THEN 0 ELSE 1 END) AS frequency_holdout,\n"
            f"         SUM(CASE WHEN {in_cal} THEN 0.0 ELSE amount END) AS amount_holdout,"
        )
        having = f"\n  HAVING MIN(d) <= MIN({cal_d})"
    else:
        # every per-day row is in the calibration window: plain aggregates, no CASE per row
        in_cal = "TRUE"
        day_filter = f"\n  WHERE d <= {cal_d}" if spec.calibration_end is not None else ""
        cal_aggs = (
            "MAX(d) AS last_d,\n"
            "         COUNT(*) - 1 AS frequency,\n"
            "         SUM(amount) - min_by(amount, d) AS repeat_amount,"
        )
        having = ""
    extra_src = ""
    extra_cols = ""
    extra_join = ""
    extras = [(role, col) for role, col in (("account", spec.account_col), ("status", spec.status_col),
                                            ("product", spec.product_col)) if col is not None]
    if extras:
        for role, col in extras:
            extra_src += f",\n         CAST({d.q(col)} AS STRING) AS {role}"
        if spec.product_col is not None and spec.margins:
            cases = " ".join(
                f"WHEN '{line.replace(chr(39), chr(39) * 2)}' THEN {float(m)!r}" for line, m in spec.margins
            )
            extra_src += (
                f",\n         CASE CAST({d.q(spec.product_col)} AS STRING) {cases}"
                f" ELSE {float(spec.default_margin)!r} END AS line_margin"
            )
        aggs = []
        if spec.account_col is not None:
            aggs.append(f"max_by(account, {_LATEST.format(x='account')}) AS account")
        if spec.status_col is not None:
            aggs.append(f"max_by(status, {_LATEST.format(x='status')}) AS status")
        if spec.product_col is not None:
            aggs.append("COUNT(DISTINCT product) AS products_held")
            if spec.margins:
                aggs.append(
                    "SUM(CAST(amount AS DOUBLE) * line_margin) / NULLIF(CAST(SUM(amount) AS DOUBLE), 0) AS margin"
                )
        extra_cols = "".join(f", x.{a.rsplit(' AS ', 1)[1]}" for a in aggs)
        extra_join = (
            "\n  LEFT JOIN (SELECT customer_id, " + ", ".join(aggs)
            + f" FROM clean, bounds AS b WHERE d <= {cal_d} GROUP BY customer_id) AS x"
            + "\n    ON x.customer_id = c.customer_id"
        )
    holdout_cols = ""
    if obs_end is not None:
        obs_day = str((obs_end - _EPOCH).days)
        holdout_cols = (
            ",\n       c.frequency_holdout,"
            "\n       CASE WHEN c.frequency_holdout > 0 THEN CAST(c.amount_holdout AS DOUBLE) / c.frequency_holdout"
            " ELSE 0.0 END AS monetary_holdout,"
            f"\n       CAST({obs_day} - {d.days(cal_d)} AS DOUBLE) / {unit} AS duration_holdout"
        )
    first_day, last_day, cal_day = d.days("c.first_d"), d.days("c.last_d"), d.days(cal_d)
    return f"""
WITH src AS (
  SELECT {e["customer"]} AS customer_id,
         {e["date"]} AS d,
         {e["amount"]} AS amount{extra_src}
  FROM {source}
),
clean AS (
  SELECT * FROM src
  WHERE customer_id IS NOT NULL AND d IS NOT NULL AND amount IS NOT NULL
),
bounds AS (
  {bounds}
),
days AS (
  SELECT customer_id, d, SUM(amount) AS amount
  FROM clean, bounds AS b{day_filter}
  GROUP BY customer_id, d
),
cust AS (
  SELECT customer_id,
         MIN(d) AS first_d,
         {cal_aggs}
         bit_count(bit_or(CASE WHEN {in_cal} AND {month.format(x='d')} > {cal_month} - 12
                               THEN {d.bit_template.format(x=f"{cal_month} - {month.format(x='d')}")} ELSE 0 END))
           AS active_months
  FROM days, bounds AS b
  GROUP BY customer_id{having}
)
SELECT c.customer_id,
       c.frequency,
       CAST({last_day} - {first_day} AS DOUBLE) / {unit} AS recency,
       CAST({cal_day} - {first_day} AS DOUBLE) / {unit} AS T,
       CASE WHEN c.frequency > 0 THEN CAST(c.repeat_amount AS DOUBLE) / c.frequency ELSE 0.0 END AS monetary_value,
       c.first_d AS first_purchase,
       c.last_d AS last_purchase,
       {cal_day} - {first_day} AS tenure_days,
       c.active_months,
       LEAST(12, {cal_month} - {month.format(x='c.first_d')} + 1) AS window_months{holdout_cols}{extra_cols}
FROM cust AS c
  CROSS JOIN bounds AS b{extra_join}
ORDER BY c.customer_id
"""


def _check_sql(spec: RFMSpec, source: str, engine: Engine, types: Types | None = None) -> str:
    """One aggregate over the source: row count, unparseable values per column, date range."""
    d = _DIALECTS[engine]
    e = _exprs(spec, d, types)
    # COUNT(*) - COUNT(x) counts the NULLs of x: for typed columns the engine reads only the validity masks
    return f"""
SELECT COUNT(*) AS n_rows,
       COUNT(*) - COUNT({e["customer"]}) AS bad_customer,
       COUNT(*) - COUNT({e["date"]}) AS bad_date,
       COUNT(*) - COUNT({e["amount"]}) AS bad_amount,
       CAST(MIN({e["date"]}) AS STRING) AS min_date,
       CAST(MAX({e["date"]}) AS STRING) AS max_date
FROM {source}
"""


def _bad_rows_sql(spec: RFMSpec, source: str, engine: Engine, role: str, types: Types | None = None) -> str:
    d = _DIALECTS[engine]
    col = d.q(spec.columns[role])
    cond = f"{_exprs(spec, d, types)[role]} IS NULL"
    return f"""
SELECT rn, CAST(v AS STRING) AS v FROM (
  SELECT {d.rownum} AS rn, {col} AS v, {cond} AS bad FROM {source}
) AS t WHERE bad ORDER BY rn LIMIT {_SHOWN_ROWS}
"""


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


# ----------------------------------------------------------------------------------------------- engines


class _Runner:
    """Runs query text on one engine against one registered source; the only place that touches the engine."""

    def __init__(self, source: str | Path | pd.DataFrame, engine: Engine, spark: Any = None,
                 threads: int | None = None, memory_limit: str | None = None) -> None:
        self.engine = engine
        self.label = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
        if engine == "duckdb":
            import duckdb

            self.con = duckdb.connect()
            self.memory_limit = memory_limit
            # if DuckDB must spill (a limit below its need), it writes here, not into the working directory
            self.spill_dir = tempfile.TemporaryDirectory(prefix="fairserve-duckdb-")
            self.con.execute("SET temp_directory = ?", [self.spill_dir.name])
            if threads is not None:
                self.con.execute(f"SET threads = {int(threads)}")
            if memory_limit is not None:
                try:
                    self.con.execute("SET memory_limit = ?", [str(memory_limit)])
                except duckdb.Error as exc:
                    raise FairserveError(f"memory limit {memory_limit!r} not understood: {exc}") from exc
            if isinstance(source, pd.DataFrame):
                self.con.register(_VIEW, source)
                self.source = _VIEW
            else:
                path = Path(source)
                if not path.is_file():
                    raise FairserveError(f"{path}: no such file")
                lit = "'" + str(path).replace("'", "''") + "'"
                if path.suffix.lower() in (".parquet", ".pq"):
                    self.source = f"read_parquet({lit})"
                else:
                    self.source = f"read_csv({lit}, header = true, all_varchar = true)"
            try:
                described = self.con.execute(f"DESCRIBE SELECT * FROM {self.source}").fetchall()
            except duckdb.Error as exc:
                raise FairserveError(f"{self.label}: cannot be read as CSV or Parquet: {exc}") from exc
            self.columns = [str(r[0]) for r in described]
            self.types = {str(r[0]): str(r[1]) for r in described}
        elif engine == "spark":
            self.spark = spark if spark is not None else spark_session()
            if isinstance(source, pd.DataFrame):
                frame = self.spark.createDataFrame(source)
            else:
                path = Path(source)
                if not path.is_file():
                    raise FairserveError(f"{path}: no such file")
                if path.suffix.lower() in (".parquet", ".pq"):
                    frame = self.spark.read.parquet(str(path))
                else:
                    frame = self.spark.read.csv(str(path), header=True, inferSchema=False)
            frame.createOrReplaceTempView(_VIEW)
            self.source = _VIEW
            self.columns = list(frame.columns)
            self.types = {name: kind for name, kind in frame.dtypes}
        else:
            raise FairserveError(f"engine must be 'duckdb' or 'spark', not {engine!r}")

    types: Types

    def frame(self, sql: str) -> pd.DataFrame:
        if self.engine == "duckdb":  # through Arrow: a few times faster than .df() for a million rows
            return self.con.sql(sql).to_arrow_table().to_pandas(date_as_object=False)
        return self.spark.sql(sql).toPandas()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.engine == "duckdb":
            return self.con.execute(sql).fetchall()
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def size_memory(self, rows: int) -> None:
        """Without a given limit, give DuckDB the memory the summary of ``rows`` transactions needs, no more.

        DuckDB's default (80% of RAM) lets it keep about a gigabyte for ten million transactions; it needs
        about 60 bytes per transaction (measured at 10M rows: no slower at a 600 MB limit, spilling at 300 MB).
        """
        if self.engine == "duckdb" and self.memory_limit is None:
            megabytes = max(_MIN_MEMORY_MIB, -(-rows * _MEMORY_BYTES_PER_ROW // 2**20))
            self.con.execute(f"SET memory_limit = '{megabytes}MiB'")

    def summary(self, sql: str) -> pd.DataFrame:
        """Run the summary query ``sql`` and return its result as a pandas DataFrame."""
        if self.engine == "duckdb":
            # no order to keep inside the query (its ORDER BY still orders the result): less memory, more threads
            self.con.execute("SET preserve_insertion_order = false")
        return self.frame(sql)

    def close(self) -> None:
        if self.engine == "duckdb":
            self.con.close()
            self.spill_dir.cleanup()


def spark_session(app_name: str = "fairserve") -> Any:
    """A small local Spark session (one core, few shuffle partitions, no UI): enough for the RFM query."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise FairserveError("engine 'spark' needs PySpark: pip install 'fairserve[spark]'") from exc
    session = (
        SparkSession.builder.master("local[1]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _validate(run: _Runner, spec: RFMSpec) -> dict[str, Any]:
    missing = [(role, col) for role, col in spec.columns.items() if col not in run.columns]
    if missing:
        have = ", ".join(run.columns)
        raise InputError([
            Problem(run.label, None, col, f"no {role} column '{col}' (columns are: {have})")
            for role, col in missing
        ])
    n_rows, bad_cust, bad_date, bad_amount, min_date, max_date = run.rows(
        _check_sql(spec, run.source, run.engine, run.types)
    )[0]
    problems: list[Problem] = []
    for role, count, what in (("customer", bad_cust, "a missing customer id"),
                              ("date", bad_date, "a date that is missing or not a date (YYYY-MM-DD or YYYYMMDD)"),
                              ("amount", bad_amount, "an amount that is missing or not a number")):
        if count:
            shown = run.rows(_bad_rows_sql(spec, run.source, run.engine, role, run.types))
            for rn, value in shown:
                problems.append(Problem(run.label, int(rn), spec.columns[role], f"{value!r} is not valid: {what}"))
            if count > len(shown):
                problems.append(Problem(run.label, None, spec.columns[role],
                                        f"{count} rows in all have {what}"))
    if problems:
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
        the summary needs, about 100 bytes per transaction of the log (at least 512 MB), rather than DuckDB's
        80% of RAM; below its need DuckDB spills to a temporary directory and slows down.

    Raises
    ------
    InputError
        A missing column, unparseable dates or amounts (with the row numbers of the first few), or a log whose
        every transaction is after the calibration end.
    """
    spec = replace(spec or RFMSpec(), **options)
    run = _Runner(source, engine, spark, threads, memory_limit)
    try:
        info = _validate(run, spec)
        run.size_memory(info["rows"])
        customers = _coerce(run.summary(summary_sql(spec, run.source, engine, run.types)))
    finally:
        run.close()
    compressed = _compressed(customers)
    spend = _spend(customers)
    info["customers"] = len(customers)
    return Summary(customers, compressed, spend, spec, run.label, engine, info)


def rfm_summary(source: str | Path | pd.DataFrame, spec: RFMSpec | None = None, **options: Any) -> pd.DataFrame:
    """The per-customer summary (see :func:`summary_sql` for its columns); options as :func:`summarise`."""
    return summarise(source, spec, **options).customers


def compressed_summary(
    source: str | Path | pd.DataFrame, spec: RFMSpec | None = None, **options: Any
) -> pd.DataFrame:
    """Identical (frequency, recency, T) rows merged, with a ``weight`` column: what the model fit takes."""
    return summarise(source, spec, **options).compressed
