"""Findings of the new-user review left open, in the live service: a bulk upload with bytes that are not UTF-8."""

from __future__ import annotations

from service_fixtures import Api


def test_a_bulk_upload_that_is_not_utf8_names_the_row_and_stores_nothing(sqlite_api: Api) -> None:
    """A Latin-1 CSV was answered 'cannot read the csv upload: ... byte 0xe9 in position 0' (no row, and a
    position that was not the file's): it is refused whole (422), naming the row as the endpoint's other row
    problems number it, the line and the column; the customers stored before are kept as they were."""
    api = sqlite_api
    csv_ct = {**api.h(), "content-type": "text/csv"}
    r = api.client.post("/v1/customers/bulk", content="customer_id,name,clv\nc1,Ann,10\n", headers=csv_ct)
    assert r.status_code == 200 and r.json()["upserted"] == 1
    # a quoted cell over two lines and a blank line: row 2 of the data is line 5 of the file
    latin = 'customer_id,name,clv\r\nc1,"two\r\nlines",99\r\n\r\nc2,José,20\r\nc3,Renée,3\r\n'.encode("latin-1")
    r = api.client.post("/v1/customers/bulk", content=latin, headers=csv_ct)
    assert r.status_code == 422
    body = r.json()
    assert body["row"] == 2 and body["field"] == "name"
    assert "row 2 (line 5), field 'name': byte 0xe9 is not UTF-8" in body["error"]
    assert "1 more row" in body["error"] and "nothing was stored" in body["error"]
    agent = api.h("agent")
    assert api.client.get("/v1/customers/c1", headers=agent).json()["clv"] == 10  # not 99: nothing half-stored
    assert api.client.get("/v1/customers/c2", headers=agent).status_code == 404

    lines = b'{"customer_id": "j1", "clv": 1}\n{"customer_id": "j2", "name": "\xff"}\n'
    r = api.client.post("/v1/customers/bulk?format=jsonl", content=lines, headers=api.h())
    assert r.status_code == 422 and r.json()["row"] == 2 and "row 2 (line 2)" in r.json()["error"]
    assert api.client.get("/v1/customers/j1", headers=agent).status_code == 404

    r = api.client.post("/v1/customers/bulk", content="customer_id,näme\nc9,1\n".encode("latin-1"), headers=csv_ct)
    assert r.status_code == 422 and "the header (line 1)" in r.json()["error"] and "row" not in r.json()
