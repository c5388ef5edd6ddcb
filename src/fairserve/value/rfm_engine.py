"""The engine sessions of the RFM summary: a DuckDB connection or a Spark session, holding one registered source.

:class:`Runner` is the only place that touches an engine, and with :mod:`fairserve.value.rfm`'s entry points the
one exception to "I/O at the edges" in the value package: at scale the engine must read the transaction file
itself (DESIGN.md, rule 1). It registers a CSV, a Parquet file or a pandas DataFrame under one name, reports its
columns and their types (so the query can skip parsing typed columns), runs query text from
:mod:`fairserve.value.rfm_sql` and returns pandas frames or rows. DuckDB gets a memory limit sized to the log but
never more than half the machine's memory, and a private spill directory: a log bigger than memory is summarised
by spilling to disk, not by running out of memory. While a DuckDB query runs, its progress is reported to
:mod:`fairserve.value.progress` (a bar on the CLI); DuckDB's own bar is off. The Spark session and its sources
are :mod:`fairserve.value.spark`'s.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from fairserve.errors import FairserveError
from fairserve.value.progress import poll_duckdb
from fairserve.value.rfm_sql import Engine, RFMSpec, Types, staged_sql
from fairserve.value.spark import spark_session

__all__ = ["Runner", "spark_session"]

_VIEW = "fairserve_source"
_STAGED = "fairserve_staged"
# DuckDB's memory when none is given: bytes per source row, and a floor. At 90 a staged CSV of 10M rows spills
# a little (about 100 MB) and was no slower than at 100 or 130 (130 does not spill; measured on 2 busy cores,
# load average 6-10, so within noise); the process peaks about 90 MiB lower than at 100 (issue 9)
_MEMORY_BYTES_PER_ROW = 90
_MIN_MEMORY_MIB = 512
# ... and at most this share of the machine's memory: past it DuckDB spills to its temporary directory. The rest
# is for the per-customer frames (about 1 GiB per million customers while scoring) and the rest of the machine.
# 100M transactions (8.4 GiB at 90 bytes) stay under it on a 24 GiB machine; 300M would not, and spill.
_MAX_MEMORY_SHARE = 0.5


def machine_memory() -> int:
    """The machine's physical memory in bytes (0 where the system does not tell)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return 0


