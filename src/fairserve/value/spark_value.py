"""The value pipeline on a Spark cluster: summary and scores stay on the executors; only the fit is on the driver.

Three steps, each where it belongs:

1. **Summary** (:func:`summarise_spark`): the log is validated and summarised by the same SQL as on DuckDB
   (:mod:`fairserve.value.rfm_sql`), as a Spark DataFrame that is never collected. The two compressed summaries
   the models fit on (identical ``(frequency, recency, T)`` rows merged with a ``weight``; identical
   ``(frequency, monetary_value)`` rows of repeat buyers) are GROUP BYs on the executors; only they are
   collected. Their size is bounded by the log's span, not by the number of customers (a few thousand rows for
   years of daily data in weeks; at most frequencies x recency-days x T-days).
2. **Fit** (:func:`fairserve.value.score.fit_value_model`, unchanged): on the driver, on those small tables.
3. **Scores** (:func:`score_spark`): ``mapInPandas`` runs :func:`fairserve.value.score.score_rows` -- the same
   function the DuckDB path runs, no second copy of a formula -- on each batch of customers, with the fitted
   model broadcast. ``value_percentile`` is computed by the engine, exactly, with the DuckDB path's definition
   (:func:`fairserve.value.spark.exact_percentile`). The result is written as a Parquet dataset (a folder of part
   files, one per partition); only a few totals come back to the driver.

Not on this path (each refused with a message, use the DuckDB engine): account totals (``--account-col``),
cost to serve from a contact history (``--contacts``), followers and influence (``--profiles``,
``--synthetic-followers``), and ``--skip-bad-rows``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from fairserve.errors import FairserveError
from fairserve.value.rfm import RFMSpec, Summary, _coerce, _validate
from fairserve.value.rfm_engine import Runner
from fairserve.value.rfm_sql import summary_sql
from fairserve.value.score import ValueModel, score_customers
from fairserve.value.spark import engine_errors, exact_percentile, write_dataset

__all__ = ["SparkSummary", "score_spark", "summarise_spark"]

# the median of the CLVs is approximate on Spark: the rank it returns is within 1/_MEDIAN_ACCURACY of n / 2
_MEDIAN_ACCURACY = 10_000


class SparkSummary(Summary):
    """A :class:`~fairserve.value.rfm.Summary` whose per-customer table is a Spark DataFrame (``frame``).

    ``customers`` is an empty pandas frame with the summary's columns (its types, no rows);
    ``info["customers"]`` is the number of customers and ``info["repeat_buyers"]`` of repeat buyers.
    """

    __slots__ = ("frame",)

    frame: Any


def _summary_frame(run: Runner, spec: RFMSpec) -> Any:
    sql = summary_sql(spec, run.source, "spark", run.types).rstrip()
    # the query's final ORDER BY customer_id orders DuckDB's result; on a cluster it would be a global sort of
    # every customer for nothing (the scores are written in part files)
    sql = sql.removesuffix("ORDER BY c.customer_id")
    return run.spark.sql(sql)


def summarise_spark(source: str | Path, spec: RFMSpec | None = None, *, spark: Any, **options: Any) -> SparkSummary:
    """Validate a transaction log and summarise it on Spark; collect only the compressed summaries.

    Parameters
    ----------
    source:
        A CSV or Parquet file, a folder of part files or a URI Spark can read.
    spark:
        The session (:func:`fairserve.value.spark.spark_session`).

    Raises
    ------
    InputError
        As :func:`fairserve.value.rfm.summarise`: a missing column, bad values (with their rows), a log entirely
        after the calibration end.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf

    spec = replace(spec or RFMSpec(), **options)
    label = str(source)
    with engine_errors(f"{label}: Spark could not summarise the log"):
        run = Runner(str(source), "spark", spark)
        info = _validate(run, spec)
        frame = _summary_frame(run, spec)
        frame = frame.withColumn("frequency", sf.col("frequency").cast("long"))
        for col in ("recency", "T", "monetary_value"):
            frame = frame.withColumn(col, sf.col(col).cast("double"))
        # read three times (the two compressed summaries, then the scores): kept on the executors, spilled to
        # their disks when it does not fit, rather than the log aggregated three times
        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        compressed = (frame.groupBy("frequency", "recency", "T").agg(sf.count(sf.lit(1)).alias("weight"))
                      .orderBy("frequency", "recency", "T").toPandas())
        spend = (frame.where((sf.col("frequency") > 0) & (sf.col("monetary_value") > 0))
                 .groupBy("frequency", "monetary_value").agg(sf.count(sf.lit(1)).alias("weight"))
                 .orderBy("frequency", "monetary_value").toPandas())
        empty = _coerce(frame.limit(0).toPandas())
    compressed["frequency"] = compressed["frequency"].astype("int64")
    compressed["weight"] = compressed["weight"].astype("int64")
    spend["frequency"] = spend["frequency"].astype("int64")
    spend["weight"] = spend["weight"].astype("int64")
    info["customers"] = int(compressed["weight"].sum())
    info["repeat_buyers"] = int(compressed.loc[compressed["frequency"] > 0, "weight"].sum())
    summary = SparkSummary(empty, compressed, spend, spec, label, "spark", info)
    summary.frame = frame
    return summary


