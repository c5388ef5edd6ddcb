"""``fairserve simulate``, ``fairserve whatif`` and ``fairserve staff``: thin commands over :mod:`fairserve.sim`.

``simulate`` compares policies on a scenario (``--json`` prints the dict of
:func:`fairserve.sim.compare_policies`; ``--report OUT.html`` writes a self-contained HTML report); ``whatif``
follows one customer of a scored base through each policy; ``staff`` answers the Erlang C / Erlang A staffing
question. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fairserve.cli.common import Currency, check_output, console, err_console, print_json, prose, refuse_no_rows
from fairserve.errors import FairserveError

__all__ = ["print_whatif", "register"]

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (TOML, see docs/scenario.md).", show_default=False)]
Policies = Annotated[
    list[str] | None,
    typer.Option("--policy", "-p", help="Policy name or TOML file; repeat to compare (default: fifo).",
                 show_default=False),
]
Replications = Annotated[int, typer.Option("--replications", "-r", min=1, help="Independent replications.")]
Seed = Annotated[int, typer.Option("--seed", help="Root seed (replications get SeedSequence children).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Scores = Annotated[
    Path | None,
    typer.Option("--customers", help="Scored customer base (CSV or Parquet): customer_id, clv, influence, ..."),
]
Profiles = Annotated[
    Path | None,
    typer.Option("--profiles", help="Social profiles (handle, followers, customer_id): the customers' influence."),
]
Synthetic = Annotated[
    int | None,
    typer.Option("--synthetic-followers", help="Draw follower counts with this seed (labelled synthetic)."),
]
SkipBad = Annotated[
    bool, typer.Option("--skip-bad-rows", help="Use the good rows of --customers and --contacts; write the bad "
                       "ones to a side file.")
]
ContactLog = Annotated[
    Path | None,
    typer.Option("--contacts", help="Replay this contact log (contact_id, channel, arrival, customer_id, "
                 "handle_seconds where known) instead of drawing Poisson arrivals."),
]
Warmup = Annotated[
    float | None,
    typer.Option("--warmup", show_default=False,
                 help="Warm-up in the scenario's time unit, instead of its \\[center] warmup (simulated, not measured; "
                 "0 measures from the first contact)."),
]


def _with_warmup(scen: Any, warmup: float) -> Any:
    """``scen`` with the warm-up of ``--warmup``, held to what a scenario file's ``[center] warmup`` may be: a
    number, at least 0 and at most :func:`~fairserve.sim.scenario.longest_time` (``--warmup 1e12`` asked for
    terabytes of arrivals, ``1e308`` crashed the Poisson draw, ``nan`` was called 'not greater or equal to 0')."""
    from fairserve.sim.scenario import LONGEST_YEARS, longest_time

    unit = scen.center.time_unit
    longest = longest_time(unit)
    if math.isnan(warmup):
        why = f"nan is not a number: give the warm-up in {unit}s, 0 to {longest:,.0f}"
    elif math.isinf(warmup) and warmup > 0:
        why = f"inf is not a finite number: give the warm-up in {unit}s, 0 to {longest:,.0f}"
    elif warmup < 0:
        why = f"{warmup:g} is negative: give the warm-up in {unit}s, 0 to {longest:,.0f}"
    elif warmup > longest:
        why = (f"{warmup:g} {unit}s is more than {LONGEST_YEARS} years ({longest:,.0f} {unit}s), the longest a "
               "scenario's [center] warmup may be")
    else:
        return scen.model_copy(update={"center": scen.center.model_copy(update={"warmup": float(warmup)})})
    raise typer.BadParameter(why, param_hint="--warmup")


def _replay(contacts: Path, scen: Any, base: Any, skip_bad_rows: bool, whose: str) -> Any:
    """The validated contact log as a ``draw(rng)`` for :func:`fairserve.sim.compare_policies`; says what it covers.

    A log that ends before the warm-up does (no contact would be measured) is refused, naming both; ``whose``
    says where the warm-up comes from (``of SCENARIO`` or ``given by --warmup``).
    """
    from functools import partial

    from fairserve import io
    from fairserve.sim.replay import replay_contacts, replay_summary

    loaded = io.read_contacts(contacts, skip_bad_rows=skip_bad_rows)
    if loaded.rejects_path is not None:
        err_console.print(f"note: {loaded.rows_read - len(loaded.frame):,} bad row(s) of {contacts} skipped, "
                          f"written with their problems to {loaded.rejects_path}", markup=False, soft_wrap=True)
    refuse_no_rows(loaded, contacts, "contacts")  # not a log of 0 minutes 'NaT to NaT' against the warm-up
    info = replay_summary(loaded.frame, scen)
    unit = scen.center.time_unit
    err_console.print(
        f"replaying {info['contacts']:,} contacts of {contacts} ({info['first_arrival']} to {info['last_arrival']}, "
        f"{_fmt(info['span'])} {unit}s); handle times: {info['with_handle_time']:,} from the log, the rest drawn "
        "from the scenario's segment of each channel; patience drawn", markup=False, soft_wrap=True)
    if info["span"] < scen.center.warmup:  # every contact would arrive in the warm-up: nothing to measure
        raise FairserveError(
            f"{contacts}: the contact log spans {_fmt(info['span'])} {unit}s ({info['first_arrival']} to "
            f"{info['last_arrival']}), less than the warm-up {whose} ({_fmt(scen.center.warmup)} {unit}s), "
            f"so no contact would be measured: give --warmup below {_fmt(info['span'])} (--warmup 0 measures "
            "from the first contact, the centre starting empty), or a log that runs past the warm-up"
        )
    return partial(replay_contacts, scen, loaded.frame, customers=base)


def _customer_base(customers: Path | None, profiles: Path | None, synthetic: int | None,
                   skip_bad_rows: bool) -> tuple[Any, str | None]:
    """The validated customer base, with followers and influence from ``--profiles`` or drawn, and their source."""
    if customers is None:
        if profiles is not None or synthetic is not None:
            raise typer.BadParameter("needs --customers: the profiles are matched to its customer_id",
                                     param_hint="--profiles / --synthetic-followers")
        return None, None
    from fairserve.cli.policy import _read_scores, _scores

    if profiles is None and synthetic is None:
        frame = _read_scores(customers, skip_bad_rows)
        if "influence" in frame.columns or "followers" not in frame.columns:
            return frame, None
        from fairserve.policy.audit import prepare_scores  # followers but no influence: the percentile of reach

        return prepare_scores(frame), "followers column of the scores file"
    frame, source = _scores(customers, profiles, synthetic, skip_bad_rows)
    err_console.print(f"influence: {source}", markup=False)
    return frame, source


def _need_base(scen: Any, scenario: Path, customers: Path | None) -> None:
    """Refuse, before any work and naming the option, a scenario whose segments draw from a customer base when
    none is given."""
    if scen.needs_customers() and customers is None:
        drawing = [s.name for s in scen.segments if s.customers == "base"]
        raise FairserveError(
            f"{scenario}: segment(s) {', '.join(repr(n) for n in drawing)} draw their customers from a scored base: "
            "give one with --customers SCORES (a file from `fairserve value score`, or the scores.csv that "
            "`fairserve demo` writes)"
        )


def _warn_if_no_influence(policies: list[str], base: Any, customers: Path | None) -> None:
    """Say so when a policy reads influence and the customer base gives none (it would count as zero)."""
    import numpy as np

    from fairserve.sim.engine import resolve_policy

    if base is None:
        return
    cols = [c for c in ("influence", "followers") if c in base.columns]
    has = any(bool(np.nan_to_num(base[c].to_numpy(dtype=float)).any()) for c in cols)
    if has:
        return
    for name in policies:
        pol = resolve_policy(name)[1]
        used = set(getattr(pol, "required_signals", ())) & {"influence", "followers"}
        if used:
            what = "no followers or influence column" if not cols else "influence 0 for every customer"
            err_console.print(
                f"[yellow]warning:[/] policy {escape(name)} uses {', '.join(sorted(used))}, but "
                f"{escape(str(customers))} has {what}: influence counts as zero for everyone. Give --profiles FILE (or "
                "--synthetic-followers SEED to try the policy on drawn counts).")

def _fmt(x: Any, digits: int = 3) -> str:
    """``digits`` significant digits with thousands separators, never scientific (``2,195``, not ``2.2e+03``)."""
    from fairserve.report.fmt import num

    return num(x, digits)


def _ci(row: dict[str, Any], key: str) -> str:
    """Mean and 95% interval, cut to the quantity's range (waits and counts are never negative)."""
    from fairserve.report.fmt import clip_interval

    lo, hi = clip_interval(*row[f"{key}_ci95"])
    return f"{_fmt(row[key])} [{_fmt(lo)}, {_fmt(hi)}]"


