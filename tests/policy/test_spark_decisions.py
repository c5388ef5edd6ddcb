"""``policy audit`` and ``policy decide`` with ``--engine spark`` on a REAL standalone cluster equal the pandas path:
the one evaluator runs on the executors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairserve.datasets import cdnow_sample
from fairserve.influence import synthetic_followers
from fairserve.value import fit_value_model, score_customers, summarise
from spark_cluster import Cluster, java_available, run_fairserve, shared_cluster, spark_options

pytest.importorskip("pyspark")
if not java_available():
    pytest.skip("Spark needs a Java runtime (make java)", allow_module_level=True)

pytestmark = [pytest.mark.spark]


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return shared_cluster()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """CDNOW scores with follower counts (no influence column: both paths derive it) and 400 contacts, some with
    text (read by the text triage on the executors), five from customers the scores lack."""
    folder = tmp_path_factory.mktemp("policy-cluster")
    summary = summarise(cdnow_sample(), calibration_end=dt.date(1997, 9, 30), period="week")
    scores = score_customers(summary.customers, fit_value_model(summary))
    scores["followers"] = synthetic_followers(len(scores), 7).astype("int64")
    rng = np.random.default_rng(3)
    n = 400
    ids = rng.choice(scores["customer_id"].to_numpy(), n).astype(object)
    ids[:5] = "not-a-customer"
    contacts = pd.DataFrame({
        "contact_id": [f"k{i:04d}" for i in range(n)],
        "channel": rng.choice(["phone", "email", "chat", "social"], n),
        "arrival": (pd.Timestamp("2026-11-30T09:00:00") + pd.to_timedelta(rng.integers(0, 7200, n), unit="s"))
        .strftime("%Y-%m-%dT%H:%M:%S"),
        "customer_id": ids,
        "text": rng.choice(["", "thanks", "Bumped again after 15 min on hold, a disgrace, I want a refund"], n),
    })
    s, c = folder / "scores.parquet", folder / "contacts.csv"
    scores.to_parquet(s)
    contacts.to_csv(c, index=False)
    return s, c


@pytest.mark.parametrize("policy", ["influence-first", "value-first"])
def test_policy_audit_on_the_cluster_equals_pandas(cluster: Cluster, files: tuple[Path, Path], policy: str) -> None:
    scores, _ = files
    args = ["policy", "audit", "--policy", policy, "--scores", str(scores), "--json"]
    on_pandas = run_fairserve(args)
    on_spark = run_fairserve([*args, *spark_options(cluster)], env=cluster.env())
    assert on_pandas.returncode == 0, on_pandas.stderr[-2000:]
    assert on_spark.returncode == 0, on_spark.stderr[-3000:]
    want, got = json.loads(on_pandas.stdout), json.loads(on_spark.stdout)
    assert got == want
    assert want["entitlements"] and sum(want["tier_counts"].values()) == 2357
    if policy == "influence-first":  # the influence percentile (from followers, by the engine) was exercised
        assert want["owed_to_influence"] > 0
    assert want["followers_source"] == "followers column of the scores file"


def test_policy_decide_on_the_cluster_equals_pandas(cluster: Cluster, files: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    scores, contacts = files
    args = ["policy", "decide", str(contacts), "--policy", "influence-first", "--scores", str(scores)]
    on_pandas = run_fairserve([*args, "--out", str(tmp_path / "decisions.parquet")])
    out = tmp_path / "decisions"
    on_spark = run_fairserve([*args, "--out", str(out), "--json", *spark_options(cluster)], env=cluster.env())
    assert on_pandas.returncode == 0, on_pandas.stderr[-2000:]
    assert on_spark.returncode == 0, on_spark.stderr[-3000:]
    want = pd.read_parquet(tmp_path / "decisions.parquet").sort_values("contact_id").reset_index(drop=True)
    got = pd.read_parquet(out).sort_values("contact_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    summary = json.loads(on_spark.stdout)
    assert summary["contacts"] == 400 and summary["unknown_customers"] == 5
    assert summary["tiers"] == want["tier"].value_counts().to_dict() | {
        t: 0 for t in summary["tiers"] if t not in set(want["tier"])}
    # the file gives no severity: it was read from the text, on the executors too
    assert want["reasons"].str.contains("Severity 2 of 3").any()
    assert "5 contact(s) name a customer not in" in on_spark.stderr


def test_a_bad_contact_on_the_cluster_is_named_with_exit_2(cluster: Cluster, files: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    _, contacts = files
    frame = pd.read_csv(contacts, dtype=str, keep_default_na=False)
    frame.loc[17, "channel"] = "fax"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    run = run_fairserve(["policy", "decide", str(bad), "--policy", "balanced", "--no-text", "--out",
                         str(tmp_path / "d"), *spark_options(cluster)], env=cluster.env())
    assert run.returncode == 2, run.stderr[-3000:]
    assert f"error: {bad}, contact_id 'k0017', field 'channel': not one of phone" in run.stderr.replace("\n", " ")
    assert "Traceback" not in run.stderr


def test_a_bad_score_in_the_audit_on_the_cluster_is_one_line_with_exit_2(cluster: Cluster, files: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    scores, _ = files
    frame = pd.read_parquet(scores).astype({"clv": object})
    frame.loc[5, "clv"] = "abc"
    bad = tmp_path / "bad-scores.csv"
    frame.to_csv(bad, index=False)
    run = run_fairserve(["policy", "audit", "--policy", "value-first", "--scores", str(bad),
                         *spark_options(cluster)], env=cluster.env())
    assert run.returncode == 2, run.stderr[-3000:]
    customer = frame.loc[5, "customer_id"]
    assert f"error: {bad}, customer_id '{customer}', field 'clv': not a number: 'abc'" in run.stderr.replace("\n", " ")
    # no traceback (PySpark repeats the executor's in a warning) and none of Spark's start-up notes
    assert "Traceback" not in run.stderr and "WARN" not in run.stderr.replace("WARNING: Using incubator modules", "")
