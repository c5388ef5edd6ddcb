"""The bad-input corpus (issue 10): every command that reads a file, against every way a file can be bad.

Each case breaks ONE input of a command whose other inputs are good, runs the command in-process and checks the
same four things: exit code 2, a message that names the file (and the row and field where there is one), no
Python traceback, and no output written that could be taken for a result. The good run of every command is
checked too, so that a case cannot pass because the command line itself is wrong. Hypothesis then mutates valid
files (a column dropped, a cell corrupted, a line truncated) for the same assertions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli

SCENARIO = """
name = "tiny"
[center]
agents = 3
duration = 30.0
warmup = 0.0
time_unit = "minute"

[[segments]]
name = "phone"
channel = "phone"
arrival_rate = 2.0
handle_mean = 1.0
patience_mean = 3.0
customers = "base"

[[segments]]
name = "email"
channel = "email"
arrival_rate = 0.2
handle_mean = 5.0
customers = "base"
"""

# ------------------------------------------------------------------------------------------------ good inputs


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One valid file of every kind a command reads."""
    root = tmp_path_factory.mktemp("good")
    rng = np.random.default_rng(7)
    rows = []
    for c in range(40):
        for d in rng.integers(0, 300, 1 + c % 5):
            day = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(d))).date().isoformat()
            rows.append((f"c{c:03d}", day, round(float(rng.gamma(2.0, 20.0)), 2)))
    paths = {k: root / n for k, n in (("tx", "tx.csv"), ("scores", "scores.csv"), ("profiles", "profiles.csv"),
                                      ("contacts", "contacts.csv"), ("history", "history.csv"),
                                      ("claimants", "claimants.csv"), ("scenario", "scenario.toml"),
                                      ("policy", "policy.toml"), ("model", "model.json"))}
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(paths["tx"], index=False)
    ids = [f"c{c:03d}" for c in range(40)]
    clv = np.linspace(5.0, 900.0, 40)
    pd.DataFrame({"customer_id": ids, "clv": clv, "profit": clv * 0.3, "loyalty": np.linspace(0, 1, 40),
                  "value_percentile": np.linspace(0.025, 1, 40), "followers": np.arange(40) * 100,
                  "influence": np.linspace(0, 1, 40)}).to_csv(paths["scores"], index=False)
    pd.DataFrame({"handle": [f"h{i}" for i in range(20)], "followers": np.arange(20) * 1000,
                  "customer_id": ids[:20]}).to_csv(paths["profiles"], index=False)
    pd.DataFrame({"contact_id": [f"k{i}" for i in range(10)], "channel": ["phone", "email"] * 5,
                  "arrival": [f"2026-11-30T09:{i:02d}:00" for i in range(10)], "customer_id": ids[:10],
                  "severity": [0, 1] * 5}).to_csv(paths["contacts"], index=False)
    pd.DataFrame({"customer_id": ids[:10], "channel": ["phone"] * 10,
                  "date": [f"2024-0{1 + i % 9}-01" for i in range(10)]}).to_csv(paths["history"], index=False)
    pd.DataFrame({"claimant_id": [f"p{i}" for i in range(12)], "customer_id": ids[:12],
                  "fare": np.linspace(50, 600, 12), "checked_in_hours": np.linspace(0, 20, 12)}
                 ).to_csv(paths["claimants"], index=False)
    paths["scenario"].write_text(SCENARIO, encoding="utf-8")
    policies = Path(__file__).parents[1] / "src" / "fairserve" / "policy" / "policies"
    shutil.copy(policies / "balanced.toml", paths["policy"])
    from fairserve.cli import main

    try:
        main(["value", "fit", str(paths["tx"]), "--out", str(paths["model"])])
    except SystemExit as exc:  # pragma: no cover - the fit must work for the corpus to mean anything
        assert not exc.code, "value fit failed on the good log"
    return paths


# ------------------------------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class Command:
    """A command line with ``{tx}``-style slots for its inputs and ``{out}`` slots for what it writes."""

    name: str
    argv: tuple[str, ...]
    reads: tuple[str, ...]  # the input slots this command reads (each is broken in turn)
    writes: tuple[str, ...] = ()  # output file names (relative to the case's output folder)

    def line(self, files: dict[str, Path], out: Path) -> list[str]:
        slots = {**{k: str(v) for k, v in files.items()}, **{f"out{i}": str(out / n)
                                                               for i, n in enumerate(self.writes)}}
        return [a.format(**slots) for a in self.argv]


