import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from cli_helpers import run_cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def run(*args: str, stdin: str | None = None) -> SimpleNamespace:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        code, out, err = run_cli(list(args), capsys)
        return SimpleNamespace(exit_code=code, stdout=out, output=out + "\n" + err)

    return run


def test_classify_a_csv_keeps_its_columns_and_adds_the_triage(cli, tmp_path: Path) -> None:
    f = tmp_path / "posts.csv"
    pd.DataFrame({"id": ["a", "b"], "body": ["my bag was lost, refund me", "thanks, lovely team"]}).to_csv(f,
                                                                                                    index=False)
    res = cli("text", "classify", str(f), "--text-col", "body", "--json")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["topic"] == "baggage" and rows[0]["complaint"] is True


def test_a_csv_without_the_text_column_is_a_clear_error(cli, tmp_path: Path) -> None:
    f = tmp_path / "posts.csv"
    f.write_text("id,message\n1,hello\n")
    res = cli("text", "classify", str(f))
    assert res.exit_code == 2
    assert "no column 'text'" in res.output and "message" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("command", [("text", "classify"), ("text", "train", "--label-col", "label", "--out", "M"),
                                     ("listen",)])
def test_a_row_with_an_unquoted_comma_is_named_not_shifted(cli, tmp_path: Path, command: tuple[str, ...]) -> None:
    """pandas read such a row with its first field as the index: texts were lost or swapped, and the exit was 0."""
    f = tmp_path / "posts.csv"
    f.write_text("text,label\nthe app is down again,negative\nmy account was hacked, help now,negative\n")
    args = [a if a != "M" else str(tmp_path / "m") for a in command]
    res = cli(*args[:2], str(f), *args[2:]) if command[0] == "text" else cli("listen", str(f))
    assert res.exit_code == 2, res.output
    assert "posts.csv, row 2: row has 3 fields, the header has 2" in res.output and "Traceback" not in res.output


def test_evaluate_says_which_rows_it_left_out(cli, tmp_path: Path, labelled) -> None:  # type: ignore[no-untyped-def]
    """Irrelevant is no sentiment: evaluate leaves such rows out, and says so (it used to drop them silently)."""
    model = tmp_path / "m"
    train_file = tmp_path / "train.csv"
    labelled.to_csv(train_file, index=False)
    assert cli("text", "train", str(train_file), "--label-col", "label", "--out", str(model),
               "--holdout", "0").exit_code == 0
    frame = labelled[labelled["label"] != "Irrelevant"].reset_index(drop=True)
    frame.loc[[0, 3], "label"] = "Irrelevant"
    f = tmp_path / "with-irrelevant.csv"
    frame.to_csv(f, index=False)
    res = cli("text", "evaluate", str(f), "--label-col", "label", "--model", str(model), "--json")
    assert res.exit_code == 0, res.output
    assert "2 row(s) left out of the sentiment evaluation" in res.output and "rows 1, 4" in res.output
    assert json.loads(res.stdout)["dropped_rows"] == 2 and json.loads(res.stdout)["rows"] == len(frame) - 2


def test_a_missing_column_names_its_option(cli, tmp_path: Path) -> None:
    f = tmp_path / "posts.csv"
    f.write_text("text\nhello\n")
    res = cli("listen", str(f))
    assert res.exit_code == 2 and "no column 'date'" in res.output and "--date-col" in res.output


def test_a_gzipped_csv_is_read(cli, tmp_path: Path) -> None:
    import gzip

    f = tmp_path / "posts.csv.gz"
    f.write_bytes(gzip.compress(b'id,text\n1,"my bag was lost, refund me"\n2,thanks lovely team\n'))
    res = cli("text", "classify", str(f), "--json")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [r["id"] for r in rows] == ["1", "2"] and rows[0]["topic"] == "baggage"


