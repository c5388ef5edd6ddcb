"""Tests for fairserve.io: reading every input kind and reporting every bad row at once."""

from __future__ import annotations

import csv
import gzip
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairserve import datasets
from fairserve.errors import InputError, Problem
from fairserve.io import (
    BadByte,
    Loaded,
    decode_text,
    read_bytes,
    read_contacts,
    read_customers,
    read_json_object,
    read_raw_table,
    read_social_profiles,
    read_table,
    read_transactions,
    validate_frame,
)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def refused(call, *args, **kwargs) -> list[Problem]:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return info.value.problems


def where(problems: list[Problem]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.field) for p in problems]


# ---------------------------------------------------------------- good files


def test_transactions_csv_reads_canonical_columns_and_dtypes(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tx.csv", ["customer_id", "date", "amount", "product_line"],
                     [["00042", "2024-01-02", "10.50", "books"], ["7", "20240105", "0", ""],
                      ["00042", "2024-03-01T23:30:00-05:00", "3", "music"]])
    loaded = read_transactions(path)
    assert isinstance(loaded, Loaded)
    assert loaded.rows_read == 3 and loaded.problems == () and loaded.rejects_path is None
    frame = loaded.frame
    assert list(frame.columns) == ["customer_id", "date", "amount", "product_line", "account", "quantity"]
    assert frame["customer_id"].tolist() == ["00042", "7", "00042"]
    assert str(frame["date"].dtype) == "datetime64[ns]"
    assert frame["amount"].dtype == "float64"
    # a date field keeps the calendar date as written, even when the stamp carries an offset
    assert frame["date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-05"),
                                      pd.Timestamp("2024-03-01")]
    assert frame["amount"].tolist() == [10.5, 0.0, 3.0]
    assert frame["product_line"].isna().tolist() == [False, True, False]


def test_ids_keep_leading_zeros_in_every_kind(tmp_path: Path) -> None:
    cust = read_customers(write_csv(tmp_path / "c.csv", ["customer_id", "products_held"], [["007", "2"]]))
    assert cust.frame["customer_id"].tolist() == ["007"]
    # "NA", "null" and "None" are ids like any other, not missing values
    odd = read_customers(write_csv(tmp_path / "n.csv", ["customer_id"], [["NA"], ["null"], ["None"]]))
    assert odd.frame["customer_id"].tolist() == ["NA", "null", "None"]
    assert cust.frame["products_held"].dtype == "int64"
    prof = read_social_profiles(write_csv(tmp_path / "p.csv", ["handle", "followers", "customer_id"],
                                          [["0123", "10", "0042"]]))
    assert prof.frame[["handle", "customer_id"]].values.tolist() == [["0123", "0042"]]
    cont = read_contacts(write_csv(tmp_path / "k.csv", ["contact_id", "channel", "arrival", "customer_id"],
                                   [["0001", "phone", "2024-01-01T09:00:00", "000"]]))
    assert cont.frame[["contact_id", "customer_id"]].values.tolist() == [["0001", "000"]]


def test_column_mapping_reads_user_names(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tx.csv", ["Customer ID", "Order Date", "Total", "Line"],
                     [["A1", "2024-01-02", "5", "x"]])
    loaded = read_transactions(path, customer_col="Customer ID", date_col="Order Date", amount_col="Total",
                               product_col="Line")
    row = loaded.frame.iloc[0]
    assert (row["customer_id"], row["date"], row["amount"], row["product_line"]) == (
        "A1", pd.Timestamp("2024-01-02"), 5.0, "x")
    assert pd.isna(row["account"]) and pd.isna(row["quantity"])
    cust = read_customers(write_csv(tmp_path / "c.csv", ["id", "Tier", "note"], [["1", "gold", "vip"]]),
                          customer_col="id", columns={"status": "Tier"})
    assert cust.frame[["customer_id", "status", "note"]].values.tolist() == [["1", "gold", "vip"]]


def test_profiles_defaults_and_bools(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["handle", "platform", "followers", "verified", "engagement"],
                     [["a", "", "5", "yes", "0.5"], ["a", "X", "0", "0", ""], ["b", "x", "7", "TRUE", ""]])
    frame = read_social_profiles(path).frame
    assert frame["platform"].tolist() == ["generic", "x", "x"]
    assert frame["verified"].tolist() == [True, False, True]
    assert frame["followers"].dtype == "int64"


