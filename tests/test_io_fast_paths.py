"""The fast paths of the readers give exactly what the pandas paths give (issue 9: a 1M-customer scores CSV).

``fairserve.io`` parses CSV with Arrow's reader where it can and ``fairserve.io_validate`` turns text into numbers
with Arrow's cast where it can; each falls back to pandas for anything else. These tests hold each fast path to
the pandas path on tricky input, hand-picked and generated.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairserve.io import _arrow_csv_frame, _csv_frame, _pandas_csv_frame, read_scores, write_csv
from fairserve.io_validate import _numbers

TRICKY = ["1", "-2", "+3", "1.5", ".5", "5.", "1e3", "1E-3", " 4", "4 ", "inf", "-inf", "Infinity", "nan", "NaN",
          "1,000", "0x10", "1_000", "", "abc", "9999999999999999999", "99999999999999999999999", "1.0", "٣", "true",
          "00042", "-0", "1e400", "2e-400", "0.1", "123456789012345678", "1e", "e1", "--1", "+-1", "1.2.3"]


def _same_numbers(values: list[str | None], integers: bool) -> None:
    text = pd.Series(values, dtype="str")
    want = pd.to_numeric(text, errors="coerce")
    if not integers:
        want = want.astype("float64")
    got = _numbers(text, integers=integers)
    assert got.dtype == want.dtype, (values, got.dtype, want.dtype)
    np.testing.assert_array_equal(got.to_numpy("float64", na_value=np.nan), want.to_numpy("float64", na_value=np.nan))


@pytest.mark.parametrize("value", TRICKY)
@pytest.mark.parametrize("integers", [True, False])
def test_numbers_match_to_numeric_on_tricky_strings(value: str, integers: bool) -> None:
    for column in ([value], [value, "1"], [value, None], [value, "2.5"]):
        _same_numbers(column, integers)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789+-.eE xinfa,", max_size=8),
                          st.floats(allow_nan=True).map(repr), st.integers(-(2**70), 2**70).map(str)),
                min_size=1, max_size=6),
       st.booleans())
def test_numbers_match_to_numeric_on_generated_columns(values: list[str | None], integers: bool) -> None:
    _same_numbers(values, integers)


CSVS = {
    "plain": "customer_id,clv\n00042,1.5\n7,2\n",
    "quoted commas and newlines": 'customer_id,note\n1,"a, b"\n2,"line one\nline two"\n3,plain\n',
    "empty and quoted empty": 'customer_id,a,b\n1,,x\n2,"",y\n3,z,\n',
    "spaces kept": "customer_id,a\n 1 , x \n2,y\n",
    "crlf": "customer_id,a\r\n1,x\r\n2,y\r\n",
    "blank lines": "customer_id,a\n1,x\n\n2,y\n\n",
    "quoted header": '"customer_id","clv"\n"00042","1.5"\n',
    "unicode": "customer_id,name\n1,Zoë ☕\n2,日本\n",
    "no final newline": "customer_id,a\n1,x\n2,y",
    "carriage returns and quotes inside values": 'customer_id,a\n1,"x\ry"\n2,"x\r\ny"\n3,"q""w"\n',
}


@pytest.mark.parametrize("name", list(CSVS))
def test_arrow_reader_reads_what_pandas_reads(name: str) -> None:
    text = CSVS[name]
    fast = _arrow_csv_frame(text, ",")
    slow, problems = _pandas_csv_frame(text, "x.csv", ",")
    assert fast is not None and not problems
    pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("name", list(CSVS))
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf"])
def test_arrow_reads_a_files_bytes_as_it_reads_their_text(name: str, bom: bytes) -> None:
    """The file readers hand Arrow the bytes they decoded (no second encoding); Arrow drops one BOM, as the
    decoding does (a second one, which pandas would drop too, leaves the text to pandas as before)."""
    from fairserve.io import decode_text

    data = bom + CSVS[name].encode("utf-8")
    text, bad = decode_text(data)
    assert bad is None
    from_bytes = _arrow_csv_frame(text, ",", data)
    slow, _ = _pandas_csv_frame(text, "x.csv", ",")
    assert (from_bytes is None) == (bom.count(b"\xef\xbb\xbf") == 2)
    pd.testing.assert_frame_equal(_csv_frame(text, "x.csv", data)[0], slow)
    if from_bytes is not None:
        pd.testing.assert_frame_equal(from_bytes, slow)


@pytest.mark.parametrize("text", [
    "customer_id,a\n1,x,extra\n2,y\n",  # a row too long: pandas reports it
    "customer_id,a,b\n1,x\n",  # a row too short: pandas fills it
    "customer_id,a,a\n1,x,y\n",  # a repeated name: pandas renames it
    "customer_id,a\n",  # no data row
    "",  # no header
    '"customer\nid",a\n1,x\n',  # a newline inside the header
    "customer_id\r1\r2\r",  # lines ended by a lone carriage return
])
def test_arrow_reader_leaves_to_pandas_what_it_would_read_differently(text: str) -> None:
    assert _arrow_csv_frame(text, ",") is None


_CELL = st.one_of(st.just(""), st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\x00"),
                                       max_size=6))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.lists(st.lists(_CELL, min_size=k, max_size=k), min_size=1,
                                                      max_size=5)))
def test_arrow_reader_matches_pandas_on_generated_files(rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [f"c{i}" for i in range(len(rows[0]))]
    writer.writerows([header, *rows])
    text = out.getvalue()
    fast = _arrow_csv_frame(text, ",")
    slow, _ = _pandas_csv_frame(text, "x.csv", ",")
    if fast is not None:  # None: pandas reads it (e.g. a row that is one empty field is a blank line to both)
        pd.testing.assert_frame_equal(fast, slow)


def test_scores_file_reads_alike_by_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    n = 5_000
    frame = pd.DataFrame({
        "customer_id": [f"{i:06d}" for i in range(n)], "frequency": rng.integers(0, 20, n),
        "clv": rng.gamma(2.0, 50.0, n), "loyalty": rng.random(n), "first_purchase": "2020-01-01",
        "note": np.where(rng.random(n) < 0.5, "a, b", ""),
    })
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    fast = read_scores(path)
    monkeypatch.setattr("fairserve.io._arrow_csv_frame", lambda text, sep, data=None: None)
    slow = read_scores(path)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast["customer_id"].iloc[42] == "000042" and fast["frequency"].dtype == np.int64


def _mixed_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    floats = rng.gamma(2.0, 10.0, n)
    floats[:8] = [np.nan, np.inf, -np.inf, -0.0, 1e-300, 1e300, 0.1, 22.0]
    ids = np.char.add("C", rng.integers(0, 10**6, n).astype(str)).astype(object)
    ids[:5] = ["a,b", 'say "hi"', "line\nbreak", "é日本", " padded "]
    return pd.DataFrame({
        "customer_id": pd.array(ids, dtype="string"),
        "frequency": rng.integers(0, 50, n),
        "clv": floats,
        "missing_count": pd.array([None if i % 7 == 0 else i for i in range(n)], dtype="Int64"),
        "first_purchase": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        "last_purchase": pd.Series(pd.to_datetime("2021-01-01") + pd.to_timedelta(rng.integers(0, 9, n), unit="D"))
        .where(rng.random(n) > 0.1),
    })


def test_arrow_writes_a_big_csv_with_the_values_pandas_writes(tmp_path: Path) -> None:
    """value fit --scores-out S.csv took 9.3 s in pandas' to_csv for 1M customers; Arrow's writer writes the same
    values (read back to the same frame), so from 50,000 rows it writes them."""
    frame = _mixed_frame(3000)
    ours, theirs = tmp_path / "arrow.csv", tmp_path / "pandas.csv"
    write_csv(frame, ours, arrow_from=0)
    frame.to_csv(theirs, index=False)
    assert ours.read_bytes() != theirs.read_bytes()  # Arrow's writer did write it (it quotes every text)
    back = pd.read_csv(ours, dtype={"customer_id": str}, keep_default_na=False, na_values=[""])
    expected = pd.read_csv(theirs, dtype={"customer_id": str}, keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(back, expected, check_dtype=False, check_exact=True)


@pytest.mark.parametrize("extra", [
    pd.Series([True, False] * 1500),  # pandas writes True, Arrow true
    pd.Series(pd.to_datetime("2020-01-01 10:30") + pd.to_timedelta(range(3000), unit="min")),  # times of day
    pd.Series([{"a": 1}] * 3000, dtype=object),
])
def test_columns_arrow_would_write_otherwise_keep_pandas_writer(tmp_path: Path, extra: pd.Series) -> None:
    frame = _mixed_frame(3000).assign(extra=extra)
    ours, theirs = tmp_path / "ours.csv", tmp_path / "pandas.csv"
    write_csv(frame, ours, arrow_from=0)
    frame.to_csv(theirs, index=False)
    assert ours.read_bytes() == theirs.read_bytes()
