"""``/v1/audit``: the audit log, newest first (ids and decisions only)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from fairserve.service.routes.deps import AdminKey, Svc
from fairserve.service.store import audit

__all__ = ["router"]

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("")
def read_audit(svc: Svc, who: AdminKey,
               contact_id: Annotated[str | None, Query(max_length=40)] = None,
               customer_id: Annotated[str | None, Query(max_length=200)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Audit lines, filtered by contact or customer."""
    q = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if contact_id is not None:
        q = q.where(audit.c.contact_id == contact_id)
    if customer_id is not None:
        q = q.where(audit.c.customer_id == customer_id)
    with svc.engine.connect() as conn:
        rows = conn.execute(q).all()
        conn.rollback()
    return [{**dict(r._mapping), "detail": json.loads(r.detail)} for r in rows]
