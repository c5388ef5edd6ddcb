"""Customers in the service: bulk upsert row by row (bad rows by number and field, good rows kept), refresh without
downtime, identity links; `fairserve serve --customers`; and the customer's transparency link."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
from service_fixtures import Api
from test_service_intake import load_customers


def test_bulk_upsert_keeps_good_rows_and_names_each_bad_row_and_field(api: Api) -> None:
    csv = ("customer_id,clv,loyalty,followers,status,tenure_years\n"
           "a,100,0.5,10,gold,3\n"
           "b,oops,0.5,,,\n"
           ",5,0.1,,,\n"
           "c,5,1.7,,,\n"
           "d,7,0.2,-3,,\n"
           "e,8,0.2,,basic,1.5\n")
    r = api.client.post("/v1/customers/bulk", content=csv, headers={**api.h(), "content-type": "text/csv"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rows"] == 6 and out["upserted"] == 2 and out["rejected"] == 4
    assert [(p["row"], p["field"]) for p in out["problems"]] == [(2, "clv"), (3, "customer_id"), (4, "loyalty"),
                                                                  (5, "followers")]
    a = api.client.get("/v1/customers/a", headers=api.h("agent")).json()
    assert a["clv"] == 100 and a["status"] == "gold" and a["facts"] == {"tenure_years": 3.0}
    assert api.client.get("/v1/customers/b", headers=api.h("agent")).status_code == 404


def test_a_refresh_changes_the_tier_of_the_next_contact_without_a_restart(api: Api) -> None:
    load_customers(api)
    first = api.client.post("/v1/contacts", json={"channel": "phone", "customer_id": "c3"}, headers=api.h("intake"))
    assert first.json()["decision"]["tier"] == "standard"
    lines = "\n".join(json.dumps(r) for r in [{"customer_id": "c3", "clv": 900.0, "loyalty": 0.9}, "not an object"])
    r = api.client.post("/v1/customers/bulk?format=jsonl", content=lines + "\n{broken", headers=api.h())
    assert r.status_code == 200
    assert r.json()["upserted"] == 1 and [p["row"] for p in r.json()["problems"]] == [2, 3]
    again = api.client.post("/v1/contacts", json={"channel": "phone", "customer_id": "c3"}, headers=api.h("intake"))
    assert again.json()["decision"]["tier"] == "priority"
    # the contact already waiting keeps the decision it was stored with
    assert api.client.get(f"/v1/contacts/{first.json()['id']}", headers=api.h("agent")).json()["decision"][
        "tier"] == "standard"


def test_parquet_upload_and_identity_links(api: Api) -> None:
    frame = pd.DataFrame({"customer_id": ["p1", "p2"], "clv": [150.0, 2.0], "email": ["P1@Example.com", None]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    r = api.client.post("/v1/customers/bulk", content=buf.getvalue(),
                        headers={**api.h(), "content-type": "application/vnd.apache.parquet"})
    assert r.status_code == 200 and r.json()["upserted"] == 2 and r.json()["identities"] == 1
    r = api.client.post("/v1/customers/p2/identities", json={"kind": "handle", "value": "@PeeTwo",
                                                             "platform": "instagram"}, headers=api.h("agent"))
    assert r.status_code == 201
    c = api.client.post("/v1/contacts", json={"channel": "social", "handle": "peetwo", "platform": "instagram"},
                        headers=api.h("intake")).json()
    assert c["customer_id"] == "p2"
    c = api.client.post("/v1/contacts", json={"channel": "email", "email": "p1@example.com"},
                        headers=api.h("intake")).json()
    assert c["customer_id"] == "p1"
    assert api.client.post("/v1/customers/bulk", content=b"x", headers={**api.h(), "content-type": "image/png"}
                           ).status_code == 415


def test_the_link_opens_only_its_customer_and_only_until_it_expires(api: Api) -> None:
    load_customers(api)
    contact = api.client.post("/v1/contacts", json={"channel": "phone", "customer_id": "c1", "severity": 1},
                              headers=api.h("intake")).json()
    link = api.client.post("/v1/customers/c1/link", json={"ttl_seconds": 600}, headers=api.h("agent"))
    assert link.status_code == 201
    token = link.json()["token"]
    r = api.client.get("/v1/me/explanation", params={"token": token})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["customer_id"] == "c1" and me["tier"] == "priority"
    assert me["facts"] and me["followers_played_a_part"] is False
    assert me["open_contact"]["id"] == contact["id"] and me["open_contact"]["position"] == 1
    assert me["statement"].startswith("You are in the priority tier.")
    assert me["decision"]["policy"]["hash"] == contact["decision"]["policy"]["hash"]
    page = api.client.get("/v1/me/explanation", params={"token": token}, headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "width=device-width" in page.text and "Your tier: priority" in page.text
    assert "number 1 in line" in page.text
    # the token is in the link: the page sends no referrer and loads nothing but the service's own files
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # another customer's token opens only that customer
    other = api.client.post("/v1/customers/c3/link", headers=api.h("agent")).json()["token"]
    assert api.client.get("/v1/me/explanation", params={"token": other}).json()["customer_id"] == "c3"
    # a forged token (c1's payload with c3's signature) and an expired one are refused
    forged = token.split(".")[0] + "." + other.split(".")[1]
    r = api.client.get("/v1/me/explanation", params={"token": forged})
    assert r.status_code == 401 and r.json()["field"] == "token"
    api.clock.advance(601)
    r = api.client.get("/v1/me/explanation", params={"token": token})
    assert r.status_code == 401 and "expired" in r.json()["error"]
    assert api.client.get("/v1/me/explanation").status_code == 401
    assert api.client.post("/v1/customers/c1/link", headers=api.h("intake")).status_code == 403


def test_a_bad_or_expired_link_gets_a_readable_page_when_html_is_wanted(sqlite_api: Api) -> None:
    load_customers(sqlite_api)
    token = sqlite_api.client.post("/v1/customers/c1/link", json={"ttl_seconds": 60},
                                   headers=sqlite_api.h("agent")).json()["token"]
    good = sqlite_api.client.get("/v1/me/explanation", params={"token": token, "format": "html"})
    sheet = re.search(r"<link rel='stylesheet' href='([^']+)'>", good.text)
    assert good.status_code == 200 and sheet
    sqlite_api.clock.advance(61)
    asked = [({"token": token, "format": "html"}, {}), ({"token": token}, {"accept": "text/html,*/*;q=0.8"}),
             ({"token": "garbage", "format": "html"}, {}), ({"format": "html"}, {})]
    for params, headers in asked:
        r = sqlite_api.client.get("/v1/me/explanation", params=params, headers=headers)
        assert r.status_code == 401 and r.headers["content-type"].startswith("text/html"), (params, r.text)
        assert "This link has expired or is not valid; ask us for a new one" in r.text
        assert sheet.group(0) in r.text and "width=device-width" in r.text and "{" not in r.text
        assert r.headers["referrer-policy"] == "no-referrer"
    # JSON stays JSON
    r = sqlite_api.client.get("/v1/me/explanation", params={"token": token})
    assert r.status_code == 401 and r.json() == {"error": "expired token", "field": "token"}
    r = sqlite_api.client.get("/v1/me/explanation", params={"token": token, "format": "json"},
                              headers={"accept": "text/html"})
    assert r.status_code == 401 and r.json()["field"] == "token"


def test_without_an_open_contact_the_page_explains_a_call_made_now(sqlite_api: Api) -> None:
    load_customers(sqlite_api)
    token = sqlite_api.client.post("/v1/customers/c2/link", headers=sqlite_api.h("agent")).json()["token"]
    me = sqlite_api.client.get("/v1/me/explanation", params={"token": token}).json()
    assert me["open_contact"] is None and me["basis"] == "a phone call made now" and me["tier"] == "loyal"
    assert me["what_would_change_it"]  # the next tier up and what it takes


def test_serve_customers_loads_the_scores_file_before_serving(tmp_path: object) -> None:
    import subprocess
    import sys
    from pathlib import Path

    tmp = Path(str(tmp_path))
    scores = tmp / "scores.csv"
    scores.write_text("customer_id,clv,loyalty,email\nz1,300,0.8,z1@example.com\nz2,bad,0.1,\n", encoding="utf-8")
    db = f"sqlite:///{tmp / 's.db'}"
    from service_fixtures import server

    with server(db, 1, tmp, ("--customers", str(scores), "--policy", "value-first")) as (base, _):
        import httpx

        key = subprocess.run([sys.executable, "-m", "fairserve", "keys", "create", "--role", "intake", "--db", db],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert re.fullmatch(r"fsk_[A-Za-z0-9_-]{43}", key)
        r = httpx.post(base + "/v1/contacts", json={"channel": "email", "email": "Z1@example.com"},
                       headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201 and r.json()["customer_id"] == "z1"
        assert r.json()["decision"]["policy"]["name"] == "value-first"
        assert httpx.get(base + "/healthz").json()["policy"]["name"] == "value-first"
    log = next(tmp.glob("server-*.log")).read_text()
    assert "row 2, field 'clv'" in log and "1 upserted, 1 row rejected" in log
