"""``fairserve policy``: list, check, explain, audit and diff policies.

Thin commands: they read files, call :mod:`fairserve.policy` and print. ``explain --text`` reads the text with
:mod:`fairserve.text` (urgency as severity, sentiment score, complaint), and the output says which model did.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fairserve.cli.common import SparkConf, SparkMaster, console, err_console, print_json, prose_lines, table
from fairserve.errors import FairserveError
from fairserve.policy import builtin_names, load_policy
from fairserve.policy.engine import CHANNELS

if TYPE_CHECKING:
    import pandas as pd

    from fairserve.policy.audit import AuditReport, DiffReport
    from fairserve.policy.engine import Policy

# Only what `policy list` and `policy check` need is imported above; the scores readers, the audit and the
# explanations load inside the commands that use them (start-up under half a second, issue 9).

__all__ = ["register"]

policy_app = typer.Typer(
    help="Policies: list, check, explain, audit, diff; decide a file of contacts; allocate scarce goods.",
    no_args_is_help=True,
)

ScoresOpt = Annotated[Path, typer.Option("--scores", help="Scores file from `fairserve value score` (.csv/.parquet).")]
ProfilesOpt = Annotated[
    Path | None, typer.Option("--profiles", help="Social profiles (handle, followers, customer_id, ...).")
]
SyntheticOpt = Annotated[
    int | None,
    typer.Option("--synthetic-followers", help="Draw follower counts with this seed (for data without any)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (policy name, version and hash included).")]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="pandas (this machine) or spark (the one evaluator on a Spark cluster's "
                      "executors: docs/scale.md).")
]
SkipOpt = Annotated[
    bool, typer.Option("--skip-bad-rows", help="Use the good rows of --scores; write the bad ones to a side file.")
]


# ------------------------------------------------------------------------------------------------ inputs


def _check_engine(engine: str) -> None:
    if engine not in ("pandas", "spark"):
        raise FairserveError(f"--engine must be pandas or spark, not {engine!r}")


def _read_scores(path: Path, skip_bad_rows: bool = False) -> pd.DataFrame:
    """The scores file, validated; with ``skip_bad_rows`` the bad rows go to a side file, and a note says so."""
    from fairserve import io

    if not skip_bad_rows:
        return io.read_scores(path)
    loaded = io.read_table(path, "scores", skip_bad_rows=True)
    if loaded.rejects_path is not None:
        err_console.print(f"note: {loaded.rows_read - len(loaded.frame):,} bad row(s) of {path} skipped, written "
                          f"with their problems to {loaded.rejects_path}", markup=False, soft_wrap=True)
    if loaded.frame.empty:
        raise FairserveError(f"{path}: no usable rows")
    return loaded.frame


def _scores(path: Path, profiles: Path | None, synthetic: int | None,
            skip_bad_rows: bool = False) -> tuple[pd.DataFrame, str]:
    """The prepared scores and a sentence saying where the follower counts came from."""
    from fairserve import io
    from fairserve.influence import synthetic_followers
    from fairserve.policy.audit import prepare_scores

    if profiles is not None and synthetic is not None:
        raise typer.BadParameter("give --profiles or --synthetic-followers, not both")
    frame = _read_scores(path, skip_bad_rows)
    if profiles is not None:
        prof = io.read_social_profiles(profiles).frame
        if "customer_id" not in prof.columns or prof["customer_id"].isna().all():
            raise FairserveError(f"{profiles}: the profiles need a customer_id column to match the scores")
        prof = prof.dropna(subset=["customer_id"])
        followers = prof.groupby(prof["customer_id"].astype(str))["followers"].max()
        return prepare_scores(frame, followers), f"followers from {profiles}"
    if synthetic is not None:
        drawn = synthetic_followers(len(frame), synthetic)
        return prepare_scores(frame, drawn), f"synthetic followers (seed {synthetic})"
    if "influence" in frame.columns:
        return prepare_scores(frame), "influence column of the scores file"
    if "followers" in frame.columns:
        return prepare_scores(frame), "followers column of the scores file"
    return prepare_scores(frame), "no follower data (influence 0 for everyone)"


def _text_signals(text: str, model: Path | None) -> tuple[int, float | None, bool, dict[str, str]]:
    """Severity (urgency), sentiment and complaint of ``text`` from :mod:`fairserve.text`, and how each was read."""
    if not text.strip():
        return 0, None, False, {}
    from fairserve.cli.text import classify_one

    row = classify_one(text, [model] if model is not None else None)
    return int(row["urgency"]), float(row["sentiment_score"]), bool(row["complaint"]), row["method"]


# ----------------------------------------------------------------------------------------------- commands


@policy_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """List the built-in policies."""
    policies = [load_policy(n) for n in builtin_names()]
    if as_json:
        print_json([_summary(p) for p in policies])
        return
    rows = []
    for p in policies:
        g = p.guarantee_min("phone")
        rows.append([p.name, p.version, " > ".join(p.tier_names), "yes" if p.strict else "no",
                     f"{p.max_head_start_by_channel()['phone']:g} min",
                     f"{p.influence_cap_by_channel()['phone']:g} min",
                     "none" if g is None else f"{g:g} min", p.content_hash[:12]])
    table("Built-in policies", ["name", "version", "tiers", "strict", "phone head start", "phone reach cap",
                                "phone guarantee", "hash"], rows, keys=(0, 2, 7))


def _summary(p: Policy) -> dict[str, Any]:
    return {
        "name": p.name,
        "version": p.version,
        "hash": p.content_hash,
        "description": p.description,
        "tiers": p.tier_names,
        "strict": p.strict,
        "max_head_start_min": {ch: round(v, 9) for ch, v in p.max_head_start_by_channel().items()},
        "influence_cap_min": {ch: round(v, 9) for ch, v in p.influence_cap_by_channel().items()},
        "guarantee_min": {ch: p.guarantee_min(ch) for ch in CHANNELS},
        "head_start_unit": p.spec.head_start_unit,
        "influence_may_change_tier": p.influence_may_change_tier,
        "risk_route": p.spec.risk.route if p.spec.risk is not None else None,
    }


@policy_app.command("check")
def check_cmd(
    file: Annotated[str, typer.Argument(help="A policy TOML file, or a built-in policy's name.")],
    as_json: JsonOpt = False,
) -> None:
    """Validate a policy file: exit 0 with a summary, or exit 2 naming the bad field and why."""
    policy = load_policy(file)  # a file of that name wins over a built-in of that name
    if as_json:
        print_json(_summary(policy))
        return
    console.print(f"[bold]{policy.name}[/] {policy.version}: valid ({policy.content_hash[:12]})")
    console.print(f"  tiers: {' > '.join(policy.tier_names)}{' (strict)' if policy.strict else ''}")
    def per_channel(values: dict[str, float | None]) -> str:
        return ", ".join(f"{ch} {'none' if v is None else f'{v:g}'}" for ch, v in values.items())

    console.print(f"  largest head start (min): {per_channel(dict(policy.max_head_start_by_channel()))}")
    console.print(f"  reach moves a contact at most (min): {per_channel(dict(policy.influence_cap_by_channel()))}")
    if policy.influence_may_change_tier:
        console.print("  reach may raise the tier")
    console.print(f"  wait guarantee (min): {per_channel({ch: policy.guarantee_min(ch) for ch in CHANNELS})}")
    if policy.spec.risk is not None:
        console.print(f"  reputational risk: threshold {policy.spec.risk.threshold:g}, route {policy.spec.risk.route}")


@policy_app.command("explain")
def explain_cmd(
    policy: Annotated[str, typer.Option("--policy", help="A built-in policy name or a policy file.")],
    scores: ScoresOpt,
    customer: Annotated[str, typer.Option("--customer", help="The customer id to explain.")],
    channel: Annotated[str, typer.Option("--channel", help="phone, email, chat or social.")] = "phone",
    text: Annotated[str, typer.Option("--text", help="The message (read by fairserve's text triage).")] = "",
    text_model: Annotated[Path | None, typer.Option("--text-model", help="A trained sentiment model directory "
                                                    "(default $FAIRSERVE_TEXT_MODEL, else VADER).")] = None,
    profiles: ProfilesOpt = None,
    synthetic: SyntheticOpt = None,
    skip_bad_rows: SkipOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Explain the decision for one customer's contact: the agent's view and the customer's statement."""
    from fairserve.model import Contact, customer_from_record
    from fairserve.policy import decide
    from fairserve.policy.engine import channel_of
    from fairserve.policy.explain import agent_view, customer_statement, decision_to_dict

    pol = load_policy(policy)
    frame, source = _scores(scores, profiles, synthetic, skip_bad_rows)
    rows = frame.loc[frame["customer_id"] == customer]
    if rows.empty:
        raise FairserveError(f"{scores}: no customer '{customer}'")
    cust = customer_from_record(rows.iloc[0])
    severity, sentiment, complaint, method = _text_signals(text, text_model)
    contact = Contact(f"{customer}-1", channel_of(channel), 0.0, text=text, customer_id=customer,
                      severity=severity, sentiment=sentiment, complaint=complaint)
    decision = decide(contact, cust, pol, 0.0)
    if as_json:
        payload = decision_to_dict(decision)
        payload["followers_source"] = source
        payload["text_classification"] = {"method": method, "severity": severity,
                                          "sentiment": sentiment, "complaint": complaint}
        print_json(payload)
        return
    if text:
        err_console.print(f"text read by fairserve.text ({method.get('sentiment', '')}): severity {severity}, "
                          f"sentiment {sentiment:+.2f}, complaint {complaint}")
    console.print("[bold]For the agent[/]")
    prose_lines(agent_view(decision))
    console.print()
    console.print("[bold]For the customer[/]")
    prose_lines(customer_statement(decision))


