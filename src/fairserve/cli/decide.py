"""``fairserve policy decide``: apply a policy to a file of contacts, one decision and its reasons per row.

Thin: reads the contacts (validated like every input) and the scores, fills missing need signals from the text
with the listening classifier, and writes :func:`fairserve.policy.decisions.decisions_table` (the one evaluator,
:func:`fairserve.policy.decide_batch`, with ``reasons=True``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fairserve.cli.common import (
    TABLE_SUFFIXES,
    SparkConf,
    SparkMaster,
    check_output,
    console,
    err_console,
    print_json,
    refuse_no_rows,
)
from fairserve.cli.policy import (
    EngineOpt,
    ProfilesOpt,
    SyntheticOpt,
    _check_engine,
    _scores,
    policy_app,
)
from fairserve.errors import FairserveError
from fairserve.policy.decisions import decisions_table

__all__ = ["decide_cmd", "utc_text"]

DecideJsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print JSON (policy name, version and hash included); times (virtual_arrival, "
    "sla_deadline) in POSIX seconds: since 1970-01-01 UTC.")]

@policy_app.command("decide")
def decide_cmd(
    contacts: Annotated[str, typer.Argument(help="Contacts file: contact_id, channel, arrival, customer_id, text, "
                                            "severity, sentiment, complaint, repeat, reach, public (with --engine "
                                            "spark also a Parquet dataset folder or a URI).")],
    policy: Annotated[str, typer.Option("--policy", help="A built-in policy name or a policy file.")],
    scores: Annotated[str | None, typer.Option("--scores", help="Scores file to join on customer_id.")] = None,
    out: Annotated[str | None, typer.Option("--out", help="Write the decisions here (.csv, .parquet or "
                                            ".jsonl; with --engine spark a Parquet dataset folder); times in "
                                            "POSIX seconds, as with --json.")] = None,
    use_text: Annotated[bool, typer.Option("--text/--no-text", help="Read missing need signals from the text.")] = True,
    skip_bad_rows: Annotated[bool, typer.Option("--skip-bad-rows", help="Decide the good rows; write the bad ones "
                                                "to a side file.")] = False,
    profiles: ProfilesOpt = None,
    synthetic: SyntheticOpt = None,
    as_json: DecideJsonOpt = False,
    engine: EngineOpt = "pandas",
    spark_master: SparkMaster = None,
    spark_conf: SparkConf = None,
) -> None:
    """Decide every contact of a file under a policy: tier, queue order, SLA, guarantee and reasons per row."""
    from fairserve import io
    from fairserve.cli.value import spark_from_options
    from fairserve.policy import load_policy

    pol = load_policy(policy)
    _check_engine(engine)
    if out is not None and "://" not in out and engine != "spark":
        check_output(Path(out), "decisions table", suffixes=TABLE_SUFFIXES)
    spark = spark_from_options(engine, spark_master, spark_conf)
    if spark is not None:
        _decide_on_spark(spark, contacts, pol, scores, out, use_text, skip_bad_rows, profiles, synthetic, as_json)
        return
    loaded = io.read_contacts(contacts, skip_bad_rows=skip_bad_rows)
    if loaded.rejects_path is not None:
        err_console.print(f"{len(loaded.problems)} problem(s); rejected rows written to {loaded.rejects_path}")
    refuse_no_rows(loaded, contacts, "contacts")
    base = _scores(Path(scores), profiles, synthetic, skip_bad_rows)[0] if scores is not None else None
    table = decisions_table(loaded.frame, base, pol, io.columns_in_file(contacts), use_text)
    if base is not None and "customer_id" in table:
        unknown = table["customer_id"].notna() & ~table["customer_id"].astype(str).isin(base["customer_id"])
        if unknown.any():
            err_console.print(f"note: {int(unknown.sum()):,} contact(s) name a customer not in {scores}: decided "
                              "as unknown senders (lowest tier unless a tier has no conditions)")
    for signal, how in table.attrs["text_signals"].items():
        err_console.print(f"note: {signal} read from the text ({how}) where the file gives none")
    if out is not None:
        io.write_table(table, out)
    if as_json:
        print_json({"policy": {"name": pol.name, "version": pol.version, "hash": pol.content_hash},
                    "contacts": len(table), "text_signals": table.attrs["text_signals"],
                    "decisions": table.to_dict(orient="records")})
        return
    counts = table["tier"].value_counts()
    console.print(f"[bold]{pol.name}[/] {pol.version} ({pol.content_hash[:12]}): {len(table):,} contacts decided; "
                  + ", ".join(f"{t} {int(counts.get(t, 0)):,}" for t in pol.tier_names))
    if out is not None:
        console.print(f"wrote {out}")
    else:  # nowhere else to see them: the first decisions, times as dates and clock times
        _print_decisions(table)


SHOWN_ROWS = 20
"""Decisions ``policy decide`` prints without ``--out`` (all of them are in ``--out FILE`` and ``--json``)."""


def utc_text(seconds: float | None) -> str:
    """POSIX seconds (as ``decide()`` keeps times) as a UTC date and clock time: ``2026-11-30 09:01:00``.

    The contacts file's arrival times are read as UTC (an offset is converted, a time without one is UTC), so this
    is the clock the file is written in; a missing time is ``-``.
    """
    import datetime as dt
    import math

    if seconds is None or not math.isfinite(seconds):
        return "-"
    return dt.datetime.fromtimestamp(round(seconds), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _print_decisions(frame: Any) -> None:
    """The first :data:`SHOWN_ROWS` decisions as a table: contact, tier and queue, head start, and the SLA deadline
    as a UTC date and time (``--json`` and ``--out`` keep POSIX seconds, for programs; a table that fits 80
    columns, so the customer and the reasons are left to those)."""
    from fairserve.cli.common import table

    shown = frame.head(SHOWN_ROWS)
    rows = [[str(r.contact_id), str(r.channel), str(r.tier), str(r.queue), f"{r.head_start_min:g}",
             utc_text(r.sla_deadline)] for r in shown.itertuples(index=False)]
    more = len(frame) - len(shown)
    title = f"decisions{f' (the first {len(shown)})' if more else ''}; SLA deadline in UTC"
    table(title, ["contact", "channel", "tier", "queue", "head start (min)", "SLA deadline"], rows,
          keys=(0, 5), right=(4,))
    if more:
        console.print(f"... and {more:,} more: --out FILE writes every decision with its reasons", markup=False)


def _decide_on_spark(spark: Any, contacts: str, pol: Any, scores: str | None, out: str | None, use_text: bool,
                     skip_bad_rows: bool, profiles: Path | None, synthetic: int | None, as_json: bool) -> None:
    """``policy decide --engine spark``: the decisions as a Parquet dataset, only counts on the driver."""
    from fairserve.cli.value import refuse_on_spark
    from fairserve.policy.spark import decide_spark, prepare_scores_spark

    refuse_on_spark(profiles=profiles, synthetic_followers=synthetic, skip_bad_rows=skip_bad_rows)
    if out is None:
        raise FairserveError("--engine spark writes the decisions to a Parquet dataset: give --out FOLDER")
    if out.lower().rstrip("/").endswith((".csv", ".jsonl", ".json")):
        raise FairserveError(f"{out}: with --engine spark the decisions are a Parquet dataset (a folder of part "
                             "files); give a folder path or URI")
    with err_console.status(f"Deciding {contacts} on Spark ..."):
        base = prepare_scores_spark(spark, scores)[0] if scores is not None else None
        result = decide_spark(spark, contacts, base, pol, out, use_text=use_text)
    if result["unknown_customers"]:
        err_console.print(f"note: {result['unknown_customers']:,} contact(s) name a customer not in {scores}: "
                          "decided as unknown senders (lowest tier unless a tier has no conditions)")
    if as_json:
        print_json({"policy": {"name": pol.name, "version": pol.version, "hash": pol.content_hash},
                    "engine": "spark", **result})
        return
    console.print(f"[bold]{pol.name}[/] {pol.version} ({pol.content_hash[:12]}): {result['contacts']:,} contacts "
                  "decided; " + ", ".join(f"{t} {n:,}" for t, n in result["tiers"].items()))
    console.print(f"wrote {out}")
