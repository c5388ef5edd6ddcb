"""``POST /v1/allocations``: the same allocation as ``fairserve policy allocate``, recorded in the audit log."""

from __future__ import annotations

import io

import pandas as pd
from service_fixtures import Api

from fairserve.policy import load_policy
from fairserve.policy.allocation import allocate

CUSTOMERS = ("customer_id,clv,loyalty,value_percentile,influence,followers\n"
             "rich,900,0.9,0.99,0.1,50\n"
             "plain,5,0.1,0.2,0.2,100\n"
             "star,5,0.1,0.3,0.995,2000000\n")
CLAIMANTS = [
    {"claimant_id": "p1", "customer_id": "rich", "fare": 400.0, "checked_in_hours": 20.0},
    {"claimant_id": "p2", "customer_id": "plain", "fare": 90.0, "checked_in_hours": 1.0},
    {"claimant_id": "p3", "customer_id": "star", "fare": 90.0, "checked_in_hours": 1.5},
    {"claimant_id": "p4", "fare": 120.0, "checked_in_hours": 2.0, "children": True},
]


def test_allocations_equal_the_library_and_are_audited(sqlite_api: Api) -> None:
    api = sqlite_api
    r = api.client.post("/v1/customers/bulk", content=CUSTOMERS, headers={**api.h(), "content-type": "text/csv"})
    assert r.status_code in (200, 201)
    for name in ("denied-boarding", "value-first", "influence-first"):
        r = api.client.post("/v1/allocations", json={"goods": 1, "claimants": CLAIMANTS, "policy": name},
                            headers=api.h("agent"))
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["policy"]["name"] == name and got["given"] == 1
        frame = pd.DataFrame(CLAIMANTS).merge(pd.read_csv(io.StringIO(CUSTOMERS)), on="customer_id", how="left")
        frame["status"] = None
        expected = allocate(frame, load_policy(name), 1).table
        bumped = [row["claimant_id"] for row in got["claimants_table"] if row["receives"]]
        assert bumped == expected.loc[expected["receives"], "claimant_id"].tolist()
    by_name = {}
    for n in ("value-first", "influence-first"):
        table = api.client.post("/v1/allocations", json={"goods": 1, "claimants": CLAIMANTS, "policy": n},
                                headers=api.h("agent")).json()["claimants_table"]
        by_name[n] = next(r["claimant_id"] for r in table if r["receives"])
    assert by_name["value-first"] != "p1" and by_name["influence-first"] != "p3"
    audit = [x for x in api.client.get("/v1/audit", headers=api.h()).json() if x["action"] == "allocation"]
    assert audit and audit[0]["detail"]["policy"]["hash"] == load_policy("influence-first").content_hash


def test_bad_allocation_requests_are_4xx_naming_the_field(sqlite_api: Api) -> None:
    api = sqlite_api
    post = api.client.post
    r = post("/v1/allocations", json={"goods": 1, "claimants": [{"claimant_id": "a", "customer_id": "nobody"}],
                                      "policy": "denied-boarding"}, headers=api.h("agent"))
    assert r.status_code == 422 and r.json()["field"] == "claimants[0].customer_id"
    r = post("/v1/allocations", json={"goods": 0, "claimants": CLAIMANTS}, headers=api.h("agent"))
    assert r.status_code == 422 and "goods" in r.text
    r = post("/v1/allocations", json={"goods": 1, "claimants": [{"claimant_id": "a"}, {"claimant_id": "a"}],
                                      "policy": "denied-boarding"}, headers=api.h("agent"))
    assert r.status_code == 422 and r.json()["field"] == "claimants[1].claimant_id"
    r = post("/v1/allocations", json={"goods": 1, "claimants": [{"claimant_id": "a"}], "policy": "fifo"},
             headers=api.h("agent"))
    assert r.status_code == 422 and "no [allocation]" in r.json()["error"]
    r = post("/v1/allocations", json={"goods": 1, "claimants": [{"claimant_id": "a"}]})
    assert r.status_code == 401
