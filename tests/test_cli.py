from __future__ import annotations

import subprocess
import sys

import pytest

from fairserve.cli import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fairserve", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in out.stdout


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_error_messages_keep_square_brackets_from_user_input(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "tx.csv"
    path.write_text("customer_id,date,amount\n1,1997-01-01,3\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["check", str(path), "--kind", "transactions", "--amount-col", "[bold]amt"])
    assert exc.value.code == 2
    assert "[bold]amt" in capsys.readouterr().err  # not swallowed as rich markup


def test_root_help_gives_each_command_the_help_its_module_gives() -> None:
    from fairserve.cli import COMMANDS, load_command

    for name, (_, line) in COMMANDS.items():
        real = load_command(name)
        assert real.name == name
        assert (real.help or "").strip().splitlines()[0] == line, name


def _modules_after(argv: list[str]) -> set[str]:
    code = (f"import sys\nfrom fairserve.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sys.modules), file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(run.stderr.split())


def test_help_and_policy_list_load_only_what_they_need() -> None:
    heavy = {"numba", "scipy", "duckdb", "fairserve.sim", "fairserve.value"}
    assert not heavy & _modules_after(["--help"])
    assert not {"pandas", "numpy"} & _modules_after(["--help"])
    assert not heavy & _modules_after(["policy", "list"])
    assert "fairserve.cli.sim" in _modules_after(["simulate", "--help"])  # the command's own module does load


def test_a_table_too_wide_for_the_terminal_is_printed_as_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """In an 80-column terminal a 14-column table was printed 234 characters wide (new-user review): when even
    the plain columns do not fit, each row becomes a heading and one ``column: value`` line per cell."""
    import io

    from rich.console import Console

    from fairserve.cli import common

    screen = Console(file=io.StringIO(), force_terminal=True, width=60, highlight=False)
    monkeypatch.setattr(common, "console", screen)
    columns = ["policy", *(f"a long measure name {i}" for i in range(8))]
    rows = [[name, *(f"{i * 1.5:.3f} [{i:.2f}, {i + 1:.2f}]" for i in range(8))] for name in ("fifo", "balanced")]
    common.table("One simulated week", columns, rows)
    text = screen.file.getvalue()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert lines[0] == "One simulated week" and lines[1] == "fifo" and "balanced" in lines
    for row in rows:
        for name, cell in zip(columns[1:], row[1:], strict=True):
            assert any(line.split() == [*name.split(), *cell.split()] for line in lines)
    # a value longer than the line wraps between words, aligned under its first word
    screen.file.truncate(0)
    screen.file.seek(0)
    mix = "platinum 262, gold 1,496, silver 3,836, standard 17,976, and a few more tiers"
    common.table("Tiers", ["policy", "tier mix (highest first)", *columns[1:]], [["value-first", mix, *rows[0][1:]]])
    lines = screen.file.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 60
    start = next(i for i, line in enumerate(lines) if "tier mix" in line)
    indent = lines[start].index("platinum")
    assert lines[start + 1].startswith(" " * indent) and not lines[start + 1][indent].isspace()
    assert " ".join(" ".join(lines[start:start + 3]).split()).find(mix) > 0
    # piped (not a terminal), the plain columns are kept whatever the width: one row a line
    piped = Console(file=io.StringIO(), width=60, highlight=False)
    monkeypatch.setattr(common, "console", piped)
    common.table("One simulated week", columns, rows)
    assert len(piped.file.getvalue().splitlines()) == 1 + 1 + len(rows)


def test_prose_wraps_between_words_with_its_indent_and_no_trailing_space(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from fairserve.cli import common

    screen = Console(file=io.StringIO(), force_terminal=True, width=40, highlight=False)
    monkeypatch.setattr(common, "console", screen)
    words = "why: a later contact is answered first only if it is due earlier than yours /a/very/long/path/kept/whole"
    common.prose(words, indent=4)
    lines = screen.file.getvalue().splitlines()
    assert len(lines) > 2 and all(line.startswith("    ") and line == line.rstrip() for line in lines)
    assert all(len(line) <= 40 for line in lines if "/a/very" not in line)
    assert " ".join(" ".join(lines).split()) == words  # nothing lost, a long word never broken


def test_simulate_a_scenario_drawing_from_a_base_without_one_names_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's `fairserve simulate SCENARIO -p fifo -p balanced` on demo-week.toml said only that a segment
    'draws from a customer base, but none was given' (new-user review)."""
    from cli_helpers import run_cli

    code, _out, err = run_cli(["simulate", "demo-week.toml", "-p", "fifo", "-p", "balanced"], capsys)
    assert code == 2
    assert "draw their customers from a scored base: give one with --customers SCORES" in err


_ATEXIT_PROBE = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
    "from fairserve.cli import main\n"
    "{call}\n"
)


@pytest.mark.parametrize(("call", "frozen"), [
    ("sys.argv = ['fairserve', 'policy', 'list']; main()", True),  # the process's command: the console script
    ("main(['policy', 'list'])", False),  # called with arguments, as a library: the caller's exit is left alone
])
def test_the_command_process_exits_without_collecting_its_heap(call: str, frozen: bool, tmp_path) -> None:
    """Run as the process's command, the CLI's last exit handler freezes the heap (the interpreter's shutdown
    then skips its full collections); an exit handler registered before the CLI runs after it and sees so."""
    done = subprocess.run([sys.executable, "-c", _ATEXIT_PROBE.format(call=call)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "balanced" in done.stdout  # the command ran and printed its table before the exit handlers
    assert done.stdout.strip().splitlines()[-1] == f"frozen at exit: {frozen}"
