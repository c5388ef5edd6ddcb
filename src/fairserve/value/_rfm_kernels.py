"""The compiled loops of :mod:`fairserve.value.rfm_native` (numba), apart so that they load while Arrow reads.

Importing numba and loading these kernels from numba's cache takes a few tenths of a second;
:func:`fairserve.value.rfm_native.native_summary` imports this module and calls :func:`warm` on a thread while
the log is being parsed, so the user does not wait for both. What the loops do, and why, is told in
:mod:`fairserve.value.rfm_native`; every function here is compiled (``# pragma: no cover``: coverage cannot see
inside them; the tests of ``rfm_native`` run them).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["BAD_AMOUNT", "BAD_DATE", "BAD_ID", "OK", "OVERFLOW", "group", "parse_days", "place", "scan", "take",
           "unpack", "warm"]

_jit: Any = numba.njit(cache=True, nogil=True)

MAX_ID_BYTES = 16
_SORT_INSERTION_MAX = 32
_BURST = 8  # records a partition gathers before they are written out together (8 x 32 bytes)

# 0, or why a log is handed back to the SQL query
OK, BAD_ID, BAD_AMOUNT, OVERFLOW, BAD_DATE = 0, 1, 2, 3, 4
_OK, _BAD_ID, _BAD_AMOUNT, _OVERFLOW, _MAX_ID_BYTES = OK, BAD_ID, BAD_AMOUNT, OVERFLOW, MAX_ID_BYTES
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
# bytes no id may hold here: the quotes and delimiters DuckDB's CSV sniffer may take a file to use, and the tab
_NOT_IN_ID = (34, 39, 59, 124, 9)


@_jit
def _mix(k1: np.uint64, k2: np.uint64, n: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """SplitMix64's finaliser over the packed id: a well-spread 64-bit hash."""
    z = k1 ^ (k2 * np.uint64(0x9E3779B97F4A7C15)) ^ (n * np.uint64(0xD6E8FEB86659FD93))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@_jit
def _space_at(data: np.ndarray, j: int, stop: int) -> bool:  # pragma: no cover - compiled
    """Whether the UTF-8 character at ``data[j]`` is one DuckDB's ``TRIM`` removes: the Unicode space separators
    (category Zs: U+0020, U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000; measured on DuckDB 2.0.1)."""
    c = data[j]
    if c == 0x20:
        return True
    if c == 0xC2:
        return j + 1 < stop and data[j + 1] == 0xA0
    if j + 2 >= stop:
        return False
    c1, c2 = data[j + 1], data[j + 2]
    if c == 0xE1:
        return c1 == 0x9A and c2 == 0x80
    if c == 0xE2:
        return (c1 == 0x80 and ((0x80 <= c2 <= 0x8A) or c2 == 0xAF)) or (c1 == 0x81 and c2 == 0x9F)
    if c == 0xE3:
        return c1 == 0x80 and c2 == 0x80
    return False


@_jit
def _pack(offsets: np.ndarray, data: np.ndarray, i: int) -> tuple:  # pragma: no cover - compiled
    """Row ``i``'s id (1 to 16 bytes: :func:`_key` checked it) packed big-endian into two words, and its length."""
    lo = offsets[i]
    m = offsets[i + 1] - lo
    a = np.uint64(0)
    b = np.uint64(0)
    for j in range(8):
        a = a << np.uint64(8)
        if j < m:
            a = a | np.uint64(data[lo + j])
    for j in range(8, 16):
        b = b << np.uint64(8)
        if j < m:
            b = b | np.uint64(data[lo + j])
    return a, b, np.int64(m)


