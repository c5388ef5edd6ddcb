"""The live queue: hand-out in the policy's key order, the wait guarantee first, atomic hand-out, agent skills and
capacity, and the moves after a hand-out; on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from service_fixtures import Api
from test_service_intake import load_customers


def post(api: Api, **body: Any) -> dict[str, Any]:
    r = api.client.post("/v1/contacts", json={"text": "", **body}, headers=api.h("intake"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def take(api: Api, agent: str) -> dict[str, Any] | None:
    r = api.client.post(f"/v1/agents/{agent}/next", headers=api.h("agent"))
    if r.status_code == 204:
        return None
    assert r.status_code == 200, r.text
    return dict(r.json())


def key(c: dict[str, Any]) -> tuple[Any, ...]:
    k = c["decision"]["key"]
    return (k["rank"], k["virtual_arrival"], k["arrival"], k["contact_id"])


def test_contacts_are_handed_out_in_the_order_of_their_queue_keys(api: Api) -> None:
    load_customers(api)
    made = []
    for i, (cust, sev) in enumerate([("c3", 0), ("c2", 0), ("c1", 0), ("c3", 3), ("c2", 1), ("c3", 0),
                                     ("c1", 2), ("c2", 0)]):
        made.append(post(api, channel="phone", customer_id=cust, severity=sev, sentiment=0.0, complaint=False))
        api.clock.advance(7 + i)  # all within the phone guarantee (3 minutes) of the first
    served = []
    while (c := take(api, "a1")) is not None:
        served.append(c)
        r = api.client.post(f"/v1/contacts/{c['id']}/resolve", headers=api.h("agent"))
        assert r.status_code == 200
    assert [c["id"] for c in served] == [c["id"] for c in sorted(made, key=key)]
    assert [c["id"] for c in served] != [c["id"] for c in made]  # the policy did reorder them
    metrics = api.client.get("/metrics").text
    assert 'fairserve_recent_wait_seconds_count{queue="service",channel="phone"} 8' in metrics
    assert 'fairserve_contacts{state="resolved"} 8' in metrics


def test_a_contact_past_its_guarantee_goes_before_every_contact_within_its_own(api: Api) -> None:
    load_customers(api)
    old = post(api, channel="phone", customer_id="c3")  # standard tier, no head start
    api.clock.advance(60)
    post(api, channel="phone", customer_id="c1", severity=3)  # priority tier and critical: due far earlier
    api.clock.advance(60)
    post(api, channel="phone", customer_id="c1", severity=3)
    # within the guarantee the key order holds: the priority contacts first
    api.clock.advance(30)  # the old one has waited 150 s < 180 s
    first = take(api, "a1")
    assert first is not None and first["customer_id"] == "c1"
    api.client.post(f"/v1/contacts/{first['id']}/resolve", headers=api.h("agent"))
    api.clock.advance(31)  # 181 s: past the phone guarantee of 3 minutes
    nxt = take(api, "a1")
    assert nxt is not None and nxt["id"] == old["id"]
    audit = api.client.get(f"/v1/audit?contact_id={old['id']}", headers=api.h()).json()
    assert audit[0]["action"] == "contact_assigned" and audit[0]["detail"]["by_guarantee"] is True


def test_among_contacts_past_their_guarantee_the_first_to_run_out_goes_first(api: Api) -> None:
    chat = post(api, channel="chat", email="c@example.com")  # chat guarantee 4 minutes: runs out at t0 + 240
    api.clock.advance(30)
    phone = post(api, channel="phone", email="p@example.com")  # phone guarantee 3 minutes: runs out at t0 + 210
    api.clock.advance(400)  # both past their guarantee
    assert take(api, "a1")["id"] == phone["id"]  # type: ignore[index]
    api.client.post(f"/v1/contacts/{phone['id']}/resolve", headers=api.h("agent"))
    assert take(api, "a1")["id"] == chat["id"]  # type: ignore[index]


def test_an_agent_gets_only_their_channels_and_queues_and_204_when_nothing_waits(api: Api) -> None:
    r = api.client.put("/v1/agents/mail", json={"channels": ["email"], "queues": ["service"]}, headers=api.h("agent"))
    assert r.status_code == 200
    post(api, channel="phone", email="p@example.com")
    assert api.client.post("/v1/agents/mail/next", headers=api.h("agent")).status_code == 204
    e = post(api, channel="email", email="e@example.com")
    assert take(api, "mail")["id"] == e["id"]  # type: ignore[index]


def test_chat_agents_hold_chats_up_to_their_capacity_and_a_call_one_at_a_time(api: Api) -> None:
    api.client.put("/v1/agents/a", json={"channels": ["chat", "phone"], "capacity": 2}, headers=api.h("agent"))
    for i in range(3):
        post(api, channel="chat", email=f"c{i}@example.com")
    assert take(api, "a") is not None
    assert take(api, "a") is not None
    r = api.client.post("/v1/agents/a/next", headers=api.h("agent"))
    assert r.status_code == 409 and r.json()["field"] == "agent_id"
    api.client.put("/v1/agents/b", json={"channels": ["phone", "chat"]}, headers=api.h("agent"))
    post(api, channel="phone", email="p@example.com")
    api.clock.advance(1000)  # the call is past its guarantee: it goes first
    call = take(api, "b")
    assert call is not None and call["channel"] == "phone"
    assert api.client.post("/v1/agents/b/next", headers=api.h("agent")).status_code == 409


def test_requeue_keeps_the_place_abandon_and_resolve_follow_the_state(api: Api) -> None:
    a = post(api, channel="phone", email="a@example.com")
    api.clock.advance(5)
    b = post(api, channel="phone", email="b@example.com")
    got = take(api, "x")
    assert got is not None and got["id"] == a["id"]
    assert api.client.post(f"/v1/contacts/{a['id']}/requeue", headers=api.h("agent")).json()["state"] == "waiting"
    assert take(api, "y")["id"] == a["id"]  # type: ignore[index]
    r = api.client.post(f"/v1/contacts/{b['id']}/resolve", headers=api.h("agent"))
    assert r.status_code == 409 and r.json()["field"] == "state"  # b is still waiting
    assert api.client.post(f"/v1/contacts/{b['id']}/abandon", headers=api.h("intake")).json()["state"] == "abandoned"
    assert take(api, "z") is None
    t = api.client.post(f"/v1/contacts/{a['id']}/transfer", json={"agent_id": "z"}, headers=api.h("agent"))
    assert t.status_code == 200 and t.json()["agent_id"] == "z"
    assert api.client.post(f"/v1/contacts/{a['id']}/transfer", json={"agent_id": "nobody"},
                           headers=api.h("agent")).status_code == 404
    assert api.client.post("/v1/contacts/nope/resolve", headers=api.h("agent")).status_code == 404


def test_each_route_checks_its_role(sqlite_api: Api) -> None:
    api = sqlite_api
    body = {"channel": "phone", "email": "a@example.com"}
    assert api.client.post("/v1/contacts", json=body).status_code == 401
    assert api.client.post("/v1/contacts", json=body, headers={"Authorization": "Bearer fsk_nope"}).status_code == 401
    r = api.client.post("/v1/agents/a/next", headers=api.h("intake"))
    assert r.status_code == 403 and r.json()["field"] == "authorization"
    assert api.client.post("/v1/contacts", json=body, headers=api.h("agent")).status_code == 403
    assert api.client.post("/v1/customers/bulk", content="customer_id\nx\n",
                           headers={**api.h("agent"), "content-type": "text/csv"}).status_code == 403
    assert api.client.post("/v1/contacts", json=body, headers=api.h("admin")).status_code == 201
