"""The same RFM query on Apache Spark (local mode) gives DuckDB's summary and the same fitted parameters."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fairserve.datasets import cdnow_sample
from fairserve.errors import InputError
from fairserve.value import fit_value_model, score_customers, summarise

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

CAL = dt.date(1997, 9, 30)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from fairserve.value import spark_session

    session = spark_session("fairserve-tests", conf={"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
                                                     "spark.sql.adaptive.coalescePartitions.enabled": "false"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spark") / "cdnow.csv"
    log = cdnow_sample()
    log.assign(date=log["date"].dt.strftime("%Y%m%d")).to_csv(path, index=False)  # the raw CDNOW date format
    return path


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False,
                                  rtol=1e-12)


@pytest.mark.parametrize("period", ["day", "week"])
def test_spark_summary_and_fit_equal_duckdb(spark: Any, log_csv: Path, period: str) -> None:
    on_spark = summarise(log_csv, calibration_end=CAL, period=period, engine="spark", spark=spark)
    on_duck = summarise(log_csv, calibration_end=CAL, period=period)
    assert len(on_spark.customers) == 2357
    _same(on_spark.customers, on_duck.customers)
    _same(on_spark.compressed, on_duck.compressed)
    _same(on_spark.spend, on_duck.spend)
    m_spark, m_duck = fit_value_model(on_spark), fit_value_model(on_duck)
    assert m_spark.transaction.params_ == pytest.approx(m_duck.transaction.params_, rel=1e-9)
    assert m_spark.spend.params_ == pytest.approx(m_duck.spend.params_, rel=1e-9)


@pytest.mark.slow
def test_spark_holdout_and_optional_columns_equal_duckdb(spark: Any, tmp_path: Path) -> None:
    log = cdnow_sample()
    ids = log["customer_id"].astype(int)
    log = log.assign(org=("org" + (ids % 5).astype(str)).where(ids % 2 == 0),
                     line=("line" + (log["quantity"] % 3).astype(str)),
                     tier=pd.Series(["basic", "gold"]).iloc[(log["amount"] > 20).astype(int)].to_numpy())
    path = tmp_path / "log.parquet"
    log.to_parquet(path)
    options: dict[str, Any] = dict(calibration_end=CAL, observation_end=dt.date(1998, 6, 30), account_col="org",
                                   status_col="tier", product_col="line", margins=(("line1", 0.4),))
    on_spark = summarise(path, engine="spark", spark=spark, **options)
    on_duck = summarise(path, **options)
    assert {"frequency_holdout", "account", "status", "products_held", "margin"} <= set(on_duck.customers)
    _same(on_spark.customers, on_duck.customers)


def test_spark_reports_bad_rows_like_duckdb(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,date,amount\na,2020-01-01,1\na,2020-01-02,x\nb,2020-01-03,2\nb,2020-01-04,?\n")
    with pytest.raises(InputError) as on_spark:
        summarise(path, engine="spark", spark=spark)
    with pytest.raises(InputError) as on_duck:
        summarise(path)
    assert on_spark.value.problems == on_duck.value.problems
    assert [p.row for p in on_duck.value.problems] == [2, 4]


@pytest.mark.parametrize("ties", ["max", "min"])
def test_engine_percentile_equals_the_pandas_definition_across_partitions(spark: Any, ties: str) -> None:
    import numpy as np

    from fairserve.influence import influence_percentiles
    from fairserve.value.score import value_percentile
    from fairserve.value.spark import exact_percentile

    rng = np.random.default_rng(11)
    values = np.round(rng.lognormal(1.0, 1.5, 5000), 1)  # many ties, some spanning what a partition holds
    values[:700] = 0.0
    frame = pd.DataFrame({"id": np.arange(len(values)), "x": values})
    if ties == "max":  # the value percentile of a CLV
        want = value_percentile(frame["x"]).to_numpy()
    else:  # influence: the reach score log10(1 + followers), as a percentile of the other customers
        profiles = pd.DataFrame({"customer_id": frame["id"].astype(str), "followers": frame["x"] * 10})
        want = influence_percentiles(profiles).loc[profiles["customer_id"]].to_numpy()
        frame["x"] = np.log10(1.0 + profiles["followers"])
    got = exact_percentile(spark.createDataFrame(frame), "x", "p", partitions=7, ties=ties).toPandas()
    assert np.array_equal(got.sort_values("id")["p"].to_numpy(), want)


def test_spark_scores_with_status_and_product_margins_equal_duckdb(spark: Any, tmp_path: Path) -> None:
    """Status scores place tiers on the whole base's ladder although each batch is scored apart."""
    import numpy as np

    from fairserve.value.spark_value import score_spark, summarise_spark

    log = cdnow_sample()
    ids = log["customer_id"].astype(int)
    tiers = np.array(["basic", "silver", "gold"])
    rank = (ids % 7 == 0).astype(int) + (ids % 11 == 0).astype(int)
    log = log.assign(line=("line" + (log["quantity"] % 3).astype(str)), tier=tiers[rank])
    path = tmp_path / "log.parquet"
    log.to_parquet(path)
    options: dict[str, Any] = dict(calibration_end=CAL, period="week", status_col="tier", product_col="line",
                                   margins=(("line1", 0.4), ("line2", 0.1)))
    on_duck = summarise(path, **options)
    model = fit_value_model(on_duck)
    want = score_customers(on_duck.customers, model, status_ladder=["basic", "silver", "gold", "platinum"])
    small_batches = {"spark.sql.execution.arrow.maxRecordsPerBatch": "50"}  # most batches miss a tier
    for key, value in small_batches.items():
        spark.conf.set(key, value)
    try:
        on_spark = summarise_spark(path, spark=spark, **options)
        score_spark(on_spark, model, tmp_path / "scores", status_ladder=["basic", "silver", "gold", "platinum"])
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    got = pd.read_parquet(tmp_path / "scores").sort_values("customer_id").reset_index(drop=True)
    want = want.sort_values("customer_id").reset_index(drop=True)
    assert {"status", "status_score", "products_held", "margin"} <= set(want.columns)
    assert set(want["status_score"]) == {0.0, 0.5, 1.0}
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)