def duckdb_memory_mib(rows: int, machine: int | None = None) -> int:
    """The memory limit DuckDB gets for a log of ``rows`` transactions, in MiB (see :meth:`Runner.size_memory`)."""
    machine = machine_memory() if machine is None else machine
    need = max(_MIN_MEMORY_MIB, -(-rows * _MEMORY_BYTES_PER_ROW // 2**20))
    if machine > 0:
        need = min(need, max(_MIN_MEMORY_MIB, int(machine * _MAX_MEMORY_SHARE) // 2**20))
    return need


class Runner:
    """Runs query text on one engine against one registered source; the only place that touches the engine."""

    def __init__(self, source: str | Path | pd.DataFrame, engine: Engine, spark: Any = None,
                 threads: int | None = None, memory_limit: str | None = None) -> None:
        self.engine = engine
        self.label = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
        if engine == "duckdb":
            import duckdb

            self.con = duckdb.connect()
            self.memory_limit = memory_limit
            # if DuckDB must spill (a limit below its need), it writes here, not into the working directory
            self.spill_dir = tempfile.TemporaryDirectory(prefix="fairserve-duckdb-")
            self.con.execute("SET temp_directory = ?", [self.spill_dir.name])
            # progress is polled by fairserve.value.progress (a bar on stderr); DuckDB's own would print over it
            self.con.execute("SET enable_progress_bar = true")
            self.con.execute("SET enable_progress_bar_print = false")
            if threads is not None:
                self.con.execute(f"SET threads = {int(threads)}")
            if memory_limit is not None:
                try:
                    self.con.execute("SET memory_limit = ?", [str(memory_limit)])
                except duckdb.Error as exc:
                    raise FairserveError(f"memory limit {memory_limit!r} not understood: {exc}") from exc
            if isinstance(source, pd.DataFrame):
                self.con.register(_VIEW, source)
                self.source = _VIEW
            else:
                path = Path(source)
                if not path.is_file():
                    raise FairserveError(f"{path}: no such file")
                lit = "'" + str(path).replace("'", "''") + "'"
                if path.suffix.lower() in (".parquet", ".pq"):
                    self.source = f"read_parquet({lit})"
                else:
                    # read as docs/input.md says a CSV is, not as DuckDB's sniffer guesses: it took a file whose
                    # only quote opens a field and never closes it for one without quoting, and read '"77' as an id
                    self.source = (f"read_csv({lit}, header = true, all_varchar = true, delim = ',', "
                                   "quote = '\"', escape = '\"')")
                    self.text = True
            try:
                self._describe()
            except duckdb.Error as exc:
                self._read_ourselves(exc)
        elif engine == "spark":
            from fairserve.value.spark import read_source

            self.spark = spark if spark is not None else spark_session()
            frame = read_source(self.spark, source)
            frame.createOrReplaceTempView(_VIEW)
            self.source = _VIEW
            self.columns = list(frame.columns)
            self.types = {name: kind for name, kind in frame.dtypes}
        else:
            raise FairserveError(f"engine must be 'duckdb' or 'spark', not {engine!r}")

    types: Types
    text: bool = False  # a text file (CSV): every value is parsed, so :meth:`stage` pays
    raw_source: str = ""  # the source as registered, before staging: file order, original values
    raw_types: Types | None = None

    def stage(self, spec: RFMSpec) -> None:
        """Parse a text log once into a typed table that the check and the summary both read (DuckDB, CSV).

        Without it the CSV is read and parsed twice, once by the check and once by the summary; the staged
        table costs about 30 bytes a row, within the memory limit sized from the log. Bad values are NULL
        in the table, so the rows they came from are looked up in :attr:`raw_source`.
        """
        self.raw_source, self.raw_types = self.source, self.types
        if self.engine != "duckdb" or not self.text:
            return
        select, types = staged_sql(spec, self.source, self.engine, self.types)
        self.con.execute("SET preserve_insertion_order = false")
        import duckdb

        try:
            with poll_duckdb(self.con, f"Reading {self.label}"):
                self.con.execute(f"CREATE TEMP TABLE {_STAGED} AS {select}")
        except duckdb.Error as exc:
            self._read_ourselves(exc)
            self.raw_source, self.raw_types = self.source, self.types
            return
        self.source = _STAGED
        self.types = {**self.types, **types}

    def _describe(self) -> None:
        described = self.con.execute(f"DESCRIBE SELECT * FROM {self.source}").fetchall()
        self.columns = [str(r[0]) for r in described]
        self.types = {str(r[0]): str(r[1]) for r in described}

    def _read_ourselves(self, exc: Exception) -> None:
        """Go on with fairserve's own reading of a CSV that DuckDB's reader cannot parse, or refuse it.

        DuckDB stops at the first line it cannot parse with its own message: an unclosed quote, a row of too many
        fields, a line of only spaces (which ``fairserve check`` skips, as docs/input.md says). fairserve's reader
        (:func:`fairserve.io.read_raw_table`, the one ``check`` uses) then reads the file: it refuses the first two
        naming the row, field and line, as every other command does, and otherwise its table (values as text, in
        file order) is the source, as a JSON-lines log's is. A Parquet file DuckDB cannot read is refused with
        the first line of DuckDB's message.

        Raises
        ------
        InputError
            From the reader's check of the file.
        FairserveError
            For a Parquet file DuckDB cannot read.
        """
        if not self.text:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FairserveError(f"{self.label}: cannot be read: {first}") from exc
        from fairserve import io

        frame = io.read_raw_table(self.label)  # raises InputError naming the row, field and line
        self.con.register(_VIEW, frame)
        self.source, self.text = _VIEW, False
        self._describe()

    def frame(self, sql: str, task: str = "Querying") -> pd.DataFrame:
        if self.engine == "duckdb":  # through Arrow: a few times faster than .df() for a million rows
            with poll_duckdb(self.con, f"{task} {self.label}"):
                table = self.con.sql(sql).to_arrow_table()
            return table.to_pandas(date_as_object=False)
        return self.spark.sql(sql).toPandas()

    def rows(self, sql: str, task: str = "Checking") -> list[tuple[Any, ...]]:
        if self.engine == "duckdb":
            with poll_duckdb(self.con, f"{task} {self.label}"):
                return self.con.execute(sql).fetchall()
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def size_memory(self, rows: int) -> None:
        """Without a given limit, give DuckDB the memory the summary of ``rows`` transactions needs, no more.

        DuckDB's default (80% of RAM) lets it keep about a gigabyte for ten million transactions; it needs
        about 60 bytes per transaction (measured at 10M rows: no slower at a 600 MB limit, spilling at 300 MB).
        The limit is at most half the machine's memory (:func:`duckdb_memory_mib`): a bigger log spills to the
        private temporary directory rather than taking the memory the per-customer frames need next.
        """
        if self.engine == "duckdb" and self.memory_limit is None:
            self.con.execute(f"SET memory_limit = '{duckdb_memory_mib(rows)}MiB'")

    def summary(self, sql: str) -> pd.DataFrame:
        """Run the summary query ``sql`` and return its result as a pandas DataFrame."""
        if self.engine == "duckdb":
            # no order to keep inside the query (its ORDER BY still orders the result): less memory, more threads
            self.con.execute("SET preserve_insertion_order = false")
        return self.frame(sql, "Summarising")

    def close(self) -> None:
        if self.engine == "duckdb":
            self.con.close()
            self.spill_dir.cleanup()
