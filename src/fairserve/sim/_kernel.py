"""The simulator's loops: the plain-Python reference, and the same loop over arrays compiled with numba.

All loops take the same inputs (see :func:`fairserve.sim.engine.serve`) and return each contact's start of
service (NaN: abandoned or never happened), whether it happened at all (a call-back happens only when the call
it follows abandoned), and whether its service was forced by the wait guarantee.

The wait guarantee: a policy may bound the wait on a channel. At each dispatch (an agent becomes free), a
waiting contact whose wait exceeds its guarantee goes before every contact still within its guarantee; among
several, the one whose guarantee ran out first (least ``arrival + guarantee``, then arrival, then position);
otherwise the head of the key heap. Contacts are grouped into *lanes* of equal guarantee (``lane``; -1: none),
and within a lane arrival order is deadline order, so each lane is a FIFO: the loop keeps one read pointer per
lane over the lane's contacts in arrival order, and at a dispatch looks at each lane's first contact still
waiting (those served, abandoned or that never happened are skipped for good, lazily, like the heap drops
abandoned contacts). A contact served by the guarantee stays in the key heap and is dropped when it surfaces.
With no lanes (``lane`` empty) the probe is skipped and the loop is the plain priority queue.

* :func:`serve_reference` keeps its two queues with the standard library's :mod:`heapq` on Python lists: the
  reference, and the fast way in plain CPython.
* :func:`serve` is the same loop over preallocated arrays, compiled: :func:`_serve`, whose two binary heaps
  are kept by :func:`_heap_push`, :func:`_heap_pop` and :func:`_heap_replace`, written once (numba's ``heapq``
  wants homogeneous lists), and whose guarantee order is :func:`_before`. These helpers are compiled with the
  same ``_jit`` as the loop, which calls them compiled (and numba caches them together); without numba ``_jit``
  leaves them all plain Python. :func:`serve_arrays` is the loop uncompiled. Tests hold the loops to identical
  results (with and without guarantees), the heap functions (compiled and plain) to :mod:`heapq`, and the
  reference to simpy. The compiled functions write into arrays allocated by :func:`buffer` (on huge pages) and
  passed in.
* :func:`overtakes` counts, for each contact, the later arrivals served while it waited; it is plain Python that
  numba compiles when it is installed and that runs as is otherwise (it is the reference too).
* :data:`group_sums`, :data:`count_by_group` and :func:`gather_by_group` are the metrics' passes over a
  replication's rows (sums and counts per group; each group's positive waits put together for its
  percentiles), compiled the same way; tests hold the metrics they give to NumPy and pandas on the same frame.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "COMPILED",
    "HAVE_NUMBA",
    "after_the_loop",
    "buffer",
    "count_by_group",
    "first_of_each",
    "gather_by_group",
    "group_sums",
    "outcomes",
    "overtakes",
    "rank_order",
    "same_partition",
    "serve",
    "serve_arrays",
    "serve_reference",
]

Loop = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]

try:  # numba is optional (the ``fast`` extra); without it the pure-Python loops run.
    import numba

    HAVE_NUMBA = True
    _jit: Callable[[Any], Any] = numba.njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def _jit(func: Any) -> Any:
        return func


def serve_reference(
    arrival: np.ndarray,
    order: np.ndarray,
    who: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    agents: int,
    parent: np.ndarray,
    guarantee: np.ndarray,
    lane: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The event loop in plain Python with :mod:`heapq`: each contact's start, whether it happened, and forced."""
    a = arrival.tolist()
    o = order.tolist()
    w = who.tolist()
    s = service.tolist()
    p = patience.tolist()
    n = len(a)
    par = parent.tolist() if parent.size else [-1] * n  # empty: no call-backs
    g = guarantee.tolist()
    real = [True] * n
    start = [math.nan] * n
    forced = [False] * n
    lanes: list[list[int]] = [[] for _ in range(max(lane.tolist(), default=-1) + 1)]
    for j, k in enumerate(lane.tolist()):  # each lane's contacts in arrival order
        if k >= 0:
            lanes[k].append(j)
    head = [0] * len(lanes)  # read pointer of each lane
    waiting: list[int] = []  # queue positions of waiting contacts (abandoned ones are dropped when popped)
    busy: list[float] = []  # completion times
    free = agents
    i = 0
    while i < n or busy:
        t_arr = a[i] if i < n else math.inf
        if busy and busy[0] <= t_arr:  # a completion: the agent takes the first contact still waiting
            tc = heapq.heappop(busy)
            due = -1  # the waiting contact past its guarantee whose guarantee ran out first
            for k, items in enumerate(lanes):
                q = head[k]
                while q < len(items) and items[q] < i:  # arrived: skip those served, gone or never there
                    c = items[q]
                    if start[c] == start[c] or not real[c] or tc - a[c] >= p[c]:
                        q += 1
                    else:
                        break
                head[k] = q
                if q < len(items) and items[q] < i:
                    c = items[q]
                    if tc - a[c] > g[c] and (due < 0 or (a[c] + g[c], a[c], c) < (a[due] + g[due], a[due], due)):
                        due = c
            if due >= 0:
                start[due] = tc
                forced[due] = True
                heapq.heappush(busy, tc + s[due])
                continue
            while waiting:
                j = w[heapq.heappop(waiting)]
                if start[j] != start[j] and tc - a[j] < p[j]:  # not served by the guarantee, not gone
                    start[j] = tc
                    heapq.heappush(busy, tc + s[j])
                    break
            else:
                free += 1
        elif i < n:  # an arrival: served at once by a free agent, else it waits
            q = par[i]
            if q >= 0 and not (real[q] and start[q] != start[q]):  # a call-back whose first call did not abandon
                real[i] = False
            elif free:
                free -= 1
                start[i] = t_arr
                heapq.heappush(busy, t_arr + s[i])
            else:
                heapq.heappush(waiting, o[i])
            i += 1
        else:  # pragma: no cover - the loop condition excludes it
            break
    return np.asarray(start, dtype=float), np.asarray(real, dtype=bool), np.asarray(forced, dtype=bool)