def test_contacts_defaults_and_utc_arrival(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "k.csv", ["contact_id", "channel", "arrival", "handle", "severity", "complaint"],
                     [["c1", "Email", "2024-01-01T10:00:00+02:00", "@ann", "", ""],
                      ["c2", "social", "2024-01-01 08:30", "@bob", "3", "yes"]])
    frame = read_contacts(path).frame
    assert frame["channel"].tolist() == ["email", "social"]
    assert frame["arrival"].tolist() == [pd.Timestamp("2024-01-01 08:00"), pd.Timestamp("2024-01-01 08:30")]
    assert frame["severity"].tolist() == [0, 3] and frame["repeat"].tolist() == [0, 0]
    assert frame["complaint"].tolist() == [False, True]
    assert frame["text"].tolist() == ["", ""]


# ---------------------------------------------------------------- each kind of bad row


def test_missing_column_refuses_file_even_when_skipping(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tx.csv", ["customer_id", "when", "amount"], [["1", "2024-01-01", "1"]])
    for skip in (False, True):
        problems = refused(read_transactions, path, skip_bad_rows=skip)
        assert where(problems) == [(None, "date")]
        assert "missing column 'date'" in problems[0].message
    assert not (tmp_path / "tx.rejected.csv").exists()


def test_every_bad_transaction_row_is_reported_at_once(tmp_path: Path) -> None:
    rows = [
        ["1", "2024-01-01", "1"],  # good
        ["", "2024-01-01", "1"],  # empty required id
        ["2", "2024-02-30", "1"],  # impossible date
        ["3", "01/02/2024", "1"],  # unsupported date format
        ["4", "2024-01-01", "-0.01"],  # negative amount
        ["5", "2024-01-01", "12,50"],  # non-numeric amount
        ["6", "2024-01-01", "inf"],  # not a finite number
        ["7", "", ""],  # two empty required fields
    ]
    problems = refused(read_transactions, write_csv(tmp_path / "tx.csv", ["customer_id", "date", "amount"], rows))
    assert where(problems) == [(2, "customer_id"), (3, "date"), (4, "date"), (5, "amount"), (6, "amount"),
                               (7, "amount"), (8, "date"), (8, "amount")]
    assert "negative" in problems[3].message and "'-0.01'" in problems[3].message
    assert problems[4].message == "not a number: '12,50'"
    assert problems[0].message == "required value is empty"
    assert all(p.file == str(tmp_path / "tx.csv") for p in problems)


def test_input_error_counts_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tx.csv", ["customer_id", "date", "amount"],
                     [["1", "x", "1"], ["2", "2024-01-01", "1"]])
    with pytest.raises(InputError) as info:
        read_transactions(path)
    assert info.value.total_rows == 2
    assert "row 1, field 'date'" in str(info.value)


def test_duplicate_ids_report_the_duplicate_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["customer_id"], [["01"], ["02"], ["01"], ["1"], ["01"]])
    problems = refused(read_customers, path)
    assert where(problems) == [(3, "customer_id"), (5, "customer_id")]
    assert all("first at row 1" in p.message for p in problems)
    prof = write_csv(tmp_path / "p.csv", ["handle", "platform", "followers"],
                     [["a", "x", "1"], ["a", "y", "1"], ["a", "X", "2"]])
    assert where(refused(read_social_profiles, prof)) == [(3, "handle")]


def test_out_of_range_values(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "k.csv", ["contact_id", "channel", "arrival", "customer_id", "severity",
                                          "sentiment", "repeat", "reach"],
                     [["1", "chat", "2024-01-01", "a", "4", "0", "0", "0"],
                      ["2", "chat", "2024-01-01", "a", "1", "-1.5", "0", "0"],
                      ["3", "chat", "2024-01-01", "a", "1", "1", "-1", "-3"],
                      ["4", "chat", "2024-01-01", "a", "2.5", "1", "0", "0"],
                      ["5", "chat", "2024-01-01", "a", "3", "-1", "2", "1e6"]])
    problems = refused(read_contacts, path)
    assert where(problems) == [(1, "severity"), (2, "sentiment"), (3, "repeat"), (3, "reach"), (4, "severity")]
    assert "between 0 and 3" in problems[0].message
    assert "whole number" in problems[4].message
    followers = write_csv(tmp_path / "p.csv", ["handle", "followers"], [["a", "-5"], ["b", "many"]])
    assert where(refused(read_social_profiles, followers)) == [(1, "followers"), (2, "followers")]