def test_a_broken_gzip_is_refused_naming_the_file(cli, tmp_path: Path) -> None:
    import gzip

    whole = gzip.compress(b"id,text\n" + b"1,my bag was lost\n" * 50)
    damaged = bytearray(whole)
    damaged[10] = 0xFF  # inside the compressed data: zlib's own error, once a crash
    for name, data, why in [("plain.csv.gz", b"id,text\n1,hi\n", "Not a gzipped file (b'id')"),
                            ("cut.txt.gz", whole[:20], "Compressed file ended before the end-of-stream marker"),
                            ("damaged.jsonl.gz", bytes(damaged), "Error -3 while decompressing data")]:
        f = tmp_path / name
        f.write_bytes(data)
        res = cli("text", "classify", str(f))
        assert res.exit_code == 2 and f"{f}: cannot read the file ({why}" in res.output, res.output
        assert "Traceback" not in res.output and "internal error" not in res.output


def test_a_file_that_is_not_utf8_is_read_and_the_line_named(cli, tmp_path: Path) -> None:
    f = tmp_path / "posts.csv"
    f.write_bytes(b"text\nfine words\ncaf\xe9 terrible\n")
    res = cli("text", "classify", str(f))
    assert res.exit_code == 0
    assert "not valid UTF-8" in res.output and "line 3" in res.output


def test_streaming_gives_one_json_line_per_line_and_names_bad_lines(cli) -> None:
    lines = '{"text": "still waiting for my refund", "id": 7}\nnot json\n"plain string"\n{"other": 1}\n'
    res = cli("text", "classify", "-", stdin=lines)
    assert res.exit_code == 0
    out = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(out) == 4
    assert out[0]["id"] == 7 and out[0]["complaint"] is True
    assert out[1] == {"line": 2, "error": "not valid JSON"}
    assert "sentiment" in out[2]
    assert out[3]["error"] == "no field 'text'"


