"""Run the fairserve CLI in-process, as the tests of every command group do."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairserve.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``fairserve ARGV``; return (exit code, stdout, stderr with rich's line wrapping undone)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def write_cdnow_csv(path: Path, date_format: str = "%Y-%m-%d") -> Path:
    """The CDNOW sample log (lifetimes') written as a user's CSV, ``customer_id,date,amount``; return ``path``."""
    from fairserve.datasets import cdnow_sample

    log = cdnow_sample()
    log.assign(date=log["date"].dt.strftime(date_format)).to_csv(path, index=False)
    return path