def test_bad_channel_bool_and_missing_party(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "k.csv", ["contact_id", "channel", "arrival", "customer_id", "handle", "complaint"],
                     [["1", "fax", "2024-01-01", "a", "", ""],
                      ["2", "phone", "2024-01-01", "", "", ""],
                      ["3", "phone", "2024-01-01", "", "@h", "maybe"]])
    problems = refused(read_contacts, path)
    assert where(problems) == [(1, "channel"), (2, "customer_id"), (3, "complaint")]
    assert "one of phone, email, chat, social" in problems[0].message
    assert "customer_id or a handle" in problems[1].message


def test_contacts_need_customer_or_handle_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "k.csv", ["contact_id", "channel", "arrival"], [["1", "chat", "2024-01-01"]])
    assert [p.row for p in refused(read_contacts, path)] == [None]


def test_bad_encoding_reports_the_row(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_bytes(b"customer_id,date,amount\n1,2024-01-01,1\nJos\xe9,2024-01-01,2\n3,2024-01-01,3\n"
                     b"4,2024-01-01,\xff4\n")
    problems = refused(read_transactions, path)
    assert where(problems) == [(2, "customer_id"), (4, "amount")]
    assert "UTF-8" in problems[0].message and "0xe9" in problems[0].message and "line 3" in problems[0].message
    loaded = read_transactions(path, skip_bad_rows=True)
    assert loaded.frame["customer_id"].tolist() == ["1", "3"]


def test_ragged_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-01,1\n2,2024-01-01,2,extra\n3,2024-01-01,3\n")
    problems = refused(read_transactions, path)
    assert where(problems) == [(2, None)] and "4 fields" in problems[0].message
    loaded = read_transactions(path, skip_bad_rows=True)
    assert loaded.frame["customer_id"].tolist() == ["1", "3"]
    # a long first row must not be taken for an index column; a short row is read with its tail empty
    path.write_text("customer_id,date,amount,account\n1,2024-01-01,1,a,extra\n2,2024-01-01,2\n3,x\n")
    assert where(refused(read_transactions, path)) == [(1, None), (3, "date"), (3, "amount")]
    loaded = read_transactions(path, skip_bad_rows=True)
    assert loaded.frame["customer_id"].tolist() == ["2"] and pd.isna(loaded.frame["account"].iloc[0])
    assert pd.read_csv(loaded.rejects_path, dtype=str)["customer_id"].tolist() == ["1", "3"]


def test_whole_file_problems(tmp_path: Path) -> None:
    assert "not found" in refused(read_transactions, tmp_path / "nope.csv")[0].message
    (tmp_path / "x.xlsx").write_bytes(b"")
    assert "unsupported" in refused(read_transactions, tmp_path / "x.xlsx")[0].message
    (tmp_path / "empty.csv").write_text("")
    assert "empty" in refused(read_transactions, tmp_path / "empty.csv")[0].message
    header_only = write_csv(tmp_path / "h.csv", ["customer_id", "date", "amount"], [])
    assert read_transactions(header_only).frame.empty
    with pytest.raises(InputError, match="no field 'bogus'"):
        read_table(header_only, "transactions", columns={"bogus": "x"})


# ---------------------------------------------------------------- skip-bad-rows


def test_skip_bad_rows_writes_side_file_and_loses_nothing(tmp_path: Path) -> None:
    rows = [["001", "2024-01-01", "1"], ["002", "bad", "2"], ["003", "2024-01-03", "-3"], ["004", "20240104", "4"]]
    path = write_csv(tmp_path / "tx.csv", ["customer_id", "date", "amount"], rows)
    loaded = read_transactions(path, skip_bad_rows=True)
    assert loaded.rejects_path == tmp_path / "tx.rejected.csv"
    assert loaded.frame["customer_id"].tolist() == ["001", "004"]
    assert where(list(loaded.problems)) == [(2, "date"), (3, "amount")]
    rejected = pd.read_csv(loaded.rejects_path, dtype=str)
    assert len(loaded.frame) + len(rejected) == loaded.rows_read == 4
    assert rejected[["customer_id", "date", "amount"]].values.tolist() == [rows[1], rows[2]]
    assert rejected["_problem"].str.startswith("row ").all()
    assert "field 'date'" in rejected["_problem"].iloc[0]
    chosen = tmp_path / "out" / "bad.csv"
    assert read_transactions(path, skip_bad_rows=True, rejects_path=chosen).rejects_path == chosen
    assert chosen.exists()


def test_skip_bad_rows_on_a_clean_file_writes_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tx.csv", ["customer_id", "date", "amount"], [["1", "2024-01-01", "1"]])
    loaded = read_transactions(path, skip_bad_rows=True)
    assert loaded.rejects_path is None and not (tmp_path / "tx.rejected.csv").exists()


# ---------------------------------------------------------------- other formats


def test_parquet_round_trip(tmp_path: Path) -> None:
    source = pd.DataFrame({"customer_id": ["00042", "7"], "since": pd.to_datetime(["2020-05-01", "2021-01-31"]),
                           "products_held": [3, 0], "segment": ["a", "b"]})
    source.to_parquet(tmp_path / "c.parquet")
    frame = read_customers(tmp_path / "c.parquet").frame
    assert frame["customer_id"].tolist() == ["00042", "7"]
    assert frame["since"].tolist() == source["since"].tolist()
    assert frame["products_held"].tolist() == [3, 0] and frame["segment"].tolist() == ["a", "b"]
    typed = pd.DataFrame({"customer_id": ["1", "2"], "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                          "amount": [1.25, -1.0]})
    typed.to_parquet(tmp_path / "t.pq")
    assert where(refused(read_transactions, tmp_path / "t.pq")) == [(2, "amount")]


def test_jsonl_contacts_round_trip(tmp_path: Path) -> None:
    lines = [{"contact_id": "0001", "channel": "chat", "arrival": "2024-01-01T10:00:00Z", "customer_id": 42,
              "complaint": True, "sentiment": -0.5, "text": "late again"},
             {"contact_id": "0002", "channel": "social", "arrival": "2024-01-01T10:05:00Z", "handle": "@x",
              "reach": 12000, "severity": 2}]
    path = tmp_path / "k.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    frame = read_contacts(path).frame
    assert frame["contact_id"].tolist() == ["0001", "0002"]
    assert frame["customer_id"].tolist()[0] == "42" and pd.isna(frame["customer_id"].iloc[1])
    assert frame["complaint"].tolist() == [True, False]
    assert frame["severity"].tolist() == [0, 2] and frame["reach"].iloc[1] == 12000.0
    assert frame["text"].tolist() == ["late again", ""]


def test_jsonl_bad_lines_are_reported_by_line(tmp_path: Path) -> None:
    path = tmp_path / "k.ndjson"
    path.write_text('{"contact_id": "1", "channel": "chat", "arrival": "2024-01-01", "handle": "a"}\n'
                    "{not json\n"
                    '{"contact_id": "3", "channel": "pigeon", "arrival": "2024-01-01", "handle": "a"}\n')
    assert where(refused(read_contacts, path)) == [(2, None), (3, "channel")]
    loaded = read_contacts(path, skip_bad_rows=True)
    assert len(loaded.frame) == 1 and len(pd.read_csv(loaded.rejects_path)) == 2
    assert loaded.rejects_path == tmp_path / "k.rejected.csv"


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv.gz"
    path.write_bytes(gzip.compress(b"customer_id,date,amount\n0009,2024-01-01,2.5\n"))
    loaded = read_transactions(path)
    assert loaded.frame["customer_id"].tolist() == ["0009"]
    path.write_bytes(gzip.compress(b"customer_id,date,amount\n0009,2024-01-01,-2.5\n"))
    assert read_transactions(path, skip_bad_rows=True).rejects_path == tmp_path / "tx.rejected.csv"


def _broken_gzips() -> dict[str, bytes]:
    whole = gzip.compress(b"customer_id,date,amount\n0009,2024-01-01,2.5\n" * 50)
    bad_block = bytearray(whole)
    bad_block[10] = 0xFF  # the first deflate block's header
    return {"not gzip data": b"customer_id,date,amount\n", "cut short": whole[:20],
            "checksum wrong": whole[:-8] + bytes(8), "damaged inside": bytes(bad_block)}


@pytest.mark.parametrize("case", list(_broken_gzips()))
def test_a_broken_gzip_is_refused_naming_the_file(tmp_path: Path, case: str) -> None:
    path = tmp_path / "tx.csv.gz"
    path.write_bytes(_broken_gzips()[case])
    for call in (read_bytes, read_transactions, read_raw_table):  # the readers used to crash with gzip's error
        problems = refused(call, path)
        assert [(p.file, p.row, p.field) for p in problems] == [(str(path), None, None)], call
        assert problems[0].message.startswith("cannot read the file (") and problems[0].message.endswith(")")
    with pytest.raises(InputError, match="cannot read the file"):
        read_transactions(path, skip_bad_rows=True)  # a file-level problem: never skipped as rows


def test_read_bytes_unzips_only_gz_names(tmp_path: Path) -> None:
    packed = gzip.compress(b"a,b\n1,2\n")
    (tmp_path / "x.CSV.GZ").write_bytes(packed)
    (tmp_path / "x.bin").write_bytes(packed)
    assert read_bytes(tmp_path / "x.CSV.GZ") == b"a,b\n1,2\n"
    assert read_bytes(str(tmp_path / "x.bin")) == packed


def test_decode_text_drops_a_bom_and_locates_the_first_bad_byte() -> None:
    assert decode_text(b"\xef\xbb\xbfa,b\n1,\xc3\xa9\n") == ("a,b\n1,\u00e9\n", None)
    text, bad = decode_text(b"a,b\n1,2\nJos\xe9\xff\n")
    assert text == "a,b\n1,2\nJos\ufffd\ufffd\n"
    assert bad == BadByte(value=0xE9, offset=11, line=3)
    assert str(bad) == "byte 0xe9 at byte offset 11, line 3"


def test_a_json_document_that_is_not_utf8_names_the_file_and_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b'{"a": 1,\n "b": "caf\xe9"}')
    problems = refused(read_json_object, path, "model")
    assert [str(p) for p in problems] == [f"{path}: not valid UTF-8 text (first bad byte 0xe9 at byte offset 19, "
                                          "line 2)"]


# ---------------------------------------------------------------- validate_frame


def test_validate_frame_on_cdnow_master_reports_no_problem() -> None:
    cdnow = datasets.cdnow_master()
    frame, problems, bad = validate_frame(cdnow, "transactions", "CDNOW_master.txt")
    assert problems == [] and not bad.any()
    assert len(frame) == len(cdnow) == 69659
    assert frame["customer_id"].tolist() == cdnow["customer_id"].tolist()
    assert frame["amount"].sum() == pytest.approx(cdnow["amount"].sum())
    assert (frame["date"] == cdnow["date"]).all() and frame["quantity"].tolist() == cdnow["quantity"].tolist()


def test_validate_frame_reports_positions() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "date": ["2024-01-01", "nope", "2024-01-01"],
                          "amount": [1.0, 2.0, -1.0]})
    good, problems, bad = validate_frame(frame, "transactions", "mem")
    assert where(problems) == [(2, "date"), (3, "amount")]
    assert bad.tolist() == [False, True, True] and good["customer_id"].tolist() == ["a"]