def _warn_if_overloaded(scenario: Any) -> None:
    """Say so before the run when a pool's queue can only grow (load >= 1 per agent and nobody abandons)."""
    from fairserve.report.staffing import overload_warnings

    for warning in overload_warnings(scenario):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")


def _duration(value: Any, unit: str) -> str:
    """A target in the scenario's ``unit`` as a person reads it: ``20 seconds``, ``4 minutes``, ``24 hours``."""
    from fairserve.sim.scenario import UNIT_SECONDS

    try:
        seconds = float(value) * UNIT_SECONDS[unit]
    except (TypeError, ValueError, KeyError):
        return f"{_fmt(value)} {unit}"
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.3g} minutes"
    return f"{seconds / 3600:.3g} hours"


def print_whatif(result: dict[str, Any]) -> None:
    """Print one customer's what-if (the dict of :func:`fairserve.sim.whatif`) in plain language."""
    from fairserve.policy.explain import WHO_MAY_PASS

    unit = result["time_unit"]
    prose(f"target: answered within {_duration(result['target'], unit)}, the same under every policy")
    for label, r in result["policies"].items():
        prose(
            f"{label}: tier {r['tier']}, mean wait {_ci(r, 'mean_wait')} {unit}, "
            f"P(abandon) {_fmt(r['p_abandon'])}, P(within target) {_fmt(r['p_sla'])}, "
            f"P(promise kept) {_fmt(r['p_promise_kept'])}, "
            f"overtaken by {_fmt(r['overtaken'])} later contacts "
            f"({_fmt(r['overtaken_by_influence'])} thanks to influence)"
        )
        for text in r["reasons"]:
            prose(f"why: {text}", indent=4)
        for o in r["overtakers"]:
            # the overtaker's own "who may pass it" window says nothing about why it passed: left out
            why = " ".join(t for t in o["reasons"] if not t.startswith(WHO_MAY_PASS))
            prose(f"passed by a {o.get('channel', '')} contact in tier {o['tier']}, "
                  f"{_fmt(o['arrived_after'])} {unit} later"
                  f"{' (by influence)' if o['by_influence'] else ''}"
                  f"{' (past its wait guarantee)' if o.get('by_guarantee') else ''}: {why}", indent=4)


