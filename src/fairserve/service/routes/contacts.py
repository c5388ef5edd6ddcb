"""``/v1/contacts``: intake from any channel, and the moves of a contact (resolve, requeue, abandon, transfer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import Message, Receive, Scope, Send

from fairserve.errors import FairserveError
from fairserve.service import queue
from fairserve.service.auth import Principal, lookup_key
from fairserve.service.customers import UnknownCustomerError
from fairserve.service.intake import ContactIn, IntakeResult, contact_json, contact_view, position_of
from fairserve.service.routes.deps import (
    AgentKey,
    AgentOrIntake,
    ApiError,
    IntakeKey,
    Svc,
    error_response,
    parse_bearer,
)
from fairserve.service.store import contact_row

__all__ = ["IntakeLane", "answer_intake", "router"]

PATH = "/v1/contacts"

router = APIRouter(prefix=PATH, tags=["contacts"])


async def answer_intake(svc: Any, item: ContactIn, source: str, actor: str) -> Response:
    """Intake ``item`` and answer: 201 with the contact when created, 200 with the same contact on a retry.

    The contact goes to the worker's intake writer (group commit) and is answered once committed. The answer is
    serialised here, once (the hot path: FastAPI would validate and re-encode the dict).
    """
    try:
        result = await svc.writer.intake(item, source, svc.clock(), actor)
    except UnknownCustomerError as exc:
        raise ApiError(404, f"unknown customer {exc.args[0]!r}", "customer_id") from None
    except ValueError as exc:  # an identity that names nobody (the body's validators refuse most before)
        raise ApiError(422, str(exc), "body") from None
    return _answer(svc, result, source)


def _answer(svc: Any, result: IntakeResult, source: str) -> Response:
    svc.log("contact_intake", contact_id=result.row.id, source=source, created=result.created)
    return Response(contact_json(result.row, created=result.created), status_code=201 if result.created else 200,
                    media_type="application/json")


@router.post("", status_code=201, response_model=None, responses={
    201: {"description": "the contact, created, with its Decision", "content": {"application/json": {}}},
    200: {"description": "the same contact, on a retry with the same external_id", "content": {"application/json": {}}},
})
async def post_contact(item: ContactIn, svc: Svc, who: IntakeKey) -> Response:
    """Take in one contact: decide it under the active policy, store it and answer with its Decision."""
    return await answer_intake(svc, item, "api", who.actor)


class IntakeLane:
    """The hot path of ``POST /v1/contacts``: a well-formed intake by an intake (or admin) key skips the framework.

    An ASGI middleware inside the request log and the body limit. It takes a request itself when it carries a JSON
    body that :class:`ContactIn` accepts and a known key of a role that may post contacts, and answers it with
    :func:`answer_intake`, the route's own code: the contact, or the intake's error (an unknown customer, a sender
    that names nobody, no active policy) through :func:`~fairserve.service.routes.deps.error_response`, the one
    definition of an error's answer, which the app's handlers use too. Anything else (no or another role's key,
    another content type, malformed JSON, a bad field) goes, with the body as read, to the route above, whose
    dependencies and validation give the answer the API documents for it. So the lane adds no behaviour of its own,
    and the key lookup and the writer's transaction run once per request. What it saves per intake is FastAPI's
    routing, dependency solving and validation of the parsed JSON (the body is validated from its bytes here).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        # the route the request log names for the requests answered here
        self.route = next(r for r in router.routes if getattr(r, "path", None) == PATH
                          and "POST" in getattr(r, "methods", ()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        kept: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            kept.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        answer = None
        if kept[-1]["type"] == "http.request":
            answer = await self._answer(scope, b"".join(chunks))
        if answer is not None:
            scope["route"] = self.route
            await answer(scope, receive, send)
            return

        async def replay() -> Message:
            return kept.pop(0) if kept else await receive()

        await self.app(scope, replay, send)

    async def _answer(self, scope: Scope, body: bytes) -> Response | None:
        key = ctype = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                key = value
            elif name == b"content-type":
                ctype = value
        if key is None or ctype is None or ctype.split(b";")[0].strip().lower() != b"application/json":
            return None
        token = parse_bearer(key.decode("latin-1"))
        if token is None:
            return None
        svc = scope["app"].state.service
        who = lookup_key(svc.engine, token)
        if who is None or who.role not in ("intake", "admin"):
            return None
        try:
            item = ContactIn.model_validate_json(body)
        except ValidationError:
            return None
        try:
            return await answer_intake(svc, item, "api", who.actor)
        except (ApiError, FairserveError) as exc:  # as the app's handlers answer them: the intake ran once
            return error_response(exc)


@router.get("/{contact_id}")
def get_contact(contact_id: str, svc: Svc,
                who: AgentOrIntake) -> dict[str, Any]:
    """One contact with its stored Decision and, while it waits, its place in its queue by key (1: next)."""
    with svc.engine.connect() as conn:
        row = contact_row(conn, contact_id)
        position = position_of(conn, row) if row is not None and row.state == "waiting" else None
        conn.rollback()
    if row is None:
        raise ApiError(404, f"no contact {contact_id!r}", "contact_id")
    return contact_view(row, position=position)


def _move(fn: Any, svc: Any, contact_id: str, who: Principal, *args: Any) -> dict[str, Any]:
    try:
        row = fn(svc.engine, contact_id, *args, svc.clock(), who.actor)
    except LookupError:
        raise ApiError(404, f"no contact {contact_id!r}", "contact_id") from None
    except queue.ContactStateError as exc:
        raise ApiError(409, str(exc), "state") from None
    svc.log(fn.__name__, contact_id=contact_id)
    return contact_view(row)


@router.post("/{contact_id}/resolve")
def resolve(contact_id: str, svc: Svc, who: AgentKey
            ) -> dict[str, Any]:
    """The agent answered it."""
    return _move(queue.resolve, svc, contact_id, who)


@router.post("/{contact_id}/requeue")
def requeue(contact_id: str, svc: Svc, who: AgentKey
            ) -> dict[str, Any]:
    """Back to its queue, at the place its key gives."""
    return _move(queue.requeue, svc, contact_id, who)


@router.post("/{contact_id}/abandon")
def abandon(contact_id: str, svc: Svc, who: AgentOrIntake
            ) -> dict[str, Any]:
    """The customer hung up or left the chat."""
    return _move(queue.abandon, svc, contact_id, who)


class TransferIn(BaseModel):
    """The agent a contact is handed to."""

    model_config = ConfigDict(extra="forbid")
    agent_id: str = Field(min_length=1, max_length=100)


@router.post("/{contact_id}/transfer")
def transfer(contact_id: str, body: TransferIn, svc: Svc,
             who: AgentKey) -> dict[str, Any]:
    """Hand an assigned contact to another registered agent."""
    with svc.engine.connect() as conn:
        target = queue.agent_of(conn, body.agent_id)
        conn.rollback()
    if target is None:
        raise ApiError(404, f"no agent {body.agent_id!r}", "agent_id")
    return _move(lambda e, cid, now, actor: queue.transfer(e, cid, body.agent_id, now, actor), svc, contact_id, who)