@_jit
def _key(offsets: np.ndarray, data: np.ndarray, i: int) -> tuple:  # pragma: no cover - compiled
    """Row ``i``'s id packed as :func:`_pack` packs it, or length 0 when this path does not take it: empty,
    longer than 16 bytes, or with a space first or last (the query trims them). :func:`_scan` refuses the bytes
    of :data:`_NOT_IN_ID` for a whole batch at once."""
    lo = offsets[i]
    m = offsets[i + 1] - lo
    if m < 1 or m > _MAX_ID_BYTES:
        return np.uint64(0), np.uint64(0), 0
    first, last = data[lo], data[lo + m - 1]
    if first == 32 or last == 32:
        return np.uint64(0), np.uint64(0), 0
    if first >= 0x80 or last >= 0x80:  # a character of several bytes at an end: one of Unicode's spaces?
        end = lo + m - 1
        while end > lo and (data[end] & 0xC0) == 0x80:  # back to the first byte of the last character
            end -= 1
        if _space_at(data, lo, lo + m) or _space_at(data, end, lo + m):
            return np.uint64(0), np.uint64(0), 0
    return _pack(offsets, data, i)


@_jit
def _bad_bytes(offsets: np.ndarray, data: np.ndarray) -> bool:  # pragma: no cover - compiled
    """Whether a batch's ids hold a byte of :data:`_NOT_IN_ID` (read with quoting off, a quote means the row was
    quoted, and DuckDB's sniffer might read the file with another quote or delimiter): one pass over its bytes."""
    bad = 0
    for j in range(offsets[0], offsets[len(offsets) - 1]):  # no early exit: the loop vectorises
        c = data[j]
        bad |= (c == 34) | (c == 39) | (c == 59) | (c == 124) | (c == 9)
    return bad != 0


@_jit
def _millionths(x: float) -> Any:  # pragma: no cover - compiled
    """``x`` in millionths as DuckDB casts a DOUBLE to DECIMAL(18, 6) (halves away from zero); -1 if it cannot."""
    if not (x >= 0.0) or x >= 1e12:  # NaN, negative, infinite or past DECIMAL(18, 6)
        return -1
    y = x * 1e6
    r = np.floor(y)
    if y - r >= 0.5:
        r += 1.0
    if r >= 1e18:
        return -1
    return np.int64(r)


@_jit
def _parse_days(offsets: np.ndarray, data: np.ndarray, out: np.ndarray) -> int:  # pragma: no cover - compiled
    """Each text date, strictly ``YYYY-MM-DD`` (year 1 to 9999, a real day), as days since 1970-01-01 in ``out``.

    0, or :data:`BAD_DATE` at the first other text (a space, a time, another form): the query reads such a log,
    since its parser and Arrow's accept different sets of texts (Arrow took "2020-01-05 ", DuckDB does not).
    Days from the civil date: Hinnant's days_from_civil.
    """
    for i in range(len(out)):
        lo = offsets[i]
        if offsets[i + 1] - lo != 10 or data[lo + 4] != 45 or data[lo + 7] != 45:  # 45: '-'
            return BAD_DATE
        v = np.int64(0)
        for j in (0, 1, 2, 3, 5, 6, 8, 9):
            c = np.int64(data[lo + j]) - 48
            if c < 0 or c > 9:
                return BAD_DATE
            v = v * 10 + c
        y, m, d = v // 10000, (v // 100) % 100, v % 100
        if y < 1 or m < 1 or m > 12 or d < 1:
            return BAD_DATE
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        last = 29 if (m == 2 and leap) else _MONTH_DAYS[m - 1]
        if d > last:
            return BAD_DATE
        yy = y - 1 if m <= 2 else y
        era = yy // 400
        yoe = yy - era * 400
        doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
        doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
        out[i] = era * 146097 + doe - 719468
    return _OK


