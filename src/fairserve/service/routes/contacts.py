"""``/v1/contacts``: intake from any channel, and the moves of a contact (resolve, requeue, abandon, transfer)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from fairserve.service import queue
from fairserve.service.auth import Principal
from fairserve.service.customers import UnknownCustomerError
from fairserve.service.intake import ContactIn, contact_view, intake, position_of
from fairserve.service.routes.deps import AgentKey, AgentOrIntake, ApiError, IntakeKey, Svc
from fairserve.service.store import contact_row

__all__ = ["router", "run_intake"]

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


def run_intake(svc: Any, item: ContactIn, source: str, actor: str) -> Response:
    """Intake ``item`` and answer: 201 with the contact when created, 200 with the same contact on a retry.

    The answer is serialised here, once (the hot path: FastAPI would validate and re-encode the dict).
    """
    try:
        result = intake(svc.engine, svc.holder, svc.triage, item, source, svc.clock(), actor)
    except UnknownCustomerError as exc:
        raise ApiError(404, f"unknown customer {exc.args[0]!r}", "customer_id") from None
    except ValueError as exc:  # an identity that names nobody (the body's validators refuse most before)
        raise ApiError(422, str(exc), "body") from None
    svc.log("contact_intake", contact_id=result.row.id, source=source, created=result.created)
    body = json.dumps(contact_view(result.row, created=result.created), separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=201 if result.created else 200, media_type="application/json")


@router.post("", status_code=201, response_model=None, responses={
    201: {"description": "the contact, created, with its Decision", "content": {"application/json": {}}},
    200: {"description": "the same contact, on a retry with the same external_id", "content": {"application/json": {}}},
})
def post_contact(item: ContactIn, svc: Svc, who: IntakeKey) -> Response:
    """Take in one contact: decide it under the active policy, store it and answer with its Decision."""
    return run_intake(svc, item, "api", who.actor)


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
