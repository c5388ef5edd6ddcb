"""Findings of the new-user review of the CLI that were left open: each test runs the real CLI as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import run_cli
from fairserve.cli import COMMANDS, load_command


def _command_paths() -> list[list[str]]:
    """Every command and subcommand of the CLI, as the words that name it (``["policy", "check"]``)."""
    paths: list[list[str]] = [[]]
    for name in COMMANDS:
        command = load_command(name)
        subcommands = getattr(command, "commands", {})
        paths += [[name, sub] for sub in subcommands] if subcommands else [[name]]
    return paths


def test_help_shows_flags_as_plain_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """``--json <bool>`` in every command's help (typer's rich help gave a flag a value type): a flag takes no
    value, so its help shows none; options that take a value keep their type."""
    flagged = 0
    for path in _command_paths():
        code, out, _ = run_cli([*path, "--help"], capsys)
        assert code == 0, path
        assert "<bool>" not in out, path
        assert "<list[" not in out, path  # a repeatable option shows one value's type
        assert "--help" in out, path
        flagged += "--json" in out
    assert flagged >= 5  # the listing and report commands do have flags, and their help still names them
    code, out, _ = run_cli(["policy", "decide", "--help"], capsys)
    assert "--no-text" in out  # a flag's second name is still shown
    assert "<path>" in out or "<str>" in out  # --out takes a value and says of what type


def test_help_keeps_every_bracketed_word(capsys: pytest.CaptureFixture[str]) -> None:
    """Rich's help markup took ``[customer_id]`` in 'Customer id column [customer_id].' for a style and dropped it
    ('Customer id column .'): no option's help may hold an unescaped ``[word]``, and the words show."""
    import re

    import click

    def walk(command: click.Command) -> list[click.Parameter]:
        subs = getattr(command, "commands", {}).values()
        return [*command.params, *(p for sub in subs for p in walk(sub))]

    swallowed = [
        (name, param.name) for name in COMMANDS for param in walk(load_command(name))
        if re.search(r"(?<!\\)\[[a-zA-Z#/@]", getattr(param, "help", None) or "")
    ]
    assert swallowed == []
    code, out, _ = run_cli(["value", "fit", "--help"], capsys)
    assert code == 0 and "Purchase date column (default: date)." in " ".join(out.replace("│", " ").split())
    code, out, _ = run_cli(["simulate", "--help"], capsys)
    assert "[center]" in out


