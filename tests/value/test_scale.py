"""The mechanics that let one machine summarise a log bigger than its memory (issue 15, item 4), at a small size.

The 100-million-transaction claim itself is ``benchmarks/scale.py``'s (docs/benchmarks.md, "Scale"); here: the
DuckDB memory limit never asks for more than half the machine, a log over the limit is summarised by spilling to
the private directory with the same result, the summary reports its progress to a listener, and the CLI draws a
bar from it on a terminal only.
"""

from __future__ import annotations

import io
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from cli_helpers import run_cli as run
from fairserve.value import Summary, summarise
from fairserve.value.progress import listening, progress_bar, report
from fairserve.value.rfm_engine import duckdb_memory_mib

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale  # the benchmark's own generator: the tests summarise the log it writes

GiB = 2**30


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 400,000 transactions of 40,000 customers, as the scale benchmark writes them (Parquet)."""
    path = tmp_path_factory.mktemp("scale") / "log.parquet"
    facts = scale.generate(40_000, 10, path, threads=2, memory_limit="1GiB")
    assert facts["customers"] == 40_000
    assert 380_000 < facts["transactions"] < 420_000
    return path


def test_duckdb_memory_is_sized_from_the_log_but_capped_at_half_the_machine() -> None:
    machine = 24 * GiB
    # 100M transactions at 90 bytes each: 8,583 MiB, under half of 24 GiB, so not capped
    assert duckdb_memory_mib(100_000_000, machine) == -(-100_000_000 * 90 // 2**20)
    # 1 billion would ask for 84 GiB: capped at 12 GiB, and DuckDB spills the rest
    assert duckdb_memory_mib(1_000_000_000, machine) == 12 * 1024
    assert duckdb_memory_mib(1_000, machine) == 512  # the floor
    assert duckdb_memory_mib(1_000_000_000, 512 * 2**20) == 512  # the floor wins over the cap on a tiny machine


def test_a_log_over_the_memory_limit_spills_and_gives_the_same_summary(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the Runner makes its private spill directory

    def spilled_while(run: Callable[[], Summary]) -> tuple[Summary, bool]:
        """Run ``run``, watching the spill directories for DuckDB's block files meanwhile."""
        found, done = threading.Event(), threading.Event()

        def watch() -> None:
            while not done.is_set() and not found.is_set():
                if any(p.is_file() and "storage" in p.name for p in tmp_path.glob("fairserve-duckdb-*/*")):
                    found.set()
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            return run(), found.is_set()
        finally:
            done.set()
            watcher.join()

    roomy, spilled = spilled_while(lambda: summarise(log))
    assert not spilled  # fairserve's own limit: no spilling at this size
    tight, spilled = spilled_while(lambda: summarise(log, memory_limit="24MB", threads=1))
    assert spilled, "DuckDB did not spill under a 24 MB limit"
    pd.testing.assert_frame_equal(roomy.customers, tight.customers)
    pd.testing.assert_frame_equal(roomy.compressed, tight.compressed)
    assert not list(tmp_path.glob("fairserve-duckdb-*"))  # the spill directory goes with the session


@pytest.mark.parametrize(("native", "first"), [(False, "Checking"), (True, "Reading")])
def test_the_summary_reports_its_progress_to_a_listener(log: Path, native: bool, first: str) -> None:
    heard: list[tuple[str, float | None]] = []
    with listening(lambda task, fraction: heard.append((task, fraction))):
        summary = summarise(log, native=native)
    assert len(summary.customers) == 40_000
    tasks = list(dict.fromkeys(task for task, _ in heard))
    assert tasks == [f"{first} {log}", f"Summarising {log}"]
    for task in tasks:
        fractions = [f for t, f in heard if t == task and f is not None]
        assert len(fractions) == sum(1 for t, _ in heard if t == task)  # a query always knows how far it is
        assert fractions[0] == 0.0 and fractions[-1] == 1.0
        assert fractions == sorted(fractions)  # never backwards
    heard.clear()
    summarise(log)  # nobody listening now
    report("anything", 0.5)
    assert heard == []


def test_a_csv_log_reports_reading_it_too(log: Path, tmp_path: Path) -> None:
    csv = tmp_path / "log.csv"
    pd.read_parquet(log).head(5_000).to_csv(csv, index=False)
    heard: list[str] = []
    with listening(lambda task, fraction: heard.append(task)):
        summarise(csv, native=False)
    assert list(dict.fromkeys(heard)) == [f"Reading {csv}", f"Checking {csv}", f"Summarising {csv}"]


def test_the_bar_is_drawn_on_a_terminal_only(log: Path) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    with progress_bar(terminal, "Summarising"):
        summarise(log)
    assert f"Summarising {log}" in screen.getvalue()
    assert "100%" in screen.getvalue()
    piped = io.StringIO()
    with progress_bar(Console(file=piped, force_terminal=False, width=120), "Summarising"):
        summarise(log)
    assert piped.getvalue() == ""


def test_value_fit_prints_no_bar_when_stderr_is_not_a_terminal(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["value", "fit", str(log), "--scores-out", str(tmp_path / "scores.parquet")], capsys)
    assert code == 0, err
    assert "scored 40,000 customers" in " ".join(out.split())
    assert "Summarising" not in err and "%" not in err
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert len(scores) == 40_000 and scores["clv"].notna().all()
