"""``value fit`` and ``value score`` on a REAL standalone Spark cluster (a master and two workers, each its own
process on loopback) give the DuckDB path's parameters and every customer's scores."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import write_cdnow_csv
from fairserve.value import fit_value_model, score_customers, summarise
from spark_cluster import Cluster, free_port, java_available, run_fairserve, shared_cluster, spark_options

pytest.importorskip("pyspark")
if not java_available():
    pytest.skip("Spark needs a Java runtime (make java)", allow_module_level=True)

pytestmark = [pytest.mark.spark]

CAL = dt.date(1997, 9, 30)
FIT = ["--period", "week", "--calibration-end", CAL.isoformat()]


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return shared_cluster()


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cdnow_csv(tmp_path_factory.mktemp("cluster") / "cdnow.csv", "%Y%m%d")


@pytest.fixture(scope="module")
def on_duckdb(log_csv: Path) -> tuple[dict[str, object], pd.DataFrame]:
    """The DuckDB path's model record and scores (the reference)."""
    summary = summarise(log_csv, calibration_end=CAL, period="week")
    model = fit_value_model(summary)
    return model.to_dict(), score_customers(summary.customers, model)


def _completed_apps(cluster: Cluster) -> int:
    return len(cluster.state().get("completedapps", []))


def test_value_fit_on_the_cluster_gives_duckdbs_parameters(cluster: Cluster, log_csv: Path, tmp_path: Path,
                                                           on_duckdb: tuple[dict[str, object], pd.DataFrame]) -> None:
    before = _completed_apps(cluster)
    run = run_fairserve(["value", "fit", str(log_csv), *FIT, "--json", "--out", str(tmp_path / "model.json"),
                         *spark_options(cluster)], env=cluster.env())
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout)
    ref, _ = on_duckdb
    assert got["engine"] == "spark" and got["spark_master"] == cluster.url
    assert got["customers"] == 2357 and got["transactions"] == 6919
    assert got["params"] == pytest.approx(ref["transaction_model"]["params"], rel=1e-9)  # type: ignore[index]
    assert got["spend"]["params"] == pytest.approx(ref["spend_model"]["params"], rel=1e-9)  # type: ignore[index]
    # it ran on the cluster, as an application of its master, not in a local Spark of the process
    apps = cluster.state()["completedapps"]
    assert len(apps) == before + 1 and {a["name"] for a in apps} == {"fairserve"}


def test_value_score_on_the_cluster_gives_every_customers_clv(
        cluster: Cluster, log_csv: Path, tmp_path: Path, on_duckdb: tuple[dict[str, object], pd.DataFrame]) -> None:
    ref_model, ref = on_duckdb
    model = tmp_path / "model.json"
    model.write_text(json.dumps(ref_model))
    out = tmp_path / "scores"
    run = run_fairserve(["value", "score", str(log_csv), "--model", str(model), "--out", str(out), "--json",
                         *spark_options(cluster)], env=cluster.env())
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["spark_master"] == cluster.url
    parts = sorted(out.glob("part-*.parquet"))
    assert (out / "_SUCCESS").exists() and len(parts) >= 2 and summary["part_files"] == len(parts)
    got = pd.read_parquet(out).sort_values("customer_id").reset_index(drop=True)
    want = ref.sort_values("customer_id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    np.testing.assert_allclose(got["clv"], want["clv"], rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)
    # the percentile is the engine's, exact, with pandas' definition (ties share the highest rank): CDNOW's many
    # one-time buyers share a CLV, and the part files each hold a range of CLVs
    assert np.array_equal(got["value_percentile"].to_numpy(), want["value_percentile"].to_numpy())
    assert want["clv"].duplicated().sum() > 100
    assert summary["customers"] == 2357
    assert summary["clv_total"] == pytest.approx(float(want["clv"].sum()), rel=1e-9)


def test_a_spark_conf_without_equals_is_refused_with_exit_2(log_csv: Path) -> None:
    run = run_fairserve(["value", "fit", str(log_csv), "--engine", "spark", "--spark-conf", "spark.executor.memory"])
    assert run.returncode == 2
    assert "--spark-conf takes KEY=VALUE" in run.stderr and "'spark.executor.memory'" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_unreachable_master_is_reported_within_the_timeout_with_exit_2(log_csv: Path) -> None:
    master = f"spark://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    run = run_fairserve(["value", "fit", str(log_csv), "--engine", "spark", "--spark-master", master], timeout=120)
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"cannot reach the Spark master {master}" in run.stderr and "Traceback" not in run.stderr
    assert time.monotonic() - start < 60


def test_under_spark_submit_the_submitted_master_decides(cluster: Cluster, log_csv: Path) -> None:
    import fairserve
    from spark_cluster import TEST_CONF, spark_home

    entry = Path(fairserve.__file__).with_name("__main__.py")
    submit = [str(spark_home() / "bin" / "spark-submit"), "--master", cluster.url,
              *[a for c in TEST_CONF for a in ("--conf", c)], str(entry)]
    run = subprocess.run([*submit, "value", "fit", str(log_csv), *FIT, "--engine", "spark", "--json"],
                         env=cluster.env(), capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["spark_master"] == cluster.url


def test_without_a_master_anywhere_spark_runs_on_all_local_cores(log_csv: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_MASTER", "MASTER", "PYSPARK_SUBMIT_ARGS")}
    run = run_fairserve(["value", "fit", str(log_csv), *FIT, "--engine", "spark", "--json",
                         "--spark-conf", "spark.sql.shuffle.partitions=2", "--spark-conf", "spark.ui.enabled=false"],
                        env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["spark_master"] == "local[*]"