COMMANDS = [
    Command("value fit", ("value", "fit", "{tx}", "--out", "{out0}"), ("tx",), ("model.json",)),
    Command("value score", ("value", "score", "{tx}", "--model", "{model}", "--out", "{out0}", "--contacts",
                            "{history}", "--profiles", "{profiles}"),
            ("tx", "model", "history", "profiles"), ("scores.csv",)),
    Command("policy check", ("policy", "check", "{policy}"), ("policy",)),
    Command("policy audit", ("policy", "audit", "--policy", "{policy}", "--scores", "{scores}", "--profiles",
                             "{profiles}"), ("policy", "scores", "profiles")),
    Command("policy explain", ("policy", "explain", "--policy", "{policy}", "--scores", "{scores}",
                               "--customer", "c000"), ("policy", "scores")),
    Command("policy diff", ("policy", "diff", "fifo", "{policy}", "--scores", "{scores}"), ("policy", "scores")),
    Command("policy decide", ("policy", "decide", "{contacts}", "--scores", "{scores}", "--policy", "{policy}",
                              "--no-text", "--out", "{out0}"), ("contacts", "scores", "policy"), ("decided.csv",)),
    Command("policy allocate", ("policy", "allocate", "{claimants}", "--policy", "denied-boarding", "--goods", "2",
                                "--scores", "{scores}", "--out", "{out0}"), ("claimants", "scores"),
            ("allocated.csv",)),
    Command("simulate", ("simulate", "{scenario}", "--customers", "{scores}", "-p", "{policy}", "-r", "1",
                         "--profiles", "{profiles}", "--report", "{out0}"),
            ("scenario", "scores", "policy", "profiles"), ("report.html",)),
    Command("simulate --contacts", ("simulate", "{scenario}", "--customers", "{scores}", "--contacts",
                                    "{contacts}", "-r", "1", "--report", "{out0}"),
            ("scenario", "scores", "contacts"), ("report.html",)),
    Command("whatif", ("whatif", "{scenario}", "--customer", "c000", "--customers", "{scores}", "-p", "{policy}",
                       "-r", "1"), ("scenario", "scores", "policy")),
    *(Command(f"check {kind}", ("check", "{" + slot + "}", "--kind", kind), (slot,))
      for slot, kind in (("tx", "transactions"), ("scores", "scores"), ("profiles", "profiles"),
                         ("contacts", "contacts"), ("history", "contact_history"), ("claimants", "claimants"),
                         ("scenario", "scenario"), ("policy", "policy"), ("model", "model"))),
]

TABLES = {"tx", "scores", "profiles", "contacts", "history", "claimants"}

# ------------------------------------------------------------------------------------------------ defects
# Each defect makes a bad copy of a good file and says what the message must name: (row, field), either None.

# per table: the required column to drop, and a row/field to spoil with a wrong type and an out-of-range value
TABLE_CELLS = {
    "tx": ("amount", "amount", "abc", "-500"),
    "scores": ("clv", "clv", "abc", None),
    "profiles": ("followers", "followers", "many", "-10"),
    "contacts": ("channel", "arrival", "yesterday-ish", None),
    "history": ("channel", "date", "not a date", None),
    "claimants": ("claimant_id", "fare", "cheap", "-1"),
}
RANGE_CELLS = {"scores": [("loyalty", "7"), ("influence", "3"), ("followers", "-10"), ("value_percentile", "2")],
               "contacts": [("severity", "9")]}

# documents: a field to spoil with a wrong type and an out-of-range value (text substitutions)
DOCUMENT_EDITS = {
    "scenario": (("agents = 3", 'agents = "many"', "center.agents"), ("agents = 3", "agents = -1", "center.agents")),
    "policy": (("when = { clv_min = 100 }", 'when = { clv_min = "lots" }', "clv_min"),
               ("phone = { target = 2, guarantee = 3 }", "phone = { target = -2, guarantee = 3 }", "target")),
}