@pytest.mark.parametrize("body", ["", "  \n\n", "# a policy, to be written\n\n# name = 'x'\n"])
def test_an_empty_policy_file_is_called_empty(body: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty policy file (0 bytes, blank lines, comments) was refused with 'field name: required key is
    missing', as if one key were left out; it is refused as empty, naming the file, for every command."""
    path = tmp_path / "mine.toml"
    path.write_text(body, encoding="utf-8")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,channel,arrival,customer_id\nc1,phone,2026-01-01T09:00:00,1\n", encoding="utf-8")
    for argv in (["policy", "check", str(path)], ["policy", "decide", str(contacts), "--policy", str(path)]):
        code, out, err = run_cli(argv, capsys)
        assert code == 2, argv
        assert f"{path}: the policy file is empty" in err, argv
        assert "required key" not in err and "Traceback" not in err
        assert out == ""


_SMALL_SCENARIO = """name = "small"
[center]
agents = 2
duration = 120.0
warmup = 30.0
time_unit = "minute"
[[segments]]
name = "callers"
channel = "phone"
arrival_rate = 1.0
handle_mean = 2.0
patience_mean = 5.0
"""


def test_a_contact_log_that_ends_in_the_warm_up_is_refused(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A log of 19 minutes against a 30-minute warm-up only warned and printed an empty table (exit 0): nothing
    was measured. It is refused (exit 2) naming the log, its span and the warm-up and saying how to fix it;
    --warmup (in the scenario's time unit) gives a shorter one, and then the contacts after it are measured."""
    import json

    scenario = tmp_path / "small.toml"
    scenario.write_text(_SMALL_SCENARIO, encoding="utf-8")
    log = tmp_path / "log.csv"
    log.write_text("contact_id,channel,arrival,customer_id\n" + "".join(
        f"k{i},phone,2026-01-05T09:{i:02d}:00,c{i % 5}\n" for i in range(20)), encoding="utf-8")
    argv = ["simulate", str(scenario), "--contacts", str(log), "-r", "2", "-j", "1", "--json"]
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and out == ""
    assert f"{log}: the contact log spans 19.0 minutes" in err
    assert f"less than the warm-up of {scenario} (30.0 minutes)" in err and "give --warmup below 19.0" in err

    code, out, err = run_cli([*argv, "--warmup", "5"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["policies"]["fifo"]["arrivals"] == 2 * 15  # the arrivals at minutes 5 to 19, each replication


def test_listen_json_holds_the_numbers_of_its_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """listen had no --json, unlike the other report commands: --json prints one JSON document on stdout (nothing
    else there) with the figures of its summary lines: posts, dates, linked, flagged, rising topics."""
    import json
    import re

    calm = ["love the new app, great job", "delivery was fast thanks", "nice packaging, thank you"]
    rows = [f'"{calm[i % 3]}",2026-01-{1 + i % 14:02d},@user{i % 8},100' for i in range(40)]
    rows += [f'"the site is down again, total outage, terrible",2026-01-{15 + i % 5:02d},@loud{i % 3},200000'
             for i in range(12)]
    posts = tmp_path / "posts.csv"
    posts.write_text("text,date,handle,followers\n" + "\n".join(rows) + "\n", encoding="utf-8")
    links = tmp_path / "links.csv"
    links.write_text("handle,customer_id\n@user1,C1\n@loud0,C2\n", encoding="utf-8")
    argv = ["listen", str(posts), "--links", str(links), "--risk-threshold", "1", "--out", str(tmp_path / "r.html")]

    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    line = " ".join(out.split())
    said = re.search(r"([\d,]+) posts \((\S+) to (\S+)\); ([\d,]+) linked to customers; ([\d,]+) flagged for social "
                     r"care; rising: (.+?) wrote", line)
    assert said is not None, line

    code, out, err = run_cli([*argv, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)  # the whole of stdout is the one document
    assert (doc["posts"], doc["start"], doc["end"], doc["linked"], doc["flagged"]) == (
        int(said[1].replace(",", "")), said[2], said[3], int(said[4].replace(",", "")), int(said[5].replace(",", "")))
    assert ", ".join(doc["rising"]) == said[6] == "outage"
    assert doc["linked"] > 0 and doc["flagged"] > 0  # the comparison is not of zeros
    assert sum(t["posts"] for t in doc["topics"]) == doc["posts"]
    assert doc["report"] == str(tmp_path / "r.html") and (tmp_path / "r.html").stat().st_size > 0


def test_piped_output_keeps_each_line_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A review found `value score ... | cat` printing 'total profit' and its figure on two lines: wrapping at 80
    columns is for a terminal; piped, a line stays whole (as tables already did), and counts carry separators."""
    import io

    from rich.console import Console

    from cli_helpers import write_cdnow_csv
    from fairserve.cli import common

    deep = tmp_path / ("a-rather-long-folder-name-" * 3)
    deep.mkdir()
    log = write_cdnow_csv(deep / "cdnow.csv")
    code, out, _ = run_cli(["value", "fit", str(log), "--calibration-end", "1997-09-30",
                            "--scores-out", str(deep / "scores.csv")], capsys)
    assert code == 0
    scored = [line for line in out.splitlines() if line.startswith("scored ")]
    assert len(scored) == 1 and "total profit" in scored[0] and "2,357 customers" in scored[0]
    assert len(scored[0]) > 120  # longer than any terminal line it would have been wrapped at
    piped = Console(file=io.StringIO(), width=40, highlight=False)
    monkeypatch.setattr(common, "console", piped)
    common.prose("why: a later contact is answered first only if it is due earlier than yours, and so on")
    assert len(piped.file.getvalue().splitlines()) == 1
