"""What every route needs: the running :class:`~fairserve.service.app.Service`, the caller's role, errors as JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from fairserve.errors import FairserveError
from fairserve.service.auth import Principal, lookup_key
from fairserve.service.words import with_article

__all__ = ["AdminKey", "AgentKey", "AgentOrIntake", "ApiError", "IntakeKey", "Svc", "bearer", "error_response",
           "parse_bearer", "require", "service"]


class ApiError(Exception):
    """An error answered as ``{"error": message, "field": field}`` with ``status`` (and ``"row"``, the 1-based
    row of an uploaded file, when given)."""

    def __init__(self, status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None,
                 row: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers
        self.row = row


def error_response(exc: ApiError | FairserveError) -> JSONResponse:
    """The one JSON answer of an error: ``{"error": message, "field": field}`` (and ``"row"`` when the error names
    one) with the error's status and headers.

    A :class:`~fairserve.errors.FairserveError` (what the library refuses in what it was given) is 422 with no
    field. The app's error handlers and the intake lane (:class:`~fairserve.service.routes.contacts.IntakeLane`)
    answer through this.
    """
    if isinstance(exc, FairserveError):
        exc = ApiError(422, str(exc))
    body: dict[str, Any] = {"error": exc.message, "field": exc.field}
    if exc.row is not None:
        body["row"] = exc.row
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


async def service(request: Request) -> Any:
    """The app's :class:`~fairserve.service.app.Service` (async: a dependency this cheap needs no thread)."""
    return request.app.state.service


def bearer(request: Request) -> str | None:
    """The bearer token of the request, or None."""
    return parse_bearer(request.headers.get("authorization", ""))


def parse_bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header's value, or None."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that lets through a key of one of ``roles`` (or ``admin``), else 401 / 403.

    Async, so it runs on the event loop rather than in a thread: a known key is in the worker's cache, and an
    unknown one costs one indexed read.
    """

    async def check(request: Request) -> Principal:
        key = bearer(request)
        if key is None:
            raise ApiError(401, "missing API key: send 'Authorization: Bearer KEY'", "authorization",
                           {"WWW-Authenticate": "Bearer"})
        who = lookup_key(request.app.state.service.engine, key)
        if who is None:
            raise ApiError(401, "unknown or revoked API key", "authorization", {"WWW-Authenticate": "Bearer"})
        if who.role != "admin" and who.role not in roles:
            needs = " or ".join(roles or ("admin",))
            raise ApiError(403, f"{with_article(who.role)} key may not call this route (needs {needs})",
                           "authorization")
        return who

    return check


Svc = Annotated[Any, Depends(service)]
AdminKey = Annotated[Principal, Depends(require())]
AgentKey = Annotated[Principal, Depends(require("agent"))]
IntakeKey = Annotated[Principal, Depends(require("intake"))]
AgentOrIntake = Annotated[Principal, Depends(require("agent", "intake"))]
