"""The summary grouped without the SQL engine (fairserve.value.rfm_native) against the engine's query, exactly.

Every case runs both paths on the same file: ``summarise(..., native=False)`` is DuckDB's query, the reference;
``native_summary`` must give its frame and facts to the last bit, or hand the log back (``None``) where it says
it does. Logs it takes are checked to be taken (a test that compared ``None`` would prove nothing).
"""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairserve.datasets import cdnow_sample
from fairserve.errors import InputError
from fairserve.value.rfm import RFMSpec, _coerce, summarise
from fairserve.value.rfm_native import HAVE_NUMBA, native_summary

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the native path needs numba (the fast extra)")


def _both(path: Path, spec: RFMSpec, threads: int | None = None) -> tuple[pd.DataFrame, dict, pd.DataFrame, dict]:
    grouped = native_summary(path, spec, threads, any_size=True)
    assert grouped is not None, "the native path handed a log it should take back to the engine"
    frame, info = grouped
    engine = summarise(path, spec, native=False)
    return _coerce(frame), info, engine.customers, engine.info


def _assert_same(path: Path, spec: RFMSpec, threads: int | None = None) -> pd.DataFrame:
    frame, info, ref, ref_info = _both(path, spec, threads)
    pd.testing.assert_frame_equal(frame, ref, check_exact=True)
    assert info == {k: ref_info[k] for k in ("rows", "min_date", "max_date")}
    return frame


def _csv(tmp_path: Path, rows: list[tuple[str, str, str]], name: str = "log.csv") -> Path:
    path = tmp_path / name
    lines = ["customer_id,date,amount"] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = cdnow_sample()
    path = tmp_path_factory.mktemp("native") / "cdnow.csv"
    log.assign(date=log["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("spec", [
    RFMSpec(),
    RFMSpec(calibration_end=dt.date(1997, 9, 30)),
    RFMSpec(calibration_end=dt.date(1997, 9, 30), observation_end=dt.date(1998, 6, 30)),
    RFMSpec(calibration_end=dt.date(1997, 9, 30), observation_end=dt.date(1998, 6, 30), period="week"),
    RFMSpec(calibration_end=dt.date(1997, 1, 15)),  # customers who start after it are left out
])
def test_cdnow_summary_is_the_querys(cdnow_csv: Path, spec: RFMSpec) -> None:
    frame = _assert_same(cdnow_csv, spec)
    assert len(frame) > 100


def test_parquet_and_csv_give_the_querys_summary(cdnow_csv: Path, tmp_path: Path) -> None:
    log = cdnow_sample()
    path = tmp_path / "cdnow.parquet"
    log.assign(date=log["date"].dt.date).to_parquet(path, index=False)
    spec = RFMSpec(calibration_end=dt.date(1997, 9, 30), observation_end=dt.date(1998, 6, 30))
    from_parquet = _assert_same(path, spec)
    from_csv = _assert_same(cdnow_csv, spec)
    pd.testing.assert_frame_equal(from_parquet, from_csv, check_exact=True)