def simulate(
    scenario: ScenarioArg,
    policy: Policies = None,
    replications: Replications = 10,
    seed: Seed = 0,
    json_out: Json = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report here.")] = None,
    customers: Scores = None,
    currency: Currency = "$",
    profiles: Profiles = None,
    synthetic: Synthetic = None,
    skip_bad_rows: SkipBad = False,
    contacts: ContactLog = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Processes for the replications (default: all cores).")
    ] = None,
    warmup: Warmup = None,
) -> None:
    """Simulate the contact centre under each policy; compare waits, abandonment, displacements and costs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fairserve.sim import compare_policies, load_scenario

    if report is not None:
        check_output(report, "report", suffixes=(".html", ".htm"))
    scen = load_scenario(scenario)
    if warmup is not None:
        scen = _with_warmup(scen, warmup)
    base, _source = _customer_base(customers, profiles, synthetic, skip_bad_rows)
    if contacts is None:  # a replayed log brings its own contacts
        _need_base(scen, scenario, customers)
    policies = policy or ["fifo"]
    _warn_if_no_influence(policies, base, customers)
    draw = None if contacts is None else _replay(contacts, scen, base, skip_bad_rows,
                                                 "given by --warmup" if warmup is not None else f"of {scenario}")
    if draw is None:
        _warn_if_overloaded(scen)  # the scenario's arrival rates: a replayed log has its own
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("replications", total=replications)
        try:
            result = compare_policies(scen, policies, replications, seed, base,
                                      progress=lambda _r: bar.advance(task), jobs=jobs or os.cpu_count() or 1,
                                      draw=draw)
        except MemoryError:  # a long horizon of a busy centre: more arrivals than the machine holds
            if draw is not None:
                raise
            drawn = sum(seg.arrival_rate for seg in scen.segments) * scen.horizon
            raise FairserveError(
                f"{scenario}: the simulation needs more memory than this machine has: about {drawn:,.0f} "
                f"contacts a replication (the arrival rates over warm-up + duration, {_fmt(scen.horizon)} "
                f"{scen.center.time_unit}s); shorten the [center] duration or warm-up, or lower the arrival rates"
            ) from None
    if report is not None:
        from fairserve.report import write_report
        from fairserve.sim.engine import resolve_policy

        command = " ".join(
            ["fairserve simulate", str(scenario), *(f"-p {p}" for p in policies), f"-r {replications}",
             f"--seed {seed}", *([f"--customers {customers}"] if customers is not None else []),
             *([f"--profiles {profiles}"] if profiles is not None else []),
             *([f"--synthetic-followers {synthetic}"] if synthetic is not None else []),
             *([f"--contacts {contacts}"] if contacts is not None else []),
             *([f"--warmup {warmup:g}"] if warmup is not None else [])]
        )
        loaded = dict(resolve_policy(p) for p in policies)
        write_report(
            result, report, scenario=scen, policies=loaded, currency=currency, command=command, customers=base
        )
        err_console.print(f"report written to {report}")
    if json_out:
        print_json(result)
        return
    from fairserve.cli.common import table
    from fairserve.report.fmt import money

    unit = result["time_unit"]
    console.print(f"SLA measured against the scenario's targets: {result['targets_text']}")
    columns = ["segment", "mean wait [95% CI]", "p95", "P(wait)", "SLA", "promise kept", "aband.",
               "passed by (infl.)", "revenue at risk", "exposure"]
    for label, entry in result["policies"].items():
        rows = [
            [
                name,
                _ci(row, "mean_wait"),
                _fmt(row["p95_wait"]),
                _fmt(row["p_wait"]),
                _fmt(row["sla"]),
                _fmt(row["promise_kept"]),
                _fmt(row["abandon_rate"]),
                f"{_fmt(row['overtaken'])} ({_fmt(row['overtaken_by_influence'])})",
                money(row["revenue_at_risk"], currency),
                f"{row['reputational_exposure']:,.0f}",
            ]
            for name, row in entry["segments"].items()
        ]
        # segment names never cut; on a narrow terminal the numbers fold, piped the table is plain columns
        reps = int(result["replications"])  # entry["arrivals"] is the total over the replications
        per = f"{entry['arrivals'] / reps:,.0f} arrivals a replication" + (f" x {reps}" if reps > 1 else "")
        table(f"{label}: {per}, {entry['elapsed_s']:.2f} s; waits in {unit}s", columns,
              rows, keys=(0,), right=range(1, len(columns)))


def whatif(
    scenario: ScenarioArg,
    customer: Annotated[str, typer.Option("--customer", help="The customer_id to follow.", show_default=False)],
    customers: Annotated[
        Path, typer.Option("--customers", help="Scored customer base (CSV or Parquet).", show_default=False)
    ],
    policy: Policies = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Segment of their contact.")] = None,
    replications: Replications = 20,
    seed: Seed = 0,
    json_out: Json = False,
    profiles: Profiles = None,
    synthetic: Synthetic = None,
    skip_bad_rows: SkipBad = False,
) -> None:
    """What if that was you? One customer's wait, tier and who overtook them, under each policy."""
    from fairserve.sim import load_scenario
    from fairserve.sim import whatif as run_whatif

    scen = load_scenario(scenario)
    base, _source = _customer_base(customers, profiles, synthetic, skip_bad_rows)
    policies = policy or ["fifo", "balanced"]
    _warn_if_no_influence(policies, base, customers)
    _warn_if_overloaded(scen)
    with err_console.status(f"simulating {replications} replications ..."):
        result = run_whatif(
            customer, scen, policies, base, segment=segment, replications=replications, seed=seed
        )
    if json_out:
        print_json(result)
        return
    print_whatif(result)


