"""``/v1/me/explanation``: the customer's own page, opened by the signed token of their link."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from fairserve.service.auth import BadTokenError, read_token
from fairserve.service.customers import customer_of
from fairserve.service.explanation import explain_customer, render_html, render_link_error_html
from fairserve.service.routes.deps import ApiError, Svc, bearer, error_response
from fairserve.service.web import security_headers

__all__ = ["router"]

router = APIRouter(prefix="/v1/me", tags=["customer"])


@router.get("/explanation", responses={200: {"content": {"text/html": {}}}})
def explanation(request: Request, svc: Svc, token: Annotated[str | None, Query(max_length=2000)] = None,
                format: Annotated[Literal["json", "html"] | None, Query()] = None) -> Any:
    """Why am I in this tier? The tier, its facts, reach's part, what would change it, the place in line.

    A missing, malformed, forged or expired token is 401 (404 when its customer is gone): a short page saying so
    when HTML is wanted (``format=html`` or ``Accept: text/html``), the JSON error otherwise.
    """
    wants_html = format == "html" or (format is None and "text/html" in request.headers.get("accept", ""))
    raw = token or bearer(request)
    if raw is None:
        return _refused(ApiError(401, "missing customer token: open the link you were given", "token"), wants_html)
    now = svc.clock()
    try:
        customer_id = read_token(svc.token_secret(), raw, now)
    except BadTokenError as exc:
        return _refused(ApiError(401, str(exc), "token"), wants_html)
    policy, _ = svc.holder.current()
    with svc.engine.connect() as conn:
        customer = customer_of(conn, customer_id)
        answer = None if customer is None else explain_customer(conn, customer, policy, now)
        conn.rollback()
    if answer is None:
        return _refused(ApiError(404, "this link's customer is no longer known", "token"), wants_html)
    if wants_html:
        return _html(render_html(answer), 200)
    return answer


def _refused(error: ApiError, wants_html: bool) -> Response:
    """A link that opens nothing: the short page saying so when HTML is wanted, else the error's JSON answer."""
    if not wants_html:
        return error_response(error)
    return _html(render_link_error_html(unknown_customer=error.status == 404), error.status)


def _html(page: str, status: int) -> Response:
    """An HTML answer: the token is in the link, so no referrer leaves the page, and it loads only our own files."""
    return HTMLResponse(page, status_code=status, headers={**security_headers(), "Referrer-Policy": "no-referrer"})
