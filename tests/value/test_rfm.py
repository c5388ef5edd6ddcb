"""The SQL RFM summary against lifetimes and a plain-pandas reference, and its refusals of bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

from fairserve.datasets import cdnow_sample
from fairserve.errors import InputError
from fairserve.value.rfm import (
    RFMSpec,
    _compressed,
    _Runner,
    _spend,
    compressed_summary,
    rfm_summary,
    summarise,
    summary_sql,
)

CAL = dt.date(1997, 9, 30)
OBS = dt.date(1998, 6, 30)


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return cdnow_sample()


@pytest.fixture(scope="module")
def log_csv(log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rfm") / "cdnow.csv"
    log.assign(date=log["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def _write(tmp_path: Path, text: str, name: str = "tx.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def pandas_reference(log: pd.DataFrame, cal: pd.Timestamp, obs: pd.Timestamp | None, unit: float) -> pd.DataFrame:
    """The definitions of the module docstring, written the slow obvious way."""
    per_day = log.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    rows = []
    for cid, g in per_day.groupby("customer_id"):
        g = g.sort_values("date")
        c = g[g["date"] <= cal]
        if c.empty:
            continue
        first = c["date"].iloc[0]
        freq = len(c) - 1
        row = {
            "customer_id": cid,
            "frequency": freq,
            "recency": (c["date"].iloc[-1] - first).days / unit,
            "T": (cal - first).days / unit,
            "monetary_value": c["amount"].iloc[1:].mean() if freq else 0.0,
        }
        if obs is not None:
            h = g[(g["date"] > cal) & (g["date"] <= obs)]
            row["frequency_holdout"] = len(h)
            row["monetary_holdout"] = h["amount"].mean() if len(h) else 0.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("customer_id")


@pytest.mark.parametrize(("period", "multiplier"), [("day", 1), ("week", 7)])
def test_summary_matches_lifetimes_on_cdnow(log: pd.DataFrame, log_csv: Path, period: str, multiplier: int) -> None:
    ours = rfm_summary(log_csv, calibration_end=CAL, period=period).set_index("customer_id")
    theirs = summary_data_from_transaction_data(
        log[log["date"] <= "1997-09-30"], "customer_id", "date", monetary_value_col="amount",
        observation_period_end="1997-09-30", freq="D", freq_multiplier=multiplier,
    )
    assert len(ours) == len(theirs) == 2357
    ours = ours.loc[theirs.index]
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), theirs["frequency"].to_numpy())
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-12, atol=1e-9)


def test_summary_matches_the_papers_calibration_file(log_csv: Path) -> None:
    from fairserve.datasets import dataset_path

    paper = pd.read_csv(dataset_path("cdnow_customers_summary.csv"))
    ours = rfm_summary(log_csv, calibration_end=CAL, period="week")
    ours = ours.set_index(ours["customer_id"].astype(int)).loc[paper["ID"]]
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), paper["frequency"].to_numpy())
    # the file is rounded to 2 decimals; sevenths never end in a 5, so rounding ours must give it exactly
    np.testing.assert_allclose(ours["recency"].round(2).to_numpy(), paper["recency"].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(ours["T"].round(2).to_numpy(), paper["T"].to_numpy(), atol=1e-9)


def test_holdout_columns_match_lifetimes_and_reference(log: pd.DataFrame, log_csv: Path) -> None:
    ours = rfm_summary(log_csv, calibration_end=CAL, observation_end=OBS).set_index("customer_id")
    theirs = calibration_and_holdout_data(
        log, "customer_id", "date", calibration_period_end="1997-09-30", observation_period_end="1998-06-30",
        freq="D", monetary_value_col="amount",
    )
    ours = ours.loc[theirs.index]
    np.testing.assert_array_equal(ours["frequency_holdout"].to_numpy(), theirs["frequency_holdout"].to_numpy())
    np.testing.assert_allclose(ours["duration_holdout"].to_numpy(), theirs["duration_holdout"].to_numpy())
    np.testing.assert_allclose(ours["T"].to_numpy(), theirs["T_cal"].to_numpy())
    # lifetimes averages raw holdout rows; we average per purchase day, like the calibration columns
    ref = pandas_reference(log, pd.Timestamp(CAL), pd.Timestamp(OBS), 1.0).loc[ours.index]
    np.testing.assert_allclose(ours["monetary_holdout"].to_numpy(), ref["monetary_holdout"].to_numpy(), atol=1e-9)


def test_same_day_purchases_are_one_transaction_with_summed_amount(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,date,amount\n"
                  "007,2020-01-01,10\n007,2020-01-01,5\n007,2020-01-08,2\n007,2020-01-08,4\n007,2020-01-15,9\n")
    row = rfm_summary(path, calibration_end=dt.date(2020, 1, 29), period="week").iloc[0]
    assert row["customer_id"] == "007"  # the id keeps its zeros
    assert row["frequency"] == 2
    assert row["recency"] == pytest.approx(2.0)
    assert row["T"] == pytest.approx(4.0)
    assert row["monetary_value"] == pytest.approx((6 + 9) / 2)  # the first day (15) is excluded


def test_transactions_after_calibration_end_are_excluded(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,date,amount\na,2020-01-01,1\na,2020-01-05,3\na,2020-02-01,8\n"
                  "b,2020-03-01,2\n")
    out = rfm_summary(path, calibration_end=dt.date(2020, 1, 10)).set_index("customer_id")
    assert list(out.index) == ["a"]  # b's first purchase is after the calibration end
    assert out.loc["a", "frequency"] == 1 and out.loc["a", "recency"] == 4 and out.loc["a", "T"] == 9
    assert out.loc["a", "monetary_value"] == 3


def test_default_calibration_end_is_the_last_date(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,date,amount\na,2020-01-01,1\nb,2020-01-11,3\n")
    out = rfm_summary(path).set_index("customer_id")
    assert out.loc["a", "T"] == 10 and out.loc["b", "T"] == 0


def test_parquet_and_dataframe_sources_give_the_csv_summary(log: pd.DataFrame, log_csv: Path, tmp_path: Path) -> None:
    pq = tmp_path / "cdnow.parquet"
    log.to_parquet(pq)
    from_csv = rfm_summary(log_csv, calibration_end=CAL, period="week")
    pd.testing.assert_frame_equal(rfm_summary(pq, calibration_end=CAL, period="week"), from_csv)
    pd.testing.assert_frame_equal(rfm_summary(log, calibration_end=CAL, period="week"), from_csv)


def test_compressed_summary_merges_identical_rows(log_csv: Path) -> None:
    full = summarise(log_csv, calibration_end=CAL, period="week")
    comp = full.compressed
    assert comp["weight"].sum() == len(full.customers)
    assert not comp.duplicated(["frequency", "recency", "T"]).any()
    expected = full.customers.groupby(["frequency", "recency", "T"]).size().to_numpy()
    np.testing.assert_array_equal(comp["weight"].to_numpy(), expected)
    assert len(comp) < len(full.customers) / 2  # CDNOW: most customers share a row
    pd.testing.assert_frame_equal(compressed_summary(log_csv, calibration_end=CAL, period="week"), comp)
    spend = full.spend
    assert spend["weight"].sum() == int((full.customers["frequency"] > 0).sum())


def test_loyalty_facts_and_optional_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "cust,day,total,org,tier,line\n"
                  "1,2019-06-15,10,acme,basic,books\n"
                  "1,2020-02-03,20,acme,gold,music\n"
                  "1,2020-05-20,30,acme,gold,books\n"
                  "1,2020-05-21,30,acme,gold,books\n"
                  "2,2020-04-01,5,,silver,music\n"
                  "1,2020-07-01,99,zeta,platinum,films\n")
    spec = RFMSpec(customer_col="cust", date_col="day", amount_col="total", account_col="org", status_col="tier",
                   product_col="line", calibration_end=dt.date(2020, 6, 30),
                   margins=(("books", 0.5), ("music", 0.2)), default_margin=0.1)
    out = rfm_summary(path, spec).set_index("customer_id")
    one = out.loc["1"]
    assert one["tenure_days"] == (dt.date(2020, 6, 30) - dt.date(2019, 6, 15)).days
    assert one["active_months"] == 2  # Feb and May 2020 among Jul 2019..Jun 2020
    assert one["window_months"] == 12
    assert one["products_held"] == 2  # films is after the calibration end
    assert one["status"] == "gold" and one["account"] == "acme"
    assert one["margin"] == pytest.approx((10 * 0.5 + 20 * 0.2 + 60 * 0.5) / 90)
    two = out.loc["2"]
    assert two["window_months"] == 3 and two["active_months"] == 1  # Apr..Jun 2020
    assert pd.isna(two["account"])


def test_one_query_text_for_both_engines() -> None:
    spec = RFMSpec(calibration_end=CAL, period="week")
    duck, spark = summary_sql(spec, "src", "duckdb"), summary_sql(spec, "src", "spark")
    assert duck.count("SELECT") == spark.count("SELECT")
    assert "date_diff('day'" in duck and "datediff(" in spark


def test_missing_column_names_file_and_field(log_csv: Path) -> None:
    with pytest.raises(InputError) as info:
        rfm_summary(log_csv, amount_col="revenue")
    message = str(info.value)
    assert str(log_csv) in message and "'revenue'" in message and "amount" in message


def test_text_amounts_are_counted_with_first_row_numbers(tmp_path: Path) -> None:
    rows = "".join(f"{i},2020-01-0{1 + i % 5},{'n/a' if i % 2 else i}\n" for i in range(1, 15))
    path = _write(tmp_path, "customer_id,date,amount\n" + rows)
    with pytest.raises(InputError) as info:
        rfm_summary(path)
    problems = info.value.problems
    shown = [p.row for p in problems if p.row is not None]
    assert shown == [1, 3, 5, 7, 9]
    assert all(p.field == "amount" and p.file == str(path) for p in problems)
    assert "7 rows in all" in str(info.value)


def test_bad_dates_are_reported_with_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,date,amount\na,2020-01-01,1\na,yesterday,1\n")
    with pytest.raises(InputError) as info:
        rfm_summary(path)
    assert [(p.row, p.field) for p in info.value.problems] == [(2, "date")]


def test_all_dates_after_calibration_end_is_refused(log_csv: Path) -> None:
    with pytest.raises(InputError, match="every transaction is after the calibration end 1990-01-01"):
        rfm_summary(log_csv, calibration_end=dt.date(1990, 1, 1))


def test_empty_log_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,date,amount\n")
    with pytest.raises(InputError, match="no rows"):
        rfm_summary(path)


def _duckdb_memory_limit(run: _Runner) -> float:
    """DuckDB's memory limit in MiB (it reports e.g. '953.6 MiB')."""
    value, unit = str(run.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]).split()
    return float(value) * {"MiB": 1.0, "GiB": 1024.0}[unit]