@_jit
def _take(distinct: np.ndarray, index: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[i] = distinct[index[i]]``: a batch's days from its distinct dates, without holding Python's lock
    (NumPy's indexing holds it, and the two threads waited on each other)."""
    for i in range(len(index)):
        out[i] = distinct[index[i]]


@_jit
def _scan(offsets: np.ndarray, data: np.ndarray, days: np.ndarray, amounts: np.ndarray, shift: int,
          counts: np.ndarray, bounds: np.ndarray) -> int:  # pragma: no cover - compiled
    """Check one batch of rows and count them by partition; 0, or the reason the query must read the log.

    ``counts`` gets the rows per partition, ``bounds`` the smallest and largest day seen and the longest id.
    """
    bounds[0] = np.iinfo(np.int64).max
    bounds[1] = np.iinfo(np.int64).min
    bounds[2] = 0
    if _bad_bytes(offsets, data):
        return _BAD_ID
    for i in range(len(days)):
        a, b, m = _key(offsets, data, i)
        if m == 0:
            return _BAD_ID
        if _millionths(amounts[i]) < 0:
            return _BAD_AMOUNT
        p = np.int64(_mix(a, b, np.uint64(m)) >> np.uint64(shift)) if shift < 64 else 0
        counts[p] += 1
        d = days[i]
        if d < bounds[0]:
            bounds[0] = d
        if d > bounds[1]:
            bounds[1] = d
        if m > bounds[2]:
            bounds[2] = m
    return _OK


@_jit
def _place(offsets: np.ndarray, data: np.ndarray, days: np.ndarray, amounts: np.ndarray, shift: int,
           pos: np.ndarray, rec: np.ndarray, min_day: int) -> None:  # pragma: no cover - compiled
    """Write one batch's rows into their partitions' places as records: (k1, k2, day and length, millionths),
    or (k1, day and length, millionths) when ``rec`` has 3 columns (every id is at most 8 bytes, so k2 is 0).

    One record array rather than one array per field, and the records of a partition gathered a few at a time
    in a small buffer that stays in the cache and copied out together ("software write-combining", Satish et
    al. 2010, "Fast sort on CPUs and GPUs", SIGMOD): a few long writes per partition instead of one scattered
    write per field and row. The partition is the hash :func:`_scan` counted by, computed again (cheaper than
    keeping it a row).
    """
    n_parts = len(pos)
    width = rec.shape[1]
    buf = np.empty((n_parts, _BURST, width), dtype=np.int64)
    fill = np.zeros(n_parts, dtype=np.int64)
    for i in range(len(days)):
        a, b, m = _pack(offsets, data, i)  # the scan checked the row
        p = np.int64(_mix(a, b, np.uint64(m)) >> np.uint64(shift)) if shift < 64 else 0
        f = fill[p]
        buf[p, f, 0] = np.int64(a)
        if width == 4:
            buf[p, f, 1] = np.int64(b)
        buf[p, f, width - 2] = ((np.int64(days[i]) - min_day) << 4) | (m - 1)
        buf[p, f, width - 1] = _millionths(amounts[i])
        f += 1
        if f == _BURST:
            j = pos[p]
            rec[j:j + _BURST] = buf[p]
            pos[p] = j + _BURST
            f = 0
        fill[p] = f
    for p in range(n_parts):
        f = fill[p]
        if f:
            j = pos[p]
            rec[j:j + f] = buf[p, :f]
            pos[p] = j + f


@_jit
def _group(starts: np.ndarray, rec: np.ndarray, first_part: int, end_part: int, min_day: int, cal_off: int,
           last_off: int, ago: np.ndarray, ago_from: int, cols: tuple, found: np.ndarray) -> int:  # pragma: no cover
    """Group partitions ``first_part`` to ``end_part - 1`` by exact id and read off each customer's columns.

    The customers go to ``cols[k][starts[first_part]:]`` one after another (partitions have no more customers
    than rows, so two threads grouping two runs of partitions write to places that never overlap, and only
    the memory they fill is touched), their number per partition to ``found[p]``. ``cols`` receives, per
    customer: the packed id (two words and the length), the first and the last purchase day in the calibration
    window, the distinct days there, the amount after the first day's (millionths), the distinct days and the
    amount after the calibration end up to ``last_off``, and the months with a purchase among the window's
    last 12 (``ago[d - ago_from]`` is how many months before the calibration
    end's month day ``d`` is). Days are counted from ``min_day``. Returns 0, or the reason the query must run.
    """
    (o1, o2, olen, first_d, last_d, n_cal, repeat, n_hold, hold, months) = cols
    width = rec.shape[1]
    meta, money = width - 2, width - 1  # the columns of day and length, and of the amount
    biggest = 0
    for p in range(first_part, end_part):
        biggest = max(biggest, starts[p + 1] - starts[p])
    size = 1
    while size < 2 * biggest:
        size *= 2
    table = np.empty(size, dtype=np.int64)
    rep = np.empty(biggest, dtype=np.int64)
    local = np.empty(biggest, dtype=np.int64)
    count = np.empty(biggest + 1, dtype=np.int64)
    order = np.empty(biggest, dtype=np.int64)
    dbuf = np.empty(biggest, dtype=np.int64)
    abuf = np.empty(biggest, dtype=np.int64)
    g = starts[first_part]
    for p in range(first_part, end_part):
        lo = starts[p]
        before = g
        m = starts[p + 1] - lo
        if m == 0:
            continue
        mask = 1
        while mask < 2 * m:
            mask *= 2
        mask -= 1
        table[: mask + 1] = -1
        k = 0
        for i in range(m):
            r = lo + i
            a, n = rec[r, 0], rec[r, meta] & 15
            b = rec[r, 1] if width == 4 else np.int64(0)
            s = np.int64(_mix(np.uint64(a), np.uint64(b), np.uint64(n + 1)) & np.uint64(mask))
            while True:
                t = table[s]
                if t < 0:
                    table[s] = k
                    rep[k] = r
                    local[i] = k
                    k += 1
                    break
                q = rep[t]
                if rec[q, 0] == a and (rec[q, meta] & 15) == n and (width == 3 or rec[q, 1] == b):
                    local[i] = t
                    break
                s = (s + 1) & mask
        count[: k + 1] = 0
        for i in range(m):
            count[local[i] + 1] += 1
        for c in range(k):
            count[c + 1] += count[c]
        for i in range(m):
            c = local[i]
            order[count[c]] = lo + i
            count[c] += 1
        begin = 0
        for c in range(k):
            end = count[c]
            h = end - begin
            for j in range(h):
                r = order[begin + j]
                dbuf[j] = rec[r, meta] >> 4
                abuf[j] = rec[r, money]
            if h <= _SORT_INSERTION_MAX:
                for j in range(1, h):
                    dv, av = dbuf[j], abuf[j]
                    x = j - 1
                    while x >= 0 and dbuf[x] > dv:
                        dbuf[x + 1] = dbuf[x]
                        abuf[x + 1] = abuf[x]
                        x -= 1
                    dbuf[x + 1] = dv
                    abuf[x + 1] = av
            else:
                idx = np.argsort(dbuf[:h], kind="mergesort")
                dsorted = dbuf[:h][idx]
                asorted = abuf[:h][idx]
                dbuf[:h] = dsorted
                abuf[:h] = asorted
            first = dbuf[0]
            if first <= cal_off:  # customers whose first purchase is after the calibration end are left out
                cal_days = 0
                hold_days = 0
                total = np.int64(0)
                guard = 0.0
                first_total = np.int64(0)
                hold_total = np.int64(0)
                latest = first
                bits = np.int64(0)
                j = 0
                while j < h:
                    d = dbuf[j]
                    if d > last_off:
                        break
                    amount = np.int64(0)
                    while j < h and dbuf[j] == d:
                        amount += abuf[j]
                        guard += abuf[j]
                        j += 1
                    if guard >= 9.0e18:  # the sum may not fit 64 bits: the query's 128-bit sums do it
                        return _OVERFLOW
                    if d <= cal_off:
                        if cal_days == 0:
                            first_total = amount
                        cal_days += 1
                        total += amount
                        latest = d
                        if d >= ago_from and ago[d - ago_from] < 12:
                            bits |= np.int64(1) << ago[d - ago_from]
                    else:
                        hold_days += 1
                        hold_total += amount
                rep_row = order[begin]
                o1[g] = rec[rep_row, 0]
                o2[g] = rec[rep_row, 1] if width == 4 else 0
                olen[g] = (rec[rep_row, meta] & 15) + 1
                first_d[g] = first + min_day
                last_d[g] = latest + min_day
                n_cal[g] = cal_days
                repeat[g] = total - first_total
                n_hold[g] = hold_days
                hold[g] = hold_total
                nbits = 0
                while bits:
                    bits &= bits - 1
                    nbits += 1
                months[g] = nbits
                g += 1
            begin = end
        found[p] = g - before
    return _OK


@_jit
def _unpack(k1: np.ndarray, k2: np.ndarray, length: np.ndarray) -> tuple:  # pragma: no cover - compiled
    """The ids' bytes back from their packed words: Arrow's (offsets, data) of a string array."""
    n = len(length)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    for i in range(n):
        offsets[i + 1] = offsets[i] + length[i]
    data = np.empty(max(offsets[n], 1), dtype=np.uint8)
    for i in range(n):
        lo = offsets[i]
        a = np.uint64(k1[i])
        b = np.uint64(k2[i])
        for j in range(length[i]):
            if j < 8:
                data[lo + j] = np.uint8((a >> np.uint64(56 - 8 * j)) & np.uint64(255))
            else:
                data[lo + j] = np.uint8((b >> np.uint64(120 - 8 * j)) & np.uint64(255))
    return offsets, data


scan, place, group, unpack, parse_days, take = _scan, _place, _group, _unpack, _parse_days, _take


def warm() -> None:
    """Load every kernel for the argument types :mod:`fairserve.value.rfm_native` passes (from numba's cache,
    or compiled the first time) by running it on a two-row log."""
    offsets = np.array([0, 1, 2], dtype=np.int32)
    data = np.array([65, 66], dtype=np.uint8)
    days = np.array([0, 1], dtype=np.int32)
    amounts = np.array([1.0, 2.0])
    days.setflags(write=False)  # Arrow's to_numpy views are read-only (its raw buffers are not), and numba
    amounts.setflags(write=False)  # compiles a kernel once for each
    counts = np.zeros((1, 1), dtype=np.int64)
    bounds = np.zeros((1, 3), dtype=np.int64)
    text_days = np.empty(2, dtype=np.int32)
    parse_days(np.array([0, 10, 20], dtype=np.int32), np.frombuffer(b"2020-01-012020-01-02", dtype=np.uint8).copy(),
               text_days)
    index = np.array([1, 0], dtype=np.int32)
    index.setflags(write=False)  # Arrow's dictionary indices, as NumPy views, are read-only
    take(text_days, index, np.empty(2, dtype=np.int32))
    scan(offsets, data, days, amounts, 64, counts[0], bounds[0])
    starts = np.array([0, 2], dtype=np.int64)
    places = starts[:-1] + np.cumsum(counts, axis=0) - counts
    rec = np.empty((2, 3), dtype=np.int64)
    place(offsets, data, days, amounts, 64, places[0], rec, 0)
    cols = tuple(np.empty(2, np.int64) for _ in range(10))
    found = np.zeros(1, np.int64)
    cuts = np.linspace(0, 1, 2).astype(np.int64)
    group(starts, rec, cuts[0], cuts[1], 0, 1, 1, np.zeros(2, np.int64), 0, cols, found)
    k = cols[0][:1].view(np.uint64)
    unpack(k[np.array([0])], k[np.array([0])], cols[2][:1][np.array([0])])
