"""Policy lifecycle: upload (validated, refused by field), activate without restart, every decision keeps the
policy's name, version and hash; a shadow policy decides beside the active one and the report says who would move
and why."""

from __future__ import annotations

from service_fixtures import Api

from fairserve.service.policies import policy_text

CUSTOMERS = ("customer_id,clv,loyalty,influence,followers\n"
             "star,5,0.1,0.995,2000000\n"
             "rich,900,0.9,0.1,50\n"
             "plain,5,0.1,0.2,100\n")


def test_upload_validates_and_activation_changes_the_next_decision(api: Api) -> None:
    api.client.post("/v1/customers/bulk", content=CUSTOMERS, headers={**api.h(), "content-type": "text/csv"})
    bad = policy_text("fifo")[0].replace('version = ', 'versio = ')
    r = api.client.post("/v1/policies", content=bad, headers={**api.h(), "content-type": "application/toml"})
    assert r.status_code == 422 and "versio" in r.json()["error"]
    r = api.client.post("/v1/policies", content="name = [", headers=api.h())
    assert r.status_code == 422 and "TOML" in r.json()["error"]
    text = policy_text("fifo")[0]
    up = api.client.post("/v1/policies", content=text, headers={**api.h(), "content-type": "application/toml"})
    assert up.status_code == 201
    h = up.json()["hash"]
    assert api.client.post(f"/v1/policies/{h}/activate", headers=api.h("agent")).status_code == 403
    before = api.client.post("/v1/contacts", json={"channel": "phone", "customer_id": "rich"},
                             headers=api.h("intake")).json()
    assert before["decision"]["policy"]["name"] == "balanced"
    assert api.client.post(f"/v1/policies/{h}/activate", headers=api.h()).json() == {"hash": h, "role": "active"}
    after = api.client.post("/v1/contacts", json={"channel": "phone", "customer_id": "rich"},
                            headers=api.h("intake")).json()
    assert after["decision"]["policy"] == {"name": "fifo", "version": after["decision"]["policy"]["version"],
                                           "hash": h}
    listed = {p["hash"]: p["role"] for p in api.client.get("/v1/policies", headers=api.h("agent")).json()}
    assert listed[h] == "active" and sorted(listed.values()) == ["active", "none"]
    assert api.client.post("/v1/policies/nope/activate", headers=api.h()).status_code == 404
    audit = [x["action"] for x in api.client.get("/v1/audit", headers=api.h()).json()]
    assert "policy_active" in audit


def test_a_shadow_policy_reports_who_would_be_served_earlier_or_later_and_why(api: Api) -> None:
    api.client.post("/v1/customers/bulk", content=CUSTOMERS, headers={**api.h(), "content-type": "text/csv"})
    assert api.client.get("/v1/policies/shadow/report", headers=api.h("agent")).status_code == 404
    h = api.client.post("/v1/policies", content=policy_text("influence-first")[0], headers=api.h()).json()["hash"]
    assert api.client.post(f"/v1/policies/{h}/shadow", headers=api.h()).status_code == 200
    for who in ("rich", "plain", "star"):
        api.client.post("/v1/contacts", json={"channel": "phone", "customer_id": who}, headers=api.h("intake"))
        api.clock.advance(5)
    report = api.client.get("/v1/policies/shadow/report", headers=api.h("agent")).json()
    assert report["contacts"] == 3 and report["shadow_policy"]["hash"] == h
    moved = {m["contact_id"]: m for m in report["examples"]}
    star = next(m for m in moved.values() if m["shadow"]["tier"] == "star")
    assert star["active"]["place"] == 3 and star["shadow"]["place"] == 1 and star["moved"] == -2
    assert {w["signal"] for w in star["why"]} >= {"influence"}
    assert report["served_earlier"] >= 1 and report["served_later"] >= 1 and report["tier_changes"] >= 1
    # the active policy still decides the queue
    first = api.client.post("/v1/agents/a/next", headers=api.h("agent")).json()
    assert first["customer_id"] == "rich"
    assert api.client.post(f"/v1/policies/{h}/unshadow", headers=api.h()).status_code == 200
    assert api.client.get("/v1/policies/shadow/report", headers=api.h("agent")).status_code == 404


def test_an_activation_reaches_another_worker_within_a_second(sqlite_url: str) -> None:
    import time

    from service_fixtures import make_api

    first = make_api(sqlite_url)
    a = next(first)
    second = make_api(sqlite_url, migrate=False)
    b = next(second)
    try:
        body = {"channel": "phone", "email": "w@example.com"}
        assert b.client.post("/v1/contacts", json=body, headers=b.h("intake")).json()["decision"]["policy"][
            "name"] == "balanced"
        h = a.client.post("/v1/policies", content=policy_text("fifo")[0], headers=a.h()).json()["hash"]
        a.client.post(f"/v1/policies/{h}/activate", headers=a.h())
        time.sleep(1.1)  # the other worker looks at the database at most once a second
        assert b.client.post("/v1/contacts", json=body, headers=b.h("intake")).json()["decision"]["policy"][
            "hash"] == h
    finally:
        second.close()
        first.close()
