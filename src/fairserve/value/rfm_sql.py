"""The RFM summary's SQL text: its settings (:class:`RFMSpec`) and the ONE query, in DuckDB's and Spark's dialects.

Why SQL: at scale the engine must read the file itself and never hand ten million rows to pandas. The query text
is written once (:func:`summary_sql`); a small dialect shim (:class:`_Dialect`) fills in what DuckDB and Spark SQL
spell differently (identifier quoting, days since the epoch, the YYYYMMDD parser, row numbers, a bit shift). The
same query also yields the facts behind loyalty (tenure, months active among the last 12 of the calibration
window, product lines held, the latest status tier) and the account of each customer, so the whole per-customer
table comes out of one pass over the log. :func:`check_sql` and :func:`bad_rows_sql` are the validation queries
run before it.

This module only writes text: running it is :mod:`fairserve.value.rfm_engine`'s, and what the columns mean is
told in :mod:`fairserve.value.rfm`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from fairserve.errors import FairserveError
from fairserve.value.units import PERIOD_DAYS, Period

__all__ = ["Engine", "RFMSpec", "Types", "bad_rows_sql", "check_sql", "staged_sql", "summary_sql"]

Engine = Literal["duckdb", "spark"]

_EPOCH = dt.date(1970, 1, 1)
SHOWN_ROWS = 5  # bad values shown per column when a log is refused
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
    # leading and trailing spaces are not part of a value (docs/input.md; fairserve check strips them too), and
    # an id of spaces only is missing
    customer = f"NULLIF(TRIM({cust}), '')" if kind_c in ("VARCHAR", "STRING") else f"CAST({cust} AS STRING)"
    if kind_d == "DATE":
        day = date
    elif kind_d.startswith("TIMESTAMP"):
        day = f"CAST({date} AS DATE)"
    else:
        day = f"CAST({d.ts(f'TRIM(CAST({date} AS STRING))')} AS DATE)"
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


def staged_sql(spec: RFMSpec, source: str, engine: Engine, types: Types | None = None) -> tuple[str, Types]:
    """A SELECT that parses the columns ``spec`` reads ONCE, keeping their names, and the types it gives them.

    Staged into a table, a text log (CSV) is parsed once for the check and the summary both: customer ids as
    text, dates as DATE, amounts as the exact decimal the summary sums (values that do not parse become NULL,
    as the summary's own parse makes them); the optional columns are kept as text.
    """
    d = _DIALECTS[engine]
    e = _exprs(spec, d, types)
    roles = spec.columns
    parts = [f"{e[role]} AS {d.q(roles[role])}" for role in ("customer", "date", "amount")]
    parts += [f"CAST({d.q(col)} AS STRING) AS {d.q(col)}" for role, col in roles.items()
              if role not in ("customer", "date", "amount")]
    staged: Types = {roles["customer"]: "VARCHAR", roles["date"]: "DATE", roles["amount"]: "DECIMAL(18,6)"}
    return f"SELECT {', '.join(parts)} FROM {source}", staged


def check_sql(spec: RFMSpec, source: str, engine: Engine, types: Types | None = None) -> str:
    """One aggregate over the source: row count, unparseable values per column, date range."""
    d = _DIALECTS[engine]
    e = _exprs(spec, d, types)
    # COUNT(*) - COUNT(x) counts the NULLs of x: for typed columns the engine reads only the validity masks
    return f"""
SELECT COUNT(*) AS n_rows,
       COUNT(*) - COUNT({e["customer"]}) AS bad_customer,
       COUNT(*) - COUNT({e["date"]}) AS bad_date,
       COUNT(*) - COUNT({e["amount"]}) AS bad_amount,
       SUM(CASE WHEN {e["amount"]} < 0 THEN 1 ELSE 0 END) AS negative_amount,
       CAST(MIN({e["date"]}) AS STRING) AS min_date,
       CAST(MAX({e["date"]}) AS STRING) AS max_date
FROM {source}
"""


def bad_rows_sql(spec: RFMSpec, source: str, engine: Engine, role: str, types: Types | None = None,
                 test: str = "IS NULL") -> str:
    """The row numbers (from 1, in file order) and values of the first few rows whose ``role`` column is bad.

    ``test`` completes the condition on the parsed value: ``IS NULL`` (missing or unparseable), ``< 0``.
    """
    d = _DIALECTS[engine]
    col = d.q(spec.columns[role])
    cond = f"{_exprs(spec, d, types)[role]} {test}"
    return f"""
SELECT rn, CAST(v AS STRING) AS v FROM (
  SELECT {d.rownum} AS rn, {col} AS v, {cond} AS bad FROM {source}
) AS t WHERE bad ORDER BY rn LIMIT {SHOWN_ROWS}
"""