def _print_audit(report: AuditReport, source: str) -> None:
    console.print(f"[bold]{report.policy_name}[/] {report.policy_version} ({report.policy_hash[:12]}) on "
                  f"{report.customers:,} customers; {source}")
    counts = ", ".join(f"{t} {n:,}" for t, n in report.tier_counts.items())
    console.print(f"  tiers: {counts}")
    console.print(f"  owe their tier to influence alone: {report.owed_to_influence:,}; "
                  f"get an influence head start: {report.with_influence_head_start:,} "
                  f"(largest {report.max_influence_min:g} min)")
    for name, e in report.entitlements.items():
        console.print(f"  entitlement {name}: {e['granted']:,} customers, of whom {e['owed_to_influence']:,} owe it "
                      "to influence alone")
    for note in report.notes:
        console.print(f"  note: {note}")
    for title, tab in (("value decile", report.by_value_decile), ("influence decile", report.by_influence_decile)):
        table(f"Tier by {title} (10 = top)", [title, *(str(t) for t in tab.columns)],
              [[str(idx), *(f"{int(v):,}" for v in row)] for idx, row in tab.iterrows()],
              keys=range(len(tab.columns) + 1), right=range(1, len(tab.columns) + 1))


@policy_app.command("audit")
def audit_cmd(
    policy: Annotated[str, typer.Option("--policy", help="A built-in policy name or a policy file.")],
    scores: Annotated[str, typer.Option("--scores", help="Scores from `fairserve value score` (.csv/.parquet; "
                                        "with --engine spark also a Parquet dataset folder or a URI).")],
    profiles: ProfilesOpt = None,
    synthetic: SyntheticOpt = None,
    skip_bad_rows: SkipOpt = False,
    as_json: JsonOpt = False,
    engine: EngineOpt = "pandas",
    spark_master: SparkMaster = None,
    spark_conf: SparkConf = None,
) -> None:
    """Tier mix by value and influence decile, and who owes their tier to influence alone."""
    from fairserve.cli.value import refuse_on_spark, spark_from_options
    from fairserve.policy.audit import audit_policy

    pol = load_policy(policy)
    _check_engine(engine)
    spark = spark_from_options(engine, spark_master, spark_conf)
    if spark is not None:
        from fairserve.policy.spark import audit_spark, prepare_scores_spark

        refuse_on_spark(profiles=profiles, synthetic_followers=synthetic, skip_bad_rows=skip_bad_rows)
        with err_console.status(f"Auditing {pol.name} on Spark ..."):
            prepared, source = prepare_scores_spark(spark, scores)
            report = audit_spark(prepared, pol, scores)
    else:
        frame, source = _scores(Path(scores), profiles, synthetic, skip_bad_rows)
        report = audit_policy(frame, pol)
    if as_json:
        payload = report.to_dict()
        payload["followers_source"] = source
        print_json(payload)
        return
    _print_audit(report, source)


