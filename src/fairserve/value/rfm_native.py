"""The RFM summary of a plain transaction log without the SQL engine: Arrow parses the file, compiled loops group it.

Why our own, beside DuckDB (which stays the engine, and the reference this module is held to): the summary
groups the log twice, by (customer, day) and then by customer, and on a 2-core machine DuckDB's parse of a
10-million-row CSV into a staged table and its two hash aggregations (about ten million (customer, day) groups)
were most of ``fairserve value fit``'s time (issue 9; ``benchmarks/value.py`` prints both paths). Arrow's
multi-threaded CSV reader parses the file, and compiled loops group whole customer ids packed into two 64-bit
words, partitioned so that each partition's hash table stays in the processor's cache, on all cores.

It is used only where it gives exactly what :func:`fairserve.value.rfm_sql.summary_sql` gives, and hands the log
back to the query (:func:`native_summary` returns ``None``) everywhere else:

- the log is a ``.csv`` or ``.parquet``/``.pq`` file with only the customer, date and amount columns in use (no
  account, status or product column), small enough to hold in memory (:data:`_MEMORY_SHARE`);
- every customer id is 1 to 16 bytes of UTF-8, every date an ISO ``YYYY-MM-DD`` (a Parquet DATE), every amount
  a finite number in [0, 999,999,999,999.99], no cell empty;
- numba is installed (the ``fast`` extra).

A log with a bad row therefore always goes to the query, whose check reports the rows by number; so does a date
written as a timestamp or as YYYYMMDD. Amounts are the query's exact decimals: ``round(x * 1e6)`` with halves
away from zero (DuckDB's cast of a DOUBLE to DECIMAL(18, 6)), summed as 64-bit integers (a customer whose sum
would not fit goes to the query's 128-bit sums), and turned back into a double by an exactly rounded division,
as DuckDB casts a DECIMAL to DOUBLE. Customers come out ordered by the bytes of their id, as the query's
``ORDER BY``. ``tests/value/test_rfm_native.py`` holds the two paths to identical frames on hand-made and
generated logs.

The grouping: each row's id is packed big-endian into two words and a length (so comparing the packed words
compares the ids' bytes), hashed (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators",
the SplitMix64 finaliser) into one of about ``rows / 65536`` partitions, and the rows are scattered by partition
(a counting sort; threads take batches of rows, each writing to places counted for it). Each partition is
grouped with an open-addressing table (Knuth 1998, TAOCP vol. 3, 6.4) on the exact packed id, its rows sorted
by customer (a counting sort) and each customer's rows by day (insertion sort, or NumPy's sort past 32 rows),
and the per-customer columns are read off in one pass; threads take runs of partitions.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairserve.value.progress import report
from fairserve.value.rfm_sql import RFMSpec

__all__ = ["HAVE_NUMBA", "native_summary"]

try:  # numba is optional (the ``fast`` extra); without it every log goes to the SQL engine
    import numba

    HAVE_NUMBA = True
    _jit: Any = numba.njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def _jit(func: Any) -> Any:
        return func


_EPOCH = dt.date(1970, 1, 1)
_MAX_ID_BYTES = 16
_PARTITION_ROWS = 65536
# a log is taken here only when its file is at most this share of the machine's memory: the columns, their
# packed keys and the partitioned copies take about three times a CSV's size; bigger logs go to DuckDB, which
# spills to disk
_MEMORY_SHARE = 1 / 12
_SORT_INSERTION_MAX = 32
_BURST = 8  # records a partition gathers before they are written out together (8 x 32 bytes)

# reasons a log is handed back to the query (for tests and the debug note)
_OK, _BAD_ID, _BAD_AMOUNT, _OVERFLOW = 0, 1, 2, 3


@_jit
def _mix(k1: np.uint64, k2: np.uint64, n: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """SplitMix64's finaliser over the packed id: a well-spread 64-bit hash."""
    z = k1 ^ (k2 * np.uint64(0x9E3779B97F4A7C15)) ^ (n * np.uint64(0xD6E8FEB86659FD93))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@_jit