# ---------------------------------------------------------------- property: exactly the corrupted rows


BAD_BYTE_MARK = "<latin-1>"
CORRUPTIONS = {
    "customer_id": ["", "   "],
    "date": ["2024-02-30", "yesterday", "2024/01/01", "", "20241301"],
    "amount": ["-1", "abc", "", "1.2.3", "nan", "-inf"],
}


def good_row(draw: st.DrawFn, i: int) -> list[str]:
    day = draw(st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()))
    date = draw(st.sampled_from([day.isoformat(), day.strftime("%Y%m%d"), f"{day.isoformat()}T12:30:00"]))
    amount = draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))
    return [f"{i:06d}", date, repr(amount)]


@st.composite
def mixed_file(draw: st.DrawFn) -> tuple[list[list[str]], set[int]]:
    n = draw(st.integers(min_value=1, max_value=40))
    rows, bad = [], set()
    for i in range(n):
        row = good_row(draw, i)
        if draw(st.booleans()):
            field = draw(st.sampled_from([*CORRUPTIONS, "encoding", "ragged"]))
            column = draw(st.integers(0, 2))
            if field == "encoding":  # a Latin-1 byte in any cell, swapped for a raw byte once written
                row[column] += BAD_BYTE_MARK
            elif field == "ragged":
                row.append("extra")
            else:
                row[["customer_id", "date", "amount"].index(field)] = draw(st.sampled_from(CORRUPTIONS[field]))
            bad.add(i + 1)
        rows.append(row)
    return rows, bad


