"""Allocation of scarce goods and entitlements: the properties issue 14 asks for, and the CLI on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli
from fairserve.errors import FairserveError
from fairserve.model import Channel, Contact, Customer
from fairserve.policy import Policy, decide, load_policy
from fairserve.policy.allocation import allocate
from fairserve.policy.explain import customer_statement
from fairserve.policy.schema import CHANNELS, PolicyError, parse_policy

POLICIES = ["denied-boarding", "value-first", "influence-first"]


def _policy(direction: str, cap: float, slope: float) -> Policy:
    return Policy(
        parse_policy(
            {
                "name": "upgrade",
                "version": "1",
                "tiers": [
                    {"name": "vip", "when": {"clv_min": 500}, "sla": dict.fromkeys(CHANNELS, 1.0)},
                    {"name": "rest", "sla": dict.fromkeys(CHANNELS, 2.0)},
                ],
                "allocation": {
                    "good": "upgrade",
                    "direction": direction,
                    "points": {"loyalty": {"per": 40, "max": 30}, "fare": 0.1, "checked_in_hours": 1.0},
                    "status": {"gold": 25},
                    "tiers": {"vip": 15},
                    "flags": {"medical": 100},
                    "influence": {"slope": slope, "cap": cap},
                },
            }
        )
    )


@st.composite
def claimant_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    coarse = draw(st.booleans())  # coarse values make many ties, which the tie-break must settle
    return pd.DataFrame(
        {
            "claimant_id": [f"k{i:03d}" for i in rng.permutation(n)],
            "customer_id": [f"c{i}" for i in range(n)],
            "clv": rng.choice([10.0, 600.0, np.nan], n),
            "loyalty": np.round(rng.uniform(size=n), 1 if coarse else 6),
            "fare": rng.choice([100.0, 200.0, np.nan], n) if coarse else rng.uniform(50, 900, n),
            "checked_in_hours": rng.choice([1.0, 5.0, np.nan], n) if coarse else rng.uniform(0, 30, n),
            "status": rng.choice(["gold", "basic", None], n),
            "medical": rng.random(n) < 0.1,
            "influence": rng.choice([0.0, 0.5, 0.99, np.nan], n),
            "followers": rng.integers(0, 10**6, n),
        }
    )


@settings(max_examples=60, deadline=None)
@given(
    table=claimant_tables(),
    goods=st.integers(1, 50),
    direction=st.sampled_from(["highest", "lowest"]),
    cap=st.sampled_from([0.0, 5.0, 50.0]),
    slope=st.sampled_from([0.0, 10.0, 100.0]),
)
def test_allocation_properties(table: pd.DataFrame, goods: int, direction: str, cap: float, slope: float) -> None:
    policy = _policy(direction, cap, slope)
    res = allocate(table, policy, goods)
    t = res.table
    n = len(table)
    k = min(goods, n)
    # exactly min(goods, claimants) goods are given
    assert int(t["receives"].sum()) == k == res.given
    # influence never moves a claimant by more than its cap
    assert (t["points"] - t["points_without_influence"] <= cap + 1e-9).all()
    assert (t["influence_points"] >= 0).all()
    # the order: ranks 1..n, points never increase down the ranking, the goods go to one end of it
    assert t["rank"].tolist() == list(range(1, n + 1))
    assert (np.diff(t["points"].to_numpy()) <= 1e-12).all()
    receivers = set(t.loc[t["receives"], "rank"])
    assert receivers == (set(range(1, k + 1)) if direction == "highest" else set(range(n - k + 1, n + 1)))
    # deterministic, whatever the order of the rows
    shuffled = allocate(table.sample(frac=1.0, random_state=1), policy, goods).table
    pd.testing.assert_frame_equal(t.drop(columns=["statement"]), shuffled.drop(columns=["statement"]))
    # every claimant's reasons come from the evaluation that ranked them
    for _, row in t.iterrows():
        assert f"In all {row['points']:,.1f} points: rank {row['rank']} of {n}" in " ".join(row["reasons"])
        assert row["reasons"][-1] in row["statement"] or row["reasons"][-2] in row["statement"]


def test_a_higher_ranked_claimant_never_loses_to_a_lower_one_and_ties_go_to_the_earlier_check_in() -> None:
    table = pd.DataFrame(
        {
            "claimant_id": ["a", "b", "c", "d"],
            "loyalty": [0.5, 0.5, 0.5, 0.9],
            "fare": [100.0, 100.0, 100.0, 100.0],
            "checked_in_hours": [2.0, 5.0, 5.0, 0.0],
            "status": [None] * 4,
            "medical": [False] * 4,
            "influence": [0.0] * 4,
            "clv": [10.0] * 4,
        }
    )
    res = allocate(table, _policy("highest", 0.0, 0.0), 2)
    t = res.table
    # d has the most points; b and c tie with a on loyalty and fare but checked in earlier; b < c by id
    assert t["claimant_id"].tolist() == ["d", "b", "c", "a"]
    assert t.loc[t["receives"], "claimant_id"].tolist() == ["d", "b"]
    c_reasons = " ".join(t.loc[t["claimant_id"] == "c", "reasons"].iloc[0])
    assert "You do not receive the upgrade" in c_reasons and "0.0 more points" in c_reasons


def test_reach_moves_a_bumping_decision_only_within_its_cap_and_the_outcome_says_so() -> None:
    table = pd.DataFrame(
        {
            "claimant_id": ["loyal", "famous"],
            "loyalty": [0.5, 0.45],
            "fare": [0.0, 0.0],
            "checked_in_hours": [0.0, 0.0],
            "status": [None, None],
            "medical": [False, False],
            "influence": [0.0, 0.999],
            "clv": [10.0, 10.0],
        }
    )
    small = allocate(table, _policy("lowest", 1.0, 100.0), 1).table.set_index("claimant_id")
    assert small.loc["famous", "receives"]  # 2 points behind; a 1-point cap cannot close that
    big = allocate(table, _policy("lowest", 5.0, 100.0), 1).table.set_index("claimant_id")
    assert big.loc["loyal", "receives"] and big.loc["famous", "owed_to_influence"]
    assert any("changed this outcome" in r for r in big.loc["loyal", "reasons"])


def test_more_goods_than_claimants_is_a_stated_outcome_and_zero_goods_an_error() -> None:
    table = pd.DataFrame({"claimant_id": ["a", "b"], "loyalty": [0.1, 0.2]})
    res = allocate(table, _policy("highest", 0.0, 0.0), 5)
    assert res.given == 2 and res.table["receives"].all()
    assert any("every claimant receives one; 3 are left over" in n for n in res.notes)
    assert any("'fare'" in n for n in res.notes)  # a column the rank reads is missing: said, not silent
    with pytest.raises(FairserveError, match="at least 1"):
        allocate(table, _policy("highest", 0.0, 0.0), 0)
    with pytest.raises(FairserveError, match="no \\[allocation\\]"):
        allocate(table, load_policy("fifo"), 1)


def test_a_rank_on_reach_needs_a_cap_and_may_not_use_followers_directly() -> None:
    base: dict[str, Any] = {"name": "x", "version": "1", "tiers": [{"name": "a", "sla": dict.fromkeys(CHANNELS, 1.0)}]}
    with pytest.raises(PolicyError) as err:
        parse_policy({**base, "allocation": {"influence": {"slope": 10}}})
    assert err.value.field == "allocation.influence.cap"
    with pytest.raises(PolicyError) as err:
        parse_policy({**base, "allocation": {"points": {"followers": 1.0}}})
    assert err.value.field == "allocation.points.followers" and "cap" in err.value.message


def test_entitlements_follow_the_tier_without_reach_unless_the_policy_says_otherwise() -> None:
    vf, klout = load_policy("value-first"), load_policy("influence-first")
    rich = Customer("r", clv=500.0, loyalty=0.5, influence=0.1)
    famous = Customer("f", clv=1.0, loyalty=0.0, influence=0.995)
    call = Contact("k", Channel.PHONE, 0.0)
    names = {g.name for g in decide(call, rich, vf, 0.0).entitlements}
    assert names == {"change-fee-waiver", "callback", "goodwill-credit"}
    assert not decide(call, famous, vf, 0.0).entitlements
    grants = {g.name: g for g in decide(call, famous, klout, 0.0).entitlements}
    assert grants["change-fee-waiver"].owed_to_influence  # by_influence = true, and said
    credit = grants["goodwill-credit"]
    assert credit.amount == pytest.approx(20.0 + 99.5) and credit.owed_to_influence
    statement = customer_statement(decide(call, rich, vf, 0.0))
    assert "You are entitled to: no fee to change or cancel a booking." in statement
    assert "It comes with the platinum or gold tiers, which is yours." in statement


def test_an_entitlement_may_not_test_reach_without_by_influence() -> None:
    data: dict[str, Any] = {
        "name": "x",
        "version": "1",
        "influence": {"may_change_tier": True},
        "tiers": [{"name": "a", "sla": dict.fromkeys(CHANNELS, 1.0)}],
        "entitlements": [{"name": "lounge", "when": {"influence_min": 0.9}}],
    }
    with pytest.raises(PolicyError) as err:
        parse_policy(data)
    assert err.value.field == "entitlements[0].when.influence_min"


def _flight(tmp_path: Path) -> tuple[Path, Path]:
    scores = pd.DataFrame(
        {"customer_id": [f"{i:03d}" for i in range(30)], "clv": np.linspace(1, 900, 30),
         "loyalty": np.linspace(0, 1, 30), "followers": np.arange(30) * 1000}
    )
    scores_path = tmp_path / "scores.csv"
    scores.to_csv(scores_path, index=False)
    from fairserve.datasets import synthetic_claimants

    flight = synthetic_claimants(scores["customer_id"], 20, 3)
    flight_path = tmp_path / "flight.csv"
    flight.to_csv(flight_path, index=False)
    return scores_path, flight_path


def test_allocate_cli_compares_policies_and_answers_what_if(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores, flight = _flight(tmp_path)
    who = pd.read_csv(flight, dtype=str)["customer_id"].iloc[0]
    args = ["policy", "allocate", str(flight), "--scores", str(scores), "--policy", "denied-boarding", "--goods", "3",
            "--compare", "value-first", "--compare", "influence-first", "--customer", who, "--json"]
    code, out, _ = run_cli(args, capsys)
    assert code == 0
    data = json.loads(out)
    assert data["given"] == 3 and data["policy"]["name"] == "denied-boarding"
    assert set(data["comparison"]["policies"]) == set(POLICIES)
    assert set(data["comparison"]["customer"]["policies"]) == set(POLICIES)
    bumped = [r for r in data["claimants_table"] if r["receives"]]
    assert len(bumped) == 3 and all("Priority rules and criteria" in r["statement"] for r in bumped)
    out_csv, page = tmp_path / "out.csv", tmp_path / "alloc.html"
    code, _, _ = run_cli([*args[:-1], "--out", str(out_csv), "--report", str(page)], capsys)
    assert code == 0 and len(pd.read_csv(out_csv)) == 20
    text = page.read_text()
    assert "<script src" not in text and "<link" not in text  # offline: Plotly is inlined, nothing is fetched
    assert text.count('data-chart="alloc-') == 2 and "Priority rules and criteria" in text
    for name in POLICIES:
        assert name in text


def test_allocate_cli_refuses_a_claimant_missing_from_the_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores, flight = _flight(tmp_path)
    table = pd.read_csv(flight, dtype=str)
    table.loc[4, "customer_id"] = "nobody"
    table.to_csv(flight, index=False)
    code, _, err = run_cli(["policy", "allocate", str(flight), "--scores", str(scores), "--policy",
                            "denied-boarding", "--goods", "2"], capsys)
    assert code == 2
    assert "row 5" in err.replace("rows", "row") and "nobody" in err and "Traceback" not in err
    code, _, err = run_cli(["policy", "allocate", str(flight), "--policy", "denied-boarding", "--goods", "0"], capsys)
    assert code == 2


def test_allocate_compare_puts_the_currency_on_the_value_at_risk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores, flight = _flight(tmp_path)
    args = ["policy", "allocate", str(flight), "--scores", str(scores), "--policy", "denied-boarding", "--goods", "3",
            "--compare", "value-first"]
    code, out, _ = run_cli([*args, "--json"], capsys)
    assert code == 0
    at_risk = {name: r["value_at_risk"] for name, r in json.loads(out)["comparison"]["policies"].items()}
    assert all(v is not None and v > 0 for v in at_risk.values())
    for flag, shown in (((), "${:,.0f}"), (("--currency", "€"), "€{:,.0f}"), (("--currency", "EUR"), "{:,.0f} EUR")):
        code, out, _ = run_cli([*args, *flag], capsys)
        assert code == 0
        for name, v in at_risk.items():  # each policy's row of the comparison table, as the demo formats money
            row = next(line for line in out.splitlines() if line.startswith(f"│ {name} "))
            assert shown.format(v) in row, (flag, row)