def _spark_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp_ntz"  # naive, as the DuckDB path writes them
    return "string"


def _schema(columns: pd.DataFrame) -> str:
    return ", ".join(f"`{name}` {_spark_type(dtype)}" for name, dtype in columns.dtypes.items())


def _refuse(options: Mapping[str, Any]) -> None:
    for key, what in (("contact_rates", "cost to serve from a contact history (--contacts)"),):
        if options.get(key) is not None:
            raise FairserveError(f"{what} is not computed on the Spark engine yet; use --engine duckdb")


def score_spark(
    summary: SparkSummary,
    value_model: ValueModel,
    out: str | Path,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    margin: float | None = None,
    channel_cost: Mapping[str, float] | None = None,
    status_ladder: Sequence[str] | None = None,
    loyalty_weights: Mapping[str, float] | None = None,
    contact_rates: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Score every customer of ``summary`` on the executors and write the scores as a Parquet dataset at ``out``.

    The columns and their values are :func:`~fairserve.value.score.score_customers`' (DuckDB path), row for row;
    the rows are in no particular order. Returns the totals of the JSON summary: ``customers``, ``clv_total``,
    ``profit_total``, ``clv_median`` (approximate: its rank is within 1/10,000 of the middle) and ``partitions``
    (the part files written).

    Raises
    ------
    FairserveError
        An option this path does not support, or an error on the executors (with its message).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf

    _refuse({"contact_rates": contact_rates})
    if "account" in summary.customers:
        raise FairserveError("account totals (--account-col) are not computed on the Spark engine yet; use "
                             "--engine duckdb")
    frame = summary.frame
    spark = frame.sparkSession
    options: dict[str, Any] = {
        "horizon_months": horizon_months, "discount_rate": discount_rate, "margin": margin,
        "channel_cost": dict(channel_cost) if channel_cost is not None else None,
        "status_ladder": list(status_ladder) if status_ladder is not None else None,
        "loyalty_weights": dict(loyalty_weights) if loyalty_weights is not None else None,
    }
    with engine_errors(f"scoring {summary.source} on Spark"):
        if "status" in summary.customers:  # a part of the base must place tiers on the whole base's ladder
            tiers = [r[0] for r in frame.select("status").where(sf.col("status").isNotNull()).distinct().collect()]
            options["status_tiers"] = sorted(tiers)
        # the output's columns and types: the DuckDB path's, from the same function on no rows
        columns = score_customers(summary.customers, value_model, **{k: v for k, v in options.items()
                                                                     if k != "status_tiers"})
        rows_columns = columns.drop(columns=["value_percentile"])
        shared = spark.sparkContext.broadcast({"model": value_model.to_dict(), "options": options,
                                               "columns": list(rows_columns.columns)})

        def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            from fairserve.value.rfm import _coerce as coerce
            from fairserve.value.score import ValueModel as Model
            from fairserve.value.score import score_rows as rows

            state = shared.value
            model = Model.from_dict(state["model"])
            for batch in batches:
                scored = rows(coerce(batch), model, **state["options"])
                yield scored[state["columns"]]

        # kept, so that the range partitioning's sample and its shuffle do not each run the Python scoring
        scored = frame.mapInPandas(score_batches, _schema(rows_columns)).persist(StorageLevel.MEMORY_AND_DISK)
        scored = exact_percentile(scored, "clv", "value_percentile").select(*[f"`{c}`" for c in columns.columns])
        write_dataset(scored, out)
        written = spark.read.parquet(str(out))
        totals = written.agg(
            sf.count(sf.lit(1)).alias("customers"), sf.sum("clv").alias("clv_total"),
            sf.sum("profit").alias("profit_total"),
            sf.percentile_approx("clv", 0.5, _MEDIAN_ACCURACY).alias("clv_median"),
        ).collect()[0]
        partitions = len(written.inputFiles())
    return {
        "customers": int(totals["customers"]),
        "clv_total": float(totals["clv_total"] or 0.0),
        "profit_total": float(totals["profit_total"] or 0.0),
        "clv_median": float(totals["clv_median"]) if totals["clv_median"] is not None else None,
        "clv_median_rank_error": 1.0 / _MEDIAN_ACCURACY,
        "partitions": partitions,
    }

