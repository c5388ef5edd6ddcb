"""Apache Spark sessions and sources for the value pipeline.

Everything that knows about Spark beyond running query text lives here, so the engine runner
(:mod:`fairserve.value.rfm_engine`) stays engine-neutral. PySpark is imported lazily: the package works without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fairserve.errors import FairserveError

__all__ = ["read_source", "spark_session"]


def read_source(spark: Any, source: str | Path | pd.DataFrame) -> Any:
    """A Spark DataFrame of ``source``: a pandas frame, a CSV file (all text) or a Parquet file."""
    if isinstance(source, pd.DataFrame):
        return spark.createDataFrame(source)
    path = Path(source)
    if not path.is_file():
        raise FairserveError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return spark.read.parquet(str(path))
    return spark.read.csv(str(path), header=True, inferSchema=False)


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