def staff(
    arrival_rate: Annotated[float, typer.Option("--arrival-rate", help="Contacts per time unit.", show_default=False)],
    handle_mean: Annotated[float, typer.Option("--handle-mean", help="Mean handling time.", show_default=False)],
    target_sl: Annotated[float, typer.Option("--target-sl", help="Share answered within the target time.")] = 0.8,
    target_time: Annotated[str, typer.Option("--target-time", help="e.g. 20s, 1m, or a number in the unit.")] = "20s",
    patience_mean: Annotated[float | None, typer.Option("--patience-mean", help="Mean patience (Erlang A).")] = None,
    agents: Annotated[int | None, typer.Option("--agents", min=1, help="Evaluate this many agents.")] = None,
    time_unit: Annotated[str, typer.Option("--time-unit", help="second, minute or hour.")] = "minute",
    json_out: Json = False,
) -> None:
    """Erlang C (or Erlang A with --patience-mean): service of N agents, or the agents a target needs."""
    from fairserve.sim.erlang import agents_needed, staffing
    from fairserve.sim.scenario import UNIT_SECONDS, parse_duration

    if time_unit not in UNIT_SECONDS:
        raise FairserveError(f"--time-unit must be one of {', '.join(UNIT_SECONDS)}, not {time_unit!r}")
    t = parse_duration(target_time, UNIT_SECONDS[time_unit])
    began = time.perf_counter()
    if agents is not None:
        res = staffing(arrival_rate, handle_mean, agents, patience_mean=patience_mean, target_time=t)
    else:
        res = agents_needed(arrival_rate, handle_mean, target_sl, t, patience_mean=patience_mean)
    out = {
        **res.as_dict(),
        "target_time": t,
        "target_sl": target_sl,
        "time_unit": time_unit,
        "model": "erlang-a" if patience_mean else "erlang-c",
        "elapsed_s": time.perf_counter() - began,
    }
    if json_out:
        print_json(out)
        return
    what = f"{res.agents} agents" + ("" if agents is not None else f" needed for {target_sl:.0%} within {target_time}")
    console.print(
        f"{what} ({out['model']}): P(wait) {res.p_wait:.4f}, mean wait {res.mean_wait:.4g} {time_unit}, "
        f"service level {res.service_level:.4f}, abandon {res.abandon_rate:.4f}, "
        f"occupancy {res.occupancy:.3f}"
    )


def register(app: typer.Typer) -> None:
    """Add ``simulate``, ``whatif`` and ``staff`` to ``app``."""
    app.command("simulate")(simulate)
    app.command("whatif")(whatif)
    app.command("staff")(staff)
