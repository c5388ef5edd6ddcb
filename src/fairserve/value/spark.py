"""Apache Spark sessions, sources and engine-side helpers for the value pipeline and the batch decisions.

Everything that knows about Spark beyond running query text lives here and in :mod:`fairserve.value.spark_value`
and :mod:`fairserve.policy.spark`, so the engine runner (:mod:`fairserve.value.rfm_engine`) stays engine-neutral.
PySpark is imported lazily: the package works without it.

Where Spark runs is never written in the code. :func:`spark_session` takes, in this order: a session already
active in the process (``spark-submit`` made one), the ``master`` argument (``--spark-master``), a
``spark.master`` among the ``conf`` pairs (``--spark-conf``), the ``SPARK_MASTER`` or ``MASTER`` environment
variable, and otherwise whatever ``spark-submit`` would use (``spark.master`` in ``spark-defaults.conf``, else
``local[*]``).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from fairserve.errors import FairserveError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "engine_errors",
    "exact_percentile",
    "is_uri",
    "parse_conf",
    "read_source",
    "read_table",
    "spark_session",
    "write_dataset",
]

CONNECT_TIMEOUT_S = 10.0  # seconds to wait for a spark:// master to accept a connection before giving up
_PARQUET = (".parquet", ".pq")


def parse_conf(items: Sequence[str] | None, option: str = "--spark-conf") -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict; one without ``=`` or with an empty key is an error naming it."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FairserveError(f"{option} takes KEY=VALUE (e.g. spark.executor.memory=4g), not {item!r}")
        out[key.strip()] = value.strip()
    return out


def _check_reachable(master: str, timeout: float) -> None:
    """For a ``spark://host:port[,host:port]`` master: fail fast, with a clear message, when none accepts a
    connection (Spark itself would retry for a minute and then leave the driver without executors)."""
    if not master.startswith("spark://"):
        return
    errors = []
    for hostport in master.removeprefix("spark://").split(","):
        host, _, port = hostport.rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout):
                return
        except ValueError:
            raise FairserveError(f"Spark master {master!r}: {hostport!r} is not HOST:PORT") from None
        except OSError as exc:
            errors.append(f"{hostport}: {exc.strerror or exc}")
    raise FairserveError(f"cannot reach the Spark master {master} within {timeout:g} s ({'; '.join(errors)}); "
                         "is it running, and is the URL right?")


_LOG4J2 = Path(__file__).with_name("spark-log4j2.properties")


def spark_session(app_name: str = "fairserve", master: str | None = None,
                  conf: Mapping[str, str] | None = None, connect_timeout: float = CONNECT_TIMEOUT_S) -> Any:
    """A Spark session on the master the caller or the environment names (see the module docstring).

    Parameters
    ----------
    master:
        A Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``, ``k8s://...``); None leaves it to the
        environment.
    conf:
        Spark settings (``spark.executor.memory`` ...). With an active session (under ``spark-submit``) they are
        set on it where Spark allows that at run time.
    connect_timeout:
        Seconds to wait for a ``spark://`` master to accept a connection.

    Raises
    ------
    FairserveError
        PySpark is missing, the master cannot be reached, or a setting is refused.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise FairserveError("engine 'spark' needs PySpark: pip install 'fairserve[spark]'") from exc
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    settings = dict(conf or {})
    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if master is not None and master != running:
            raise FairserveError(f"a Spark session on {running} is already running in this process (spark-submit "
                                 f"--master); it cannot also run on {master}: leave out --spark-master")
        for key, value in settings.items():
            try:
                active.conf.set(key, value)
            except Exception as exc:  # Spark refuses static settings once running
                raise FairserveError(f"--spark-conf {key}: cannot be changed in a running session (give it to "
                                     f"spark-submit --conf instead): {str(exc).splitlines()[0]}") from None
        return active
    master = (master or settings.pop("spark.master", None) or os.environ.get("SPARK_MASTER")
              or os.environ.get("MASTER"))
    if master:
        _check_reachable(master, connect_timeout)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)  # otherwise spark-submit's choice: spark-defaults.conf, else local[*]
    # Spark's own log (its start-up notes, an executor's Python traceback beside the one-line message fairserve
    # gives): fatal only, from spark-log4j2.properties; the user's spark.driver.extraJavaOptions replaces it
    defaults = {"spark.ui.showConsoleProgress": "false",
                "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{_LOG4J2}"}
    if master is None or master.startswith("local"):
        # Spark's 200 shuffle partitions are for clusters; on one machine each costs a task per stage (a 200,000
        # customer summary took 111 s with them, 32 s with 8, on this project's 2 cores)
        defaults["spark.sql.shuffle.partitions"] = str(max(4, 2 * (os.cpu_count() or 2)))
    if (master is None or master.startswith("local")) and not os.environ.get("PYSPARK_PYTHON"):
        # local Python workers run this interpreter, where fairserve is installed (PySpark's default is the
        # 'python3' on the PATH); on a cluster, PYSPARK_PYTHON names the executors' Python (docs/scale.md)
        os.environ["PYSPARK_PYTHON"] = sys.executable
    if os.environ.get("PYSPARK_GATEWAY_PORT"):  # under spark-submit: its JVM runs, with the settings it was given
        from pyspark import SparkConf, SparkContext

        SparkContext._ensure_initialized()
        launched = SparkConf()
        defaults = {k: v for k, v in defaults.items() if not launched.contains(k)}
    for key, value in {**defaults, **settings, "spark.sql.session.timeZone": "UTC"}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise FairserveError(f"cannot start Spark (master {master or 'from the environment'}): "
                             f"{_first_line(exc)}") from None
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


