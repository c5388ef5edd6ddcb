"""Intake (POST /v1/contacts): idempotent by external_id, decided by the one evaluator, text fills missing signals,
guests kept, bad input refused by name with nothing stored; on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from service_fixtures import Api
from sqlalchemy import func, select

from fairserve.model import Channel, Contact, Customer
from fairserve.policy import decide, load_policy
from fairserve.policy.explain import decision_to_dict
from fairserve.service.store import audit, contacts

CUSTOMERS = (
    "customer_id,clv,loyalty,status,email,phone,handle,platform\n"
    "c1,500,0.9,gold,one@example.com,+44 20 7946 0001,@one,twitter\n"
    "c2,10,0.5,,two@example.com,,,\n"
    "c3,5,0.1,,,,,\n"
)


def load_customers(api: Api) -> dict[str, Any]:
    r = api.client.post("/v1/customers/bulk", content=CUSTOMERS, headers={**api.h(), "content-type": "text/csv"})
    assert r.status_code == 200, r.text
    return r.json()


def count(api: Api, table: Any = contacts) -> int:
    with api.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(table)).scalar_one()
        conn.rollback()
    return int(n)


def test_intake_answers_201_then_200_with_the_same_contact_and_never_a_duplicate(api: Api) -> None:
    load_customers(api)
    body = {"channel": "phone", "customer_id": "c1", "text": "hello", "external_id": "call-1"}
    first = api.client.post("/v1/contacts", json=body, headers=api.h("intake"))
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    again = api.client.post("/v1/contacts", json={**body, "text": "changed"}, headers=api.h("intake"))
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["decision"] == first.json()["decision"]
    assert count(api) == 1


def test_the_stored_decision_is_decide_of_the_same_contact_under_the_active_policy(api: Api) -> None:
    load_customers(api)
    body = {"channel": "chat", "customer_id": "c1", "text": "", "severity": 2, "sentiment": -0.8,
            "complaint": True, "repeat": 1}
    r = api.client.post("/v1/contacts", json=body, headers=api.h("intake"))
    assert r.status_code == 201
    got = r.json()
    contact = Contact(contact_id=got["id"], channel=Channel.CHAT, arrival=api.clock(), customer_id="c1",
                      severity=2, sentiment=-0.8, complaint=True, repeat=1)
    customer = Customer("c1", clv=500.0, loyalty=0.9, status="gold")
    want = decision_to_dict(decide(contact, customer, load_policy("balanced"), api.clock()))
    decision = dict(got["decision"])
    assert decision.pop("signals_from_text") == []
    assert decision == want
    assert got["decision"]["tier"] == "priority"
    assert "position" not in got  # intake answers the key; the place is asked for when needed
    later = api.client.post("/v1/contacts", json={**body, "customer_id": "c3"}, headers=api.h("intake")).json()
    assert api.client.get(f"/v1/contacts/{got['id']}", headers=api.h("agent")).json()["position"] == 1
    assert api.client.get(f"/v1/contacts/{later['id']}", headers=api.h("agent")).json()["position"] == 2


def test_text_fills_missing_need_signals_and_given_signals_win(sqlite_api: Api) -> None:
    api = sqlite_api
    angry = "This is the third time I call, my account is blocked and nobody helps. Terrible service, I want a refund!"
    r = api.client.post("/v1/contacts", json={"channel": "email", "email": "x@example.com", "text": angry},
                        headers=api.h("intake"))
    d = r.json()["decision"]
    assert set(d["signals_from_text"]) == {"severity", "sentiment", "complaint"}
    assert any(x["signal"] == "sentiment" for x in d["reasons"])  # the text's negative sentiment moved it
    r2 = api.client.post("/v1/contacts", json={"channel": "email", "email": "x@example.com", "text": angry,
                                                "sentiment": 0.9, "severity": 0, "complaint": False},
                         headers=api.h("intake"))
    d2 = r2.json()["decision"]
    assert d2["signals_from_text"] == []
    assert not any(x["signal"] in ("sentiment", "complaint", "severity") for x in d2["reasons"] if x["minutes"])
    assert d2["head_start_min"] < d["head_start_min"]


def test_an_unknown_sender_is_kept_as_a_guest_and_found_again(api: Api) -> None:
    a = api.client.post("/v1/contacts", json={"channel": "social", "handle": "@Someone", "platform": "twitter",
                                               "text": "hi"}, headers=api.h("intake")).json()
    b = api.client.post("/v1/contacts", json={"channel": "social", "handle": "someone", "platform": "twitter",
                                               "text": "hi again"}, headers=api.h("intake")).json()
    assert a["customer_id"].startswith("guest-")
    assert a["customer_id"] == b["customer_id"]
    assert a["decision"]["tier"] == "standard"


def test_identity_links_map_email_phone_and_handle_to_the_customer(api: Api) -> None:
    load_customers(api)
    for ident in ({"email": "ONE@example.com"}, {"phone": "020 7946 0001"},
                  {"handle": "@ONE", "platform": "twitter"}):
        r = api.client.post("/v1/contacts", json={"channel": "email", "text": "x", **ident}, headers=api.h("intake"))
        assert r.json()["customer_id"] == "c1", ident


def test_an_unknown_customer_id_is_404_naming_the_field_and_stores_nothing(api: Api) -> None:
    from sqlalchemy import event

    asked: list[str] = []  # the statements that look the customer up

    def seen(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        if "nobody" in repr(params):
            asked.append(sql)

    event.listen(api.engine, "before_cursor_execute", seen)
    try:
        r = api.client.post("/v1/contacts", json={"channel": "phone", "customer_id": "nobody"},
                            headers=api.h("intake"))
    finally:
        event.remove(api.engine, "before_cursor_execute", seen)
    assert r.status_code == 404
    assert r.json() == {"error": "unknown customer 'nobody'", "field": "customer_id"}
    assert len(asked) == 1, asked  # the intake ran once: the lane answered its error, the route did not run again
    assert count(api) == 0


def test_bad_input_is_a_4xx_naming_the_problem_and_stores_nothing(sqlite_api: Api) -> None:
    api = sqlite_api
    h = {**api.h("intake"), "content-type": "application/json"}
    cases = [
        (b'{"channel": "phone", ', 400, "body"),
        (b'{"channel": "fax", "email": "a@b.co"}', 422, "channel"),
        (b'{"channel": "phone", "email": "a@b.co", "severity": "high"}', 422, "severity"),
        (b'{"channel": "phone", "email": "a@b.co", "severity": 7}', 422, "severity"),
        (b'{"channel": "phone"}', 422, "body"),
        (b'{"channel": "phone", "email": "a@b.co", "colour": "red"}', 422, "colour"),
        (b'[1, 2]', 422, "body"),
    ]
    for raw, status, field in cases:
        r = api.client.post("/v1/contacts", content=raw, headers=h)
        assert r.status_code == status, (raw, r.text)
        assert r.json()["field"] == field, (raw, r.json())
        assert r.json()["error"]
    big = b'{"channel": "phone", "email": "a@b.co", "text": "' + b"x" * 1_100_000 + b'"}'
    r = api.client.post("/v1/contacts", content=big, headers=h)
    assert r.status_code == 413
    assert r.json()["field"] == "body"
    assert count(api) == 0


def test_an_oversized_chunked_body_is_413_like_one_with_a_content_length(sqlite_api: Api) -> None:
    big = b'{"channel": "phone", "email": "a@b.co", "text": "' + b"x" * 1_100_000 + b'"}'

    def chunks() -> Any:
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    sized = sqlite_api.client.post("/v1/contacts", content=big, headers={**sqlite_api.h("intake"),
                                                                         "content-type": "application/json"})
    assert sized.status_code == 413
    for path, role, ctype in (("/v1/contacts", "intake", "application/json"),
                              ("/v1/customers/bulk", "admin", "text/csv")):
        r = sqlite_api.client.post(path, content=chunks(), headers={**sqlite_api.h(role), "content-type": ctype})
        assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
        assert r.status_code == 413, (path, r.text)
        assert r.json() == sized.json()
    assert count(sqlite_api) == 0
    small = b'{"channel": "phone", "email": "a@b.co"}'
    r = sqlite_api.client.post("/v1/contacts", content=iter([small[:10], small[10:]]),
                               headers={**sqlite_api.h("intake"), "content-type": "application/json"})
    assert r.status_code == 201, r.text  # a small chunked body still goes through


def test_each_intake_writes_an_audit_line_with_ids_and_no_text(api: Api) -> None:
    r = api.client.post("/v1/contacts", json={"channel": "phone", "email": "secret@example.com",
                                               "text": "my private words"}, headers=api.h("intake"))
    cid = r.json()["id"]
    lines = api.client.get(f"/v1/audit?contact_id={cid}", headers=api.h()).json()
    assert [x["action"] for x in lines] == ["contact_created"]
    assert lines[0]["detail"]["policy_hash"] == r.json()["decision"]["policy"]["hash"]
    assert "private" not in str(lines) and "secret@" not in str(lines)
    assert count(api, audit) >= 1


def test_logs_carry_ids_never_names_emails_phones_or_text(sqlite_api: Api, caplog: Any) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="fairserve.service")
    r = sqlite_api.client.post("/v1/contacts", json={"channel": "chat", "email": "mary.secret@example.com",
                                                      "phone": "+44 7700 900123", "text": "my diagnosis is private"},
                               headers=sqlite_api.h("intake"))
    assert r.status_code == 201
    logged = " ".join(rec.getMessage() for rec in caplog.records if rec.name == "fairserve.service")
    assert r.json()["id"] in logged and '"route": "/v1/contacts"' in logged
    for secret in ("mary", "secret@", "7700", "diagnosis", "private"):
        assert secret not in logged
