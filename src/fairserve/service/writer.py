"""Group commit: one thread per worker stores the intakes that arrived together in one transaction.

Much of an intake's cost is its transaction (connection, ``BEGIN``, ``COMMIT``, and on PostgreSQL the round
trips), so the worker's intakes go to one writer thread: it takes the first waiting request, then every other
one already waiting (up to ``max_batch``), and stores them all with
:func:`fairserve.service.intake.intake_many` in one transaction. Each caller is answered only after that
commit, so a 2xx still means stored, and a crash before the commit loses only contacts that were never
answered. Under light load a group is one contact (nothing waits to join it), so latency is that of one
transaction; under heavy load groups grow, and the cost of a transaction is shared.

Callers ``await`` :meth:`IntakeWriter.intake` on their event loop (no thread-pool hop: the writer wakes each
event loop once per group, with all its answers). The thread starts on first use and
:meth:`IntakeWriter.close` stores what is queued before it stops (graceful shutdown loses no accepted contact).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from typing import Any

from sqlalchemy.engine import Engine

from fairserve.service.intake import ContactIn, IntakeRequest, IntakeResult, Triage, intake_many
from fairserve.service.policies import PolicyHolder

__all__ = ["IntakeWriter"]

_STOP = object()
_Job = tuple[IntakeRequest, asyncio.AbstractEventLoop, "asyncio.Future[Any]"]  # a request, and who waits for it


class IntakeWriter:
    """The worker's one writer of intakes (see the module docstring).

    Parameters
    ----------
    engine, holder, triage
        The worker's database, policies and text triage.
    max_batch
        The most intakes stored in one transaction.
    """

    def __init__(self, engine: Engine, holder: PolicyHolder, triage: Triage, max_batch: int = 64) -> None:
        self.engine = engine
        self.holder = holder
        self.triage = triage
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()  # lists of jobs, or _STOP
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job]] = {}

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fairserve-intake-writer", daemon=True)
                self._thread.start()

    async def intake(self, item: ContactIn, source: str, now: float, actor: str = "api") -> IntakeResult:
        """Take in one contact; returns once it is committed (raises what :func:`~.intake.intake` raises).

        The requests an event loop handles in one pass go to the writer together, at the end of that pass (one
        hand-over instead of one each, and groups as large as what arrived together).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append((IntakeRequest(item, source, now, actor), loop, future))
        return _unwrap(await future)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs = self._pending.pop(loop)
        if self._thread is None:  # the thread ends only by close(), which clears this under the lock
            self._start()
        self._queue.put(jobs)

    def close(self, timeout: float = 30.0) -> None:
        """Store every queued intake, then stop the thread (a later intake starts it again)."""
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            self._queue.put(_STOP)
            self._thread = None
        thread.join(timeout)
        if not self._queue.empty():  # an intake that came while closing: a new thread stores it
            self._start()

    def _run(self) -> None:
        jobs: list[_Job] = []
        stop = False
        while not (stop and not jobs):
            if not jobs:
                first = self._queue.get()
                if first is _STOP:
                    return
                jobs = list(first)
            while len(jobs) < self.max_batch and not stop:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                else:
                    jobs.extend(more)
            group, jobs = jobs[:self.max_batch], jobs[self.max_batch:]
            try:
                results: list[Any] = intake_many(self.engine, self.holder, self.triage, [j[0] for j in group])
            except BaseException as exc:  # never leave a caller waiting
                results = [exc] * len(group)
            _settle(group, results)


def _unwrap(result: Any) -> IntakeResult:
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, IntakeResult)
    return result


def _settle(jobs: list[_Job], results: list[Any]) -> None:
    """Hand each caller its result: one wake-up per event loop for the whole group."""
    by_loop: dict[Any, list[tuple[Any, Any]]] = {}
    for (_request, loop, future), result in zip(jobs, results, strict=True):
        by_loop.setdefault(loop, []).append((future, result))
    for loop, pairs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits for these answers any more
            loop.call_soon_threadsafe(_resolve, pairs)


def _resolve(pairs: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in pairs:
        if not future.done():
            future.set_result(result)