def test_train_then_evaluate_with_a_manifest(cli, tmp_path: Path, labelled) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "labelled.csv"
    labelled.to_csv(f, index=False)
    res = cli("text", "train", str(f), "--label-col", "label", "--group-col", "tweet_id", "--out",
               str(tmp_path / "m"), "--holdout", "0.25")
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["task"] == "sentiment" and manifest["trained_on"]["rows"] == 48
    assert manifest["trained_on"]["labels"] == {"negative": 16, "positive": 16, "neutral": 16}
    assert manifest["scores"]["holdout"]["rows"] == 6
    params = manifest["parameters"]
    # 48 rows are too few to choose by cross-validation: every view keeps the default C and the vote is equal
    assert params["validation"] is None and params["C"] is None
    assert set(params["C_chosen"]) == {"word", "char"} and len(params["weights"]) == 2
    assert sum(params["weights"]) == pytest.approx(1.0)
    res = cli("text", "evaluate", str(f), "--label-col", "label", "--model", str(tmp_path / "m"), "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0 and report["rows"] == 48
    assert report["confusion_matrix"][0] == [16, 0, 0]


def test_evaluate_names_a_model_directory_without_manifest(cli, tmp_path: Path) -> None:
    f = tmp_path / "l.csv"
    f.write_text("text,label\nhi,Positive\n")
    (tmp_path / "m").mkdir()
    res = cli("text", "evaluate", str(f), "--model", str(tmp_path / "m"))
    assert res.exit_code == 2 and "manifest.json" in res.output


@pytest.mark.parametrize("since", ["2026-01-20", None])
def test_listen_writes_a_report_that_links_customers(cli, tmp_path: Path, since: str | None) -> None:
    days = pd.date_range("2026-01-01", periods=28, freq="D")
    texts = ["my flight was delayed again", "thanks for the lovely help", "charged twice on my bill, refund"]
    posts = pd.DataFrame({
        "date": [d.strftime("%Y-%m-%d") for d in days for _ in texts],
        "text": [t for _ in days for t in texts],
        "handle": [f"@u{i % 5}" for i in range(len(days) * len(texts))],
        "followers": [10 ** (i % 7) for i in range(len(days) * len(texts))],
    })
    posts.loc[len(posts)] = ["not a date", "lost row", "@u1", 1]
    p, c = tmp_path / "posts.csv", tmp_path / "scores.csv"
    posts.to_csv(p, index=False)
    pd.DataFrame({"customer_id": ["C1"], "handle": ["u1"], "tier": ["gold"], "clv": [1234.0]}).to_csv(c, index=False)
    args = ["listen", str(p), "--customers", str(c), "--out", str(tmp_path / "r.html"),
            "--png", str(tmp_path / "r.png")]
    res = cli(*args, *(["--since", since] if since else []))
    assert res.exit_code == 0, res.output
    assert "1 row(s) without a readable date" in res.output
    page = (tmp_path / "r.html").read_text()
    assert "Representative anecdotes" in page and "tier gold" in page and "declared handle" in page
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_listen_without_a_date_column_is_a_clear_error(cli, tmp_path: Path) -> None:
    p = tmp_path / "posts.csv"
    p.write_text("text\nhello\n")
    res = cli("listen", str(p), "--out", str(tmp_path / "r.html"))
    assert res.exit_code == 2 and "no column 'date'" in res.output


def test_json_lines_keep_their_ids_and_a_bad_line_is_named(cli, tmp_path: Path) -> None:
    good = tmp_path / "posts.jsonl"
    good.write_text('{"text": "lost my bag", "id": 1}\n{"text": "great crew"}\n')
    res = cli("text", "classify", str(good), "--json")
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert res.exit_code == 0 and [r["id"] for r in rows] == [1, None]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{bad\n')
    res = cli("text", "classify", str(bad))
    assert res.exit_code == 2 and "line 2: not valid JSON" in res.output


# ------------------------------------------------------------------ the new-user review: outputs, labels, dates


def test_texts_with_bytes_that_were_not_utf8_are_flagged(cli, tmp_path: Path) -> None:
    f = tmp_path / "posts.csv"
    f.write_bytes(b"id,text\n1,fine words\n2,caf\xe9 terrible\n")
    res = cli("text", "classify", str(f), "--json")
    assert res.exit_code == 0 and "flagged not_utf8" in res.output
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [r["flags"] for r in rows] == ["", "not_utf8"]
    out = tmp_path / "out.csv"
    assert cli("text", "classify", str(f), "--out", str(out)).exit_code == 0
    assert pd.read_csv(out, keep_default_na=False)["flags"].tolist() == ["", "not_utf8"]


def _posts_with_dates(path: Path) -> Path:
    days = pd.date_range("2026-01-01", periods=10, freq="D")
    pd.DataFrame({"date": [d.strftime("%Y-%m-%d") for d in days], "text": ["my flight was late"] * 10,
                  "followers": ["10"] * 10}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", ["classify --out folder", "listen --out folder", "listen --png folder",
                                  "train --out file"])
def test_a_bad_output_path_is_refused_before_any_work(cli, tmp_path: Path, labelled, case: str  # type: ignore[no-untyped-def]
                                                      ) -> None:
    folder, afile = tmp_path / "adir", tmp_path / "afile"
    folder.mkdir()
    afile.write_text("keep me")
    posts = _posts_with_dates(tmp_path / "posts.csv")
    lab = tmp_path / "labelled.csv"
    labelled.to_csv(lab, index=False)
    report = tmp_path / "lo.html"
    args, bad = {
        "classify --out folder": (["text", "classify", str(posts), "--out", str(folder)], folder),
        "listen --out folder": (["listen", str(posts), "--out", str(folder)], folder),
        "listen --png folder": (["listen", str(posts), "--out", str(report), "--png", str(folder)], folder),
        "train --out file": (["text", "train", str(lab), "--out", str(afile)], afile),
    }[case]
    res = cli(*args)
    assert res.exit_code == 2, res.output
    assert str(bad) in res.output and "internal error" not in res.output and "Traceback" not in res.output
    assert "training the" not in res.output and "no trained sentiment model" not in res.output  # before any work
    assert not report.exists()  # no half-written output
    assert afile.read_text() == "keep me" and list(folder.iterdir()) == []


def test_listen_without_a_readable_date_says_so_without_a_pandas_warning(cli, tmp_path: Path) -> None:
    import warnings

    p = tmp_path / "posts.csv"
    p.write_text("text,date\nhello,someday\nworld,later\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cli("listen", str(p), "--out", str(tmp_path / "r.html"))
    assert res.exit_code == 2 and "no row has a readable date" in res.output
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []


def test_listen_reads_iso_and_other_date_forms(cli, tmp_path: Path) -> None:
    p = tmp_path / "posts.csv"
    dates = ["2026-01-01", "2026-01-02T10:00:00Z", "Sat Jan 03 10:00:00 +0000 2026", "01/04/2026", "never"]
    pd.DataFrame({"date": dates, "text": ["late flight"] * 5}).to_csv(p, index=False)
    res = cli("listen", str(p), "--out", str(tmp_path / "r.html"))
    assert res.exit_code == 0, res.output
    assert "1 row(s) without a readable date" in res.output and "(rows 5)" in res.output
    assert "4 posts (2026-01-01 to 2026-01-04)" in res.output



def _topic_model(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    f = tmp_path / "topics.csv"
    rows = [(f"my bill is wrong again {i}", "billing") for i in range(12)]
    rows += [(f"the flight is late again {i}", "delay") for i in range(12)]
    pd.DataFrame(rows, columns=["text", "topic"]).to_csv(f, index=False)
    res = cli("text", "train", str(f), "--label-col", "topic", "--task", "topic", "--out", str(tmp_path / "tm"),
              "--holdout", "0")
    assert res.exit_code == 0, res.output
    return tmp_path / "tm"


def test_evaluate_refuses_labels_of_another_task(cli, tmp_path: Path, labelled) -> None:  # type: ignore[no-untyped-def]
    model = _topic_model(cli, tmp_path)
    f = tmp_path / "sentiment.csv"
    labelled.to_csv(f, index=False)
    res = cli("text", "evaluate", str(f), "--label-col", "label", "--model", str(model))
    assert res.exit_code == 2, res.output
    assert "'topic' model" in res.output and "billing, delay" in res.output and "Negative" in res.output
    assert "accuracy" not in res.output


def test_policy_explain_refuses_a_text_model_that_is_not_sentiment(cli, tmp_path: Path) -> None:
    model = _topic_model(cli, tmp_path)
    scores = tmp_path / "scores.csv"
    scores.write_text("customer_id,clv\nc1,100\nc2,5\n")
    res = cli("policy", "explain", "--policy", "balanced", "--scores", str(scores), "--customer", "c1", "--text",
              "my bill is wrong", "--text-model", str(model))
    assert res.exit_code == 2, res.output
    assert "'topic' model" in res.output and "not a 'sentiment' model" in res.output and str(model) in res.output


def test_train_says_which_rows_it_left_out(cli, tmp_path: Path, labelled) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "labelled.csv"
    frame = pd.concat([labelled, pd.DataFrame([("x1", "Positive", ""), ("x2", "", "a text without label")],
                                              columns=labelled.columns)], ignore_index=True)
    frame.to_csv(f, index=False)  # 49 rows of the fixture (row 49 is 'Irrelevant'), then rows 50 and 51
    res = cli("text", "train", str(f), "--label-col", "label", "--out", str(tmp_path / "m"), "--holdout", "0")
    assert res.exit_code == 0, res.output
    assert "3 row(s) left out" in res.output
    assert "(row 49)" in res.output and "(row 50)" in res.output and "(row 51)" in res.output
    trained_on = json.loads((tmp_path / "m" / "manifest.json").read_text())["trained_on"]
    assert trained_on["rows"] == 48 and trained_on["dropped_rows"] == 3
