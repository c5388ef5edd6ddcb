"""Input files are read by the documented rules (docs/input.md) by every command, whatever its reader could guess.

A CSV is comma separated: ``value fit`` and ``value score`` refuse a log whose header reads as one column holding
semicolons, tabs or '|' (DuckDB's reader would guess the separator and summarise it), with the hint ``check``
gives. The format comes from the extension: ``listen`` and ``text classify`` refuse a type they do not read.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import run_cli
from fairserve.errors import FairserveError, InputError
from fairserve.io_validate import separator_hint
from fairserve.text.posts import read_posts
from fairserve.value import summarise

ROWS = [("c1", "2024-01-01", "10"), ("c1", "2024-02-01", "12"), ("c2", "2024-01-05", "5"),
        ("c3", "2024-01-09", "7"), ("c3", "2024-03-09", "9")]
HEADER = ("customer_id", "date", "amount")


def _log(path: Path, sep: str) -> Path:
    text = "".join(sep.join(row) + "\n" for row in [HEADER, *ROWS])
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A MODEL.json fitted on the comma version of the log."""
    model = tmp_path / "model.json"
    code, _, err = run_cli(["value", "fit", str(_log(tmp_path / "comma.csv", ",")), "--out", str(model)], capsys)
    assert code == 0, err
    return model


@pytest.mark.parametrize(("name", "sep", "word"), [
    ("semi.csv", ";", "semicolons"), ("tabs.csv", "\t", "tabs"), ("pipes.txt", "|", "'|'"),
    ("semi.csv.gz", ";", "semicolons"),
])
def test_value_fit_and_score_refuse_a_log_not_separated_by_commas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, sep: str, word: str
) -> None:
    """DuckDB guessed the separator and summarised these files; check refused them. Now both refuse, alike."""
    model = _model(tmp_path, capsys)
    log = _log(tmp_path / name, sep)
    written = [tmp_path / "m.json", tmp_path / "scores.csv", tmp_path / "s2.csv"]
    hint = separator_hint([sep.join(HEADER)])
    runs = {
        "fit": ["value", "fit", str(log), "--out", str(written[0]), "--scores-out", str(written[1])],
        "score": ["value", "score", str(log), "--model", str(model), "--out", str(written[2])],
    }
    for command, argv in runs.items():
        code, out, err = run_cli(argv, capsys)
        assert code == 2, (command, err)
        assert f"{log}: the header {sep.join(HEADER)!r} is one column: {hint}" in err, (command, err)
        assert f"separate its fields with {word}" in err and "Traceback" not in err and out == ""
    assert not any(path.exists() for path in written)
    # the same hint as fairserve check gives for the file (one text, not a copy kept in step)
    code, _, err = run_cli(["check", str(log), "--kind", "transactions"], capsys)
    assert code == 2 and hint in err


def test_skip_bad_rows_refuses_it_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _log(tmp_path / "semi.csv", ";")
    code, _, err = run_cli(["value", "fit", str(log), "--skip-bad-rows", "--out", str(tmp_path / "m.json")], capsys)
    assert code == 2 and "separate its fields with semicolons" in err
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "semi.rejected.csv").exists()


