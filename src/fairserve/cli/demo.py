"""``fairserve demo``: the main job on the embedded default data (CDNOW), printed as tables, written to a folder.

The work is :func:`fairserve.demo.run_demo`; this module only shows its results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fairserve.cli.common import Currency, check_output, console, err_console, print_json, print_whole, prose
from fairserve.cli.sim import print_whatif
from fairserve.demo import DemoResult, run_demo
from fairserve.report.fmt import clip_interval, money, num

__all__ = ["register"]


def _data_table(result: DemoResult, currency: str) -> Table:
    frame = result.transactions
    table = Table(title="CDNOW_master (computed from the file)", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("customers", f"{frame['customer_id'].nunique():,}")
    table.add_row("transactions", f"{len(frame):,}")
    table.add_row("first date", str(frame["date"].min().date()))
    table.add_row("last date", str(frame["date"].max().date()))
    table.add_row("total spend", money(frame["amount"].sum(), currency))
    table.add_row("rows with problems", f"{result.problems:,}")
    return table


def _value_table(result: DemoResult, currency: str) -> Table:
    vm, scores = result.value_model, result.scores
    table = Table(title="Customer value (BG/NBD + Gamma-Gamma, weeks, 12-month CLV at 1%/month)",
                  title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    params = ", ".join(f"{k}={v:.4g}" for k, v in vm.transaction.params_.items())
    table.add_row("BG/NBD parameters", params)
    table.add_row("BG/NBD log-likelihood", f"{vm.transaction.log_likelihood_:,.2f}")
    table.add_row("Gamma-Gamma parameters", ", ".join(f"{k}={v:.4g}" for k, v in vm.spend.params_.items()))
    for q in (0.5, 0.9, 0.99):
        table.add_row(f"CLV, {int(q * 100)}th percentile", money(scores["clv"].quantile(q), currency))
    table.add_row("customers with no followers", f"{(scores['followers'] == 0).mean():.1%}")
    table.add_row("median / largest follower count",
                  f"{int(scores['followers'].median()):,} / {int(scores['followers'].max()):,}")
    return table


def _audit_table(result: DemoResult) -> Table:
    table = Table(title="Tiers on the scored base (fairserve policy audit)", title_justify="left")
    for col in ("policy", "tier mix (highest first)", "owe their tier to influence alone"):
        table.add_column(col, justify="left" if col != "owe their tier to influence alone" else "right")
    for name, audit in result.audits.items():
        mix = ", ".join(f"{t} {n:,}" for t, n in audit.tier_counts.items())
        table.add_row(name, mix, f"{audit.owed_to_influence:,}")
    return table


def _fmt(x: Any, digits: int = 3) -> str:
    return num(x, digits)


def _comparison_table(result: DemoResult, currency: str) -> Table:
    comp = result.comparison
    unit = comp["time_unit"]
    table = Table(
        title=f"One simulated week, {comp['replications']} replications (waits in {unit}s; 95% CI in brackets)",
        title_justify="left",
        caption=(
            f"SLA measured against the scenario's targets: {comp['targets_text']}; the same for every policy. "
            "Promise kept: answered within the policy's own promise. Exposure: public contacts only."
        ),
        caption_justify="left",
    )
    cols = ("policy", "mean wait", "p95 wait", "within SLA", "promise kept", "abandoned", "overtakes /contact",
            "of which influence", "top-10% value wait", "bottom-10% value wait", "top-10% reach wait",
            "revenue at risk", "reputational exposure")
    names = max(len(name) for name in comp["policies"])
    for col in cols:
        if col == "policy":
            table.add_column(col, no_wrap=True, min_width=names)  # a policy's name is never cut
        else:
            table.add_column(col, justify="right")
    for name, entry in comp["policies"].items():
        a = entry["all"]["all"]
        vd, idec = entry.get("value_deciles", {}), entry.get("influence_deciles", {})
        lo, hi = clip_interval(*a["mean_wait_ci95"])
        table.add_row(
            name,
            f"{_fmt(a['mean_wait'])} [{_fmt(lo)}, {_fmt(hi)}]",
            _fmt(a["p95_wait"]),
            f"{a['sla']:.1%}",
            f"{a['promise_kept']:.1%}",
            f"{a['abandon_rate']:.1%}",
            _fmt(a["overtaken"]),
            _fmt(a["overtaken_by_influence"]),
            _fmt(vd.get("D10", {}).get("mean_wait")),
            _fmt(vd.get("D1", {}).get("mean_wait")),
            _fmt(idec.get("D10", {}).get("mean_wait")),
            money(a["revenue_at_risk"], currency),
            f"{a['reputational_exposure']:,.0f}",
        )
    return table


def demo(
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Simulation replications.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Root seed of the simulation.")] = 0,
    whatif_replications: Annotated[
        int, typer.Option("--whatif-replications", min=1, help="Replications of each what-if.")
    ] = 20,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the scores, the JSON summary and the HTML report.")
    ] = Path("fairserve-demo"),
    currency: Currency = "$",
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON summary on stdout (and nothing else).")
    ] = False,
    scores_out: Annotated[
        Path | None, typer.Option("--scores-out", help="Also write the scored customer base (CSV) here.")
    ] = None,
) -> None:
    """The main job on real CDNOW data: value, influence, policy audit, one simulated week, what-if.

    Writes scores.csv, summary.json and report.html into the --out folder and prints their paths, the report \
