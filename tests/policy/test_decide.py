"""decide() and decide_batch(): ordering, bounds, caps, determinism and the batch twin, as properties."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_strategies import contacts, customers

from fairserve.model import Channel, Contact, Customer
from fairserve.policy import builtin_names, decide, decide_batch, load_policy

POLICIES = builtin_names()

def test_builtin_policies_are_the_six_named() -> None:
    assert POLICIES == ["balanced", "denied-boarding", "fifo", "influence-first", "tier-strict", "value-first"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(contacts(), customers()), min_size=2, max_size=30))
def test_fifo_serves_in_arrival_order(pairs: list[tuple[Contact, Customer | None]]) -> None:
    policy = load_policy("fifo")
    pairs = [(dataclasses.replace(k, contact_id=f"k{i:03d}"), c) for i, (k, c) in enumerate(pairs)]
    decisions = [decide(k, c, policy, 0.0) for k, c in pairs]
    served = sorted(decisions, key=lambda d: d.key)
    arrivals = [d.key.arrival for d in served]
    assert arrivals == sorted(arrivals)
    assert all(d.head_start_min == 0.0 and d.key.virtual_arrival == d.key.arrival for d in decisions)


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=80, deadline=None)
@given(a=st.tuples(contacts("a"), customers("ca")), b=st.tuples(contacts("b"), customers("cb")))
def test_nobody_is_overtaken_by_a_contact_arriving_more_than_the_largest_head_start_later(
    name: str, a: tuple[Contact, Customer | None], b: tuple[Contact, Customer | None]
) -> None:
    policy = load_policy(name)
    da, db = decide(*a, policy, 0.0), decide(*b, policy, 0.0)
    limits = policy.max_head_start_by_channel()
    assert 0.0 <= da.head_start_min <= limits[str(a[0].channel)] + 1e-9
    assert 0.0 <= db.head_start_min <= limits[str(b[0].channel)] + 1e-9
    first, later = (da, db) if (da.key.arrival, "a") <= (db.key.arrival, "b") else (db, da)
    overtaken = later.key < first.key
    if overtaken and first.key.rank == later.key.rank:
        # what the earlier contact was told: only a contact arriving within its window can pass it
        gap_min = (later.key.arrival - first.key.arrival) / 60.0
        assert gap_min <= first.pass_window_min + 1e-9
    if overtaken and first.key.rank != later.key.rank:
        assert policy.strict and later.key.rank < first.key.rank


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=80, deadline=None)
@given(pair=st.tuples(contacts(), customers()))
def test_influence_never_moves_a_contact_by_more_than_its_cap(
    name: str, pair: tuple[Contact, Customer | None]
) -> None:
    policy = load_policy(name)
    contact, customer = pair
    d = decide(contact, customer, policy, 0.0)
    cap = policy.influence_cap_by_channel()[str(contact.channel)]
    assert 0.0 <= d.influence_min <= cap + 1e-12
    if customer is None:
        return
    no_reach = dataclasses.replace(customer, influence=0.0, followers=0)
    d0 = decide(contact, no_reach, policy, 0.0)
    assert d0.influence_min == 0.0
    assert abs(d.head_start_min - d0.head_start_min) <= cap + 1e-9
    if not policy.influence_may_change_tier:
        assert d.tier == d0.tier
    if d.tier != d0.tier:
        assert "tier-by-influence" in d.flags
        assert any(r.signal == "influence" and r.effect == f"tier={d.tier}" for r in d.reasons)


def test_a_policy_rewritten_with_other_layout_decides_the_same(tmp_path: Path) -> None:
    """The hash and every decision follow the policy's content, not its layout, comments or key order."""
    import importlib.resources

    text = importlib.resources.files("fairserve.policy").joinpath("policies", "balanced.toml").read_text()
    assert 'name = "balanced"\nversion = "2.0"' in text and "phone = 0.5, chat = 0.75" in text
    moved = "# reordered\n" + text.replace(
        'name = "balanced"\nversion = "2.0"', 'version = "2.0"  # moved\nname = "balanced"'
    )
    moved = moved.replace("phone = 0.5, chat = 0.75", "phone=0.5,   chat=0.75")
    path = tmp_path / "copy.toml"
    path.write_text(moved)
    copy, original = load_policy(path), load_policy("balanced")
    assert copy.content_hash == original.content_hash
    call = Contact("k", Channel.SOCIAL, 5.0, severity=2, sentiment=-0.8, reach=1e6)
    who = Customer("c", clv=500.0, loyalty=0.5, influence=0.99, followers=10**6)
    assert decide(call, who, copy, 65.0) == decide(call, who, original, 65.0)
    # and a real change of content changes both
    path.write_text(moved.replace("phone=0.5,   chat=0.75", "phone=0.6, chat=0.75"))
    changed = load_policy(path)
    assert changed.content_hash != original.content_hash
    assert decide(call, who, changed, 65.0).head_start_min == decide(call, who, original, 65.0).head_start_min
    phone = Contact("p", Channel.PHONE, 5.0)
    assert decide(phone, who, changed, 5.0).head_start_min == pytest.approx(
        decide(phone, who, original, 5.0).head_start_min + 0.1
    )


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=80, deadline=None)
@given(pair=st.tuples(contacts(), customers()))
def test_reasons_add_up_to_the_head_start_and_the_key(name: str, pair: tuple[Contact, Customer | None]) -> None:
    policy = load_policy(name)
    d = decide(*pair, policy, 0.0)
    assert math.isclose(sum(r.minutes for r in d.reasons), d.head_start_min, abs_tol=1e-9)
    assert d.key.virtual_arrival == d.key.arrival - (d.head_start_min - d.channel_offset_min) * 60.0
    assert d.pass_window_min >= 0.0
    assert d.sla_deadline == d.key.arrival + d.sla_seconds
    assert d.tier in policy.tier_names
    assert (d.policy_name, d.policy_version, d.policy_hash) == (policy.name, policy.version, policy.content_hash)
    assert d.queue in ("service", "social-care")
    assert (d.queue == "social-care") <= ("reputational-risk" in d.flags)


