"""The value commands read a CSV as docs/input.md says (commas, double quotes), not as DuckDB's sniffer guesses.

A fresh-clone review found ``value fit`` summarising a log whose only quote opened a field and never closed it:
the sniffer took the file for one without quoting and read ``"77`` as a customer id, while ``check`` and
``value fit --skip-bad-rows`` refused the file naming the row.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import run_cli, write_cdnow_csv
from fairserve.errors import FairserveError, InputError
from fairserve.value.rfm import summarise


def _log_with(tmp_path: Path, line_no: int, line: str, name: str = "log.csv") -> Path:
    """The CDNOW log as a CSV (its rows repeated until it has ``line_no`` lines) with its line ``line_no`` (1 is
    the header) replaced by ``line``."""
    path = write_cdnow_csv(tmp_path / name)
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    lines = [header] + rows * (line_no // len(rows) + 1)
    lines[line_no - 1] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("line_no", "line", "field"), [
    (4, '"77,1997-01-02,10.5', "customer_id"),  # within DuckDB's sniffing sample: the reader would see no quoting
    (60_000, '"77,1997-01-02,10.5', "customer_id"),  # past it: DuckDB fails while staging the table
    (5, '77,"1997-01-02,10.5', "date"),
])
def test_an_unclosed_quote_is_refused_by_row_field_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            line_no: int, line: str, field: str) -> None:
    log = _log_with(tmp_path, line_no, line)
    model, scores = tmp_path / "model.json", tmp_path / "scores.csv"
    code, _, err = run_cli(["value", "fit", str(log), "--out", str(model), "--scores-out", str(scores)], capsys)
    assert code == 2
    assert f"row {line_no - 1}, field '{field}': a quote opens this field (line {line_no}) and is never closed" in err
    assert not model.exists() and not scores.exists()
    checked, _, check_err = run_cli(["check", str(log), "--kind", "transactions"], capsys)
    assert checked == 2 and f"row {line_no - 1}, field '{field}'" in check_err  # the same refusal as check's


def test_quoted_fields_and_a_quote_inside_a_value_are_read_as_check_reads_them(tmp_path: Path) -> None:
    """Quoting as RFC 4180 (a comma inside quotes, a doubled quote) and a lone quote inside an unquoted value (an
    id such as O"Brien) are read, the same as fairserve's own reader reads them."""
    rows = ["customer_id,date,amount", '"b,c",2021-01-02,2', '"b,c",2021-02-02,4', '"d""e",2021-01-03,3',
            'O"Brien,2021-01-04,4', 'O"Brien,2021-03-04,5', "plain,2021-01-05,1"]
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ids = summarise(path, native=False).customers["customer_id"].tolist()
    assert ids == sorted(['b,c', 'd"e', 'O"Brien', "plain"], key=str.encode)
    from fairserve.io import read_raw_table

    assert sorted(set(read_raw_table(path)["customer_id"]), key=str.encode) == ids


def test_a_semicolon_inside_a_comma_file_does_not_make_it_a_semicolon_file(tmp_path: Path) -> None:
    """The separator is the comma, not guessed: ids holding semicolons stay whole."""
    rows = ["customer_id,date,amount"] + [f"a;{i % 7},2021-01-{1 + i % 28:02d},{i + 1}" for i in range(60)]
    path = tmp_path / "semis.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    summary = summarise(path, native=False)
    assert sorted(summary.customers["customer_id"]) == [f"a;{k}" for k in range(7)]
    assert summary.info["rows"] == 60


def test_a_file_only_duckdb_reads_keeps_duckdbs_message(tmp_path: Path) -> None:
    """A damaged Parquet file is not fairserve's reader's to judge: DuckDB's own message is given."""
    path = tmp_path / "log.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(FairserveError, match=r"log\.parquet: cannot be read as CSV or Parquet") as caught:
        summarise(path, native=False)
    assert not isinstance(caught.value, InputError)
