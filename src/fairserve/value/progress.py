"""Progress of long work in the value pipeline, told to whoever listens; the library never prints it.

A command that wants a progress bar listens (:func:`listening`, or :func:`progress_bar` for a rich bar on the
console it passes in); the work calls :func:`report` with a task name and the fraction done (``None`` when it
cannot tell). Nobody listening costs nothing: :func:`report` returns at once and :func:`poll_duckdb` starts no
thread. The listener is held in a context variable, so concurrent callers (threads of a service, tests) do not
hear each other's work.

DuckDB runs a query in its own threads and releases Python's lock meanwhile, so :func:`poll_duckdb` asks the
connection for the running query's progress (``query_progress()``) from a helper thread, a few times a second.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Listener", "listening", "poll_duckdb", "progress_bar", "report"]

Listener = Callable[[str, float | None], None]
"""Called with a task's name and the fraction of it done, in [0, 1], or ``None`` when that is unknown."""

_LISTENER: contextvars.ContextVar[Listener | None] = contextvars.ContextVar("fairserve_progress", default=None)
_POLL_SECONDS = 0.25


def report(task: str, fraction: float | None = None) -> None:
    """Tell the listener, if any, that ``task`` is ``fraction`` done (``None``: running, amount unknown)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(task, None if fraction is None else min(1.0, max(0.0, float(fraction))))


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Within the block, :func:`report` calls (of this thread and of the pollers it starts) go to ``listener``."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


@contextlib.contextmanager
def poll_duckdb(con: Any, task: str) -> Iterator[None]:
    """While the block runs a query on ``con``, report its progress as ``task`` (never going backwards).

    DuckDB's figure can step back when a query moves from one pipeline to the next; the reported fraction is
    the largest seen, and 1 when the block ends without an error.
    """
    listener = _LISTENER.get()
    if listener is None:
        yield
        return
    done = threading.Event()
    best = [0.0]

    def poll() -> None:
        while not done.wait(_POLL_SECONDS):
            try:
                percent = float(con.query_progress())
            except Exception:  # a closed or busy connection: no figure this time
                continue
            if percent > best[0] * 100:
                best[0] = min(percent / 100, 0.99)
                listener(task, best[0])

    listener(task, 0.0)
    thread = threading.Thread(target=poll, name="fairserve-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    listener(task, 1.0)


@contextlib.contextmanager
def progress_bar(console: Any, text: str) -> Iterator[None]:
    """A rich progress bar on ``console`` for the block, fed by :func:`report` (for the CLI).

    ``text`` names the whole step; each reported task replaces it, with its percentage when known and a
    pulsing bar when not, and its own clock (a finished task's clock stops: the next one starts afresh).
    Drawn only when ``console`` is a terminal, and gone afterwards; elsewhere (a pipe, a log file) nothing is
    written, not even the blank line rich's bar leaves, and no poller runs.
    """
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    if not console.is_terminal:
        yield
        return

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(text, total=None)
        current = [text]

        def show(name: str, fraction: float | None) -> None:
            total, completed = (None, 0.0) if fraction is None else (100, round(fraction * 100, 1))
            if name != current[0]:
                current[0] = name
                bar.reset(task, description=name, total=total)
            bar.update(task, total=total, completed=completed)

        with listening(show):
            yield
