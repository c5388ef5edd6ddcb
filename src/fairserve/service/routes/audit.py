"""``/v1/audit``: the audit log, newest first (ids and decisions only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from fairserve.service.routes.deps import AdminKey, Svc
from fairserve.service.store import audit_lines

__all__ = ["router"]

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("")
def read_audit(svc: Svc, who: AdminKey,
               contact_id: Annotated[str | None, Query(max_length=40)] = None,
               customer_id: Annotated[str | None, Query(max_length=200)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Audit lines, filtered by contact or customer."""
    with svc.engine.connect() as conn:
        lines = audit_lines(conn, contact_id, customer_id, limit)
        conn.rollback()
    return lines
