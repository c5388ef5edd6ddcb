"""``/healthz`` and Prometheus ``/metrics`` (queue lengths, oldest waits, SLA states, decisions per policy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from fairserve.service.metrics import exposition
from fairserve.service.routes.deps import Svc
from fairserve.service.store import ping

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(svc: Svc) -> dict[str, Any]:
    """200 when the database answers and a policy is active."""
    policy, shadow = svc.holder.current()
    with svc.engine.connect() as conn:
        ping(conn)
        conn.rollback()
    return {"status": "ok", "policy": {"name": policy.name, "version": policy.version, "hash": policy.content_hash},
            "shadow": None if shadow is None else shadow.content_hash, "database": svc.engine.dialect.name}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(svc: Svc) -> str:
    """The Prometheus text exposition format."""
    with svc.engine.connect() as conn:
        text = exposition(conn, svc.clock())
        conn.rollback()
    return text