def test_many_batches_on_two_threads_equal_one_thread_and_the_query(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 400_000  # about 12 MB: Arrow reads it in several batches, the kernels run on several partitions
    ids = np.char.add("C", rng.integers(0, 30_000, n).astype(str))
    days = (np.datetime64("2019-01-01") + rng.integers(0, 900, n)).astype(str)
    amounts = np.round(rng.gamma(2.0, 30.0, n), 2)
    path = tmp_path / "big.csv"
    pd.DataFrame({"customer_id": ids, "date": days, "amount": amounts}).to_csv(path, index=False)
    spec = RFMSpec(calibration_end=dt.date(2020, 12, 31), observation_end=dt.date(2021, 6, 18))
    one = _assert_same(path, spec, threads=1)
    two = _assert_same(path, spec, threads=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert len(one) > 29_000


def test_fitted_parameters_and_every_clv_are_those_of_the_query_path(tmp_path: Path) -> None:
    """Issue 9's bar for the speed work: parameters to 1e-9 and CLV exactly; the same summary gives them equal."""
    from fairserve.value.score import fit_value_model, score_customers

    rng = np.random.default_rng(11)
    n = 200_000
    path = tmp_path / "log.csv"
    pd.DataFrame({"customer_id": np.char.add("K", rng.integers(0, 20_000, n).astype(str)),
                  "date": (np.datetime64("2021-01-01") + rng.integers(0, 600, n)).astype(str),
                  "amount": np.round(rng.gamma(3.0, 20.0, n), 2)}).to_csv(path, index=False)
    ours, query = summarise(path, native=True), summarise(path, native=False)
    assert ours.info == query.info
    pd.testing.assert_frame_equal(ours.compressed, query.compressed, check_exact=True)
    pd.testing.assert_frame_equal(ours.spend, query.spend, check_exact=True)
    model_ours, model_query = fit_value_model(ours), fit_value_model(query)
    assert model_ours.transaction.params_ == model_query.transaction.params_
    assert model_ours.spend.params_ == model_query.spend.params_
    scores_ours = score_customers(ours.customers, model_ours)
    scores_query = score_customers(query.customers, model_query)
    np.testing.assert_array_equal(scores_ours["clv"].to_numpy(), scores_query["clv"].to_numpy())
    assert len(scores_ours) > 19_000


def test_ids_are_ordered_by_their_bytes_and_keep_every_character(tmp_path: Path) -> None:
    ids = ["b", "B", "a", "aa", "a b", "Zé", "é", "€uro", "0042", "42", "NULL", "NA", "x" * 16, "日本語12345"]
    rows = [(c, f"2021-0{1 + i % 9}-1{i % 10}", f"{i + 1}.5") for i, c in enumerate(ids)]
    rows += [(c, "2021-11-30", "2") for c in ids]
    frame = _assert_same(_csv(tmp_path, rows), RFMSpec())
    assert list(frame["customer_id"]) == sorted(ids, key=lambda s: s.encode())


def test_ids_of_one_word_are_ordered_as_the_query_orders_them(tmp_path: Path) -> None:
    """Ids of at most 8 bytes take the one-word sort (``_by_id``): bytes above 127 (UTF-8) must order after
    ASCII, a prefix before its extensions, as the query's ORDER BY does."""
    ids = ["b", "B", "a", "aa", "a b", "Zé", "é", "€uro", "0042", "42", "~", "\u00ff", "x" * 8, "日本"]
    rows = [(c, f"2021-0{1 + i % 9}-1{i % 10}", f"{i + 1}.5") for i, c in enumerate(ids)]
    frame = _assert_same(_csv(tmp_path, rows), RFMSpec())
    assert list(frame["customer_id"]) == sorted(ids, key=lambda s: s.encode())


def test_ids_sharing_their_packed_word_are_ordered_by_the_full_sort() -> None:
    """Two ids can share a packed word only by differing in trailing zero bytes; the one-word sort must then
    give way to the sort on (word, second word, length), whose order it otherwise gives exactly."""
    from fairserve.value.rfm_native import _by_id

    rng = np.random.default_rng(7)
    k1 = rng.integers(0, 2**63, 1000, dtype=np.int64).astype(np.uint64)
    k2 = np.zeros(1000, dtype=np.uint64)
    length = rng.integers(1, 9, 1000)
    assert np.array_equal(_by_id(k1, k2, length), np.lexsort((length, k2, k1)))
    k1[500:510] = k1[0]  # ties in the first word, told apart by their lengths
    length[500:510] = np.arange(10) % 8 + 1
    length[0] = 8
    assert np.array_equal(_by_id(k1, k2, length), np.lexsort((length, k2, k1)))
    k2[3] = 5  # an id of two words
    assert np.array_equal(_by_id(k1, k2, length), np.lexsort((length, k2, k1)))


@pytest.mark.parametrize("collector_on", [True, False])
def test_the_cycle_collector_is_left_as_it_was(cdnow_csv: Path, tmp_path: Path, collector_on: bool) -> None:
    """The summary pauses Python's cycle collector while its threads load and group, and leaves it as it found
    it, on or off, also when it hands the log back to the query after reading it (a quoted cell)."""
    import gc

    quoted = _csv(tmp_path, [("a", "2021-01-01", "1"), ('"b"', "2021-01-02", "2")])
    was = gc.isenabled()
    try:
        (gc.enable if collector_on else gc.disable)()
        assert native_summary(cdnow_csv, RFMSpec(), any_size=True) is not None
        assert gc.isenabled() is collector_on
        assert native_summary(quoted, RFMSpec(), any_size=True) is None
        assert gc.isenabled() is collector_on
    finally:
        (gc.enable if was else gc.disable)()


def test_amounts_round_and_sum_as_the_querys_exact_decimals(tmp_path: Path) -> None:
    amounts = ["0.0000005", "0.0000015", "0.0000025", "2.5e-7", "1.0000005", "0.1234565", "999999999999.99",
               "123456789012.345678", "0", "1e3", "7"]
    rows = [("A", f"2020-01-{1 + i:02d}", a) for i, a in enumerate(amounts)]
    # sums past 2**53 millionths (nine billion): the mean is still the query's exactly rounded division
    rows += [("B", f"2020-02-{1 + i:02d}", "987654321987.654321") for i in range(7)]
    rows += [("C", "2020-01-01", "5"), ("C", "2020-01-01", "0.25"), ("C", "2020-03-01", "1.1")]
    frame = _assert_same(_csv(tmp_path, rows), RFMSpec())
    assert frame.set_index("customer_id").loc["C", "frequency"] == 1


def _big_plain_rows(n: int = 6000) -> list[tuple[str, str, str]]:
    """More rows than the 64 KiB the reader looks at first, so that a quote past them is found by the scan."""
    return [(f"C{i % 300}", f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}", f"{i % 97}.5") for i in range(n)]


@pytest.mark.parametrize("bad", [
    'C12345,"2021-03-04,10.0',  # a quote left open: Arrow (quoting on) ran it over 40,000 rows in a review
    '"C""1",2021-03-04,10.0',  # an escaped quote: Arrow read C"1, DuckDB "C""1"
    '"C1",2021-03-04,10.0',  # a quoted id
    'C1,"2021-03-04",10.0',  # a quoted date
    'C1,2021-03-04,"10.0"',  # a quoted amount
])
def test_a_quote_in_a_row_sends_the_log_to_the_query(tmp_path: Path, bad: str) -> None:
    rows = _big_plain_rows()
    path = tmp_path / "log.csv"
    lines = ["customer_id,date,amount"] + [",".join(r) for r in rows]
    lines.insert(5000, bad)  # past the first 64 KiB
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 1 << 16
    assert native_summary(path, RFMSpec(), any_size=True) is None
    try:
        through = summarise(path, native=True)
    except InputError as refused:
        with pytest.raises(InputError) as again:
            summarise(path, native=False)
        assert str(again.value) == str(refused)
    else:
        pd.testing.assert_frame_equal(through.customers, summarise(path, native=False).customers)


def test_a_quoted_header_crlf_and_a_bom_are_read_as_the_query_reads_them(tmp_path: Path) -> None:
    rows = _big_plain_rows()
    path = tmp_path / "log.csv"
    body = "\r\n".join(",".join(r) for r in rows)
    path.write_bytes(b"\xef\xbb\xbf" + ('"customer_id","date","amount"\r\n' + body + "\r\n").encode())
    _assert_same(path, RFMSpec())


def test_bare_carriage_returns_send_the_log_to_the_query(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount\r" + "\r".join(",".join(r) for r in _big_plain_rows(50)) + "\r")
    assert native_summary(path, RFMSpec(), any_size=True) is None


_TRICKY_AMOUNTS = ["+5", ".5", "5.", "1e5", "1E5", "1e+5", "-0", "-0.0", "0x10", "1_000", "１２", "5 ", " 5", "\t5",
                   "1e-400", "4.9e-324", "00012.50", "1.7976931348623157e308", "nan", "NaN", "inf", "N/A", "#N/A",
                   "null", "NULL", "None", "true"]
_TRICKY_DATES = ["2020-1-5", "2020-01-5", " 2020-01-05", "2020-01-05 ", "2020/01/05", "2020-01-05T00:00:00",
                 "2020-01-05Z", "+2020-01-05", "20-01-05", "2020-02-30", "0001-01-01", "9999-12-31", "10000-01-01",
                 "0000-01-01", "2020-01-05 00:00:00"]
_TRICKY_IDS = [" A", "A ", "\tA", "A\\B", "'A'", "A;B", "A|B", "NULL", "nan", "#N/A", "\u00a0A", "A'B", "A\u3000",
               "\u2009A", "A\u202f", "\u1680A", "José", "é", "A\u00a0B", "  "]


@pytest.mark.parametrize(("field", "value"), [("amount", a) for a in _TRICKY_AMOUNTS]
                         + [("date", d) for d in _TRICKY_DATES] + [("id", i) for i in _TRICKY_IDS])
def test_a_tricky_cell_is_taken_only_where_it_gives_the_querys_answer(tmp_path: Path, field: str,
                                                                      value: str) -> None:
    """Found in a review: Arrow took "2020-01-05 ", which DuckDB refuses, and DuckDB's sniffer read 'A' as A."""
    row = {"id": "A", "date": "2020-02-01", "amount": "3"} | {field: value}
    path = _csv(tmp_path, [("A", "2020-01-01", "1"), (row["id"], row["date"], row["amount"]),
                           ("B", "2020-03-01", "2")])
    grouped = native_summary(path, RFMSpec(), any_size=True)
    try:
        query = summarise(path, native=False).customers
    except InputError:
        assert grouped is None  # the query refuses it: so must this path, and let the query say why
        return
    if grouped is not None:
        pd.testing.assert_frame_equal(_coerce(grouped[0]), query, check_exact=True)


def test_spaces_around_an_id_or_a_date_are_not_part_of_it(tmp_path: Path) -> None:
    """As ``fairserve check`` reads them (docs/input.md): ' A ' is customer A, ' 2020-01-05 ' a date."""
    path = _csv(tmp_path, [("A", "2020-01-01", "1"), (" A ", " 2020-02-01 ", "2"), ("\u00a0B", "2020-03-01", "3")])
    for native in (True, False):
        customers = summarise(path, native=native).customers
        assert list(customers["customer_id"]) == ["A", "B"]
        assert customers.set_index("customer_id").loc["A", "frequency"] == 1
    blank = _csv(tmp_path, [("A", "2020-01-01", "1"), ("   ", "2020-02-01", "2")], "blank.csv")
    with pytest.raises(InputError) as refused:
        summarise(blank)
    assert any(p.row == 2 and p.field == "customer_id" for p in refused.value.problems)


def test_spaces_around_a_number_are_read_as_the_query_reads_them(tmp_path: Path) -> None:
    _assert_same(_csv(tmp_path, [("A", "2020-01-01", " 1"), ("A", "2020-01-02", "2.5 "), ("B", "2020-01-03", "3")]),
                 RFMSpec())


def test_dates_before_1970_and_far_ahead(tmp_path: Path) -> None:
    rows = [("A", "1969-12-31", "1"), ("A", "1900-03-01", "2"), ("A", "1600-02-29", "3"), ("B", "2999-12-31", "4"),
            ("B", "2400-02-29", "5"), ("C", "1970-01-01", "6"), ("C", "2000-02-29", "7")]
    _assert_same(_csv(tmp_path, rows), RFMSpec())
    _assert_same(_csv(tmp_path, rows), RFMSpec(calibration_end=dt.date(2000, 3, 1),
                                                observation_end=dt.date(2500, 1, 1)))


@pytest.mark.parametrize(("rows", "spec"), [
    ([("C" * 17, "2020-01-01", "1")], RFMSpec()),  # an id longer than 16 bytes
    ([("éééééééé" + "x", "2020-01-01", "1")], RFMSpec()),  # 17 bytes in 9 characters
    ([("A", "2020-01-01 10:00:00", "1")], RFMSpec()),  # a timestamp: the query reads it
    ([("A", "20200101", "1")], RFMSpec()),  # YYYYMMDD: the query reads it
    ([("A", "2021-01-01", "1")], RFMSpec(calibration_end=dt.date(2020, 1, 1))),  # every row after the end
])
def test_logs_it_does_not_take_go_to_the_query_which_reads_them(tmp_path: Path, rows: list, spec: RFMSpec) -> None:
    path = _csv(tmp_path, rows)
    assert native_summary(path, spec, any_size=True) is None
    try:
        through = summarise(path, spec, native=True)
    except InputError as refused:
        with pytest.raises(InputError) as again:
            summarise(path, spec, native=False)
        assert str(again.value) == str(refused)
    else:
        pd.testing.assert_frame_equal(through.customers, summarise(path, spec, native=False).customers)


@pytest.mark.parametrize("bad", [("", "2020-01-01", "1"), ("A", "", "1"), ("A", "2020-01-01", ""),
                                 ("A", "2020-01-01", "-1"), ("A", "2020-01-01", "NA"),
                                 ("A", "2020-13-01", "1"), ("A", "2020-01-01", "1e13"),
                                 ("A", "2020-01-01", "inf"), ("A", "2021-02-29", "1")])
def test_a_bad_row_goes_to_the_query_and_is_reported_by_row(tmp_path: Path, bad: tuple[str, str, str]) -> None:
    path = _csv(tmp_path, [("A", "2020-01-01", "1"), bad, ("B", "2020-01-02", "2")])
    assert native_summary(path, RFMSpec(), any_size=True) is None
    with pytest.raises(InputError) as refused:
        summarise(path, native=True)
    assert any(p.row == 2 for p in refused.value.problems)  # the second row of data


def test_optional_columns_a_dataframe_and_gzip_go_to_the_query(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount,status\nA,2020-01-01,1,gold\nA,2020-02-01,2,gold\n")
    assert native_summary(path, RFMSpec(status_col="status"), any_size=True) is None
    assert native_summary(pd.read_csv(path), RFMSpec(), any_size=True) is None
    gz = tmp_path / "log.csv.gz"
    import gzip

    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert native_summary(gz, RFMSpec(), any_size=True) is None
    # the other columns of a file are not read, so they do not stop it
    _assert_same(path, RFMSpec())


def test_a_sum_past_64_bits_goes_to_the_querys_128_bit_sums(tmp_path: Path) -> None:
    rows = [("A", f"2020-01-{1 + i:02d}", "999999999999") for i in range(12)]
    path = _csv(tmp_path, rows)
    assert native_summary(path, RFMSpec(), any_size=True) is None
    assert summarise(path, native=True).customers["frequency"].tolist() == [11]


def test_by_default_only_a_big_log_is_grouped_natively(tmp_path: Path) -> None:
    """Below about 2.5 million rows (a 64 MiB CSV) the query is as fast, so it keeps small logs (and numba is not
    loaded for them); the progress a command shows tells which path ran."""
    from fairserve.value.progress import listening

    rng = np.random.default_rng(3)
    n = 2_800_000
    big = tmp_path / "big.csv"
    frame = pd.DataFrame({"customer_id": np.char.add("C", rng.integers(0, 200_000, n).astype(str)),
                          "date": (np.datetime64("2020-01-01") + rng.integers(0, 700, n)).astype(str),
                          "amount": np.round(rng.gamma(2.0, 30.0, n), 2)})
    frame.to_csv(big, index=False)
    assert big.stat().st_size >= 64 * 2**20
    small = tmp_path / "small.csv"
    frame.head(1000).to_csv(small, index=False)
    for path, first in ((big, "Reading"), (small, "Checking")):
        heard: list[str] = []
        with listening(lambda task, fraction, heard=heard: heard.append(task)):
            summarise(path)
        assert first + " " in " ".join(dict.fromkeys(heard)), heard
        assert ("Checking" in " ".join(heard)) == (path == small)


def test_a_log_too_big_for_the_machines_memory_goes_to_the_query_which_spills(cdnow_csv: Path,
                                                                             tmp_path: Path) -> None:
    from fairserve.value.rfm_native import _fits

    size = cdnow_csv.stat().st_size
    assert _fits(cdnow_csv, memory=10 * size, any_size=True)  # 3.5 x the file within 0.4 of the memory
    assert not _fits(cdnow_csv, memory=8 * size, any_size=True)
    assert not _fits(cdnow_csv, memory=10**12, any_size=False)  # small: the query is as fast
    parquet = tmp_path / "log.parquet"
    cdnow_sample().to_parquet(parquet, index=False)
    rows = len(cdnow_sample())
    assert _fits(parquet, memory=rows * 90 * 3, any_size=True)
    assert not _fits(parquet, memory=rows * 90 * 2, any_size=True)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    assert not _fits(broken, memory=10**12, any_size=True)  # the query reads it and says what is wrong


_ID_CHARS = string.ascii_letters + string.digits + " -_.é€日"


@st.composite
def _logs(draw: st.DrawFn) -> tuple[list[tuple[str, str, str]], RFMSpec]:
    ids = draw(st.lists(st.text(_ID_CHARS, min_size=1, max_size=5).filter(
        lambda s: s.strip() == s and len(s.encode()) <= 16), min_size=1, max_size=6, unique=True))
    start = dt.date(2019, 11, 20)
    n = draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        day = start + dt.timedelta(days=draw(st.integers(0, 500)))
        cents = draw(st.integers(0, 10**9))
        places = draw(st.integers(0, 7))
        rows.append((draw(st.sampled_from(ids)), day.isoformat(), str(cents / 10**places)))
    cal = draw(st.none() | st.integers(0, 500).map(lambda d: start + dt.timedelta(days=d)))
    obs = None
    if cal is not None and draw(st.booleans()):
        obs = cal + dt.timedelta(days=draw(st.integers(1, 200)))
    spec = RFMSpec(calibration_end=cal, observation_end=obs, period=draw(st.sampled_from(["day", "week"])))
    return rows, spec


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_logs())
def test_generated_logs_give_the_querys_summary_exactly(tmp_path: Path, case: tuple) -> None:
    rows, spec = case
    path = _csv(tmp_path, rows)
    grouped = native_summary(path, spec, any_size=True)
    first = min(r[1] for r in rows)
    if spec.calibration_end is not None and dt.date.fromisoformat(first) > spec.calibration_end:
        assert grouped is None  # the query refuses it, in its words
        return
    _assert_same(path, spec)