last, then the answer to "does serving influencers first hurt our valuable customers, and by how much?".
    """
    import json

    from fairserve.demo import DEMO_FILES, demo_scenario, demo_summary, next_commands
    from fairserve.policy import load_policy
    from fairserve.report import write_report

    check_output(out, "demo's folder", folder=True)
    if scores_out is not None:
        check_output(scores_out, "scores")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def step(text: str) -> None:
            # each step has its own count: the comparison's replications, then each what-if's (rich keeps a
            # total it is not given, so the bar is reset with the step's own)
            total = replications if text.startswith("simulating") else (
                whatif_replications if text.startswith("what if") else None)
            bar.reset(task, total=total, description=text)

        result = run_demo(replications=replications, seed=seed, step=step, whatif_replications=whatif_replications,
                          progress=lambda _r: bar.advance(task))
    if not json_out:
        for tab in (_data_table(result, currency), _value_table(result, currency), _audit_table(result),
                    _comparison_table(result, currency)):
            print_whole(tab)
        roles = {"loyal": "the highest-value customer with no followers",
                 "influencer": "the most-followed customer with below-median value"}
        for role, res in result.whatifs.items():
            c = res["customer"]
            console.print(
                f"\n[bold]What if that was you?[/] Customer {escape(str(c['customer_id']))}, {roles[role]}: "
                f"CLV {money(c['clv'], currency)}, {int(c['followers']):,} followers; a phone call, "
                f"{res['replications']} replications"
            )
            print_whatif(res)
    out.mkdir(parents=True, exist_ok=True)
    files = {key: str(out / name) for key, name in DEMO_FILES.items()}
    commands = next_commands(str(out), result, replications, seed)
    result.scores.to_csv(files["scores"], index=False)
    if scores_out is not None:  # a second copy where an older guide asks for it
        result.scores.to_csv(scores_out, index=False)
    data = demo_summary(result, currency=currency, files=files, commands=commands)
    Path(files["summary"]).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    policies = {name: load_policy(name) for name in result.comparison["policies"]}
    rerun = f"fairserve demo -r {replications} --seed {seed} --whatif-replications {whatif_replications}"
    write_report(
        result.comparison, files["report"], title="fairserve demo: does serving influencers first cost valuable "
        "customers, and how much?", scenario=demo_scenario(), policies=policies, whatifs=result.whatifs,
        currency=currency, command=rerun, customers=result.scores,
    )
    if json_out:
        print_json(data)
        return
    program = _program()
    for command in commands:
        shown = program + command[len("fairserve"):] if command.startswith("fairserve ") else command
        console.print(f"next: {escape(shown)}", soft_wrap=True)
    console.print(f"scores:  {escape(files['scores'])}", soft_wrap=True)
    console.print(f"summary: {escape(files['summary'])}", soft_wrap=True)
    console.print(f"report:  {escape(files['report'])}", soft_wrap=True)
    console.print()
    prose(f"The answer. {data['answer']}")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)


def _program() -> str:
    """How to type this program here: ``fairserve`` when it is on the PATH, else the path it was run by."""
    import os
    import shutil
    import sys

    here = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    found = shutil.which("fairserve")
    if (found and os.path.realpath(found) == here) or not here.endswith("fairserve"):
        return "fairserve"
    rel = os.path.relpath(here)
    return rel if not rel.startswith("..") else here
