"""``fairserve policy allocate``: rank claimants of a scarce good by a policy and allocate; compare policies.

Thin: reads the claimants (validated like every input) and the scores, joins them, and calls
:func:`fairserve.policy.allocation.allocate` and :func:`fairserve.policy.allocation_report.compare`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fairserve.cli.common import Currency, console, err_console, print_json, prose_lines, refuse_no_rows
from fairserve.cli.policy import JsonOpt, ProfilesOpt, SkipOpt, SyntheticOpt, _scores, policy_app
from fairserve.errors import FairserveError

if TYPE_CHECKING:  # the command's own imports load when it runs (start-up of every other command, issue 9)
    import pandas as pd

    from fairserve.policy.allocation import AllocationResult

__all__ = ["allocate_cmd"]


def _claimants(path: Path, scores: Path | None, profiles: Path | None, synthetic: int | None,
               skip_bad_rows: bool = False) -> pd.DataFrame:
    """The claimants with their customers' scores merged in; a claimant whose customer is not scored is an error.

    With ``skip_bad_rows`` the bad rows of both files go to side files (a note says where) and the rest are used.
    """
    from fairserve import io

    loaded = io.read_claimants(path, skip_bad_rows=skip_bad_rows)
    if loaded.rejects_path is not None:
        err_console.print(f"note: {loaded.rows_read - len(loaded.frame):,} bad row(s) of {path} skipped, written "
                          f"with their problems to {loaded.rejects_path}", markup=False, soft_wrap=True)
    refuse_no_rows(loaded, path, "claimants")
    claim = loaded.frame
    if scores is None:
        return claim
    base, _source = _scores(scores, profiles, synthetic, skip_bad_rows)
    base = base.drop(columns=[c for c in base.columns if c in claim.columns and c != "customer_id"])
    if "customer_id" not in claim.columns:
        raise FairserveError(f"{path}: no customer_id column to match the claimants to {scores}")
    known = claim["customer_id"].isna() | claim["customer_id"].astype(str).isin(base["customer_id"].astype(str))
    if not known.all():
        rows = [int(i) + 1 for i in claim.index[~known][:5]]  # data rows, counted from 1 as every reader does
        ids = ", ".join(str(v) for v in claim.loc[~known, "customer_id"].head(5))
        raise FairserveError(
            f"{path}: {int((~known).sum())} claimant(s) name a customer that is not in {scores} "
            f"(rows {', '.join(map(str, rows))}; customer_id {ids}); leave customer_id empty for a guest"
        )
    claim = claim.assign(customer_id=claim["customer_id"].astype(object))
    base = base.assign(customer_id=base["customer_id"].astype(str))
    merged = claim.merge(base, on="customer_id", how="left", validate="many_to_one")
    return merged


def _print(result: AllocationResult, show: int) -> None:
    name, version, digest = result.policy
    console.print(f"[bold]{name}[/] {version} ({digest[:12]}): {result.given:,} x {result.good} among "
                  f"{len(result.table):,} claimants ({'best' if result.direction == 'highest' else 'worst'}-ranked "
                  "receive it)")
    for note in result.notes:
        prose_lines(f"  note: {note}")
    table = Table(title=f"Who receives: {result.good}")
    for col in ("rank", "claimant", "customer", "points", "of which reach", "without reach"):
        ident = col in ("claimant", "customer")
        table.add_column(col, justify="left" if ident else "right", no_wrap=ident, overflow="fold")
    got = result.table[result.table["receives"]]
    for _, r in got.head(show).iterrows():
        table.add_row(str(r["rank"]), str(r["claimant_id"]), str(r["customer_id"] or "guest"), f"{r['points']:,.1f}",
                      f"{r['influence_points']:,.1f}", "receives" if r["receives_without_influence"] else "does not")
    console.print(table)
    if len(got) > show:
        console.print(f"  ... and {len(got) - show:,} more (--json or --out for all)")
    owed = int(result.table["owed_to_influence"].sum())
    console.print(f"  outcomes owed to follower reach: {owed:,}")
    if len(got):
        console.print(f"[bold]Statement for claimant {got.iloc[0]['claimant_id']}[/]")
        prose_lines(str(got.iloc[0]["statement"]))


@policy_app.command("allocate")
def allocate_cmd(
    claimants: Annotated[Path, typer.Argument(help="Claimants file: claimant_id, customer_id, fare, "
                                              "checked_in_hours, severity, medical, ... (.csv/.parquet/.jsonl)")],
    policy: Annotated[str, typer.Option("--policy", help="A built-in policy name or a policy file.")],
    goods: Annotated[int, typer.Option("--goods", min=1, help="How many goods (seats to deny, upgrades, ...).")],
    scores: Annotated[Path | None, typer.Option("--scores", help="Scores file to join on customer_id.")] = None,
    compare_with: Annotated[
        list[str] | None, typer.Option("--compare", help="Another policy to compare; repeat for more.")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="What if that was you: this claimant's "
                                                 "outcome under each policy.")] = None,
    churn: Annotated[float, typer.Option("--churn", min=0.0, max=1.0, help="P(a customer who receives a "
                                         "'lowest' good, e.g. is bumped, leaves): value at risk = CLV x this.")] = 0.2,
    out: Annotated[Path | None, typer.Option("--out", help="Write one row per claimant (CSV).")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write an offline HTML page with charts.")] = None,
    currency: Currency = "$",
    profiles: ProfilesOpt = None,
    synthetic: SyntheticOpt = None,
    show: Annotated[int, typer.Option("--show", min=0, help="Rows to print.")] = 10,
    as_json: JsonOpt = False,
    skip_bad_rows: SkipOpt = False,
) -> None:
    """Rank claimants of a scarce good by the policy and allocate it, each outcome with its reasons."""
    from fairserve.cli.common import check_output
    from fairserve.policy import load_policy
    from fairserve.policy.allocation import allocate
    from fairserve.policy.allocation_report import compare

    for path, what, ends in ((out, "table", (".csv",)), (report, "report", (".html", ".htm"))):
        if path is not None:
            check_output(path, what, suffixes=ends)
    frame = _claimants(claimants, scores, profiles, synthetic, skip_bad_rows)
    policies = [load_policy(policy)] + [load_policy(p) for p in (compare_with or [])]
    results = [allocate(frame, p, goods) for p in policies]
    if out is not None:
        table = results[0].table.assign(
            reasons=lambda t: t["reasons"].map(" | ".join), policy=results[0].policy[0]
        )
        table.to_csv(out, index=False)
    wanted = compare_with or customer or report is not None
    summary = compare(frame, results, churn=churn, customer=customer) if wanted else None
    if report is not None:
        from fairserve.report.allocation import render_allocation_html

        assert summary is not None
        report.write_text(render_allocation_html(summary, results, currency=currency), encoding="utf-8")
    if as_json:
        payload = results[0].to_dict()
        if summary is not None:
            payload["comparison"] = summary
        print_json(payload)
        return
    _print(results[0], show)
    if summary is not None:
        _print_comparison(summary, currency)
    for path in (out, report):
        if path is not None:
            console.print(f"wrote {path}")


def _print_comparison(summary: dict[str, object], currency: str) -> None:
    from fairserve.report.fmt import money

    rows = summary["policies"]
    assert isinstance(rows, dict)
    table = Table(title="Policies compared on the same claimants")
    table.add_column("policy", no_wrap=True)
    for col in ("receive", "owed to reach", "value at risk", "top value decile", "top reach decile"):
        table.add_column(col, overflow="fold", justify="right")
    for name, r in rows.items():
        table.add_row(name, f"{r['receives']:,}", f"{r['owed_to_influence']:,}",
                      "-" if r["value_at_risk"] is None else money(r["value_at_risk"], currency),
                      f"{r['by_value_decile'].get('10', 0):,}", f"{r['by_influence_decile'].get('10', 0):,}")
    console.print(table)
    you = summary.get("customer")
    if isinstance(you, dict):
        console.print(f"[bold]What if that was you?[/] claimant {you['claimant_id']}")
        for name, r in you["policies"].items():
            prose_lines(f"  - {name}: rank {r['rank']} of {r['of']}, "
                        f"{'receives' if r['receives'] else 'does not receive'}: {r['reasons'][-1]}")
