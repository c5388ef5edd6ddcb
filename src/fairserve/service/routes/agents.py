"""``/v1/agents``: register an agent's skills, and hand an agent the next contact."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from fairserve.service import queue
from fairserve.service.intake import contact_view
from fairserve.service.routes.deps import AgentKey, ApiError, Svc
from fairserve.service.store import write

__all__ = ["router"]

router = APIRouter(prefix="/v1/agents", tags=["agents"])


class AgentIn(BaseModel):
    """An agent's skills."""

    model_config = ConfigDict(extra="forbid")
    channels: list[Literal["phone", "email", "chat", "social"]] = Field(
        default=["phone", "email", "chat", "social"], min_length=1)
    queues: list[Literal["service", "social-care"]] = Field(default=["service"], min_length=1)
    capacity: int = Field(default=3, ge=1, le=50, description="chats held at once")


@router.put("/{agent_id}")
def put_agent(agent_id: str, body: AgentIn, svc: Svc,
              who: AgentKey) -> dict[str, Any]:
    """Register or update an agent's channels, queues and chat capacity."""
    if not 1 <= len(agent_id) <= 100:
        raise ApiError(422, "agent id must have 1 to 100 characters", "agent_id")
    spec = queue.AgentSpec(agent_id, tuple(dict.fromkeys(body.channels)), tuple(dict.fromkeys(body.queues)),
                           body.capacity)
    with write(svc.engine) as conn:
        queue.put_agent(conn, spec, svc.clock())
    return spec.to_dict()


@router.post("/{agent_id}/next", responses={204: {"description": "nothing waits for this agent"}})
def next_contact(agent_id: str, svc: Svc, who: AgentKey
                 ) -> Any:
    """Hand the agent the next contact for their skills: 200 with it, 204 when nothing waits, 409 at capacity."""
    if not 1 <= len(agent_id) <= 100:
        raise ApiError(422, "agent id must have 1 to 100 characters", "agent_id")
    try:
        row = queue.next_contact(svc.engine, agent_id, svc.clock(), svc.settings.chat_capacity)
    except queue.AgentBusyError:
        raise ApiError(409, f"agent {agent_id!r} holds as many contacts as they may", "agent_id") from None
    if row is None:
        return Response(status_code=204)
    svc.log("contact_assigned", contact_id=row.id, agent_id=agent_id)
    return contact_view(row)
