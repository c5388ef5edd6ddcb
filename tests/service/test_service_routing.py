"""Routing hints for Genesys Cloud, Amazon Connect and Twilio TaskRouter keep the policy's order on a replayed queue
wherever the platform can express it, and say what they leave out."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from service_fixtures import Api

from fairserve.model import Channel, Contact, Customer
from fairserve.policy import decide, load_policy
from fairserve.policy.explain import decision_to_dict
from fairserve.service.routing import routing_hints


def replay(policy_name: str, n: int = 400, seed: int = 7) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    policy = load_policy(policy_name)
    out = []
    t = 1_750_000_000.0
    statuses = ["gold", "silver", "bronze", "basic"]
    for i in range(n):
        t += float(rng.integers(0, 20))
        cust = Customer(f"u{i}", clv=float(rng.choice([5.0, 50.0, 500.0])), loyalty=float(rng.uniform(0, 1)),
                        status=statuses[int(rng.integers(0, 4))])
        contact = Contact(f"c{i:04d}", Channel.PHONE, t, customer_id=cust.customer_id,
                          severity=int(rng.integers(0, 4)), sentiment=float(rng.choice([-0.8, 0.0, 0.5])),
                          complaint=bool(rng.integers(0, 2)), repeat=int(rng.integers(0, 3)))
        d = decision_to_dict(decide(contact, cust, policy, t))
        out.append({"d": d, "hints": routing_hints(d)})
    return out


def key(x: dict[str, object]) -> tuple[object, ...]:
    k = x["d"]["key"]  # type: ignore[index]
    return (k["rank"], k["virtual_arrival"], k["arrival"], k["contact_id"])


def ids(rows: list[dict[str, object]]) -> list[str]:
    return [r["d"]["contact_id"] for r in rows]  # type: ignore[index]


@pytest.mark.parametrize("policy", ["balanced", "value-first", "tier-strict"])
def test_amazon_connect_keeps_the_order_exactly(policy: str) -> None:
    rows = replay(policy)
    want = ids(sorted(rows, key=key))
    c = "amazon_connect"
    got = ids(sorted(rows, key=lambda r: (r["hints"][c]["QueuePriority"],  # type: ignore[index]
                                          r["d"]["key"]["arrival"] - r["hints"][c]["QueueTimeAdjustmentSeconds"],  # type: ignore[index]
                                          r["d"]["key"]["arrival"], r["d"]["contact_id"])))  # type: ignore[index]
    assert got == want
    assert want != ids(rows)  # the policy reorders the replay


@pytest.mark.parametrize("policy", ["balanced", "value-first"])
def test_twilio_keeps_the_order_to_the_second(policy: str) -> None:
    rows = replay(policy)
    got = ids(sorted(rows, key=lambda r: (-r["hints"]["twilio"]["priority"],  # type: ignore[index]
                                          r["d"]["key"]["arrival"], r["d"]["contact_id"])))  # type: ignore[index]
    assert got == ids(sorted(rows, key=key))


def test_genesys_keeps_the_order_of_contacts_more_than_a_minute_apart() -> None:
    rows = replay("balanced")
    eff = {r["d"]["contact_id"]: r["d"]["key"]["arrival"] - 60 * r["hints"]["genesys"]["priority"]  # type: ignore[index]
           for r in rows}
    va = {r["d"]["contact_id"]: r["d"]["key"]["virtual_arrival"] for r in rows}  # type: ignore[index]
    checked = 0
    for a, b in itertools.combinations(eff, 2):
        if abs(va[a] - va[b]) > 60.0:
            checked += 1
            assert (va[a] < va[b]) == (eff[a] < eff[b]), (a, b)
    assert checked > 1000


def test_each_hint_says_what_it_cannot_express() -> None:
    strict = replay("tier-strict", n=5)[0]["hints"]
    assert "strict tiers" in strict["genesys"]["not_expressed"]  # type: ignore[index]
    assert "strict tiers" in strict["twilio"]["not_expressed"]  # type: ignore[index]
    assert "strict tiers" not in strict["amazon_connect"]["not_expressed"]  # type: ignore[index]
    bal = replay("balanced", n=5)[0]["hints"]
    assert all("wait guarantee" in bal[p]["not_expressed"] for p in ("genesys", "amazon_connect", "twilio"))  # type: ignore[index]


def test_intake_answers_with_the_hints(sqlite_api: Api) -> None:
    r = sqlite_api.client.post("/v1/contacts", json={"channel": "phone", "email": "a@example.com", "severity": 3},
                               headers=sqlite_api.h("intake")).json()
    assert r["routing"]["amazon_connect"]["QueueTimeAdjustmentSeconds"] == round(60 * r["decision"]["head_start_min"])
    assert r["routing"]["genesys"]["priority"] == round(r["decision"]["head_start_min"])
