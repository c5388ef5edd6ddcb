"""The main job, end to end on real data: what ``fairserve demo`` runs.

1. Load the CDNOW purchase log (23,570 real customers; :mod:`fairserve.datasets`) and validate it
   (:func:`fairserve.io.validate_frame`).
2. Score every customer's value: RFM summary in DuckDB, BG/NBD and Gamma-Gamma fits, 12-month discounted CLV,
   profit and loyalty (:mod:`fairserve.value`).
3. Give them follower counts from the documented heavy-tailed distribution
   (:func:`fairserve.influence.synthetic_followers`; CDNOW has no social data) and an influence percentile.
4. Audit each built-in policy on that base (tier mix, tiers owed to influence alone).
5. Simulate one week of contacts over phone, email, chat and social (``sim/scenarios/demo-week.toml``) under
   the four built-in policies, with the same ``decide`` the live service uses.
6. "What if that was you?" for the highest-value customer with no followers and for the most-followed
   customer with little value.
7. The answer to the seeds' question, in plain words (:func:`demo_summary`, through
   :mod:`fairserve.report.verdict`), and the commands to go further on the files it wrote
   (:func:`next_commands`).

Every figure the demo prints is computed here; nothing is typed in.
"""

from __future__ import annotations

import importlib.resources
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fairserve import datasets
from fairserve.influence import synthetic_followers
from fairserve.io import validate_frame
from fairserve.policy import load_policy
from fairserve.policy.audit import AuditReport, audit_policy, prepare_scores
from fairserve.sim import compare_policies, load_scenario, whatif
from fairserve.sim.scenario import Scenario
from fairserve.value import ValueModel, fit_value_model, score_customers, summarise

__all__ = [
    "DEMO_FILES",
    "DEMO_POLICIES",
    "DemoResult",
    "demo_scenario",
    "demo_summary",
    "next_commands",
    "pick_customers",
    "run_demo",
    "score_cdnow",
]

DEMO_POLICIES = ("fifo", "value-first", "influence-first", "balanced")
FOLLOWER_SEED = 20261122
DEMO_FILES = {"scores": "scores.csv", "summary": "summary.json", "report": "report.html"}
"""What the demo writes into its output folder (``fairserve-demo/`` by default), the report last."""


@dataclass
class DemoResult:
    """Everything the demo computed, for the CLI to show."""

    transactions: pd.DataFrame
    problems: int
    value_model: ValueModel
    scores: pd.DataFrame
    audits: dict[str, AuditReport]
    comparison: dict[str, Any]
    picks: dict[str, str]
    whatifs: dict[str, dict[str, Any]]


def demo_scenario() -> Scenario:
    """The one-week scenario shipped with the package (``sim/scenarios/demo-week.toml``)."""
    res = importlib.resources.files("fairserve.sim").joinpath("scenarios", "demo-week.toml")
    with importlib.resources.as_file(res) as path:
        return load_scenario(path)


def score_cdnow(transactions: pd.DataFrame, *, follower_seed: int = FOLLOWER_SEED) -> tuple[ValueModel, pd.DataFrame]:
    """Fit BG/NBD + Gamma-Gamma (weekly) on the whole log and score every customer, with synthetic followers."""
    summary = summarise(transactions, period="week")
    value_model = fit_value_model(summary, "bgnbd")
    scores = score_customers(summary.customers, value_model, horizon_months=12, discount_rate=0.01)
    followers = synthetic_followers(len(scores), random_state=follower_seed)
    return value_model, prepare_scores(scores, followers)


def pick_customers(scores: pd.DataFrame) -> dict[str, str]:
    """The two customers of the seeds' question.

    ``loyal``: the highest-CLV customer with no followers at all; ``influencer``: the most-followed customer
    whose CLV is below the median.
    """
    no_followers = scores[scores["followers"] == 0]
    low_value = scores[scores["value_percentile"] <= 0.5]
    if no_followers.empty or low_value.empty:
        return {}
    loyal = no_followers["customer_id"].iloc[int(no_followers["clv"].to_numpy().argmax())]
    influencer = low_value["customer_id"].iloc[int(low_value["followers"].to_numpy().argmax())]
    return {"loyal": str(loyal), "influencer": str(influencer)}


def run_demo(
    *,
    replications: int = 5,
    seed: int = 0,
    whatif_replications: int = 20,
    step: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Run the whole demo; ``step(text)`` is told what starts next, ``progress(r)`` after each replication (of
    the comparison, then of each what-if)."""
    say = step or (lambda _text: None)
    say("reading CDNOW_master")
    transactions = datasets.cdnow_master()
    _, problems, _ = validate_frame(transactions, "transactions", "CDNOW_master.txt")
    say("scoring customer value")
    value_model, scores = score_cdnow(transactions)
    say("auditing the policies")
    audits = {name: audit_policy(scores, load_policy(name)) for name in DEMO_POLICIES}
    scenario = demo_scenario()
    say(f"simulating a week, {len(DEMO_POLICIES)} policies")
    comparison = compare_policies(scenario, list(DEMO_POLICIES), replications, seed, scores, progress=progress)
    picks = pick_customers(scores)
    whatifs = {}
    for role, customer_id in picks.items():
        say(f"what if: customer {customer_id}")
        whatifs[role] = whatif(
            customer_id, scenario, list(DEMO_POLICIES), scores, segment="phone",
            replications=whatif_replications, seed=seed, progress=progress,
        )
    return DemoResult(transactions, len(problems), value_model, scores, audits, comparison, picks, whatifs)


def next_commands(out: str, result: DemoResult, replications: int, seed: int) -> list[str]:
    """Commands to go further on the files the demo wrote into ``out`` (each runs as written, from the same folder).

    Rerun the comparison from the written scores (the same scenario, policies, replications and seed), and
    follow the loyal customer through fifo and the focus policy.
    """
    q = shlex.quote
    scores = q(f"{out.rstrip('/')}/{DEMO_FILES['scores']}")
    policies = list(result.comparison["policies"])
    cmds = [
        " ".join(
            ["fairserve simulate demo-week.toml --customers", scores, *(f"-p {q(p)}" for p in policies),
             f"-r {replications} --seed {seed} --report", q(f"{out.rstrip('/')}/rerun.html")]
        )
    ]
    if "loyal" in result.picks:
        cmds.append(
            f"fairserve whatif demo-week.toml --customer {q(result.picks['loyal'])} --customers {scores} "
            "-p fifo -p influence-first -r 5"
        )
    return cmds


def demo_summary(
    result: DemoResult, *, currency: str = "$", files: dict[str, str] | None = None, commands: list[str] | None = None
) -> dict[str, Any]:
    """The demo's JSON summary: :func:`fairserve.report.summary.summary` of its comparison, with the data, the
    two customers, the files written and the next commands."""
    from fairserve.report.staffing import staffing_table
    from fairserve.report.summary import summary

    comp = result.comparison
    order = {name: list(load_policy(name).tier_names) for name in comp["policies"]}
    out = summary(comp, currency=currency, whatifs=result.whatifs,
                  staffing=staffing_table(demo_scenario(), comp, order))
    frame = result.transactions
    out["data"] = {
        "source": "CDNOW_master",
        "customers": int(frame["customer_id"].nunique()),
        "transactions": len(frame),
        "rows_with_problems": result.problems,
        "followers": "synthetic (fairserve.influence.synthetic_followers)",
        "follower_seed": FOLLOWER_SEED,
    }
    out["picks"] = dict(result.picks)
    out["files"] = dict(files or {})
    out["next"] = list(commands or [])
    return out