def test_duckdb_memory_is_sized_from_the_log_unless_given(log_csv: Path) -> None:
    run = _Runner(log_csv, "duckdb")
    try:
        run.size_memory(10_000_000)  # 90 bytes per transaction
        assert _duckdb_memory_limit(run) == pytest.approx(10_000_000 * 90 / 2**20, abs=1.0)
        run.size_memory(1_000)  # a small log gets the floor
        assert _duckdb_memory_limit(run) == pytest.approx(512.0, abs=0.1)
    finally:
        run.close()
    assert not Path(run.spill_dir.name).exists()  # DuckDB's spill directory goes with the session
    given = _Runner(log_csv, "duckdb", memory_limit="3GiB")
    try:
        given.size_memory(10_000_000)
        assert _duckdb_memory_limit(given) == pytest.approx(3072.0, abs=1.0)
    finally:
        given.close()


def test_summary_is_the_same_under_a_tight_memory_limit(log_csv: Path) -> None:
    roomy = summarise(log_csv, calibration_end=CAL)
    tight = summarise(log_csv, calibration_end=CAL, memory_limit="64MB", threads=1)
    pd.testing.assert_frame_equal(roomy.customers, tight.customers)
    pd.testing.assert_frame_equal(roomy.compressed, tight.compressed)