def _key(offsets: np.ndarray, data: np.ndarray, i: int) -> tuple:  # pragma: no cover - compiled
    """Row ``i``'s id packed big-endian into two words, and its length in bytes (0 when it cannot be packed)."""
    lo = offsets[i]
    m = offsets[i + 1] - lo
    if m < 1 or m > _MAX_ID_BYTES:
        return np.uint64(0), np.uint64(0), 0
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
def _scan(offsets: np.ndarray, data: np.ndarray, days: np.ndarray, amounts: np.ndarray, shift: int,
          part: np.ndarray, start: int, counts: np.ndarray, bounds: np.ndarray) -> int:  # pragma: no cover
    """Check one batch of rows and give each its partition; 0, or the reason the query must read the log.

    ``counts`` gets the rows per partition, ``bounds`` the smallest and largest day seen.
    """
    bounds[0] = np.iinfo(np.int64).max
    bounds[1] = np.iinfo(np.int64).min
    for i in range(len(days)):
        a, b, m = _key(offsets, data, i)
        if m == 0:
            return _BAD_ID
        if _millionths(amounts[i]) < 0:
            return _BAD_AMOUNT
        p = np.int64(_mix(a, b, np.uint64(m)) >> np.uint64(shift)) if shift < 64 else 0
        part[start + i] = p
        counts[p] += 1
        d = days[i]
        if d < bounds[0]:
            bounds[0] = d
        if d > bounds[1]:
            bounds[1] = d
    return _OK


@_jit
def _place(offsets: np.ndarray, data: np.ndarray, days: np.ndarray, amounts: np.ndarray, part: np.ndarray,
           start: int, pos: np.ndarray, rec: np.ndarray, min_day: int) -> None:  # pragma: no cover - compiled
    """Write one batch's rows into their partitions' places: records (k1, k2, day and length, millionths).

    One record array rather than one array per field, and the records of a partition gathered a few at a time
    in a small buffer that stays in the cache and copied out together ("software write-combining", Satish et
    al. 2010, "Fast sort on CPUs and GPUs", SIGMOD): a few long writes per partition instead of one scattered
    write per field and row.
    """
    n_parts = len(pos)
    buf = np.empty((n_parts, _BURST, 4), dtype=np.int64)
    fill = np.zeros(n_parts, dtype=np.int64)
    for i in range(len(days)):
        a, b, m = _key(offsets, data, i)
        p = part[start + i]
        f = fill[p]
        buf[p, f, 0] = np.int64(a)
        buf[p, f, 1] = np.int64(b)
        buf[p, f, 2] = ((np.int64(days[i]) - min_day) << 4) | (m - 1)
        buf[p, f, 3] = _millionths(amounts[i])
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
            a, b, n = rec[r, 0], rec[r, 1], rec[r, 2] & 15
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
                if rec[q, 0] == a and rec[q, 1] == b and (rec[q, 2] & 15) == n:
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
                dbuf[j] = rec[r, 2] >> 4
                abuf[j] = rec[r, 3]
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
                o2[g] = rec[rep_row, 1]
                olen[g] = (rec[rep_row, 2] & 15) + 1
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


def _exact_millionths(values: np.ndarray) -> np.ndarray:
    """``values / 10**6`` exactly rounded to a double, as DuckDB casts a DECIMAL(38, 6) to DOUBLE.

    Below 2**53 the integer is exact as a double and one IEEE division rounds once; above it (sums past nine
    billion) Python's integer division does it exactly.
    """
    out = values.astype(np.float64) / 1e6
    big = np.flatnonzero(np.abs(values) >= 2**53)
    for i in big.tolist():
        out[i] = int(values[i]) / 10**6
    return out


def _read(path: Path, spec: RFMSpec) -> Any:
    """The three columns as an Arrow table with the types this path needs, or ``None`` (the query reads it)."""
    import pyarrow as pa

    names = [spec.customer_col, spec.date_col, spec.amount_col]
    if len(set(names)) < 3:
        return None
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            from pyarrow import csv as pacsv

            table = pacsv.read_csv(
                path,
                parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    include_columns=names,
                    column_types={names[0]: pa.string(), names[1]: pa.date32(), names[2]: pa.float64()},
                    strings_can_be_null=False, quoted_strings_can_be_null=False,
                ),
            )
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=names)
    except (pa.ArrowException, OSError, ValueError, KeyError):
        return None  # the query reads it, and says what is wrong with it if anything is
    if table.column_names != names:
        return None
    want = (pa.types.is_string, pa.types.is_date32, pa.types.is_float64)
    kinds = (pa.types.is_large_string, pa.types.is_date32, pa.types.is_float64)
    for col, ok, also in zip(names, want, kinds, strict=True):
        kind = table.schema.field(col).type
        if not (ok(kind) or also(kind)) or table[col].null_count:
            return None
    return table


