"""Explanations: the agent's view and the customer's statement come from the Decision's reasons alone."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_strategies import contacts, customers

from cli_helpers import run_cli
from fairserve.model import Channel, Contact, Customer, Decision, Grant, QueueKey, Reason
from fairserve.policy import builtin_names, decide, load_policy
from fairserve.policy.explain import agent_view, customer_statement, decision_to_dict

POLICIES = builtin_names()


def _rebuilt(d: Decision) -> Decision:
    """The Decision rebuilt from its JSON form: only what the decision itself carries."""
    data = decision_to_dict(d)
    return Decision(
        contact_id=data["contact_id"],
        customer_id=data["customer_id"],
        tier=data["tier"],
        queue=data["queue"],
        key=QueueKey(**data["key"]),
        head_start_min=data["head_start_min"],
        influence_min=data["influence_min"],
        sla_seconds=data["sla_seconds"],
        sla_deadline=data["sla_deadline"],
        reasons=tuple(Reason(**r) for r in data["reasons"]),
        policy_name=data["policy"]["name"],
        policy_version=data["policy"]["version"],
        policy_hash=data["policy"]["hash"],
        flags=tuple(data["flags"]),
        guarantee_seconds=math.inf if data["guarantee_seconds"] is None else data["guarantee_seconds"],
        pass_window_min=data["pass_window_min"],
        channel_offset_min=data["channel_offset_min"],
        entitlements=tuple(
            Grant(g["name"], g["description"], g["amount"], g["owed_to_influence"],
                  tuple(Reason(**r) for r in g["reasons"]))
            for g in data["entitlements"]
        ),
    )


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=60, deadline=None)
@given(pair=st.tuples(contacts(), customers()), now=st.floats(0, 200_000, allow_nan=False))
def test_agent_view_and_customer_statement_are_rendered_from_the_same_reasons(
    name: str, pair: tuple[Contact, Customer | None], now: float
) -> None:
    d = decide(*pair, load_policy(name), now)
    agent, statement = agent_view(d), customer_statement(d)
    # nothing but the Decision goes in: its JSON round trip renders identically
    assert agent_view(_rebuilt(d)) == agent and customer_statement(_rebuilt(d)) == statement
    # every reason is in the agent's view; every reason that moved the contact is in both
    for r in d.reasons:
        assert r.text in agent
        if r.minutes > 0 or r.effect.startswith(("tier=", "rank=", "queue=")):
            assert r.text in statement
    # the follower sentence follows the reasons, never the customer
    reach_mattered = any(
        r.signal == "influence" and (r.minutes > 0 or r.effect.startswith("tier=")) for r in d.reasons
    )
    assert ("follower count played a part" in statement) == reach_mattered
    weighed = any(r.signal == "influence" for r in d.reasons)
    assert ("follower count played no part" in statement) == (not weighed)
    assert ("here it gave no advantage" in statement) == (weighed and not reach_mattered)
    assert reach_mattered == (d.influence_min > 0 or "tier-by-influence" in d.flags)
    # a policy that weighs reach says so on every decision; one that does not, never mentions it
    policy = load_policy(name)
    k = ("phone", "email", "chat", "social").index(str(pair[0].channel))
    c = policy.compiled
    uses_reach = (c.slope.py[k] > 0 and c.cap.py[k] > 0) or policy.influence_may_change_tier
    assert weighed == uses_reach
    # change one reason's text and both views change with it, the same way
    if d.reasons:
        r0 = d.reasons[0]
        edited = dataclasses.replace(d, reasons=(dataclasses.replace(r0, text="EDITED"), *d.reasons[1:]))
        assert "EDITED" in agent_view(edited) and "EDITED" in customer_statement(edited)


def test_the_customer_statement_says_what_would_change_the_tier_and_the_head_start_in_plain_words() -> None:
    policy = load_policy("value-first")
    customer = Customer("7", clv=150.0, loyalty=0.2, influence=0.99, followers=250_000)
    d = decide(Contact("k", Channel.PHONE, 0.0, severity=2), customer, policy, 0.0)
    text = customer_statement(d)
    assert d.tier == "gold"
    assert "You are in the gold tier." in text
    assert "$150" in text and "$100" in text  # the fact and the threshold it met
    assert "The next tier up, platinum, needs expected future spend (CLV) of at least $300" in text
    # gold 0.3 + severity 2 0.2 of the phone's 2-minute target
    assert "answered as if placed 1 minute earlier" in text
    assert "follower count played no part" in text
    assert "We aim to answer within 60 seconds." in text
    # who may pass: a later call needs a larger head start and to have come within (2 - 1) minutes
    assert d.pass_window_min == pytest.approx(1.0)
    assert "only one that arrived within 60 seconds after yours" in text
    assert "Once you have waited 3 minutes, you are answered before everyone still within theirs." in text


def test_influence_first_statement_admits_reach_raised_the_tier() -> None:
    policy = load_policy("influence-first")
    d = decide(Contact("k", Channel.CHAT, 0.0), Customer("8", clv=1.0, influence=0.995), policy, 0.0)
    text = customer_statement(d)
    assert d.tier == "star" and "tier-by-influence" in d.flags
    assert "raised the tier from everyone to star" in text
    assert "follower count played a part" in text


def test_the_agent_view_shows_the_policy_identity_and_the_wait() -> None:
    policy = load_policy("balanced")
    d = decide(Contact("k", Channel.EMAIL, 0.0, complaint=True), Customer("9", clv=500.0), policy, 600.0)
    view = agent_view(d)
    assert f"Policy balanced {policy.version} ({policy.content_hash[:12]})" in view
    assert "Waited 10 minutes so far" in view
    assert "complaint" in view and "[+20.0 min]" in view  # the email complaint head start in minutes
    assert "wait guarantee 12 hours" in view


def test_the_very_top_percentile_is_not_called_top_zero_percent() -> None:
    from fairserve.policy.explain import fmt_value

    assert fmt_value("influence", 1.0) == "top 0.1%"
    assert fmt_value("influence", 0.995) == "top 0.5%"
    assert fmt_value("value_percentile", 0.9) == "top 10%"


def test_a_basic_caller_under_strict_tiers_is_told_every_higher_tier_passes() -> None:
    policy = load_policy("tier-strict")
    d = decide(Contact("k", Channel.PHONE, 0.0), Customer("b", status="basic"), policy, 0.0)
    text = customer_statement(d)
    assert d.tier == "basic" and d.key.rank == 3
    assert "contacts in a higher tier (gold, silver, bronze) are always answered first" in text
    assert "no later contact of your tier can pass yours with a head start" in text
    assert "at most 0 minutes" not in text
    top = customer_statement(decide(Contact("k", Channel.PHONE, 0.0), Customer("g", status="gold"), policy, 0.0))
    assert "higher tier" not in top


# 1.1 + 0.1 is 1.2000000000000002 in binary floats: a policy whose head starts add up with noise in the last digits
NOISY = """
name = "noisy"
version = "1"
[channels]
phone = { target = 5, guarantee = 8 }
chat = { target = 5 }
email = { target = 480 }
social = { target = 60 }
[[tiers]]
name = "everyone"
head_start = { phone = 1.1, chat = 1.1, email = 1.1, social = 1.1 }
sla = { phone = 5, chat = 5, email = 480, social = 60 }
[need]
complaint = { phone = 0.1, chat = 0.1, email = 0.1, social = 0.1 }
"""


def test_minutes_are_shown_without_float_noise_while_the_queue_orders_by_the_exact_sum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "noisy.toml"
    path.write_text(NOISY, encoding="utf-8")
    policy = load_policy(str(path))
    complaint = decide(Contact("c", Channel.PHONE, 0.0, complaint=True), None, policy, 0.0)
    plain = decide(Contact("p", Channel.PHONE, 0.0), None, policy, 0.0)
    # the engine keeps its arithmetic: the sum and the window carry the noise, and the key is built from them
    assert complaint.head_start_min == 1.1 + 0.1 != 1.2
    assert plain.pass_window_min == (1.1 + 0.1) - 1.1 != 0.1
    assert complaint.key.virtual_arrival == -(complaint.head_start_min - complaint.channel_offset_min) * 60.0
    # what is presented is the value the policy's numbers add up to
    shown, window = decision_to_dict(complaint), decision_to_dict(plain)
    assert shown["head_start_min"] == 1.2 and window["pass_window_min"] == 0.1
    assert [r["value"] for r in window["reasons"] if r["signal"] == "order"] == [0.1]
    assert "1.2000000000000002" not in json.dumps(shown) and "0.10000000000000009" not in json.dumps(window)
    assert "Head start 1.2 minutes" in agent_view(complaint)
    assert "answered as if placed 1.2 minutes earlier" in customer_statement(complaint)
    # and as a user sees it: `fairserve policy explain --json`
    scores = tmp_path / "scores.csv"
    scores.write_text("customer_id,clv,loyalty\na,10,0.1\n", encoding="utf-8")
    code, out, err = run_cli(["policy", "explain", "--policy", str(path), "--scores", str(scores), "--customer",
                              "a", "--json"], capsys)
    assert code == 0, err
    assert '"pass_window_min": 0.1,' in out and "0.10000000000000009" not in out
    assert json.loads(out)["head_start_min"] == 1.1