def test_compressed_summaries_equal_a_grouped_count_in_key_order() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    first = np.datetime64("2020-01-01") + rng.integers(0, 300, n).astype("timedelta64[D]")
    span = rng.integers(0, 40, n) * rng.integers(0, 2, n)  # many one-time buyers: many ties
    tenure = (np.datetime64("2021-01-01") - first) // np.timedelta64(1, "D")
    frequency = np.where(span > 0, rng.integers(1, 4, n), 0)
    customers = pd.DataFrame({
        "frequency": frequency.astype(np.int64),
        "recency": span / 7.0,
        "T": tenure / 7.0,
        "monetary_value": np.where(frequency > 0, rng.integers(-2, 30, n) / 4.0, 0.0),
        "first_purchase": first.astype("datetime64[us]"),
        "last_purchase": (first + span.astype("timedelta64[D]")).astype("datetime64[us]"),
        "tenure_days": tenure.astype(np.int64),
    })
    expected = (customers.groupby(["frequency", "recency", "T"]).size().rename("weight").astype(np.int64)
                .reset_index())
    got = _compressed(customers)
    pd.testing.assert_frame_equal(got, expected)
    assert got["weight"].sum() == n and len(got) < n
    buyers = customers[(customers["frequency"] > 0) & (customers["monetary_value"] > 0)]
    expected = (buyers.groupby(["frequency", "monetary_value"]).size().rename("weight").astype(np.int64)
                .reset_index())
    pd.testing.assert_frame_equal(_spend(customers), expected)