def _print_diff(report: DiffReport) -> None:
    if report.changed is None:
        console.print(f"{report.a[0]} {report.a[1]} and {report.b[0]} {report.b[1]} share no tier name; "
                      f"where the {report.customers:,} customers go:")
    else:
        console.print(f"{report.changed:,} of {report.customers:,} customers change tier from "
                      f"{report.a[0]} {report.a[1]} to {report.b[0]} {report.b[1]}")
    a, b = f"{report.a[0]} {report.a[1]}", f"{report.b[0]} {report.b[1]}"

    def tier(label: object, policy: str) -> str:  # the matrix labels are "<policy>:<tier>"
        return str(label).removeprefix(f"{policy}:")

    table(f"Rows: tier under {a}; columns: tier under {b}",
          [f"{report.a[0]} \\ {report.b[0]}", *(tier(c, report.b[0]) for c in report.matrix.columns)],
          [[tier(idx, report.a[0]), *(f"{int(v):,}" for v in row)] for idx, row in report.matrix.iterrows()],
          keys=range(len(report.matrix.columns) + 1), right=range(1, len(report.matrix.columns) + 1))


@policy_app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(help="The first policy (name or file).")],
    b: Annotated[str, typer.Argument(help="The second policy (name or file).")],
    scores: ScoresOpt,
    profiles: ProfilesOpt = None,
    synthetic: SyntheticOpt = None,
    skip_bad_rows: SkipOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """How many customers change tier between two policies, as a matrix."""
    from fairserve.policy.audit import diff_policies

    pa, pb = load_policy(a), load_policy(b)
    frame, source = _scores(scores, profiles, synthetic, skip_bad_rows)
    report = diff_policies(frame, pa, pb)
    if as_json:
        payload = report.to_dict()
        payload["followers_source"] = source
        print_json(payload)
        return
    err_console.print(source)
    _print_diff(report)


def register(app: typer.Typer) -> None:
    """Add the ``policy`` command group to ``app`` (with ``policy allocate``, from :mod:`fairserve.cli.allocate`)."""
    from fairserve.cli import allocate, decide  # noqa: F401  (their modules register commands on policy_app)

    app.add_typer(policy_app, name="policy")