@_jit
def _heap_push(heap: np.ndarray, size: int, value: Any) -> int:
    """Push ``value`` on the binary min-heap ``heap[:size]`` (sift up); return the new size."""
    k = size
    while k > 0:
        up = (k - 1) // 2
        if heap[up] > value:
            heap[k] = heap[up]
            k = up
        else:
            break
    heap[k] = value
    return size + 1


@_jit
def _heap_pop(heap: np.ndarray, size: int) -> int:
    """Remove the least element ``heap[0]`` of the min-heap ``heap[:size]`` (sift down); return the new size."""
    size -= 1
    _heap_replace(heap, size, heap[size])  # the last element sifted down from the root (size 0: a no-op slot)
    return size


@_jit
def _heap_replace(heap: np.ndarray, size: int, value: Any) -> None:
    """Replace the least element ``heap[0]`` of the min-heap ``heap[:size]`` by ``value`` (sift down).

    A pop and a push in one pass: the heap then holds the same values as after :func:`_heap_pop` and
    :func:`_heap_push` (only their places may differ, and the loop reads nothing but the least).
    """
    k = 0
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        if child + 1 < size:
            child += 1 if heap[child + 1] < heap[child] else 0  # a select, not a branch the CPU must guess
        if heap[child] < value:
            heap[k] = heap[child]
            k = child
        else:
            break
    heap[k] = value


@_jit
def _before(d1: float, a1: float, c1: int, d2: float, a2: float, c2: int) -> bool:
    """Whether ``(d1, a1, c1) < (d2, a2, c2)``: guarantee deadline, then arrival, then position."""
    if d1 != d2:
        return d1 < d2
    if a1 != a2:
        return a1 < a2
    return c1 < c2


_PAGE = 2**21  # a transparent huge page


