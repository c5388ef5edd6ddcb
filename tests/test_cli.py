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
