"""Compiled loops of the simulator (numba), with the same inputs and outputs as the pure-Python reference.

``serve`` is the event loop of :func:`fairserve.sim.engine.serve_reference` written over arrays (two binary
heaps kept by hand, because numba's ``heapq`` wants homogeneous lists); a test holds the two to identical results.
``overtakes`` counts, for each contact, the later arrivals served while it waited; it is plain Python that numba
compiles when it is installed and that runs as is otherwise (it is the reference too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["HAVE_NUMBA", "overtakes", "serve"]

try:  # numba is optional (the ``fast`` extra); without it the pure-Python loops run.
    import numba

    HAVE_NUMBA = True
    _jit: Callable[[Any], Any] = numba.njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def _jit(func: Any) -> Any:
        return func


def _serve(
    arrival: np.ndarray,
    order: np.ndarray,
    who: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    agents: int,
    parent: np.ndarray,
) -> np.ndarray:
    n = arrival.size
    start = np.full(n, np.nan)
    real = np.ones(n, dtype=np.bool_)
    wait_heap = np.empty(n, dtype=np.int64)  # min-heap of queue positions (``order``), lower serves first
    nw = 0
    busy = np.empty(agents + 1, dtype=np.float64)  # min-heap of service completion times
    nb = 0
    free = agents
    i = 0
    while i < n or nb > 0:
        t_arr = arrival[i] if i < n else np.inf
        if nb > 0 and busy[0] <= t_arr:
            tc = busy[0]
            # pop the completion
            nb -= 1
            last = busy[nb]
            k = 0
            while True:
                c = 2 * k + 1
                if c >= nb:
                    break
                if c + 1 < nb and busy[c + 1] < busy[c]:
                    c += 1
                if busy[c] < last:
                    busy[k] = busy[c]
                    k = c
                else:
                    break
            if nb > 0:
                busy[k] = last
            served = False
            while nw > 0:
                top = wait_heap[0]
                nw -= 1
                lastw = wait_heap[nw]
                k = 0
                while True:
                    c = 2 * k + 1
                    if c >= nw:
                        break
                    if c + 1 < nw and wait_heap[c + 1] < wait_heap[c]:
                        c += 1
                    if wait_heap[c] < lastw:
                        wait_heap[k] = wait_heap[c]
                        k = c
                    else:
                        break
                if nw > 0:
                    wait_heap[k] = lastw
                j = who[top]
                if tc - arrival[j] < patience[j]:  # still waiting: serve; otherwise it abandoned (lazy deletion)
                    start[j] = tc
                    # push completion tc + service[j]
                    val = tc + service[j]
                    k = nb
                    nb += 1
                    while k > 0:
                        p = (k - 1) // 2
                        if busy[p] > val:
                            busy[k] = busy[p]
                            k = p
                        else:
                            break
                    busy[k] = val
                    served = True
                    break
            if not served:
                free += 1
        elif i < n:
            q = parent[i]
            if q >= 0 and not (real[q] and np.isnan(start[q])):  # a call-back whose first call did not abandon
                real[i] = False
                i += 1
                continue
            if free > 0:
                free -= 1
                start[i] = t_arr
                val = t_arr + service[i]
                k = nb
                nb += 1
                while k > 0:
                    p = (k - 1) // 2
                    if busy[p] > val:
                        busy[k] = busy[p]
                        k = p
                    else:
                        break
                busy[k] = val
            else:
                val2 = order[i]
                k = nw
                nw += 1
                while k > 0:
                    p = (k - 1) // 2
                    if wait_heap[p] > val2:
                        wait_heap[k] = wait_heap[p]
                        k = p
                    else:
                        break
                wait_heap[k] = val2
            i += 1
        else:
            break
    return start


def _overtakes(
    arrival: np.ndarray,
    wait_end: np.ndarray,
    start: np.ndarray,
    rank: np.ndarray,
    vkey: np.ndarray,
    vkey_plain: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per contact: how many later arrivals started service while it waited, and how many of those only by influence.

    Contacts are sorted by arrival. ``wait_end`` is the start of service or the moment of abandonment. A later
    contact ``j`` overtook ``i`` when ``arrival[i] < arrival[j]`` and ``start[j] < wait_end[i]``; it did so by
    influence when, with its influence minutes taken away (``vkey_plain``), its key would come after ``i``'s.
    """
    n = arrival.size
    count = np.zeros(n, dtype=np.int64)
    by_influence = np.zeros(n, dtype=np.int64)
    for i in range(n):
        end = wait_end[i]
        if not end > arrival[i]:
            continue
        j = i + 1
        while j < n and arrival[j] < end:
            if start[j] < end:
                count[i] += 1
                if rank[j] == rank[i] and vkey_plain[j] > vkey[i]:
                    by_influence[i] += 1
            j += 1
    return count, by_influence


serve = _jit(_serve)
overtakes = _jit(_overtakes)
