"""Tests for ``fairserve check``: summary and exit 0 on a good file, the row-level report and exit 2 on a bad one."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli as run

HEADER = ["customer_id", "date", "amount"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path




def test_check_valid_file_exits_0_with_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "tx.csv", HEADER, [["001", "2024-01-01", "1"], ["002", "20240102", "2"]])
    code, out, err = run(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 0 and err == ""
    assert "2 rows read, 2 accepted as transactions, 0 problem(s)" in " ".join(out.split())


def test_check_bad_rows_exit_2_with_row_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "tx.csv", HEADER, [["1", "2024-01-01", "1"], ["2", "bad", "1"],
                                                   ["3", "2024-01-01", "-4"]])
    code, out, err = run(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 2 and out == ""
    assert "2 problems in input (3 rows read)" in err
    assert f"{path}, row 2, field 'date': not a date" in err
    assert f"{path}, row 3, field 'amount': amount is negative: '-4'" in err


def test_check_column_options_map_user_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "tx.csv", ["Cust", "Day", "Total", "Line"], [["1", "2024-01-01", "1", "x"]])
    argv = ["check", str(path), "--kind", "transactions", "--customer-col", "Cust", "--date-col", "Day",
            "--amount-col", "Total", "--column", "product_line=Line", "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    report = json.loads(out)
    assert report["valid"] is True and report["rows_accepted"] == 1 and report["problems"] == []
    code, _, err = run(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 2 and "missing column 'customer_id'" in err


def test_check_skip_bad_rows_exits_0_and_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "c.csv", ["customer_id", "products_held"], [["01", "1"], ["01", "2"], ["02", "x"]])
    rejects = tmp_path / "rej" / "bad.csv"
    argv = ["check", str(path), "--kind", "customers", "--skip-bad-rows", "--rejects", str(rejects)]
    code, out, err = run(argv, capsys)
    assert code == 0
    assert "3 rows read, 1 accepted as customers, 2 problem(s)" in " ".join(out.split())
    assert f"2 row(s) rejected, written with their problems to {rejects}" in err
    rejected = pd.read_csv(rejects, dtype=str)
    assert rejected["customer_id"].tolist() == ["01", "02"]
    assert "duplicate customer_id '01' (first at row 1)" in rejected["_problem"].iloc[0]


def test_check_json_on_bad_file_lists_problems_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "p.csv", ["handle", "followers"], [["a", "-1"], ["b", "2"]])
    code, out, _ = run(["check", str(path), "--kind", "profiles", "--json"], capsys)
    assert code == 2
    report = json.loads(out)
    assert report["valid"] is False and report["rows_read"] == 2
    assert [(p["row"], p["field"]) for p in report["problems"]] == [(1, "followers")]


def test_check_unknown_kind_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "tx.csv", HEADER, [])
    code, _, err = run(["check", str(path), "--kind", "invoices"], capsys)
    text = " ".join(err.replace("│", " ").split())  # undo Typer's boxed, wrapped usage message
    assert code == 2 and "--kind: expected one of transactions, customers, profiles, contacts" in text


def test_installed_entry_point_exits_2_on_bad_encoding(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_bytes(b"customer_id,date,amount\n1,2024-01-01,1\n\xc3(,2024-01-01,1\n")
    exe = Path(sys.executable).with_name("fairserve")
    env = {**os.environ, "COLUMNS": "300"}
    result = subprocess.run([str(exe), "check", str(path), "--kind", "transactions"], capture_output=True,
                            text=True, env=env, timeout=120, check=False)
    assert result.returncode == 2
    assert "row 2, field 'customer_id': not valid UTF-8 text" in result.stderr


@st.composite
def mixed_rows(draw: st.DrawFn) -> tuple[list[list[str]], set[int]]:
    n = draw(st.integers(min_value=1, max_value=25))
    rows, bad = [], set()
    for i in range(n):
        row = [f"{i:05d}", "2024-01-01", "1.5"]
        corruption = draw(st.sampled_from([None, None, (0, ""), (1, "2024-04-31"), (2, "-2"), (2, "ten")]))
        if corruption is not None:
            row[corruption[0]] = corruption[1]
            bad.add(i + 1)
        rows.append(row)
    return rows, bad


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mixed_rows())
def test_check_reports_exactly_the_corrupted_rows(
    case: tuple[list[list[str]], set[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    rows, bad = case
    capsys.readouterr()  # the fixture is shared by the examples: start each from empty
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(Path(tmp) / "tx.csv", HEADER, rows)
        code, out, err = run(["check", str(path), "--kind", "transactions", "--json"], capsys)
    assert code == (2 if bad else 0)
    report = json.loads(out)
    assert {p["row"] for p in report["problems"]} == bad
    assert report["valid"] is not bad
    for row in bad:
        assert f"row {row}, field" in err


@pytest.mark.parametrize("name", ["h.csv", "h.parquet"])
def test_check_refuses_a_file_without_rows_as_the_commands_do(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             name: str) -> None:
    """A header-only CSV (or a Parquet file of no rows) is refused by every command that reads it; its check said
    '0 rows read, 0 problem(s)' and exit 0 (a fresh-clone review)."""
    path = tmp_path / name
    empty = pd.DataFrame({"customer_id": pd.Series([], dtype=str), "date": pd.Series([], dtype=str),
                          "amount": pd.Series([], dtype=float)})
    empty.to_csv(path, index=False) if name.endswith(".csv") else empty.to_parquet(path)
    code, _, err = run(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 2 and f"{path}: the file has no rows" in err
    code, out, _ = run(["check", str(path), "--kind", "transactions", "--json"], capsys)
    assert code == 2 and json.loads(out)["valid"] is False
    value_code, _, value_err = run(["value", "fit", str(path), "--out", str(tmp_path / "m.json")], capsys)
    assert value_code == 2 and "no rows" in value_err