def _columns(batch: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One record batch's id offsets and bytes, days since 1970-01-01 and amounts, as NumPy views (no copy)."""
    import pyarrow as pa

    ids, dates, amounts = batch.column(0), batch.column(1), batch.column(2)
    wide = pa.types.is_large_string(ids.type)
    buffers = ids.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32, count=len(ids) + 1,
                            offset=ids.offset * (8 if wide else 4))
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(1, np.uint8)
    days = dates.view(pa.int32()).to_numpy(zero_copy_only=True)
    return offsets, data, days, amounts.to_numpy(zero_copy_only=True)


def native_summary(
    path: str | Path | Any, spec: RFMSpec, threads: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The per-customer summary of the log at ``path`` and its facts, or ``None`` when the SQL query must run.

    Returns the frame :func:`fairserve.value.rfm_sql.summary_sql` returns (the same columns and values, before
    :mod:`fairserve.value.rfm`'s type coercion) and ``info`` (``rows``, ``min_date``, ``max_date``), exactly as
    the query and its check would; ``None`` for any log outside the cases the module docstring lists.
    ``threads`` (default: all cores) share the work.
    """
    if not HAVE_NUMBA or not isinstance(path, (str, Path)):
        return None
    path = Path(path)
    if (spec.account_col or spec.status_col or spec.product_col or not path.is_file()
            or path.suffix.lower() not in (".csv", ".parquet", ".pq")):
        return None
    from fairserve.value.rfm_engine import machine_memory

    memory = machine_memory()
    if memory and path.stat().st_size > memory * _MEMORY_SHARE:
        return None
    report(f"Reading {path}", 0.0)
    table = _read(path, spec)
    if table is None or table.num_rows == 0:
        return None
    report(f"Reading {path}", 1.0)
    task = f"Summarising {path}"
    report(task, 0.0)
    batches = [_columns(batch) for batch in table.to_batches()]
    workers = max(1, min(threads or os.cpu_count() or 1, len(batches)))
    with ThreadPoolExecutor(workers) as pool:  # the kernels release Python's lock
        placed = _partition(pool, batches, table.num_rows, spec)
        del table, batches  # the records hold all that is left to read
        if placed is None:
            return None
        report(task, 0.5)
        starts, rec, min_day, max_day = placed
        cal_day = (spec.calibration_end - _EPOCH).days if spec.calibration_end is not None else max_day
        last_day = (spec.observation_end - _EPOCH).days if spec.observation_end is not None else cal_day
        facts = _customers(pool, workers, starts, rec, min_day, cal_day, last_day)
    if facts is None:
        return None
    report(task, 0.9)
    o1, o2, olen, *rest = facts
    order = np.lexsort((olen, o2, o1))  # by the id's bytes: the query's ORDER BY customer_id
    first_d, last_d, n_cal, repeat, n_hold, hold, months = (c[order] for c in rest)
    frame = _frame(_ids(o1[order], o2[order], olen[order]), first_d, last_d, n_cal, repeat, n_hold, hold, months,
                   spec, cal_day)
    info = {"rows": int(rec.shape[0]), "min_date": (_EPOCH + dt.timedelta(days=min_day)).isoformat(),
            "max_date": (_EPOCH + dt.timedelta(days=max_day)).isoformat()}
    report(task, 1.0)
    return frame, info


_Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _partition(pool: ThreadPoolExecutor, batches: list[_Batch], n: int,
               spec: RFMSpec) -> tuple[np.ndarray, np.ndarray, int, int] | None:
    """Check every row and write it, as a record, into its partition: (starts, records, first day, last day).

    ``None`` when a row must go to the query, or when every row is after the calibration end (the query's check
    refuses that, in its words).
    """
    n_parts = 1
    while n_parts * _PARTITION_ROWS < n and n_parts < 2**16:
        n_parts *= 2
    shift = 64 - (n_parts.bit_length() - 1)
    part = np.empty(n, np.int32)
    counts = np.zeros((len(batches), n_parts), np.int64)  # rows per (batch, partition)
    bounds = np.empty((len(batches), 2), np.int64)  # each batch's first and last day
    firsts = np.cumsum([0] + [len(b[2]) for b in batches])

    def scan(b: int) -> int:
        return int(_scan(*batches[b], shift, part, firsts[b], counts[b], bounds[b]))

    if any(why != _OK for why in pool.map(scan, range(len(batches)))):
        return None
    min_day, max_day = int(bounds[:, 0].min()), int(bounds[:, 1].max())
    if spec.calibration_end is not None and min_day > (spec.calibration_end - _EPOCH).days:
        return None
    starts = np.zeros(n_parts + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=starts[1:])
    places = starts[:-1] + np.cumsum(counts, axis=0) - counts  # where each batch's rows of a partition go
    rec = np.empty((n, 4), np.int64)

    def place(b: int) -> None:
        _place(*batches[b], part, firsts[b], places[b], rec, min_day)

    list(pool.map(place, range(len(batches))))
    return starts, rec, min_day, max_day


def _customers(pool: ThreadPoolExecutor, workers: int, starts: np.ndarray, rec: np.ndarray, min_day: int,
               cal_day: int, last_day: int) -> list[np.ndarray] | None:
    """Each customer's packed id and facts (the columns :func:`_group` fills), or ``None`` (the query runs)."""
    n_parts = len(starts) - 1
    cal_month = int(_months(np.array([cal_day]))[0])
    ago_from = max(min_day, cal_day - 400)  # 12 calendar months back are at most 366 days back
    ago = (cal_month - _months(np.arange(ago_from, cal_day + 1))).astype(np.int64)
    n = rec.shape[0]
    cols = tuple(np.empty(n, np.int64) for _ in range(10))
    found = np.zeros(n_parts, np.int64)
    cuts = np.linspace(0, n_parts, workers + 1).astype(np.int64)

    def group(w: int) -> int:
        return int(_group(starts, rec, cuts[w], cuts[w + 1], min_day, cal_day - min_day, last_day - min_day,
                          ago, ago_from - min_day, cols, found))

    if any(why != _OK for why in pool.map(group, range(workers))):
        return None
    keep = np.concatenate([np.arange(starts[cuts[w]], starts[cuts[w]] + found[cuts[w]:cuts[w + 1]].sum())
                           for w in range(workers)])
    facts = [c[keep] for c in cols]
    facts[0], facts[1] = facts[0].view(np.uint64), facts[1].view(np.uint64)
    return facts


def _ids(k1: np.ndarray, k2: np.ndarray, length: np.ndarray) -> pd.Series:
    """The customer ids, unpacked, as pandas strings."""
    import pyarrow as pa

    offsets, data = _unpack(k1, k2, length)
    array = pa.LargeStringArray.from_buffers(len(length), pa.py_buffer(offsets), pa.py_buffer(data))
    return array.to_pandas()


def _frame(ids: pd.Series, first_d: np.ndarray, last_d: np.ndarray, n_cal: np.ndarray, repeat: np.ndarray,
           n_hold: np.ndarray, hold: np.ndarray, months: np.ndarray, spec: RFMSpec, cal_day: int) -> pd.DataFrame:
    """The query's output columns, computed as the query computes them, from the per-customer facts."""
    unit = float(spec.period_days)
    frequency = n_cal - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(frequency > 0, _exact_millionths(repeat) / frequency, 0.0)
    first_months = _months(first_d)
    cal_month = int(_months(np.array([cal_day]))[0])
    columns: dict[str, Any] = {
        "customer_id": ids,
        "frequency": frequency,
        "recency": (last_d - first_d).astype(np.float64) / unit,
        "T": (cal_day - first_d).astype(np.float64) / unit,
        "monetary_value": monetary,
        "first_purchase": first_d.astype("datetime64[D]").astype("datetime64[us]"),
        "last_purchase": last_d.astype("datetime64[D]").astype("datetime64[us]"),
        "tenure_days": cal_day - first_d,
        "active_months": months,
        "window_months": np.minimum(12, cal_month - first_months + 1),
    }
    if spec.observation_end is not None:
        obs_day = (spec.observation_end - _EPOCH).days
        with np.errstate(divide="ignore", invalid="ignore"):
            columns["frequency_holdout"] = n_hold
            columns["monetary_holdout"] = np.where(n_hold > 0, _exact_millionths(hold) / n_hold, 0.0)
        columns["duration_holdout"] = np.full(len(n_cal), float(obs_day - cal_day) / unit)
    return pd.DataFrame(columns)


def _months(days: np.ndarray) -> np.ndarray:
    """year * 12 + month of each day number (days since 1970-01-01)."""
    dates = days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return years * 12 + month