_RAISED = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(\w+(?:Error|Exception)): (.*)$")


def _python_error(text: str) -> tuple[str, str] | None:
    """The type and message of the last exception line of a Python traceback that Spark wraps an executor's
    error in (a fairserve error on a bad value, a missing module on the executors, ...)."""
    for line in reversed(text.splitlines()):
        found = _RAISED.match(line.strip())
        if found and found.group(1) not in ("PythonException", "SparkException", "Py4JJavaError"):
            return found.group(1), found.group(2)
    return None


@contextlib.contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Turn Spark's errors inside the block into a :class:`FairserveError` saying ``what`` failed.

    An error that fairserve's own code raised on an executor (a bad value in a batch) keeps its message; any
    other (a path Spark cannot read, a lost cluster) is reported by its first line.
    """
    try:
        with warnings.catch_warnings():  # PySpark repeats an executor's whole traceback in this warning
            warnings.filterwarnings("ignore", message="toPandas attempted Arrow optimization")
            yield
    except FairserveError:
        raise
    except Exception as exc:
        try:
            from py4j.protocol import Py4JError
            from pyspark.errors import PySparkException
        except ImportError:  # pragma: no cover - PySpark is imported when this runs
            raise
        if not isinstance(exc, PySparkException | Py4JError):
            raise
        own = _python_error(str(exc))
        if own is not None and own[0] in ("InputError", "FairserveError"):  # fairserve's own, raised on a batch
            raise FairserveError(own[1]) from None
        said = f"{own[0]}: {own[1]}" if own is not None else _first_line(exc)
        raise FairserveError(f"{what}: {said}") from None


def is_uri(path: str | Path) -> bool:
    """True for a URI with a scheme Spark reads (``s3a://``, ``hdfs://``, ``file:/``...), not a local path."""
    text = str(path)
    scheme = urlparse(text).scheme
    return (len(scheme) > 1 and "://" in text) or text.startswith("file:")


def _format(path: str) -> str:
    """``parquet`` or ``csv`` from a path's suffix; a local folder by the files in it; no suffix: Parquet."""
    lowered = path.rstrip("/").lower()
    if lowered.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    if lowered.endswith(_PARQUET):
        return "parquet"
    local = Path(path)
    if not is_uri(path) and local.is_dir() and not any(local.rglob("*.parquet")) and any(local.rglob("*.csv*")):
        return "csv"
    return "parquet"


def read_table(spark: Any, source: str | Path) -> Any:
    """A Spark DataFrame of a file, a folder of part files (a Parquet dataset) or a URI Spark can read.

    CSV is read with a header and every value as text (the query parses it, as on DuckDB); anything else as
    Parquet. A local path that does not exist is an error naming it; a URI is left to Spark to find.
    """
    text = str(source)
    if not is_uri(text) and not Path(text).exists():
        raise FairserveError(f"{text}: no such file or folder")
    with engine_errors(f"{text}: cannot be read by Spark"):
        if _format(text) == "csv":
            return spark.read.csv(text, header=True, inferSchema=False)
        return spark.read.parquet(text)


def read_source(spark: Any, source: str | Path | pd.DataFrame) -> Any:
    """A Spark DataFrame of ``source``: a pandas frame, or what :func:`read_table` reads."""
    if isinstance(source, pd.DataFrame):
        return spark.createDataFrame(source)
    return read_table(spark, source)


def write_dataset(frame: Any, out: str | Path) -> str:
    """Write a Spark DataFrame as a Parquet dataset (a folder of part files, one per partition) at ``out``.

    An existing file is replaced (as the DuckDB path replaces its output file); an existing local folder only when
    it is empty or an earlier Spark output (it holds ``_SUCCESS``), so a mistyped path cannot delete a folder of
    other files.
    """
    text = str(out)
    local = Path(text)
    if not is_uri(text) and local.is_dir() and any(local.iterdir()) and not (local / "_SUCCESS").exists():
        raise FairserveError(f"{text}: a folder that is not an earlier Spark output; choose a new folder")
    with engine_errors(f"{text}: cannot be written by Spark"):
        frame.write.mode("overwrite").parquet(text)
    return text


def exact_percentile(frame: Any, column: str, name: str, partitions: int | None = None,
                     ties: str = "max") -> Any:
    """``frame`` with ``name``: the row's percentile of ``column``, exact, computed by the engine.

    ``ties="max"``: the share of rows whose value is at most this row's, the definition of
    :func:`fairserve.value.score.value_percentile` (pandas' ``rank(method="max", pct=True)``). ``ties="min"``:
    the share of the OTHER rows whose value is strictly lower (``(rank(method="min") - 1) / (n - 1)``, 0 for a
    single row), the definition of :func:`fairserve.influence.influence_percentiles`.

    No sort on the driver and no window over one partition: the rows are range-partitioned on ``column`` (equal
    values always land in one partition, partitions in ascending order), each partition counts its rows at most
    each value (a window within the partition), and the counts of the partitions before it (one number per
    partition, collected) are added.
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    spark = frame.sparkSession
    parts = partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
    ranged = (frame.repartitionByRange(max(1, parts), sf.col(column))
              .withColumn("_fs_part", sf.spark_partition_id())
              .persist(StorageLevel.MEMORY_AND_DISK))
    sizes = sorted((int(r["_fs_part"]), int(r["count"])) for r in ranged.groupBy("_fs_part").count().collect())
    offsets, total = [], 0
    for part, size in sizes:
        offsets.append((part, total))
        total += size
    offset_frame = spark.createDataFrame(offsets, "_fs_part int, _fs_offset long")
    window = (Window.partitionBy("_fs_part").orderBy(sf.col(column))
              .rangeBetween(Window.unboundedPreceding, Window.currentRow))
    at_most = sf.count(sf.lit(1)).over(window)
    if ties == "max":
        value = (sf.col("_fs_offset") + at_most) / sf.lit(float(max(total, 1)))
    elif ties == "min":
        equal = sf.count(sf.lit(1)).over(Window.partitionBy("_fs_part", column))
        value = (sf.col("_fs_offset") + at_most - equal) / sf.lit(float(max(total - 1, 1)))
    else:
        raise ValueError(f"ties must be 'max' or 'min', not {ties!r}")
    return (ranged.join(sf.broadcast(offset_frame), "_fs_part")
            .withColumn(name, value.cast("double"))
            .drop("_fs_part", "_fs_offset"))