def buffer(n: int, dtype: Any, fill: Any = None) -> np.ndarray:
    """A fresh array of ``n`` items that starts on a 2 MiB boundary, filled with ``fill`` (None: left as is).

    NumPy asks the operating system for transparent huge pages on large arrays, but an array that does not
    start on a huge-page boundary is partly backed by 4 KiB pages, and the first write of each costs a page
    fault: a fresh million-row float array about 420 of them, and one allocated inside numba (which asks for no
    huge pages) about 2,000. Aligned, it is backed by 2 MiB pages, a handful of faults. The loops' outputs are
    allocated here and passed in.
    """
    size = n * np.dtype(dtype).itemsize
    if size < _PAGE:
        out = np.empty(n, dtype)
    else:
        raw = np.empty(size + 2 * _PAGE, dtype=np.uint8)  # room to skip to the boundary and end on a whole page
        skip = -raw.ctypes.data % _PAGE
        out = raw[skip : skip + size].view(dtype)
    if fill is not None:
        out.fill(fill)
    return out


def _serve(
    arrival: np.ndarray,
    order: np.ndarray,
    who: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    agents: int,
    parent: np.ndarray,
    guarantee: np.ndarray,
    lane: np.ndarray,
    start: np.ndarray,
    real: np.ndarray,
    forced: np.ndarray,
    waiting: np.ndarray,
) -> None:
    """:func:`serve_reference` over arrays, its two heaps kept with :func:`_heap_push` and :func:`_heap_pop`
    (an agent who finishes one contact and takes the next: :func:`_heap_replace`, a pop and push in one pass).

    Writes each contact's ``start``, ``real`` and ``forced`` (given filled with NaN, True and False); an empty
    ``parent`` means no call-backs;
    ``waiting`` (``n`` items, any content) holds the heap of waiting contacts. The lanes are one array of
    contact indices grouped by lane, in arrival order within each (``items``, lane ``k`` in
    ``items[first[k]:first[k + 1]]``), and one read pointer per lane (``head``).
    """
    n = arrival.size
    lanes = 0
    if lane.size > 0:
        lanes = max(int(lane.max()) + 1, 0)
    first = np.zeros(lanes + 1, dtype=np.int64)
    for j in range(lane.size if lanes > 0 else 0):
        if lane[j] >= 0:
            first[lane[j] + 1] += 1
    for k in range(lanes):
        first[k + 1] += first[k]
    head = first[:lanes].copy()
    items = np.empty(first[lanes], dtype=np.int64)
    for j in range(lane.size if lanes > 0 else 0):
        if lane[j] >= 0:
            items[head[lane[j]]] = j
            head[lane[j]] += 1
    head[:] = first[:lanes]
    callbacks = parent.size > 0  # else no contact is a call-back
    nw = 0  # waiting[:nw]: min-heap of queue positions (``order``), lower serves first
    busy = np.empty(agents + 1, dtype=np.float64)  # min-heap of service completion times
    nb = 0
    free = agents
    i = 0
    while i < n or nb > 0:
        t_arr = arrival[i] if i < n else np.inf
        if nb > 0 and busy[0] <= t_arr:  # a completion: the agent takes the first contact still waiting
            tc = busy[0]  # popped below, or replaced by the completion of the contact the agent takes
            due = -1  # the waiting contact past its guarantee whose guarantee ran out first
            for k in range(lanes):
                q = head[k]
                end = first[k + 1]
                while q < end and items[q] < i:  # arrived: skip those served, gone or never there
                    c = items[q]
                    if not np.isnan(start[c]) or not real[c] or tc - arrival[c] >= patience[c]:
                        q += 1
                    else:
                        break
                head[k] = q
                if q < end and items[q] < i:
                    c = items[q]
                    if tc - arrival[c] > guarantee[c] and (
                        due < 0
                        or _before(
                            arrival[c] + guarantee[c], arrival[c], c, arrival[due] + guarantee[due], arrival[due], due
                        )
                    ):
                        due = c
            if due >= 0:
                start[due] = tc
                forced[due] = True
                _heap_replace(busy, nb, tc + service[due])
                continue
            served = False
            while nw > 0 and not served:
                j = who[waiting[0]]
                nw = _heap_pop(waiting, nw)
                if np.isnan(start[j]) and tc - arrival[j] < patience[j]:  # else served by the guarantee, or gone
                    start[j] = tc
                    _heap_replace(busy, nb, tc + service[j])
                    served = True
            if not served:
                nb = _heap_pop(busy, nb)
                free += 1
        elif i < n:  # an arrival: served at once by a free agent, else it waits
            q = parent[i] if callbacks else -1
            if q >= 0 and not (real[q] and np.isnan(start[q])):  # a call-back whose first call did not abandon
                real[i] = False
            elif free > 0:
                free -= 1
                start[i] = t_arr
                nb = _heap_push(busy, nb, t_arr + service[i])
            else:
                nw = _heap_push(waiting, nw, order[i])
            i += 1
        else:
            break


