"""Property-based tests drive every route from the OpenAPI schema (schemathesis generates the requests, hypothesis
runs them) with an admin key and with none: no input makes a 5xx, and every refusal is a JSON error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")

from service_fixtures import make_api  # noqa: E402


def test_no_route_answers_a_5xx_to_any_request_the_schema_allows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fs.db'}"
    running = make_api(url, zendesk_secret="z", chatwoot_secret="c", zammad_secret="m", social_secret="s")
    api = next(running)
    try:
        api.client.post("/v1/customers/bulk", content="customer_id,clv,loyalty,email\nc1,500,0.9,a@example.com\n",
                        headers={**api.h(), "content-type": "text/csv"})
        api.client.post("/v1/contacts", json={"channel": "chat", "customer_id": "c1"}, headers=api.h())
        schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
        seen: list[str] = []
        statuses: list[int] = []
        for result in schema.get_all_operations():
            op = result.ok()
            seen.append(f"{op.method.upper()} {op.path}")

            @given(case=op.as_strategy())
            @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def run(case: Any) -> None:
                for headers in (api.h(), {}):
                    response = case.call(headers=headers)
                    statuses.append(response.status_code)
                    assert response.status_code < 500, (case.method, case.path, response.status_code,
                                                         response.text[:500])
                    ctype = str(response.headers.get("content-type", ""))
                    if response.status_code >= 400 and "text/html" in ctype:  # a bad customer link, asked as HTML
                        assert case.path == "/v1/me/explanation" and "ask us for a new one" in response.text
                    elif response.status_code >= 400:
                        assert "error" in response.json(), response.text[:300]

            run()
        assert {"POST /v1/contacts", "POST /v1/agents/{agent_id}/next", "POST /v1/webhooks/{vendor}",
                "GET /v1/me/explanation", "POST /v1/customers/bulk"} <= set(seen)
        assert len(statuses) > 20 * len(seen) and {200, 401, 422} <= set(statuses)
    finally:
        running.close()