def test_a_comma_log_with_semicolons_inside_values_is_summarised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A semicolon in a quoted cell or in an id is a value: the header has its columns and the log is read."""
    log = tmp_path / "orders.csv"
    log.write_text('customer_id,date,amount,note\nc1,2024-01-01,10,"a;b"\nc1,2024-02-01,12,x\n'
                   'c2;z,2024-01-05,5,"q;r;s"\nc3,2024-01-09,7,\nc3,2024-03-09,9,"y; z"\n', encoding="utf-8")
    scores = tmp_path / "scores.csv"
    code, _, err = run_cli(["value", "fit", str(log), "--out", str(tmp_path / "m.json"),
                            "--scores-out", str(scores)], capsys)
    assert code == 0, err
    table = pd.read_csv(scores, dtype={"customer_id": str})
    assert sorted(table["customer_id"]) == ["c1", "c2;z", "c3"]
    assert table.set_index("customer_id").loc["c1", "frequency"] == 1
    code, _, err = run_cli(["check", str(log), "--kind", "transactions"], capsys)
    assert code == 0, err


def test_the_native_summary_falls_back_to_the_query_which_refuses(tmp_path: Path) -> None:
    """rfm_native reads the header on commas: one column, so it hands the log to the query, which refuses it."""
    pytest.importorskip("numba")
    from fairserve.value.rfm import RFMSpec
    from fairserve.value.rfm_native import native_summary

    log = _log(tmp_path / "semi.csv", ";")
    assert native_summary(log, RFMSpec(), any_size=True) is None
    with pytest.raises(InputError) as refused:
        summarise(log, native=True)
    assert [p.message for p in refused.value.problems] == [
        f"the header 'customer_id;date;amount' is one column: {separator_hint(['customer_id;date;amount'])}"]


@pytest.mark.spark
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")
def test_spark_refuses_it_as_duckdb_does(tmp_path: Path) -> None:
    """Spark reads a CSV on commas (no guess): the same single-column header, the same refusal as DuckDB's."""
    pytest.importorskip("pyspark")
    from fairserve.value import spark_session

    log = _log(tmp_path / "semi.csv", ";")
    with pytest.raises(InputError) as on_duck:
        summarise(log)
    session = spark_session("fairserve-input-formats", conf={"spark.ui.enabled": "false",
                                                             "spark.sql.shuffle.partitions": "2"})
    try:
        with pytest.raises(InputError) as on_spark:
            summarise(log, engine="spark", spark=session)
    finally:
        session.stop()
    assert on_spark.value.problems == on_duck.value.problems
    assert "separate its fields with semicolons" in on_spark.value.problems[0].message


POSTS = "text,date\nmy flight was cancelled,2024-01-01\ngreat service thanks,2024-01-02\n"


@pytest.mark.parametrize("name", ["posts.xlsx", "posts", "posts.json", "posts.xlsx.gz"])
def test_listen_and_classify_refuse_an_unsupported_file_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """A CSV named .xlsx (or with no extension) was read as CSV; now refused as fairserve.io refuses it."""
    posts = tmp_path / name
    posts.write_text(POSTS, encoding="utf-8")
    good = tmp_path / "posts.csv"
    good.write_text(POSTS, encoding="utf-8")
    report, table = tmp_path / "report.html", tmp_path / "classified.csv"
    shown = "'.xlsx'" if ".xlsx" in name else "'.json'" if name.endswith(".json") else "(no extension)"
    for argv in (["listen", str(posts), "--out", str(report)], ["text", "classify", str(posts), "--out", str(table)],
                 ["listen", str(good), "--links", str(posts), "--out", str(report)]):
        code, out, err = run_cli(argv, capsys)
        assert code == 2, (argv, err)
        assert f"{posts}: unsupported file type {shown}: use .csv, .tsv, .txt, .jsonl, .ndjson" in err, err
        assert ".parquet or .pq" in err and "Traceback" not in err and out == ""
    assert not report.exists() and not table.exists()


def test_the_supported_posts_types_are_still_read(tmp_path: Path) -> None:
    csv_gz, tsv = tmp_path / "posts.CSV.GZ", tmp_path / "posts.tsv"
    csv_gz.write_bytes(gzip.compress(POSTS.encode()))
    tsv.write_text(POSTS.replace(",", "\t"), encoding="utf-8")
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text('{"text": "my flight was cancelled", "date": "2024-01-01"}\n', encoding="utf-8")
    for path, rows in ((csv_gz, 2), (tsv, 2), (jsonl, 1)):
        frame = read_posts(path, "text", ("date",))
        assert len(frame) == rows and frame["text"].iloc[0] == "my flight was cancelled"
    xlsx = tmp_path / "posts.xlsx"
    xlsx.write_text(POSTS, encoding="utf-8")
    with pytest.raises(FairserveError, match=r"posts\.xlsx: unsupported file type '\.xlsx'"):
        read_posts(xlsx, "text")
