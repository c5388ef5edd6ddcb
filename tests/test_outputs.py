"""Every command checks its output paths before it works: a folder, a path under a file, or an unwritable folder
is refused in one line with exit 2 and nothing is written; missing parent folders are created."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli_helpers import run_cli as run
from cli_helpers import write_cdnow_csv


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cdnow_csv(tmp_path_factory.mktemp("out") / "cdnow.csv")


def test_value_fit_out_is_a_folder(log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(["value", "fit", str(log_csv), "--out", str(tmp_path)], capsys)
    assert code == 2 and f"{tmp_path}: is a folder; give a file name for the model" in err
    assert "internal error" not in err


def test_value_fit_out_under_a_file(log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(["value", "fit", str(log_csv), "--out", str(log_csv / "m.json"),
                          "--scores-out", str(tmp_path / "s.csv")], capsys)
    assert code == 2 and f"{log_csv} is a file, not a folder" in err
    assert not (tmp_path / "s.csv").exists()  # refused before any work


def test_value_fit_creates_missing_folders_as_value_score_does(
    log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "new" / "deeper" / "m.json"
    code, _out, err = run(["value", "fit", str(log_csv), "--out", str(model)], capsys)
    assert code == 0, err
    assert model.is_file()
    scores = tmp_path / "other" / "s.csv"
    code, _out, err = run(["value", "score", str(log_csv), "--model", str(model), "--out", str(scores)], capsys)
    assert code == 0, err
    assert scores.is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_an_unwritable_folder_is_named(log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _out, err = run(["value", "fit", str(log_csv), "--out", str(locked / "m.json")], capsys)
    finally:
        locked.chmod(0o700)
    assert code == 2 and "permission denied" in err


def test_policy_decide_and_allocate_and_simulate_refuse_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,channel,arrival\nc1,phone,0\n")
    code, _out, err = run(["policy", "decide", str(contacts), "--policy", "fifo", "--out", str(tmp_path)], capsys)
    assert code == 2 and "is a folder; give a file name for the decisions" in err
    scenario = tmp_path / "s.toml"
    scenario.write_text('horizon_minutes = 60\n[[channels]]\nname = "phone"\nagents = 2\n'
                        '[[segments]]\nname = "all"\nrate_per_minute = 0.5\n')
    code, _out, err = run(["simulate", str(scenario), "--report", str(tmp_path), "-r", "1"], capsys)
    assert code == 2 and "is a folder; give a file name for the report" in err


@pytest.mark.parametrize(("args", "says"), [
    (["text", "classify", "{posts}", "--out", "{tmp}/x.xlsx"], "x.xlsx: the output is written as .csv, .parquet"),
    (["listen", "{posts}", "--png", "{tmp}/x.jpg"], "x.jpg: the picture is written as .png"),
    (["listen", "{posts}", "--out", "{tmp}/x.pdf"], "x.pdf: the report is written as .html or .htm"),
    (["policy", "decide", "{contacts}", "--policy", "fifo", "--out", "{tmp}/d.xlsx"], "d.xlsx: the decisions"),
])
def test_an_output_name_of_another_format_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    """x.xlsx used to get a CSV, x.jpg a PNG, x.pdf an HTML page (or decide refused only after all its work)."""
    posts, contacts = tmp_path / "posts.csv", tmp_path / "contacts.csv"
    posts.write_text("text,date\nhello,2024-01-01\n")
    contacts.write_text("contact_id,channel,arrival\nc1,phone,0\n")
    fill = {"posts": str(posts), "contacts": str(contacts), "tmp": str(tmp_path)}
    code, _out, err = run([a.format(**fill) for a in args], capsys)
    assert code == 2 and says in " ".join(err.split())
    assert not list(tmp_path.glob("x.*")) and not list(tmp_path.glob("d.*"))


def test_an_os_error_naming_a_path_is_exit_2_not_a_bug() -> None:
    """The safety net of fairserve.cli.main: an OSError with a file name is the machine's answer, not a bug."""
    import subprocess
    import sys

    code = ("import sys\nfrom fairserve import cli\n"
            "@cli.app.command('boom')\n"
            "def boom() -> None:\n    open('/proc/self/does-not-exist', 'w')\n"
            "cli.main(['boom'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "error: /proc/self/does-not-exist:" in done.stderr and "Traceback" not in done.stderr
