"""``fairserve value fit`` and ``fairserve value score``: thin commands over :mod:`fairserve.value`.

``fit`` reads a transaction log, builds the RFM summary in SQL (DuckDB or Spark), fits the transaction model and
the spend model and writes ``MODEL.json``; ``--json`` prints one JSON object (``model``, ``params``,
``log_likelihood``, ``spend``, ``customers``, ...). ``score`` reads a log and a ``MODEL.json`` and writes one row
per customer (CSV or Parquet): the input of the policy engine.

``fit --scores-out SCORES`` also scores the customers of the log it was fitted on, from the summary it has
already built: the log is read, validated and aggregated once, where ``fit`` then ``score`` do it twice. The
scores are the same as ``score`` gives with the saved model (a test holds them equal).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fairserve.cli.common import SparkConf, SparkMaster, check_output, console, err_console, print_json
from fairserve.errors import FairserveError, InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["register"]

value_app = typer.Typer(help="Customer value: fit CLV models on a transaction log, score customers.",
                        no_args_is_help=True)


class ModelName(StrEnum):
    bgnbd = "bgnbd"
    paretonbd = "paretonbd"


class PeriodName(StrEnum):
    day = "day"
    week = "week"


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


Transactions = Annotated[str, typer.Argument(help="Transaction log: CSV (.csv, .csv.gz, .txt; .tsv tab "
                                              "separated), Parquet or JSON lines (with --engine spark also a "
                                              "folder of part files or a URI Spark reads, e.g. s3a://...).",
                                              show_default=False)]
CustomerCol = Annotated[str | None, typer.Option("--customer-col", help="Customer id column (default: customer_id).")]
DateCol = Annotated[str | None, typer.Option("--date-col", help="Purchase date column (default: date).")]
AmountCol = Annotated[str | None, typer.Option("--amount-col", help="Amount column (default: amount).")]
CalEnd = Annotated[str | None, typer.Option("--calibration-end", help="Last day of calibration, YYYY-MM-DD.")]
Engine = Annotated[EngineName, typer.Option("--engine", help="duckdb (this machine) or spark (the whole "
                                            "pipeline on a Spark cluster: docs/scale.md).")]
HorizonOpt = Annotated[int, typer.Option("--horizon-months", min=0, help="CLV horizon.")]
DiscountOpt = Annotated[float, typer.Option("--discount-rate", help="Monthly discount rate.")]
SkipBadRows = Annotated[
    bool, typer.Option("--skip-bad-rows", help="Use the log's good rows; write the bad ones to a side file "
                       "(the log is then read by pandas first: slower on a large log).")
]
ProfilesOpt = Annotated[
    Path | None, typer.Option("--profiles", help="Social profiles (handle, followers, customer_id): write "
                              "followers and influence.")
]
SyntheticOpt = Annotated[
    int | None, typer.Option("--synthetic-followers", help="Draw follower counts with this seed (labelled "
                             "synthetic) for data without profiles.")
]
MarginOpt = Annotated[float | None, typer.Option("--margin", help="Default gross margin [0.3].")]


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise FairserveError(f"{option} must be a date YYYY-MM-DD, not {text!r}") from exc


def _pairs(items: list[str] | None, option: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key or not math.isfinite(float(value)):
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError as exc:
            raise FairserveError(f"{option} takes NAME=NUMBER (a finite number), not {item!r}") from exc
    return out


def _check_money(discount_rate: float, margin: float | None) -> None:
    """Refuse ``--discount-rate`` and ``--margin`` values no CLV can be computed with, before the log is read.

    ``--discount-rate nan`` was blamed on the model ('fitted on too few customers'), ``inf`` scored every
    customer 0 with exit 0, and ``--margin nan`` was refused only after the fit, without naming the option.
    """
    if math.isnan(discount_rate) or math.isinf(discount_rate):
        raise typer.BadParameter(f"{discount_rate} is not a finite number: give the monthly discount rate, e.g. "
                                 "0.01 for 1% a month", param_hint="--discount-rate")
    if discount_rate <= -1:
        raise typer.BadParameter(f"{discount_rate:g} must be more than -1 (money a month later would be worth "
                                 "nothing or less)", param_hint="--discount-rate")
    if margin is not None and not 0.0 <= margin <= 1.0:  # nan fails this comparison too
        raise typer.BadParameter(f"{margin:g} is not a fraction in [0, 1]: give the gross margin, e.g. 0.3",
                                 param_hint="--margin")


def spark_from_options(engine: str, master: str | None, conf: list[str] | None) -> Any:
    """The Spark session the options ask for (``--engine spark``), or None for DuckDB / pandas.

    Shared by ``value fit``, ``value score``, ``policy audit`` and ``policy decide``.
    """
    from fairserve.value.spark import parse_conf

    settings = parse_conf(conf)
    if engine != "spark":
        if master is not None or settings:
            raise FairserveError("--spark-master and --spark-conf need --engine spark")
        return None
    from fairserve.value.spark import spark_session

    with err_console.status(f"Connecting to Spark ({master or 'master from the environment'}) ..."):
        return spark_session("fairserve", master, settings)


def refuse_on_spark(**given: Any) -> None:
    """An option the Spark path does not support (each named ``--option-name=value``) is an error naming it."""
    for option, value in given.items():
        if value not in (None, False, [], ()):
            name = "--" + option.replace("_", "-")
            raise FairserveError(f"{name} is not supported with --engine spark (it needs the whole table on one "
                                 "machine); use --engine duckdb, or leave it out")


def _check_dataset_out(out: str) -> None:
    if out.lower().rstrip("/").endswith((".csv", ".jsonl", ".json", ".csv.gz")):
        raise FairserveError(f"{out}: with --engine spark the scores are a Parquet dataset (a folder of part "
                             "files); give a folder path or URI, e.g. scores/ or s3a://bucket/scores")


def _summarise(path: Path, engine: EngineName, skip_bad_rows: bool = False, **spec: Any) -> Any:
    from fairserve.value import RFMSpec

    return _summarise_spec(path, RFMSpec(**{k: v for k, v in spec.items() if v is not None}), engine,
                           skip_bad_rows)


def _explain_refusal(path: Path, columns: dict[str, str]) -> None:
    """After the engine refused ``path`` as a whole: raise what ``fairserve check`` finds wrong, if it is sharper.

    The file as a whole (missing, a folder, empty, not UTF-8) or any row (a line cut short confuses the engine's
    dialect sniffing, for one). Returns when the check finds only what the engine said (a missing column).
    """
    from fairserve import io

    io.read_raw_table(path)
    try:
        io.read_table(path, "transactions", columns=columns)
    except InputError as found:
        if any(p.row is not None for p in found.problems):
            raise found from None


def _good_rows(path: Path, columns: dict[str, str]) -> Any:
    """The log's good rows as read (every column, as text); the bad ones go to a side file, and a note says so."""
    from fairserve import io

    loaded = io.read_table(path, "transactions", columns=columns, skip_bad_rows=True)
    raw = io.read_raw_table(path, skip_bad_rows=True)
    if loaded.rejects_path is None:
        return raw
    bad = sorted({p.row for p in loaded.problems if p.row is not None})
    err_console.print(f"note: {len(bad):,} bad row(s) of {path} skipped, written with their problems to "
                      f"{loaded.rejects_path}", markup=False, soft_wrap=True)
    return raw.drop(index=[r - 1 for r in bad]).reset_index(drop=True)