@settings(max_examples=40, deadline=None)
@given(mixed_file())
def test_exactly_the_corrupted_rows_are_reported(case: tuple[list[list[str]], set[int]]) -> None:
    """Random mixes of good rows and rows corrupted in one way (bad value, bad byte, extra field)."""
    rows, bad = case
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(Path(tmp) / "tx.csv", ["customer_id", "date", "amount"], rows)
        path.write_bytes(path.read_bytes().replace(BAD_BYTE_MARK.encode(), b"\xe9"))
        if bad:
            assert {p.row for p in refused(read_transactions, path)} == bad
        loaded = read_transactions(path, skip_bad_rows=True)
        assert {p.row for p in loaded.problems} == bad
        assert len(loaded.frame) == len(rows) - len(bad)
        good_ids = [f"{i - 1:06d}" for i in range(1, len(rows) + 1) if i not in bad]
        assert loaded.frame["customer_id"].tolist() == good_ids
        if bad:
            assert loaded.rejects_path is not None
            rejected = pd.read_csv(loaded.rejects_path, dtype=str, keep_default_na=False)
            assert len(rejected) + len(loaded.frame) == loaded.rows_read == len(rows)


@pytest.mark.slow
def test_a_million_rows_report_exactly_the_corrupted_ones(tmp_path: Path) -> None:
    n = 1_000_000
    rng = np.random.default_rng(7)
    ids = pd.Series(np.arange(n)).map("{:07d}".format)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    frame = pd.DataFrame({"customer_id": ids, "date": days.strftime("%Y-%m-%d"),
                          "amount": np.round(rng.gamma(2.0, 20.0, n), 2).astype(str)})
    bad = np.sort(rng.choice(n, 3000, replace=False))
    frame.loc[bad[:1000], "amount"] = "-1"
    frame.loc[bad[1000:2000], "date"] = "2023-02-29"
    frame.loc[bad[2000:], "customer_id"] = ""
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    started = time.perf_counter()
    loaded = read_transactions(path, skip_bad_rows=True)
    seconds = time.perf_counter() - started
    print(f"read and validated {n:,} rows in {seconds:.2f} s")
    assert sorted(p.row for p in loaded.problems) == (bad + 1).tolist()
    assert len(loaded.frame) == n - 3000 and loaded.frame["customer_id"].iloc[0] == "0000000"
    assert loaded.rejects_path is not None and len(pd.read_csv(loaded.rejects_path)) == 3000


