"""Run the fairserve CLI in-process, as the tests of every command group do."""

from __future__ import annotations

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
