"""Batch decisions on a Spark cluster: the one evaluator on the executors, only small aggregates on the driver.

``policy audit --engine spark`` and ``policy decide --engine spark`` read the scores (and the contacts) as Spark
DataFrames and run, on each batch of rows (``mapInPandas``), the same functions the pandas path runs:
:func:`fairserve.policy.audit.tiers_of` and :func:`fairserve.policy.audit.decile_of` for the audit,
:func:`fairserve.policy.decisions.decisions_table` (which calls :func:`fairserve.policy.decide_batch`) for the
decisions, and :func:`fairserve.io.validate_frame` to check each batch as the pandas path checks the file. No
policy arithmetic is written here.

* The audit groups the per-row results by (value decile, influence decile, tier) on the executors and collects
  that table (at most 11 x 11 x tiers rows) to build the same :class:`~fairserve.policy.audit.AuditReport`.
* The decisions are written as a Parquet dataset; only counts per tier come back.

Scores are prepared as :func:`fairserve.policy.audit.prepare_scores` prepares them: ``customer_id`` as text and
unique, ``influence`` from ``followers`` when there is no ``influence`` column (the same reach score and
percentile, computed by the engine), ``value_percentile`` from ``clv`` when missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.policy.audit import AuditReport, tie_note
from fairserve.policy.engine import Policy
from fairserve.policy.evaluator import CUSTOMER_SIGNALS
from fairserve.value.spark import engine_errors, exact_percentile, read_table, write_dataset

__all__ = ["audit_spark", "decide_spark", "prepare_scores_spark"]

CUSTOMER_COLUMNS = ("clv", "profit", "loyalty", "value_percentile", "influence", "followers", "status", "account")


def _checked(batch: pd.DataFrame, kind: str, source: str, key: str) -> pd.DataFrame:
    """``batch`` validated as the pandas path validates the whole file; a problem names the row by its ``key``."""
    from fairserve import io

    good, problems, _ = io.validate_frame(batch, kind, source)
    if problems:
        first = problems[0]
        where = ""
        if first.row is not None and key in batch.columns:
            where = f", {key} {batch[key].iloc[first.row - 1]!r}"
        field = f", field '{first.field}'" if first.field else ""
        more = f" ({len(problems)} problems in this part of the file)" if len(problems) > 1 else ""
        raise FairserveError(f"{source}{where}{field}: {first.message}{more}")
    return good


def _unique(frame: Any, column: str, source: str, what: str) -> None:
    from pyspark.sql import functions as sf

    dup = frame.groupBy(column).count().where(sf.col("count") > 1).limit(1).collect()
    if dup:
        raise FairserveError(f"{source}: {column} '{dup[0][column]}' appears more than once in the {what}")


def prepare_scores_spark(spark: Any, path: str | Path) -> tuple[Any, str]:
    """The scores at ``path`` (a file, a Parquet dataset folder or a URI) as a prepared Spark DataFrame, and a
    sentence saying where influence came from (as the pandas path says it).

    Raises
    ------
    FairserveError
        No ``customer_id`` or ``clv``, a repeated ``customer_id``, or a bad value (checked batch by batch on the
        executors when the frame is used).
    """
    from pyspark.sql import functions as sf

    source = str(path)
    frame = read_table(spark, source)
    with engine_errors(f"{source}: cannot be read as scores"):
        for required in ("customer_id", "clv"):
            if required not in frame.columns:
                raise FairserveError(f"{source}: the scores need a '{required}' column (columns are: "
                                     f"{', '.join(frame.columns)})")
        frame = frame.withColumn("customer_id", sf.col("customer_id").cast("string"))
        _unique(frame, "customer_id", source, "scores table")
        if "influence" in frame.columns:
            said = "influence column of the scores file"
        elif "followers" in frame.columns:
            said = "followers column of the scores file"
        else:
            said = "no follower data (influence 0 for everyone)"
        if "influence" not in frame.columns and "followers" in frame.columns:
            frame = frame.withColumn("_fs_reach", sf.log10(sf.lit(1.0) + sf.coalesce(
                sf.col("followers").cast("double"), sf.lit(0.0))))
            frame = exact_percentile(frame, "_fs_reach", "influence", ties="min").drop("_fs_reach")
        elif "influence" not in frame.columns:
            frame = frame.withColumn("influence", sf.lit(0.0))
        if "value_percentile" not in frame.columns:
            frame = exact_percentile(frame.withColumn("clv", sf.col("clv").cast("double")), "clv",
                                     "value_percentile")
    return frame, said


def _audit_batches(policy: Policy, source: str) -> Any:
    """The function each executor runs on its batches of scores: one row of audit facts per customer."""
    names = [e.name for e in policy.entitlements]

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from fairserve.policy.audit import decile_of, tiers_of

        order = policy.tier_names
        for raw in batches:
            batch = _checked(raw, "scores", source, "customer_id")
            with_infl = tiers_of(batch, policy)
            without = tiers_of(batch, policy, without_influence=True)
            owed = (pd.Categorical(with_infl["tier"], categories=order).codes
                    < pd.Categorical(without["tier"], categories=order).codes)
            out = pd.DataFrame({
                "tier": with_infl["tier"].astype(str).to_numpy(),
                "owed": owed,
                "influence_min": with_infl["influence_min"].to_numpy(dtype=np.float64),
                "value_decile": decile_of(batch["value_percentile"].reset_index(drop=True)).to_numpy(),
                "influence_decile": decile_of(batch["influence"].reset_index(drop=True)).to_numpy(),
                "influence": batch["influence"].to_numpy(dtype=np.float64),
            })
            for i, name in enumerate(names):
                out[f"e{i}_granted"] = with_infl[f"entitled:{name}"].to_numpy(dtype=bool)
                out[f"e{i}_owed"] = with_infl[f"entitled_by_influence:{name}"].to_numpy(dtype=bool)
            yield out

    schema = ("tier string, owed boolean, influence_min double, value_decile double, influence_decile double, "
              "influence double" + "".join(f", e{i}_granted boolean, e{i}_owed boolean" for i in range(len(names))))
    return run, schema


def _decile_table(groups: pd.DataFrame, by: str, order: list[str]) -> pd.DataFrame:
    """The tier-by-decile table of :func:`fairserve.policy.audit.audit_policy` from the grouped counts."""
    known = groups[groups[by].notna() & np.isfinite(groups[by].astype(float))]
    tab = known.pivot_table(index=by, columns="tier", values="customers", aggfunc="sum", fill_value=0)
    tab.index = [int(i) for i in tab.index]
    tab = tab.reindex(index=range(1, 11), columns=order, fill_value=0).astype("int64")
    tab.columns = [str(c) for c in tab.columns]
    tab.columns.name = None
    tab.index.name = "decile"
    return tab


def audit_spark(scores: Any, policy: Policy, source: str = "<scores>") -> AuditReport:
    """Audit ``policy`` on prepared scores (:func:`prepare_scores_spark`); equal to
    :func:`fairserve.policy.audit.audit_policy` on the same table."""
    from pyspark.sql import functions as sf

    present = list(scores.columns)
    run, schema = _audit_batches(policy, source)
    names = [e.name for e in policy.entitlements]
    aggs = [sf.count(sf.lit(1)).alias("customers"), sf.sum(sf.col("owed").cast("long")).alias("owed"),
            sf.sum((sf.col("influence_min") > 0).cast("long")).alias("head_start"),
            sf.max("influence_min").alias("max_influence_min"), sf.max("influence").alias("max_influence")]
    for i in range(len(names)):
        aggs += [sf.sum(sf.col(f"e{i}_granted").cast("long")).alias(f"e{i}_granted"),
                 sf.sum(sf.col(f"e{i}_owed").cast("long")).alias(f"e{i}_owed")]
    with engine_errors(f"auditing {policy.name} on {source} with Spark"):
        facts = scores.mapInPandas(run, schema)
        groups = facts.groupBy("value_decile", "influence_decile", "tier").agg(*aggs).toPandas()
    order = policy.tier_names
    by_tier = groups.groupby("tier")[["customers", "owed"]].sum()
    conditioned = {sig for t in policy.compiled.tiers for sig, _ in (*t.conds, *t.sets)}
    conditioned |= {sig for e in policy.entitlements for sig, _ in (*e.conds, *e.sets)}
    notes = [f"the scores have no '{sig}' column, so every condition on {sig} is unmet"
             for sig in CUSTOMER_SIGNALS if sig in conditioned and sig not in present]
    if float(groups["max_influence"].max()) == 0.0:
        notes.append("no follower data: influence is 0 for everyone")
    by_value = _decile_table(groups, "value_decile", order)
    by_influence = _decile_table(groups, "influence_decile", order)
    for what, column, table in (("value", "value_percentile", by_value), ("influence", "influence", by_influence)):
        with engine_errors(f"auditing {policy.name} on {source} with Spark"):  # audit.largest_tie, on the engine
            top = (scores.where(sf.col(column).isNotNull() & ~sf.isnan(column)).groupBy(column).count()
                   .orderBy(sf.desc("count"), sf.asc(column)).first())
        tie = (0, float("nan")) if top is None else (int(top["count"]), float(top[column]))
        note = tie_note(what, *tie, table)
        if note is not None:
            notes.append(note)
    customers = int(groups["customers"].sum())
    return AuditReport(
        policy_name=policy.name,
        policy_version=policy.version,
        policy_hash=policy.content_hash,
        customers=customers,
        tier_order=order,
        tier_counts={t: int(by_tier["customers"].get(t, 0)) for t in order},
        by_value_decile=by_value,
        by_influence_decile=by_influence,
        owed_to_influence=int(groups["owed"].sum()),
        owed_to_influence_by_tier={t: int(by_tier["owed"].get(t, 0)) for t in order},
        with_influence_head_start=int(groups["head_start"].sum()),
        max_influence_min=float(groups["max_influence_min"].max()) if customers else 0.0,
        notes=notes,
        entitlements={name: {"granted": int(groups[f"e{i}_granted"].sum()),
                             "owed_to_influence": int(groups[f"e{i}_owed"].sum())}
                      for i, name in enumerate(names)},
    )


_DECISION_SCHEMA = (
    "contact_id string, customer_id string, channel string, tier string, queue string, rank long, "
    "head_start_min double, influence_min double, virtual_arrival double, sla_seconds double, "
    "sla_deadline double, guarantee_seconds double, pass_window_min double, flags string, entitlements string, "
    "reasons string"
)
_TEXT_OUT = ("contact_id", "customer_id", "channel", "tier", "queue", "flags", "entitlements", "reasons")


def decide_spark(spark: Any, contacts_path: str | Path, scores: Any | None, policy: Policy, out: str | Path, *,
                 use_text: bool = True) -> dict[str, Any]:
    """Decide every contact of ``contacts_path`` on the executors and write the decisions (Parquet dataset).

    The rows equal :func:`fairserve.policy.decisions.decisions_table`'s (the pandas path), in no particular order.
    Returns ``contacts`` (how many), ``tiers`` (count per tier), ``unknown_customers`` (contacts naming a
    customer the scores lack) and ``out``.
    """
    from pyspark.sql import functions as sf

    source = str(contacts_path)
    contacts = read_table(spark, source)
    given = list(contacts.columns)
    with engine_errors(f"deciding {source} with Spark"):
        if "contact_id" in given:
            _unique(contacts, "contact_id", source, "contacts")
        if "customer_id" in given:
            contacts = contacts.withColumn("customer_id", sf.col("customer_id").cast("string"))
        joined = contacts.drop(*[c for c in CUSTOMER_COLUMNS if c in given])
        unknown = 0
        if scores is not None and "customer_id" in given:
            keep = ["customer_id", *[c for c in CUSTOMER_COLUMNS if c in scores.columns]]
            base = scores.select(*keep).withColumn("_fs_known", sf.lit(True))
            joined = joined.join(base, "customer_id", "left")
            unknown = joined.where(sf.col("customer_id").isNotNull() & sf.col("_fs_known").isNull()).count()
            joined = joined.drop("_fs_known")
        contact_cols = [c for c in joined.columns if c in given]
        customer_cols = [c for c in joined.columns if c not in given]

        def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            from fairserve.policy.decisions import decisions_table

            for raw in batches:
                batch = _checked(raw[contact_cols], "contacts", source, "contact_id")
                for col in customer_cols:
                    batch[col] = raw[col].to_numpy()
                table = decisions_table(batch, None, policy, given, use_text)
                for col in _TEXT_OUT:
                    table[col] = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                                  for v in table[col]]
                yield table

        decided = joined.mapInPandas(run, _DECISION_SCHEMA)
        write_dataset(decided, out)
        written = spark.read.parquet(str(out))
        counts = {str(r["tier"]): int(r["count"]) for r in written.groupBy("tier").count().collect()}
    return {"contacts": sum(counts.values()), "tiers": {t: counts.get(t, 0) for t in policy.tier_names},
            "unknown_customers": int(unknown), "out": str(out)}