def test_read_scores_keeps_id_zeros_and_names_a_missing_id_column(tmp_path: Path) -> None:
    from fairserve.errors import FairserveError
    from fairserve.io import read_scores

    good = tmp_path / "scores.csv"
    good.write_text("customer_id,clv,status\n00042,10.5,007\n", encoding="utf-8")
    frame = read_scores(good)
    assert frame["customer_id"].tolist() == ["00042"] and frame["status"].tolist() == ["007"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,clv\n1,2\n", encoding="utf-8")
    with pytest.raises(FairserveError, match="missing column 'customer_id'"):
        read_scores(bad)
    other = tmp_path / "scores.xlsx"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(FairserveError, match=r"unsupported file type '\.xlsx'"):
        read_scores(other)


def test_write_table_writes_by_the_name_and_refuses_another_ending(tmp_path: Path) -> None:
    from fairserve.errors import FairserveError
    from fairserve.io import write_table

    frame = pd.DataFrame({"customer_id": ["007", "42"], "clv": [1.5, 2.0]})
    assert pd.read_csv(write_table(frame, tmp_path / "a" / "t.csv"), dtype={"customer_id": str}).equals(frame)
    assert pd.read_parquet(write_table(frame, tmp_path / "t.parquet")).equals(frame)
    assert pd.read_json(write_table(frame, tmp_path / "t.jsonl"), lines=True, dtype={"customer_id": str}).equals(frame)
    with pytest.raises(FairserveError, match="must end in"):
        write_table(frame, tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()