def test_unknown_channel_in_batch_is_refused() -> None:
    frame = pd.DataFrame({"contact_id": ["x"], "channel": ["fax"], "arrival": [0.0]})
    with pytest.raises(Exception, match="fax"):
        decide_batch(frame, load_policy("fifo"))


def test_balanced_sends_a_high_reach_angry_post_to_social_care_without_a_service_head_start() -> None:
    policy = load_policy("balanced")
    post = Contact("p", Channel.SOCIAL, 0.0, sentiment=-0.9, reach=2_000_000)
    quiet = Contact("q", Channel.SOCIAL, 0.0, sentiment=-0.9, reach=10)
    customer = Customer("c", clv=10.0, influence=0.999)
    d, dq = decide(post, customer, policy, 0.0), decide(quiet, customer, policy, 0.0)
    assert d.queue == "social-care" and "reputational-risk" in d.flags
    assert dq.queue == "service" and "reputational-risk" not in dq.flags
    # the flag moves the queue, not the service head start; reach adds at most the 2-minute cap
    assert d.head_start_min == dq.head_start_min
    assert d.influence_min <= 2.0
    assert d.tier == "standard"


def test_the_motivating_question_under_balanced_and_influence_first() -> None:
    """A basic customer with 100k followers vs a 20-year customer with high value, same call, same minute."""
    influencer = Customer("i", clv=5.0, loyalty=0.05, influence=0.995, followers=100_000)
    stalwart = Customer("s", clv=900.0, loyalty=0.95, influence=0.10, followers=12)
    call_i = Contact("ki", Channel.PHONE, 60.0)
    call_s = Contact("ks", Channel.PHONE, 60.0)
    balanced = load_policy("balanced")
    assert decide(call_s, stalwart, balanced, 60.0).key < decide(call_i, influencer, balanced, 60.0).key
    klout = load_policy("influence-first")
    assert decide(call_i, influencer, klout, 60.0).key < decide(call_s, stalwart, klout, 60.0).key


def test_tier_strict_from_its_file_serves_strictly_and_first_come_within_a_tier() -> None:
    policy = load_policy("tier-strict")
    gold_late = decide(Contact("a", Channel.PHONE, 10_000.0), Customer("1", status="gold"), policy, 0.0)
    silver_early = decide(Contact("b", Channel.PHONE, 0.0), Customer("2", status="silver"), policy, 0.0)
    stranger = decide(Contact("c", Channel.PHONE, 5.0), Customer("3", status="other"), policy, 0.0)
    nobody = decide(Contact("d", Channel.PHONE, 1.0), None, policy, 0.0)
    assert gold_late.key.rank == 0 and silver_early.key.rank == 1 and stranger.tier == nobody.tier == "basic"
    assert gold_late.key < silver_early.key < nobody.key < stranger.key
    assert policy.max_head_start_min == 0.0


def test_default_tier_strict_order_is_gold_silver_bronze_basic() -> None:
    assert load_policy("tier-strict").tier_names == ["gold", "silver", "bronze", "basic"]


@pytest.mark.parametrize("name", POLICIES)
def test_the_window_a_contact_is_told_is_exact_for_the_strongest_later_contact(name: str) -> None:
    """The stated window is attained: the strongest later contact passes just inside it and not just outside."""
    policy = load_policy(name)
    strongest = Customer("s", clv=10_000.0, profit=5_000.0, loyalty=1.0, value_percentile=1.0, influence=1.0,
                         followers=10_000_000, status="gold", account="ACME")
    a = decide(Contact("a", Channel.PHONE, 10_000.0), Customer("w", status="basic"), policy, 10_000.0)
    best = None
    for channel in Channel:
        for customer in (strongest, None):
            b = Contact("b", channel, 0.0, severity=3, sentiment=-1.0, complaint=True, repeat=6, reach=1e7,
                        public=True)
            d = decide(b, customer, policy, 0.0)
            if d.key.rank == a.key.rank:
                advance = d.head_start_min - d.channel_offset_min
                best = advance if best is None else max(best, advance)
    assert best is not None
    own = a.head_start_min - a.channel_offset_min
    assert a.pass_window_min == pytest.approx(max(0.0, best - own), abs=1e-9)
    if a.pass_window_min > 0:
        for channel in Channel:
            inside = Contact("b", channel, a.key.arrival + 60 * a.pass_window_min - 1.0, severity=3,
                             sentiment=-1.0, complaint=True, repeat=6, reach=1e7, public=True)
            outside = dataclasses.replace(inside, arrival=inside.arrival + 2.0)
            d_in, d_out = decide(inside, strongest, policy, 0.0), decide(outside, strongest, policy, 0.0)
            if d_in.head_start_min - d_in.channel_offset_min == pytest.approx(best):
                assert d_in.key < a.key and not d_out.key < a.key
                break
        else:
            raise AssertionError("no later contact reaches the stated window")
