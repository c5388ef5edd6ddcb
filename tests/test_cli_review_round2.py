"""Second new-user review of the CLI, from a fresh clone: each test runs the real CLI on a small file a user could
write, and holds a bad input to a clear message naming the file (and row and field), exit 2, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import run_cli

_LOG_HEAD = "customer_id,date,amount\nC1,2021-01-01,5.0\n"


def _rest(rows: int) -> str:
    return "".join(f"C{i},2021-03-05,3.0\n" for i in range(rows))


@pytest.mark.parametrize(("rows", "opened"), [(3, 'C12345,"2021-03-04,10.0\n'), (10_000, 'C12345,"2021-03-04,10.0\n'),
                                             (3, '"C12345,2021-03-04,10.0\n'), (0, 'C12345,2021-03-04,"10.0\n')])
def test_a_quote_never_closed_names_its_row_and_field(rows: int, opened: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A quote opened and never closed made the rest of the file one value: on a log over 128 KiB after the quote
    the csv module's field limit crashed ``check`` ('internal error', exit 1); on a small one the rows after it
    vanished into a 'not a date'. Both are refused naming the row and field where the quote opens."""
    path = tmp_path / "log.csv"
    path.write_text(_LOG_HEAD + opened + _rest(rows), encoding="utf-8")
    field = ["customer_id", "date", "amount"][opened.split('"')[0].count(",")]
    code, out, err = run_cli(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 2, err
    assert f"{path}, row 2, field '{field}': a quote opens this field (line 3) and is never closed" in err
    assert "internal error" not in err and out == ""


def test_a_quote_never_closed_after_literal_and_multiline_quotes(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """An even number of quote characters (a literal ``5"`` inside a field, a closed value over two lines) still
    holds one never closed; the row counts skip a blank line and the quoted line break, as the readers do."""
    path = tmp_path / "log.csv"
    path.write_text('customer_id,date,amount\n\nC1,"2021-01-01",5.0\nC9,2021-01-01,"1\n2"\nC7,2021-01-01,5" x\n'
                    '"C12,2021-03-04,10.0\nC2,2021-03-05,3.0\n', encoding="utf-8")
    code, _, err = run_cli(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 2
    assert f"{path}, row 4, field 'customer_id': a quote opens this field (line 7) and is never closed" in err
    path.write_text('customer_id,date,amount\nC1,"2021-01-01",5.0\nC7,2021-01-01,"5"" x"\n', encoding="utf-8")
    code, _, err = run_cli(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 2 and "never closed" not in err and "row 2, field 'amount': not a number" in err


def test_value_fit_refuses_a_quote_never_closed_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``value fit`` reads the log through DuckDB, which takes the stray quote as part of the value: the refusal
    still names the file, row and field, exit 2."""
    path = tmp_path / "log.csv"
    path.write_text(_LOG_HEAD + 'C12345,"2021-03-04,10.0\n' + _rest(3), encoding="utf-8")
    code, _, err = run_cli(["value", "fit", str(path)], capsys)
    assert code == 2, err
    assert f"{path}, row 2, field 'date'" in err
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize(("argv", "header", "refusal"), [
    (["listen", "{f}", "--json"], "text,date\n", "{f}: the file has no rows"),
    (["listen", "{f}"], "text,date\n", "{f}: the file has no rows"),
    (["text", "classify", "{f}"], "text,date\n", "{f}: the file has no rows"),
    (["policy", "decide", "{f}", "--policy", "value-first"], "contact_id,channel,arrival,customer_id\n",
     "{f}: the contacts file has no rows"),
    (["policy", "allocate", "{f}", "--policy", "denied-boarding", "--goods", "1"], "claimant_id,fare\n",
     "{f}: the claimants file has no rows"),
])
def test_a_file_with_only_a_header_is_refused(argv: list[str], header: str, refusal: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A file with a header and no rows crashed ``listen`` (IndexError on the first date, exit 1), gave
    ``text classify`` a header and exit 0, and ``policy decide`` '0 contacts decided', exit 0: each refuses it."""
    path = tmp_path / "input.csv"
    path.write_text(header, encoding="utf-8")
    code, out, err = run_cli([a.format(f=path) for a in argv], capsys)
    assert code == 2, err
    assert refusal.format(f=path) in err
    assert out == "" and "internal error" not in err


_SCENARIO = """name = "small"
[center]
agents = 2
duration = {duration}
warmup = {warmup}
time_unit = "{unit}"
[[segments]]
name = "callers"
channel = "phone"
arrival_rate = {rate}
handle_mean = 2.0
"""


def _unboxed(text: str) -> str:
    """A usage error as one line: rich's box edges and line breaks undone."""
    return " ".join(text.replace("│", " ").split())


def _scenario(tmp_path: Path, duration: str = "120.0", warmup: str = "30.0", unit: str = "minute",
              rate: str = "1.0", name: str = "small") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(_SCENARIO.format(duration=duration, warmup=warmup, unit=unit, rate=rate), encoding="utf-8")
    return path


@pytest.mark.parametrize(("warmup", "why"), [
    ("1e308", "1e+308 minutes is more than 10 years (5,259,600 minutes), the longest a scenario's [center] warmup"),
    ("1e12", "1e+12 minutes is more than 10 years (5,259,600 minutes)"),
    ("nan", "nan is not a number: give the warm-up in minutes, 0 to 5,259,600"),
    ("inf", "inf is not a finite number: give the warm-up in minutes, 0 to 5,259,600"),
    ("-1", "-1 is negative: give the warm-up in minutes, 0 to 5,259,600"),
])
def test_simulate_warmup_is_a_number_of_at_most_ten_years(warmup: str, why: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``--warmup 1e308`` crashed the Poisson draw (ValueError, exit 1), ``1e12`` asked for 349 TiB (MemoryError)
    and ``nan`` was 'not greater than or equal to 0': each is refused saying what the warm-up may be, exit 2."""
    scenario = _scenario(tmp_path)
    code, out, err = run_cli(["simulate", str(scenario), "-r", "1", "-j", "1", "--warmup", warmup], capsys)
    assert code == 2, err
    assert f"Invalid value for --warmup: {why}" in _unboxed(err)
    assert out == "" and "internal error" not in err


def test_the_longest_warmup_follows_the_time_unit_and_a_scenario_file_has_the_same_bound(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bound is 10 years in the scenario's time unit, for --warmup and for the file's [center] warmup and
    duration alike (a file's warmup = 1e12 crashed as --warmup did); a warm-up under it is simulated."""
    hours = _scenario(tmp_path, unit="hour", name="hours")
    code, _, err = run_cli(["simulate", str(hours), "-r", "1", "-j", "1", "--warmup", "87661"], capsys)
    assert code == 2 and "87661 hours is more than 10 years (87,660 hours)" in _unboxed(err)
    for field, args in (("warmup", {"warmup": "1e12"}), ("duration", {"duration": "6e6"}),
                        ("warmup", {"warmup": "nan"})):
        path = _scenario(tmp_path, **args)
        code, out, err = run_cli(["simulate", str(path), "-r", "1", "-j", "1"], capsys)
        assert code == 2, err
        assert f"error: {path}: center" in err and (f"{field} = " in err or f"center.{field}:" in err)
        assert out == "" and "internal error" not in err
    code, out, err = run_cli(["simulate", str(hours), "-r", "1", "-j", "1", "--warmup", "87000", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["policies"]["fifo"]["arrivals"] > 0


@pytest.mark.parametrize("rate", ["1000000.0", "1e13"])
def test_a_simulation_larger_than_memory_is_refused(rate: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Within the time bound, a busy centre can still ask for more arrivals than memory holds (a million a minute
    for ten years: 40 TB of arrival times; 1e13 a minute crashed NumPy's Poisson draw): the scenario is refused
    before anything is drawn, with the number of contacts and what to shorten, exit 2."""
    path = _scenario(tmp_path, duration="5000000.0", warmup="0.0", rate=rate)
    code, out, err = run_cli(["simulate", str(path), "-r", "1", "-j", "1"], capsys)
    assert code == 2, err
    assert "contacts a replication, more than the 1,000,000,000 fairserve simulates" in err
    assert str(path) in err and out == "" and "internal error" not in err


@pytest.mark.parametrize(("rows", "extra", "refusal"), [
    ("", [], "{log}: the contacts file has no rows"),
    ("k1,phone,not-a-time,c1\n", ["--skip-bad-rows"], "{log}: every row of the contacts file was rejected"),
])
def test_simulate_refuses_a_contact_log_with_no_rows(rows: str, extra: list[str], refusal: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A contact log with a header only was 'a log of 0 minutes (NaT to NaT)... give --warmup below 0': it is
    refused as having no rows, and a log whose every row is skipped as bad likewise."""
    scenario = _scenario(tmp_path)
    customers = tmp_path / "scores.csv"
    customers.write_text("customer_id,clv\nc1,100\nc2,50\n", encoding="utf-8")
    log = tmp_path / "log.csv"
    log.write_text("contact_id,channel,arrival,customer_id\n" + rows, encoding="utf-8")
    argv = ["simulate", str(scenario), "--customers", str(customers), "--contacts", str(log), "-r", "1", "-j", "1"]
    code, out, err = run_cli([*argv, *extra], capsys)
    assert code == 2, err
    assert refusal.format(log=log) in err
    assert "NaT" not in err and out == ""


@pytest.mark.parametrize(("option", "value", "why"), [
    ("--discount-rate", "nan", "nan is not a finite number: give the monthly discount rate"),
    ("--discount-rate", "inf", "inf is not a finite number: give the monthly discount rate"),
    ("--discount-rate", "-1", "-1 must be more than -1"),
    ("--margin", "nan", "nan is not a fraction in [0, 1]: give the gross margin"),
    ("--margin", "inf", "inf is not a fraction in [0, 1]"),
])
@pytest.mark.parametrize("command", ["fit", "score"])
def test_value_money_options_must_be_finite(command: str, option: str, value: str, why: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``value fit cdnow.csv --discount-rate nan --scores-out`` blamed the model ('fitted on too few customers'),
    ``inf`` scored every customer 0 with exit 0: the options are refused up front, naming the option, exit 2
    (and the scores file is not written)."""
    from cli_helpers import write_cdnow_csv

    log = write_cdnow_csv(tmp_path / "cdnow.csv")
    scores = tmp_path / "scores.csv"
    argv = (["value", "fit", str(log), "--scores-out", str(scores)] if command == "fit"
            else ["value", "score", str(log), "--model", str(tmp_path / "model.json"), "--out", str(scores)])
    code, out, err = run_cli([*argv, option, value], capsys)
    assert code == 2, err
    assert f"Invalid value for {option}: {why}" in _unboxed(err)
    assert "too few customers" not in err and out == "" and not scores.exists()


def test_value_score_pairs_must_be_finite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--line-margin web=nan`` and ``--channel-cost phone=inf`` are refused naming the option."""
    from cli_helpers import write_cdnow_csv

    log = write_cdnow_csv(tmp_path / "cdnow.csv")
    model = tmp_path / "model.json"
    code, _, err = run_cli(["value", "fit", str(log), "--out", str(model)], capsys)
    assert code == 0, err
    for option, pair in (("--line-margin", "web=nan"), ("--channel-cost", "phone=inf")):
        code, out, err = run_cli(["value", "score", str(log), "--model", str(model), "--out",
                                  str(tmp_path / "s.csv"), option, pair], capsys)
        assert code == 2, err
        assert f"{option} takes NAME=NUMBER (a finite number), not '{pair}'" in err and out == ""


def test_a_semicolon_csv_is_told_to_use_commas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check, simulate and decide listed 'customer_id;date;amount' as the one column found, with no hint why (a
    new user's review): the message says the file seems to use semicolons, and that commas are read."""
    path = tmp_path / "semi.csv"
    path.write_text("customer_id;date;amount\nA;2020-01-01;5\n", encoding="utf-8")
    code, _, err = run_cli(["check", str(path), "--kind", "transactions"], capsys)
    assert code == 2
    assert "the file seems to separate its fields with semicolons" in err
    comma = tmp_path / "comma.csv"
    comma.write_text("id,date,amount\nA,2020-01-01,5\n", encoding="utf-8")
    code, _, err = run_cli(["check", str(comma), "--kind", "transactions"], capsys)
    assert code == 2 and "missing column 'customer_id'" in err and "semicolons" not in err