Defect = Callable[[Path, Path], tuple[Path, int | None, str | None]]


def _copy_as(good: Path, dest: Path, data: bytes) -> Path:
    target = dest / good.name
    target.write_bytes(data)
    return target


def _set_cell(good: Path, dest: Path, field: str, value: str, row: int = 3) -> tuple[Path, int, str]:
    frame = pd.read_csv(good, dtype=str, keep_default_na=False)
    frame.loc[row - 1, field] = value
    target = dest / good.name
    frame.to_csv(target, index=False)
    return target, row, field


def _directory(good: Path, dest: Path) -> tuple[Path, int | None, str | None]:
    (dest / good.name).mkdir()
    return dest / good.name, None, None


def defects_for(slot: str) -> dict[str, Defect]:
    """Every defect that applies to the file in ``slot``."""
    out: dict[str, Defect] = {
        "missing path": lambda g, d: (d / f"no-such-{g.name}", None, None),
        "directory": _directory,
        "empty file": lambda g, d: (_copy_as(g, d, b""), None, None),
    }
    if slot in TABLES:
        drop, typed, bad_type, bad_range = TABLE_CELLS[slot]

        def non_utf8(g: Path, d: Path) -> tuple[Path, int | None, str | None]:
            lines = g.read_bytes().split(b"\n")
            fields = lines[2].split(b",")
            fields[0] = fields[0] + b"\xff\xfe"
            lines[2] = b",".join(fields)
            header = lines[0].decode().split(",")
            return _copy_as(g, d, b"\n".join(lines)), 2, header[0]

        def missing_column(g: Path, d: Path) -> tuple[Path, int | None, str | None]:
            frame = pd.read_csv(g, dtype=str, keep_default_na=False).drop(columns=[drop])
            frame.to_csv(d / g.name, index=False)
            return d / g.name, None, drop

        out["non-UTF-8 bytes"] = non_utf8
        out["missing required column"] = missing_column
        out["wrong type"] = lambda g, d: _set_cell(g, d, typed, bad_type)
        if bad_range is not None:
            out["out of range"] = lambda g, d: _set_cell(g, d, typed, bad_range)
        for field, value in RANGE_CELLS.get(slot, []):
            out[f"out of range {field}={value}"] = (lambda f, v: lambda g, d: _set_cell(g, d, f, v))(field, value)
    else:
        out["non-UTF-8 bytes"] = lambda g, d: (_copy_as(g, d, g.read_bytes().replace(b"\n", b"\n# \xe9t\xe9\n", 1)),
                                               None, None)
        if slot in DOCUMENT_EDITS:
            for label, (old, new, field) in zip(("wrong type", "out of range"), DOCUMENT_EDITS[slot], strict=True):
                def edit(g: Path, d: Path, old: str = old, new: str = new, field: str = field
                         ) -> tuple[Path, int | None, str | None]:
                    text = g.read_text(encoding="utf-8")
                    assert old in text
                    return _copy_as(g, d, text.replace(old, new, 1).encode()), None, field
                out[label] = edit
        if slot == "model":
            def model_edit(value: object) -> Defect:
                def edit(g: Path, d: Path) -> tuple[Path, int | None, str | None]:
                    doc = json.loads(g.read_text(encoding="utf-8"))
                    doc["transaction_model"]["params"]["r"] = value
                    return _copy_as(g, d, json.dumps(doc).encode()), None, "transaction_model.params.r"
                return edit

            out["wrong type"] = model_edit("abc")
            out["out of range"] = model_edit(-1.0)
            out["JSON list"] = lambda g, d: (_copy_as(g, d, b"[1, 2]"), None, None)
    return out


CASES = [
    pytest.param(cmd, slot, name, id=f"{cmd.name} / {slot} / {name}")
    for cmd in COMMANDS
    for slot in cmd.reads
    for name in defects_for(slot)
]

# ------------------------------------------------------------------------------------------------ assertions


