"""What the Spark driver holds for the fit: the two compressed summaries, and the fit's peak allocations.

Usage::

    python benchmarks/fit_memory.py LOG.parquet

The summary is made by DuckDB (the same tables the Spark path collects to its driver); then everything but the
two compressed summaries is dropped and the value model is fitted on them under ``tracemalloc``. Prints the rows of
each table, their size in MiB, the fit's peak allocations in MiB and its seconds (docs/scale.md, "Memory per
million customers"; ``LOG`` may be the ``scale-1000000-10-2026.parquet`` that ``benchmarks/scale.py`` writes under
its ``--cache`` folder).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from fairserve.value import fit_value_model, summarise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", help="a transaction log (Parquet or CSV: customer_id, date, amount)")
    args = parser.parse_args()
    summary = summarise(args.log)
    compressed, spend = summary.compressed, summary.spend
    summary.customers = summary.customers.iloc[:0]  # only what the Spark driver holds: the compressed summaries
    size = (compressed.memory_usage(deep=True).sum() + spend.memory_usage(deep=True).sum()) / 2**20
    tracemalloc.start()
    began = time.perf_counter()
    fit_value_model(summary)
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    print(f"compressed rows: {len(compressed):,} (transactions) + {len(spend):,} (spend), {size:.0f} MiB; "
          f"the fit: {peak:.0f} MiB of allocations at its peak, {seconds:.1f} s")


if __name__ == "__main__":
    main()
