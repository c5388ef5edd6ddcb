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
    """A damaged Parquet file is not fairserve's reader's to judge: the first line of DuckDB's message is given."""
    path = tmp_path / "log.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(FairserveError, match=r"log\.parquet: cannot be read: ") as caught:
        summarise(path, native=False)
    assert not isinstance(caught.value, InputError)
    assert "\n" not in str(caught.value)  # not DuckDB's list of settings to try


@pytest.mark.parametrize(("line_no", "blank", "gzipped"), [
    (7, "   ", False),
    (60_000, "   ", False),  # past DuckDB's sniffing sample: it fails while staging the table
    (7, "\t \t", False),
    (7, "   ", True),
    (60_000, "   ", True),
])
def test_a_line_of_blanks_is_skipped_by_value_as_by_check(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         line_no: int, blank: str, gzipped: bool) -> None:
    """fairserve's reader skips a line of spaces or tabs (docs/input.md); DuckDB cannot split it into the
    header's columns. value fit reads such a log as check does: the same customers and fit as without the line."""
    import gzip
    import json

    log = _log_with(tmp_path, line_no, blank)
    header, *rows = log.read_text(encoding="utf-8").splitlines()
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join([header, *(r for r in rows if r.strip())]) + "\n", encoding="utf-8")
    if gzipped:
        packed = tmp_path / "log.csv.gz"
        packed.write_bytes(gzip.compress(log.read_bytes()))
        log = packed
    checked, out, _ = run_cli(["check", str(log), "--kind", "transactions", "--json"], capsys)
    assert checked == 0 and json.loads(out)["rows_read"] == len(rows) - 1
    fits = []
    for path in (log, clean):
        code, out, err = run_cli(["value", "fit", str(path), "--json"], capsys)
        assert code == 0, err
        fits.append(json.loads(out))
    assert fits[0]["transactions"] == fits[1]["transactions"] == len(rows) - 1
    assert fits[0]["params"] == pytest.approx(fits[1]["params"], rel=1e-9)
    assert fits[0]["customers"] == fits[1]["customers"]
