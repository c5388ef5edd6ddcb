"""The FastAPI application factory: :func:`create_app` builds one worker's app from :class:`Settings`.

Every error is answered as JSON naming the problem: ``{"error": "...", "field": "..."}`` (a validation error also
lists each bad field under ``problems``); malformed JSON is 400, an oversized body 413, a bad field 422, a missing
or unknown key 401, another role's route 403. Logs are JSON lines carrying ids only (contact, customer, agent,
request), never names, e-mail addresses, phone numbers or message text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from fairserve.errors import FairserveError
from fairserve.service.auth import token_secret
from fairserve.service.intake import Triage
from fairserve.service.policies import PolicyHolder, activate, policy_text, store_policy
from fairserve.service.routes.deps import ApiError, error_response
from fairserve.service.settings import Settings, load_settings
from fairserve.service.store import make_engine, policies, upgrade, write
from fairserve.service.writer import IntakeWriter

__all__ = ["Service", "create_app", "ensure_policy"]

log = logging.getLogger("fairserve.service")


@dataclass
class Service:
    """What one worker holds: settings, the database engine, the policy holder, the text triage, the clock, and
    the intake writer (group commit, :mod:`fairserve.service.writer`)."""

    settings: Settings
    engine: Engine
    holder: PolicyHolder
    triage: Triage
    clock: Callable[[], float] = time.time
    extra: dict[str, Any] = field(default_factory=dict)
    writer: IntakeWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = IntakeWriter(self.engine, self.holder, self.triage)

    def token_secret(self) -> bytes:
        """The key of customer tokens (configured, or made once and kept in the database)."""
        if "token_secret" not in self.extra:
            self.extra["token_secret"] = token_secret(self.engine, self.settings.token_secret)
        return bytes(self.extra["token_secret"])

    def log(self, event: str, **ids: Any) -> None:
        """One structured log line (ids and counts only)."""
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps({"event": event, **ids}, default=str))


def ensure_policy(engine: Engine, name_or_path: str, now: float) -> None:
    """Store and activate ``name_or_path`` when the database has no active policy yet."""
    with write(engine) as conn:
        active = conn.execute(select(policies.c.hash).where(policies.c.role == "active")).first()
        if active is not None:
            return
        text, source = policy_text(name_or_path)
        policy = store_policy(conn, text, source, now)
        activate(conn, policy.content_hash, "active", now)


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413 (by its Content-Length, or while it streams in)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(scope, receive, send, self.limit)
                return
        seen = 0
        over = False
        started = False

        async def limited() -> dict[str, Any]:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise _TooLargeError
            return message

        async def sending(message: dict[str, Any]) -> None:
            # A streamed (chunked) body over the limit: FastAPI's body parser turns our error into its own 400
            # ("There was an error parsing the body"); that answer is dropped and the 413 sent instead.
            nonlocal started
            if over and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, sending)
        except _TooLargeError:
            pass
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await _too_large(scope, receive, send, self.limit)


class RequestLog:
    """One JSON log line per request: request id, method, route template (never the path's values), status, ms."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex[:16]
        status = [0]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            log.info(json.dumps({"event": "request", "request_id": rid, "method": scope.get("method"),
                                 "route": getattr(route, "path", None), "status": status[0],
                                 "ms": round((time.perf_counter() - start) * 1000, 2)}))


class _TooLargeError(Exception):
    pass


async def _too_large(scope: dict[str, Any], receive: Any, send: Any, limit: int) -> None:
    await error_response(ApiError(413, f"request body larger than {limit} bytes", "body"))(scope, receive, send)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _install_errors(app: FastAPI) -> None:
    async def _known(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError | FairserveError)
        return error_response(exc)

    app.add_exception_handler(ApiError, _known)
    app.add_exception_handler(FairserveError, _known)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(ApiError(400, "malformed JSON body", "body"))
        problems = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", "invalid"))} for e in errors]
        first = problems[0] if problems else {"field": "body", "message": "invalid request"}
        return JSONResponse({"error": f"{first['field']}: {first['message']}", "field": first["field"],
                             "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(ApiError(exc.status_code, str(exc.detail), None, getattr(exc, "headers", None)))


def create_app(settings: Settings | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """Build one worker's app: open the database (migrating it when ``settings.migrate``), make sure a policy is
    active, load the customers file when given, and mount the routes."""
    from fairserve.service.routes import (
        agents,
        allocations,
        audit,
        contacts,
        customers,
        dashboard,
        health,
        me,
        policies,
        webhooks,
    )
    from fairserve.service.sla import SlaClock

    settings = settings or load_settings()
    engine = make_engine(settings.db_url)
    if settings.migrate:
        upgrade(engine)
    ensure_policy(engine, settings.policy, clock())
    svc = Service(settings, engine, PolicyHolder(engine), Triage(settings.classify_text, settings.text_model), clock)
    sla_clock = SlaClock(svc)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sla_clock.start()
        try:
            yield
        finally:
            await sla_clock.stop()
            await asyncio.to_thread(svc.writer.close)  # what was accepted is stored before the pool closes
            engine.dispose()

    app = FastAPI(title="fairserve", version="1", lifespan=lifespan,
                  description="Decide which customer is served first, and why: the live queues.")
    app.state.service = svc
    svc.extra["sla_clock"] = sla_clock
    _install_errors(app)
    for module in (contacts, agents, customers, me, webhooks, policies, audit, health, allocations, dashboard):
        app.include_router(module.router)
    from fastapi.staticfiles import StaticFiles

    from fairserve.service.web import STATIC

    app.mount("/static", StaticFiles(directory=STATIC), name="static")  # the dashboard's own CSS, script, icon

    app.add_middleware(contacts.IntakeLane)  # inside the log and the limit
    app.add_middleware(RequestLog)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