def assert_refused(code: int, out: str, err: str, bad: Path, row: int | None, field: str | None,
                   outputs: Path) -> None:
    """Exit 2, the file (and row and field) named, no traceback, and nothing in the output folder."""
    text = out + " " + err
    assert code == 2, f"exit {code}, expected 2:\n{text}"
    assert "Traceback" not in text and "internal error" not in text, text
    assert str(bad) in " ".join(text.split()) or bad.name in text, f"the file is not named:\n{text}"
    if row is not None:
        assert f"row {row}" in text, f"row {row} is not named:\n{text}"
    if field is not None:
        assert field in text, f"field {field!r} is not named:\n{text}"
    written = sorted(p.name for p in outputs.iterdir()) if outputs.exists() else []
    assert written == [], f"written despite the error: {written}"


@pytest.mark.parametrize("cmd", [pytest.param(c, id=c.name) for c in COMMANDS])
def test_every_command_runs_on_the_good_files(
    cmd: Command, good: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run_cli(cmd.line(good, out), capsys)
    assert code == 0, err
    for name in cmd.writes:
        assert (out / name).is_file()


@pytest.mark.parametrize(("cmd", "slot", "defect"), CASES)
def test_a_bad_input_is_refused_with_file_row_and_field(
    cmd: Command, slot: str, defect: str, good: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad_dir, out = tmp_path / "bad", tmp_path / "out"
    bad_dir.mkdir()
    out.mkdir()
    bad, row, field = defects_for(slot)[defect](good[slot], bad_dir)
    files = {**good, slot: bad}
    code, stdout, err = run_cli(cmd.line(files, out), capsys)
    assert_refused(code, stdout, err, bad, row, field, out)
    assert not list(bad_dir.glob("*.rejected.csv")), "a side file was written without --skip-bad-rows"


# ------------------------------------------------------------------------------------------ the issue's cases


@pytest.mark.parametrize(
    ("content", "row", "field"),
    [
        ("customer_id,loyalty\nc000,0.5\n", None, "clv"),
        ("customer_id,clv,loyalty\nc000,10,7\n", 1, "loyalty"),
        ("customer_id,clv,influence\nc000,10,3\n", 1, "influence"),
        ("customer_id,clv,followers\nc000,10,-10\n", 1, "followers"),
        ("customer_id,clv\nc000,abc\n", 1, "clv"),
        ("customer_id,clv\nc000,1\nc000,2\n", 2, "customer_id"),
    ],
    ids=["no clv", "loyalty=7", "influence=3", "followers=-10", "clv=abc", "duplicate id"],
)
@pytest.mark.parametrize("command", ["audit", "explain", "simulate", "whatif", "decide"])
def test_the_issues_scores_files_are_refused_by_every_reader(
    content: str, row: int | None, field: str, command: str, good: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(content, encoding="utf-8")
    argv = {
        "audit": ["policy", "audit", "--policy", "balanced", "--scores", str(scores)],
        "explain": ["policy", "explain", "--policy", "balanced", "--scores", str(scores), "--customer", "c000"],
        "simulate": ["simulate", str(good["scenario"]), "--customers", str(scores), "-r", "1"],
        "whatif": ["whatif", str(good["scenario"]), "--customer", "c000", "--customers", str(scores), "-r", "1"],
        "decide": ["policy", "decide", str(good["contacts"]), "--policy", "balanced", "--scores", str(scores),
                   "--no-text"],
    }[command]
    code, out, err = run_cli(argv, capsys)
    assert_refused(code, out, err, scores, row, field, tmp_path / "nothing")


def test_value_fit_refuses_the_negative_amount_that_check_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "tx.csv"
    log.write_text("customer_id,date,amount\na,2024-01-01,5\na,2024-02-01,-500\nb,2024-01-01,3\nb,2024-03-01,4\n",
                   encoding="utf-8")
    for argv in (["check", str(log), "--kind", "transactions"], ["value", "fit", str(log)]):
        code, out, err = run_cli(argv, capsys)
        assert_refused(code, out, err, log, 2, "amount", tmp_path / "nothing")


def test_value_fit_reads_a_json_lines_log_that_check_accepts(
    good: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "tx.jsonl"
    pd.read_csv(good["tx"], dtype=str).to_json(log, orient="records", lines=True)
    assert run_cli(["check", str(log), "--kind", "transactions"], capsys)[0] == 0
    code, out, err = run_cli(["value", "fit", str(log), "--json"], capsys)
    assert code == 0, err
    with_csv = json.loads(run_cli(["value", "fit", str(good["tx"]), "--json"], capsys)[1])
    assert json.loads(out)["params"] == pytest.approx(with_csv["params"])


def test_skip_bad_rows_keeps_the_good_customers_and_writes_the_rest_aside(
    good: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, _, _ = _set_cell(good["scores"], tmp_path, "loyalty", "7", row=5)
    code, _, err = run_cli(["whatif", str(good["scenario"]), "--customer", "c000", "--customers", str(bad),
                            "-r", "1", "--skip-bad-rows", "--json"], capsys)
    assert code == 0, err
    rejects = pd.read_csv(tmp_path / "scores.rejected.csv", dtype=str)
    assert rejects["customer_id"].tolist() == ["c004"] and "loyalty" in rejects["_problem"].iloc[0]
    assert "1 bad row(s)" in err


def test_an_unexpected_error_prints_one_line_and_where_the_report_is(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import fairserve.cli.data

    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(fairserve.cli.data.io, "read_table", boom)
    code, _, err = run_cli(["check", "whatever.csv", "--kind", "scores"], capsys)
    assert code == 1 and "Traceback" not in err and "ZeroDivisionError: a bug" in err
    report = Path(err.split("The full report is in ")[1].strip())
    assert "Traceback" in report.read_text(encoding="utf-8") and "boom" in report.read_text(encoding="utf-8")
    report.unlink()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import fairserve

    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"fairserve {fairserve.__version__}"


# ---------------------------------------------------------------------------------------- a large file, slow


@pytest.mark.slow
@pytest.mark.parametrize("command", ["check", "value fit"])
def test_a_bad_last_row_of_a_million_row_log_is_named(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 1_000_000
    rng = np.random.default_rng(1)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    frame = pd.DataFrame({"customer_id": rng.integers(0, 50_000, n).astype(str),
                          "date": days.strftime("%Y-%m-%d"), "amount": np.round(rng.gamma(2, 20, n), 2).astype(str)})
    frame.loc[n - 1, "amount"] = "-5"
    log = tmp_path / "big.csv"
    frame.to_csv(log, index=False)
    argv = ["check", str(log), "--kind", "transactions"] if command == "check" else ["value", "fit", str(log)]
    code, out, err = run_cli(argv, capsys)
    assert_refused(code, out, err, log, n, "amount", tmp_path / "nothing")


@pytest.mark.slow
def test_a_bad_last_row_of_a_million_row_scores_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 1_000_000
    frame = pd.DataFrame({"customer_id": np.arange(n).astype(str), "clv": np.linspace(0, 1000, n),
                          "loyalty": np.linspace(0, 1, n)})
    frame["loyalty"] = frame["loyalty"].astype(str)
    frame.loc[n - 1, "loyalty"] = "1.5"
    scores = tmp_path / "scores.csv"
    frame.to_csv(scores, index=False)
    code, out, err = run_cli(["policy", "audit", "--policy", "balanced", "--scores", str(scores)], capsys)
    assert_refused(code, out, err, scores, n, "loyalty", tmp_path / "nothing")


# ---------------------------------------------------------------------------------------- mutated valid files

MUTATED = {  # slot -> (command line with {bad}, the required columns and a numeric one to corrupt)
    "scores": (["policy", "audit", "--policy", "balanced", "--scores", "{bad}"], ["customer_id", "clv"], "clv"),
    "tx": (["value", "fit", "{bad}"], ["customer_id", "date", "amount"], "amount"),
    "contacts": (["policy", "decide", "{bad}", "--policy", "fifo", "--no-text"],
                 ["contact_id", "channel", "arrival"], "arrival"),
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slot=st.sampled_from(sorted(MUTATED)), how=st.sampled_from(["drop column", "corrupt cell", "truncate line"]),
       pick=st.integers(0, 10_000), junk=st.sampled_from(["abc", "NaN?", "1,5", "--", "\u00e9t\u00e9", "1e999x"]))
def test_hypothesis_mutated_files_are_refused_the_same_way(
    slot: str, how: str, pick: int, junk: str, good: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, required, numeric = MUTATED[slot]
    frame = pd.read_csv(good[slot], dtype=str, keep_default_na=False)
    line = pick % len(frame) + 1
    row: int | None = line
    field: str | None
    if how == "drop column":
        field = required[pick % len(required)]
        text = frame.drop(columns=[field]).to_csv(index=False)
        row = None
    elif how == "corrupt cell":
        field = numeric
        frame.loc[line - 1, field] = junk
        text = frame.to_csv(index=False)
    else:  # cut a line inside its first field: the required fields after it are gone
        lines = frame.to_csv(index=False).split("\n")
        first = lines[line].split(",")[0]
        lines[line] = first[: 1 + pick % len(first)]
        text = "\n".join(lines)
        field = None
    case = tmp_path / f"m{pick}-{abs(hash((slot, how, junk)))}"
    case.mkdir(exist_ok=True)
    bad = case / good[slot].name
    bad.write_text(text, encoding="utf-8")
    code, out, err = run_cli([a.format(bad=bad) for a in argv], capsys)
    assert_refused(code, out, err, bad, row, field, case / "nothing")


# ---------------------------------------------------------------------------------------- --skip-bad-rows

SKIPPABLE = [("value fit", "tx"), ("value score", "tx"), ("policy audit", "scores"), ("policy explain", "scores"),
             ("policy diff", "scores"), ("policy decide", "contacts"), ("policy decide", "scores"),
             ("policy allocate", "claimants"), ("simulate", "scores"), ("whatif", "scores"),
             ("simulate --contacts", "contacts"),
             *((f"check {kind}", slot) for slot, kind in (("tx", "transactions"), ("scores", "scores"),
                                                           ("profiles", "profiles"), ("contacts", "contacts"),
                                                           ("history", "contact_history"),
                                                           ("claimants", "claimants")))]


@pytest.mark.parametrize(("name", "slot"), SKIPPABLE, ids=[f"{n} / {s}" for n, s in SKIPPABLE])
def test_skip_bad_rows_runs_on_the_good_rows_and_writes_the_bad_one_aside(
    name: str, slot: str, good: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmd = next(c for c in COMMANDS if c.name == name)
    bad_dir, out = tmp_path / "bad", tmp_path / "out"
    bad_dir.mkdir()
    out.mkdir()
    _, typed, bad_value, _ = TABLE_CELLS[slot]
    bad, row, field = _set_cell(good[slot], bad_dir, typed, bad_value, row=4)
    code, _, err = run_cli([*cmd.line({**good, slot: bad}, out), "--skip-bad-rows"], capsys)
    assert code == 0, err
    rejects = pd.read_csv(bad_dir / f"{bad.stem}.rejected.csv", dtype=str, keep_default_na=False)
    assert len(rejects) == 1 and f"row {row}" in rejects["_problem"].iloc[0] and field in rejects["_problem"].iloc[0]
    for name_ in cmd.writes:
        assert (out / name_).is_file()


# ------------------------------------------------------------------------------------ listen: reach columns


@pytest.mark.parametrize(("field", "value"), [("followers", "-50"), ("followers", "abc"), ("reposts", "1.5"),
                                              ("likes", "-1"), ("verified", "maybe")])
def test_listen_refuses_a_bad_reach_value_naming_file_row_and_field(
    field: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days = pd.date_range("2026-01-01", periods=12, freq="D")
    posts = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "text": ["my flight was late, terrible"] * 12,
                          "followers": ["120"] * 12, "reposts": ["0"] * 12, "likes": [""] * 12,
                          "verified": ["false"] * 12})
    good, out = tmp_path / "posts.csv", tmp_path / "out"
    posts.to_csv(good, index=False)
    code, _, err = run_cli(["listen", str(good), "--out", str(out / "r.html")], capsys)
    assert code == 0, err
    (out / "r.html").unlink()
    posts.loc[6, field] = value  # data row 7
    bad = tmp_path / "bad.csv"
    posts.to_csv(bad, index=False)
    code, stdout, err = run_cli(["listen", str(bad), "--out", str(out / "r.html"), "--png", str(out / "r.png")],
                                capsys)
    assert_refused(code, stdout, err, bad, 7, field, out)
    assert value in err