def _count_overtakes(
    arrival: np.ndarray,
    start: np.ndarray,
    patience: np.ndarray,
    real: np.ndarray,
    forced: np.ndarray,
    rank: np.ndarray,
    vkey: np.ndarray,
    vkey_plain: np.ndarray,
    count: np.ndarray,
    by_influence: np.ndarray,
) -> None:
    """:func:`_overtakes` into ``count`` and ``by_influence`` (given filled with zeros)."""
    n = arrival.size
    for i in range(n):
        end = start[i]  # the end of its wait: its service, else it gave up, else (it never happened) its arrival
        if np.isnan(end):
            end = arrival[i] + patience[i] if real[i] else arrival[i]
        if not end > arrival[i]:
            continue
        j = i + 1
        while j < n and arrival[j] < end:
            if start[j] < end:
                count[i] += 1
                if rank[j] == rank[i] and not forced[j] and vkey_plain[j] > vkey[i]:
                    by_influence[i] += 1
            j += 1


def _overtakes(
    arrival: np.ndarray,
    start: np.ndarray,
    patience: np.ndarray,
    real: np.ndarray,
    forced: np.ndarray,
    rank: np.ndarray,
    vkey: np.ndarray,
    vkey_plain: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per contact: how many later arrivals started service while it waited, and how many of those only by influence.

    Contacts are sorted by arrival; ``start``, ``real`` and ``forced`` are the loop's results. A contact's wait
    ends at its start of service, else when its patience ran out (a call-back that never happened: at once). A
    later contact ``j`` overtook ``i`` when ``arrival[i] < arrival[j]`` and ``start[j]`` is before the end of
    ``i``'s wait; it did so by influence when, with its influence minutes taken away (``vkey_plain``), its key
    would come after ``i``'s (never when the wait guarantee served it, ``forced``). The plain-Python
    reference; :func:`overtakes` runs the same code compiled.
    """
    return _run_overtakes(_count_overtakes, arrival, start, patience, real, forced, rank, vkey, vkey_plain)


def _run_overtakes(core: Callable[..., None], *inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = inputs[0].size
    count, by_influence = buffer(n, np.int64, 0), buffer(n, np.int64, 0)
    core(*inputs, count, by_influence)
    return count, by_influence


def _run_serve(core: Callable[..., None], *inputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = inputs[0].size
    start, real, forced = buffer(n, np.float64, np.nan), buffer(n, np.bool_, True), buffer(n, np.bool_, False)
    core(*inputs, start, real, forced, buffer(n, np.int64))
    return start, real, forced


@_jit
def _add(sums: np.ndarray, carry: np.ndarray, row: int, col: int, x: float) -> None:
    """``sums[row, col] += x``, its rounding error kept in ``carry[row, col]`` (Neumaier's compensated sum)."""
    s = sums[row, col]
    t = s + x
    carry[row, col] += (s - t) + x if abs(s) >= abs(x) else (x - t) + s
    sums[row, col] = t


def _group_sums(
    codes: np.ndarray,
    offsets: np.ndarray,
    keep: np.ndarray,
    wait: np.ndarray,
    served: np.ndarray,
    overtaken: np.ndarray,
    overtaken_influence: np.ndarray,
    sla_ok: np.ndarray,
    promise_ok: np.ndarray,
    revenue: np.ndarray,
    exposure: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The sums the metrics of every group of every grouping are made of, in one pass over the rows.

    ``codes[g, i]`` is row ``i``'s group in grouping ``g`` (-1: in none); group ``k`` of grouping ``g`` is row
    ``offsets[g] + k`` of the table, and its last row (``offsets[-1]``) holds every kept row. Only rows with
    ``keep[i]`` count. Columns of the table: rows, then the sums of wait, served, wait of the served, waited
    (wait > 0), sla_ok, promise_ok, overtaken, overtaken at least once, overtaken_influence, revenue and
    exposure (either given empty when zero in every row). The sums of floats are compensated (Neumaier), so
    they are the exact sums rounded once, whatever the rows' order. Also returns each table row's first row
    ``i`` (-1: none).
    """
    groupings = codes.shape[0]
    total = offsets[groupings]
    sums = np.zeros((total + 1, 12))
    carry = np.zeros((total + 1, 12))  # the rounding errors of the float sums (columns 1, 3, 10, 11)
    first = np.full(total + 1, -1, dtype=np.int64)
    for i in range(keep.size):
        if not keep[i]:
            continue
        w = wait[i]
        for g in range(groupings + 1):
            if g < groupings:
                k = codes[g, i]
                if k < 0:
                    continue
                row = offsets[g] + k
            else:
                row = total
            if first[row] < 0:
                first[row] = i
            sums[row, 0] += 1.0
            _add(sums, carry, row, 1, w)
            if served[i]:
                sums[row, 2] += 1.0
                _add(sums, carry, row, 3, w)
            if w > 0:
                sums[row, 4] += 1.0
            if sla_ok[i]:
                sums[row, 5] += 1.0
            if promise_ok[i]:
                sums[row, 6] += 1.0
            sums[row, 7] += overtaken[i]
            if overtaken[i] > 0:
                sums[row, 8] += 1.0
            sums[row, 9] += overtaken_influence[i]
            if revenue.size:
                _add(sums, carry, row, 10, revenue[i])
            if exposure.size:
                _add(sums, carry, row, 11, exposure[i])
    for col in (1, 3, 10, 11):
        sums[:, col] += carry[:, col]
    return sums, first


def _gather_by_group(
    codes: np.ndarray, keep: np.ndarray, values: np.ndarray, bounds: np.ndarray, out: np.ndarray, positive: bool
) -> None:
    """``values`` of the kept rows grouped by code: group ``k``'s in ``out[bounds[k]:bounds[k + 1]]``, in row order.

    ``bounds`` are the cumulative counts of kept rows per code (:func:`_count_by_group`); code -1: left out.
    ``codes`` is one grouping's row of the codes that :func:`_group_sums` takes. ``positive``: only the
    values above zero (``bounds`` then count those).
    """
    at = bounds[:-1].copy()
    for i in range(codes.size):
        k = codes[i]
        if k >= 0 and keep[i] and (values[i] > 0 or not positive):
            out[at[k]] = values[i]
            at[k] += 1


def _count_by_group(codes: np.ndarray, keep: np.ndarray, values: np.ndarray, kept: np.ndarray,
                    positive: np.ndarray) -> int:
    """Per code, the kept rows (into ``kept``) and those of them whose value is above zero (``positive``), both
    given filled with zeros; returns how many kept rows in a group have a value neither zero nor above (NaN,
    negative)."""
    odd = 0
    for i in range(codes.size):
        k = codes[i]
        if k >= 0 and keep[i]:
            v = values[i]
            kept[k] += 1
            positive[k] += 1 if v > 0 else 0
            odd += 0 if v >= 0 else 1
    return odd


def _first_of_each(values: np.ndarray, lo: int, span: int, first: np.ndarray, inverse: np.ndarray) -> int:
    """Number the distinct ``values`` (integers in ``lo .. lo + span - 1``) in order of first appearance.

    Writes each row's number into ``inverse`` and the first row of number ``k`` into ``first[k]``; returns how
    many distinct values there are.
    """
    code = np.full(span, -1, dtype=np.int64)
    count = 0
    for i in range(values.size):
        v = values[i] - lo
        c = code[v]
        if c < 0:
            c = count
            code[v] = c
            first[c] = i
            count += 1
        inverse[i] = c
    return count


def _after_the_loop(
    start: np.ndarray,
    t: np.ndarray,
    patience: np.ndarray,
    real: np.ndarray,
    warmup: float,
    wait: np.ndarray,
    served: np.ndarray,
    abandoned: np.ndarray,
    measured: np.ndarray,
) -> None:
    """Each contact's ``wait`` (to its start, else its patience), ``served``, ``abandoned`` (it happened and was
    not served) and ``measured`` (it happened after the warm-up), in one pass over the loop's results."""
    for i in range(start.size):
        s = start[i]
        ok = not np.isnan(s)
        served[i] = ok
        wait[i] = s - t[i] if ok else patience[i]
        abandoned[i] = real[i] and not ok
        measured[i] = t[i] >= warmup and real[i]


_BIG = float(np.finfo(np.float64).max)


@_jit
def _nan_to_num(x: float) -> float:
    """``np.nan_to_num(x)``: NaN is 0, an infinity the largest finite float of its sign."""
    if np.isnan(x):
        return 0.0
    if np.isinf(x):
        return _BIG if x > 0 else -_BIG
    return x


def _outcomes(
    wait: np.ndarray,
    served: np.ndarray,
    target: np.ndarray,
    sla_seconds: np.ndarray,
    unit: float,
    base: float,
    abandon: float,
    sla_miss: float,
    per_unit_late: float,
    clv: np.ndarray,
    public: np.ndarray,
    reach: np.ndarray,
    sentiment: np.ndarray,
    sla_ok: np.ndarray,
    promise: np.ndarray,
    promise_ok: np.ndarray,
    p_churn: np.ndarray,
    revenue: np.ndarray,
    exposure: np.ndarray,
) -> None:
    """Each contact's outcomes (:func:`fairserve.sim.metrics.outcome_columns`) in one pass over the rows.

    ``target`` is the scenario's answer-within target, ``sla_seconds`` the policy's promise (NaN: none), both
    per row; the churn response is ``base``, ``abandon``, ``sla_miss`` and ``per_unit_late``. ``clv``,
    ``reach`` and ``sentiment`` may be empty (unknown: nothing at risk, no exposure). Writes ``sla_ok`` and
    ``promise_ok``, and ``promise`` (time units; inf: none), ``p_churn``, ``revenue`` and ``exposure`` unless
    given empty. The arithmetic is NumPy's whole-array expressions', operation for operation:
    ``p = min(base + (sla_miss + per_unit_late * (wait - target)), 1)`` when answered late,
    ``min(base + abandon, 1)`` when not answered, else ``min(base, 1)``; ``revenue = nan_to_num(clv) * p``;
    ``exposure = nan_to_num(reach) * max(0, -nan_to_num(sentiment))`` when public and not answered in time.
    """
    for i in range(wait.size):
        w = wait[i]
        answered = served[i]
        ok = answered and w <= target[i]
        sla_ok[i] = ok
        pr = sla_seconds[i] / unit
        if np.isnan(pr):
            pr = np.inf
        if promise.size:
            promise[i] = pr
        promise_ok[i] = answered and w <= pr
        if not answered:
            p = base + abandon
        elif not ok:
            p = base + (sla_miss + per_unit_late * (w - target[i]))
        else:
            p = base
        if p > 1.0:
            p = 1.0
        if p_churn.size:
            p_churn[i] = p
        if revenue.size:
            revenue[i] = _nan_to_num(clv[i]) * p if clv.size else 0.0
        if exposure.size:
            x = 0.0
            if public[i] and not ok:
                r = _nan_to_num(reach[i]) if reach.size else 0.0
                neg = -_nan_to_num(sentiment[i]) if sentiment.size else -0.0
                x = r * (0.0 if neg <= 0.0 else neg)
            exposure[i] = x


def _same_partition(a: np.ndarray, b: np.ndarray, keep: np.ndarray, to: np.ndarray, back: np.ndarray) -> bool:
    """Whether the codes ``a`` and ``b`` part the kept rows into the same groups (code -1: in none, in both).

    ``to`` and ``back`` (one item per code of ``a`` and of ``b``, given filled with -1) receive the code of
    ``b`` that each code of ``a`` is, and the reverse (-1: a code no kept row has). Stops at the first row that
    tells the two apart.
    """
    for i in range(keep.size):
        if not keep[i]:
            continue
        x = a[i]
        y = b[i]
        if (x < 0) != (y < 0):
            return False
        if x < 0:
            continue
        if to[x] < 0 and back[y] < 0:
            to[x] = y
            back[y] = x
        elif to[x] != y or back[y] != x:
            return False
    return True


def _rank_order(rank: np.ndarray, lo: int, span: int, by: np.ndarray, who: np.ndarray, order: np.ndarray) -> None:
    """The contacts sorted stably by rank into ``who``, and each contact's place in it into ``order``.

    Contacts are taken in the sequence ``by`` (empty: ``0, 1, ..., n - 1``), and their ranks are integers in
    ``lo .. lo + span - 1``: a counting sort, so ``who`` is ``by[np.argsort(rank[by], kind="stable")]`` and
    ``order[who[i]] == i``.
    """
    n = who.size
    slot = np.zeros(span + 1, dtype=np.int64)
    for i in range(n):
        j = by[i] if by.size else i
        slot[rank[j] - lo + 1] += 1
    for k in range(span):
        slot[k + 1] += slot[k]
    for i in range(n):
        j = by[i] if by.size else i
        r = rank[j] - lo
        who[slot[r]] = j
        order[j] = slot[r]
        slot[r] += 1


_serve_compiled = _jit(_serve)
rank_order = _jit(_rank_order)
_overtakes_compiled = _jit(_count_overtakes)
_gather_compiled = _jit(_gather_by_group)
count_by_group = _jit(_count_by_group)
group_sums = _jit(_group_sums)
same_partition = _jit(_same_partition)
first_of_each = _jit(_first_of_each)
after_the_loop = _jit(_after_the_loop)
outcomes = _jit(_outcomes)
COMPILED = (_serve_compiled, _overtakes_compiled, rank_order, group_sums, _gather_compiled, same_partition,
            first_of_each, after_the_loop, outcomes, count_by_group)
"""The compiled functions (numba dispatchers when numba is installed), which :func:`fairserve.sim.engine._warm`
loads before the clock starts."""


def serve_arrays(*inputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The array loop (:func:`_serve`) uncompiled, with the inputs of :func:`serve_reference`."""
    return _run_serve(_serve, *inputs)


def serve(*inputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The array loop (:func:`_serve`) compiled, with the inputs of :func:`serve_reference`."""
    return _run_serve(_serve_compiled, *inputs)


def overtakes(*inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_overtakes` compiled."""
    return _run_overtakes(_overtakes_compiled, *inputs)


def gather_by_group(
    codes: np.ndarray, keep: np.ndarray, values: np.ndarray, bounds: np.ndarray, positive: bool = False
) -> np.ndarray:
    """:func:`_gather_by_group` compiled, into a new array."""
    out = buffer(int(bounds[-1]), values.dtype)
    _gather_compiled(codes, keep, values, bounds, out, positive)
    return out