def _unstaged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path before issue 9: the check and the summary each parse the CSV themselves."""
    from fairserve.value.rfm_engine import Runner

    def no_stage(self: Runner, spec: RFMSpec) -> None:
        self.raw_source, self.raw_types = self.source, self.types

    monkeypatch.setattr(Runner, "stage", no_stage)


def test_a_csv_parsed_once_gives_the_summary_fit_and_clv_of_the_two_pass_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fairserve.value import fit_value_model, score_customers

    rng = np.random.default_rng(9)
    n = 20_000
    days = rng.integers(0, 700, n)
    log = pd.DataFrame({
        "customer_id": [f"{c:05d}" for c in rng.integers(0, 2_000, n)],
        "date": (np.datetime64("2020-01-01") + days).astype(str),
        "amount": np.round(rng.gamma(2.0, 20.0, n), 2).astype(str),
    })
    log.loc[::7, "date"] = [d.replace("-", "") for d in log.loc[::7, "date"]]  # YYYYMMDD dates too
    log.loc[3::14, "date"] = log.loc[3::14, "date"] + "T10:30:00"
    log = pd.concat([log, log.iloc[::5]])  # same-day repeats
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    new = summarise(path, calibration_end=dt.date(2021, 9, 30))
    with monkeypatch.context() as m:
        _unstaged(m)
        old = summarise(path, calibration_end=dt.date(2021, 9, 30))
    assert new.info == old.info
    pd.testing.assert_frame_equal(new.customers, old.customers, check_exact=True)
    vm_new, vm_old = fit_value_model(new), fit_value_model(old)
    for a, b in ((vm_new.transaction.params_, vm_old.transaction.params_),
                 (vm_new.spend.params_, vm_old.spend.params_)):
        assert a.keys() == b.keys()
        assert all(abs(a[k] - b[k]) <= 1e-9 * abs(b[k]) for k in a)
    clv_new = score_customers(new.customers, vm_new)["clv"].to_numpy()
    clv_old = score_customers(old.customers, vm_old)["clv"].to_numpy()
    assert np.array_equal(clv_new, clv_old)


def test_bad_rows_of_a_staged_csv_keep_their_file_row_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer_id,date,amount\n1,2020-01-01,3\n2,2020-13-01,4\n,2020-01-02,5\n3,2020-01-03,x\n")
    with pytest.raises(InputError) as exc:
        summarise(path)
    rows = {(p.field, p.row) for p in exc.value.problems}
    assert rows == {("date", 2), ("customer_id", 3), ("amount", 4)}


def test_a_line_of_spaces_is_skipped_as_check_skips_it(tmp_path: Path) -> None:
    """DuckDB's sniffer read this header as one column (a new user's review), and read on commas DuckDB cannot
    split its rows at all; fairserve's own reader, as ``check``, skips the line, and the summary is that of the
    file without it."""
    path = _write(tmp_path, "customer_id,date,quantity,amount\nA,2020-01-01,1,5\n   \nB,2020-01-02,1,6\n")
    without = _write(tmp_path, "customer_id,date,quantity,amount\nA,2020-01-01,1,5\nB,2020-01-02,1,6\n",
                     name="without.csv")
    got, want = summarise(path, native=False), summarise(without, native=False)
    pd.testing.assert_frame_equal(got.customers, want.customers)
    assert got.info["rows"] == 2