def _summarise_spec(path: Path, spec: Any, engine: EngineName, skip_bad_rows: bool = False) -> Any:
    """Summarise the log at ``path``; the input gate of ``value fit`` and ``value score``.

    The engine validates the log as it reads it (ids, dates, amounts, row by row). A format it cannot read
    itself (JSON lines) is read and checked by :mod:`fairserve.io` first. When the engine refuses the file, the
    file is checked as ``fairserve check --kind transactions`` checks it, so that the message names the file,
    row and field (an empty file, bytes that are not UTF-8, ...) rather than the engine's own words.
    """
    from fairserve import io
    from fairserve.value import summarise
    from fairserve.value.progress import progress_bar

    columns = {"customer_id": spec.customer_col, "date": spec.date_col, "amount": spec.amount_col}
    source: Any = path
    if skip_bad_rows:  # read and checked here, so that the engine sees only the good rows
        source = _good_rows(path, columns)
    elif not io.engine_reads_itself(path):
        io.read_transactions(path, customer_col=spec.customer_col, date_col=spec.date_col,
                             amount_col=spec.amount_col)
        source = io.read_raw_table(path)
    try:
        with progress_bar(err_console, f"Summarising {path} with {engine.value}"):  # on a terminal only
            return summarise(source, spec, engine=engine.value)
    except InputError as exc:
        if not any(p.row is not None for p in exc.problems):  # the file as a whole: empty, not UTF-8, ...?
            _explain_refusal(path, columns)
        raise
    except FairserveError:
        _explain_refusal(path, columns)
        raise
    except Exception as exc:  # the engine's own error on a file it could not parse
        _explain_refusal(path, columns)
        raise FairserveError(f"{path}: cannot be read as a transaction log ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc


@value_app.command("fit")
def fit(
    transactions: Transactions,
    customer_col: CustomerCol = None,
    date_col: DateCol = None,
    amount_col: AmountCol = None,
    model: Annotated[ModelName, typer.Option("--model", help="Transaction model.")] = ModelName.bgnbd,
    period: Annotated[PeriodName, typer.Option("--period", help="Time unit (week = days / 7).")] = PeriodName.day,
    calibration_end: CalEnd = None,
    engine: Engine = EngineName.duckdb,
    out: Annotated[Path | None, typer.Option("--out", help="Write both models to this MODEL.json.")] = None,
    scores_out: Annotated[
        str | None,
        typer.Option("--scores-out", help="Also score the log's customers into this .csv/.parquet (one pass); "
                     "with --engine spark a Parquet dataset folder."),
    ] = None,
    horizon_months: HorizonOpt = 12,
    discount_rate: DiscountOpt = 0.01,
    margin: MarginOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    skip_bad_rows: SkipBadRows = False,
    profiles: ProfilesOpt = None,
    synthetic: SyntheticOpt = None,
    spark_master: SparkMaster = None,
    spark_conf: SparkConf = None,
) -> None:
    """Fit a BG/NBD or Pareto/NBD model and the Gamma-Gamma spend model on a transaction log."""
    from fairserve.value import fit_cautions, fit_value_model, import_optimizer_meanwhile

    _check_money(discount_rate, margin)
    if engine == EngineName.spark:
        refuse_on_spark(skip_bad_rows=skip_bad_rows, profiles=profiles, synthetic_followers=synthetic)
        if scores_out is not None:
            _check_dataset_out(scores_out)
    elif scores_out is not None:
        _check_out(Path(scores_out))
    elif profiles is not None or synthetic is not None:
        raise typer.BadParameter("needs --scores-out: followers and influence are written with the scores",
                                 param_hint="--profiles / --synthetic-followers")
    if out is not None:
        check_output(out, "model")
    followers = _follower_source(profiles, synthetic)
    spark = spark_from_options(engine.value, spark_master, spark_conf)
    options: dict[str, Any] = dict(
        customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        period=period.value, calibration_end=_date(calibration_end, "--calibration-end"),
    )
    if spark is not None:
        from fairserve.value import RFMSpec
        from fairserve.value.spark_value import summarise_spark

        with err_console.status(f"Summarising {transactions} on Spark ..."):
            summary = summarise_spark(transactions, RFMSpec(**{k: v for k, v in options.items() if v is not None}),
                                      spark=spark)
    else:
        import_optimizer_meanwhile()  # overlaps the summary, whose reader and loops release Python's lock
        summary = _summarise(Path(transactions), engine, skip_bad_rows, **options)
    customers = int(summary.info.get("customers", len(summary.customers)))
    with err_console.status(f"Fitting {model.value} and Gamma-Gamma on {customers:,} customers ..."):
        vm = fit_value_model(summary, model.value)
    record = vm.to_dict()
    if out is not None:
        out.write_text(json.dumps(record, indent=2) + "\n")
    payload = {
        "model": vm.model,
        "params": vm.transaction.params_,
        "log_likelihood": vm.transaction.log_likelihood_,
        "spend": {"params": vm.spend.params_, "log_likelihood": vm.spend.log_likelihood_},
        "customers": customers,
        "repeat_buyers": int(summary.info.get("repeat_buyers", (summary.customers["frequency"] > 0).sum())),
        "transactions": summary.info["rows"],
        "period": vm.period,
        "calibration_end": vm.calibration_end.isoformat(),
        "engine": engine.value,
        "out": str(out) if out is not None else None,
    }
    payload["compressed_rows"] = {"transaction_model": len(summary.compressed), "spend_model": len(summary.spend)}
    payload["cautions"] = fit_cautions(summary, vm)
    for caution in payload["cautions"]:
        err_console.print(f"[yellow]caution[/]: {caution}", markup=True)
    if spark is not None:
        payload["spark_master"] = spark.sparkContext.master
    if scores_out is not None and spark is not None:
        payload["scores"] = _score_spark(summary, vm, scores_out, horizon_months=horizon_months,
                                         discount_rate=discount_rate, margin=margin)
    elif scores_out is not None:
        scored = _score(summary, vm, Path(scores_out), horizon_months=horizon_months, discount_rate=discount_rate,
                        margin=margin, followers=followers)
        payload["scores"] = scored
    if as_json:
        print_json(payload)
        return
    params = ", ".join(f"{k}={v:.4g}" for k, v in vm.transaction.params_.items())
    spend = ", ".join(f"{k}={v:.4g}" for k, v in vm.spend.params_.items())
    console.print(f"{vm.model}: {params} (log-likelihood {vm.transaction.log_likelihood_:.2f})")
    console.print(f"gamma-gamma: {spend} (log-likelihood {vm.spend.log_likelihood_:.2f})")
    console.print(f"{payload['customers']:,} customers, {payload['repeat_buyers']:,} repeat buyers, "
                  f"period {vm.period}, calibration end {payload['calibration_end']}")
    if out is not None:
        console.print(f"saved {out}")
    if scores_out is not None:
        _print_scored(payload["scores"])


@value_app.command("score")
def score(
    transactions: Transactions,
    model_file: Annotated[Path, typer.Option("--model", help="MODEL.json written by `value fit`.")],
    out: Annotated[str, typer.Option("--out", help="Scores file, .csv or .parquet; with --engine spark a Parquet "
                                     "dataset folder (or URI).")],
    customer_col: CustomerCol = None,
    date_col: DateCol = None,
    amount_col: AmountCol = None,
    calibration_end: Annotated[
        str | None,
        typer.Option("--calibration-end", help="Score as of this day (default: the model's calibration end)."),
    ] = None,
    horizon_months: HorizonOpt = 12,
    discount_rate: DiscountOpt = 0.01,
    margin: MarginOpt = None,
    product_col: Annotated[str | None, typer.Option("--product-col", help="Product line column.")] = None,
    line_margin: Annotated[
        list[str] | None, typer.Option("--line-margin", help="LINE=MARGIN per product line (repeatable).")
    ] = None,
    account_col: Annotated[str | None, typer.Option("--account-col", help="Organisation column (B2B).")] = None,
    status_col: Annotated[str | None, typer.Option("--status-col", help="Status tier column.")] = None,
    status_order: Annotated[
        str | None, typer.Option("--status-order", help="Status tiers, lowest first, comma separated.")
    ] = None,
    contacts: Annotated[
        Path | None, typer.Option("--contacts", help="Contact history (customer_id, channel, date) for cost to serve.")
    ] = None,
    channel_cost: Annotated[
        list[str] | None, typer.Option("--channel-cost", help="CHANNEL=COST per contact (repeatable).")
    ] = None,
    accounts_out: Annotated[
        Path | None, typer.Option("--accounts-out", help="Also write one row per account here.")
    ] = None,
    engine: Engine = EngineName.duckdb,
    profiles: ProfilesOpt = None,
    synthetic: SyntheticOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    skip_bad_rows: SkipBadRows = False,
    spark_master: SparkMaster = None,
    spark_conf: SparkConf = None,
) -> None:
    """Score every customer: p_alive, expected purchases and spend, CLV, profit, loyalty, value percentile."""
    from fairserve import io
    from fairserve.value import DEFAULT_CHANNEL_COST, contact_rates

    _check_money(discount_rate, margin)
    if engine == EngineName.spark:
        refuse_on_spark(skip_bad_rows=skip_bad_rows, profiles=profiles, synthetic_followers=synthetic,
                        contacts=contacts, account_col=account_col, accounts_out=accounts_out)
        _check_dataset_out(out)
    else:
        _check_out(Path(out))
        if accounts_out is not None:
            check_output(accounts_out, "accounts table")
    followers = _follower_source(profiles, synthetic)
    vm = load_model(model_file)
    if contacts is not None:
        history = io.read_table(contacts, "contact_history",
                                columns={"customer_id": customer_col} if customer_col else None).frame
    margins = _pairs(line_margin, "--line-margin")
    costs = {**DEFAULT_CHANNEL_COST, **_pairs(channel_cost, "--channel-cost")}
    spec = vm.spec(
        customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        calibration_end=_date(calibration_end, "--calibration-end"),
        account_col=account_col, status_col=status_col, product_col=product_col,
        margins=tuple(margins.items()) or None,
        default_margin=margin,
    )
    spark = spark_from_options(engine.value, spark_master, spark_conf)
    ladder = [t.strip() for t in status_order.split(",")] if status_order else None
    if spark is not None:
        from fairserve.value.spark_value import summarise_spark

        with err_console.status(f"Summarising {transactions} on Spark ..."):
            spark_summary = summarise_spark(transactions, spec, spark=spark)
        payload = _score_spark(spark_summary, vm, out, horizon_months=horizon_months, discount_rate=discount_rate,
                               margin=margin, channel_cost=costs, status_ladder=ladder)
        payload["spark_master"] = spark.sparkContext.master
        if as_json:
            print_json(payload)
        else:
            _print_scored(payload)
        return
    summary = _summarise_spec(Path(transactions), spec, engine, skip_bad_rows)
    rates = None
    if contacts is not None:
        rates = contact_rates(history, customer_col="customer_id", source=str(contacts))
    payload = _score(summary, vm, Path(out), horizon_months=horizon_months, discount_rate=discount_rate, margin=margin,
                     contact_rates=rates, channel_cost=costs, status_ladder=ladder, accounts_out=accounts_out,
                     followers=followers)
    if as_json:
        print_json(payload)
    else:
        _print_scored(payload)


def load_model(model_file: Path) -> Any:
    """Read and check a ``MODEL.json`` written by ``value fit --out``; every error names the file."""
    from math import inf

    from fairserve import io
    from fairserve.value import ValueModel

    if not model_file.exists():
        raise FairserveError(f"{model_file}: no such model file (write one with `fairserve value fit --out`)")
    record = io.read_json_object(model_file, "model")
    for part in ("transaction_model", "spend_model"):  # the numbers a model is made of, each named if wrong
        section = record.get(part)
        params = section.get("params") if isinstance(section, dict) else None
        if not isinstance(params, dict):
            raise FairserveError(f"{model_file}: field '{part}.params' is missing or not an object: not a "
                                 "model written by `fairserve value fit --out`")
        for name, value in params.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value == inf:
                raise FairserveError(f"{model_file}: field '{part}.params.{name}' must be a positive number, "
                                     f"not {value!r}")
    try:
        return ValueModel.from_dict(record, str(model_file))
    except FairserveError as exc:
        message = str(exc)
        raise FairserveError(message if message.startswith(str(model_file)) else f"{model_file}: {message}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type or shape
        raise FairserveError(f"{model_file}: not a usable fairserve value model ({type(exc).__name__}: "
                             f"{exc})") from None


def _check_out(path: Path) -> None:
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise FairserveError(f"{path}: the output must end in .csv or .parquet")
    check_output(path, "scores")


def _follower_source(profiles: Path | None, synthetic: int | None) -> tuple[Any, str] | None:
    """Follower counts by customer id (from ``profiles``) or a seed to draw them, and where they come from."""
    if profiles is not None and synthetic is not None:
        raise typer.BadParameter("give --profiles or --synthetic-followers, not both")
    if profiles is not None:
        return _followers(profiles), f"followers from {profiles}"
    if synthetic is not None:
        return synthetic, f"synthetic followers (seed {synthetic})"
    return None


def _followers(profiles: Path) -> Any:
    """Follower counts by customer id from a social profiles file (a customer's largest account counts)."""
    from fairserve import io

    prof = io.read_social_profiles(profiles).frame
    if prof["customer_id"].isna().all():
        raise FairserveError(f"{profiles}: the profiles need a customer_id column to match the customers")
    prof = prof.dropna(subset=["customer_id"])
    return prof.groupby(prof["customer_id"].astype(str))["followers"].max()


def _with_influence(scores: pd.DataFrame, counts: Any) -> pd.DataFrame:
    """``scores`` with ``followers`` (from profiles by customer id, or drawn with a seed) and ``influence``."""
    import pandas as pd

    from fairserve.influence import influence_percentiles, synthetic_followers

    out = scores.copy()
    ids = out["customer_id"].astype(str)
    if isinstance(counts, int):
        out["followers"] = synthetic_followers(len(out), counts).astype("int64")
    else:
        out["followers"] = ids.map(counts).fillna(0).to_numpy(dtype="int64")
    pct = influence_percentiles(pd.DataFrame({"customer_id": ids.to_numpy(), "followers": out["followers"]}))
    out["influence"] = ids.map(pct).fillna(0.0).clip(0.0, 1.0).to_numpy(dtype=float)
    return out


def _score(summary: Any, vm: Any, out: Path, *, horizon_months: int, discount_rate: float, margin: float | None,
           accounts_out: Path | None = None, followers: tuple[Any, str] | None = None,
           **options: Any) -> dict[str, Any]:
    """Score the summary's customers with ``vm``, write them to ``out``; return the JSON summary of the scores.

    ``followers`` (counts by customer id, or a seed for synthetic counts, and where they came from) adds the
    ``followers`` and ``influence`` columns.
    """
    from fairserve import io
    from fairserve.value import account_scores, score_customers

    with err_console.status(f"Scoring {len(summary.customers):,} customers ..."):
        scores = score_customers(summary.customers, vm, horizon_months=horizon_months, discount_rate=discount_rate,
                                 margin=margin, **options)
    if followers is not None:
        scores = _with_influence(scores, followers[0])
    io.write_table(scores, out)
    if accounts_out is not None:
        io.write_table(account_scores(scores), accounts_out)
    spec = summary.spec
    return {
        "customers": len(scores),
        "out": str(out),
        "clv_total": float(scores["clv"].sum()),
        "profit_total": float(scores["profit"].sum()),
        "clv_median": float(scores["clv"].median()) if len(scores) else None,
        "calibration_end": (spec.calibration_end or vm.calibration_end).isoformat(),
        "horizon_months": horizon_months,
        "followers_source": followers[1] if followers is not None else None,
        "customers_with_followers": int((scores["followers"] > 0).sum()) if followers is not None else None,
    }


def _score_spark(summary: Any, vm: Any, out: str, *, horizon_months: int, **options: Any) -> dict[str, Any]:
    """Score on the executors into the Parquet dataset ``out``; the JSON summary as :func:`_score`'s."""
    from fairserve.value.spark_value import score_spark

    with err_console.status(f"Scoring {summary.info['customers']:,} customers on Spark ..."):
        totals = score_spark(summary, vm, out, horizon_months=horizon_months, **options)
    spec = summary.spec
    return {
        "customers": totals["customers"],
        "out": out,
        "clv_total": totals["clv_total"],
        "profit_total": totals["profit_total"],
        "clv_median": totals["clv_median"],
        "clv_median_rank_error": totals["clv_median_rank_error"],
        "part_files": totals["partitions"],
        "calibration_end": (spec.calibration_end or vm.calibration_end).isoformat(),
        "horizon_months": horizon_months,
        "followers_source": None,
        "customers_with_followers": None,
        "engine": "spark",
    }


def _print_scored(payload: dict[str, Any]) -> None:
    console.print(f"scored {payload['customers']:,} customers -> {payload['out']} "
                  f"(total CLV {payload['clv_total']:,.2f}, total profit {payload['profit_total']:,.2f})")
    if payload.get("followers_source"):
        console.print(f"followers and influence: {payload['followers_source']} "
                      f"({payload['customers_with_followers']:,} customers with followers)", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``value`` command group to ``app``."""
    app.add_typer(value_app, name="value")
