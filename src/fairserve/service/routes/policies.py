"""``/v1/policies``: upload (validated), list, activate and shadow a policy without a restart."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from fairserve.policy.schema import PolicyError
from fairserve.service import policies as lifecycle
from fairserve.service.policies import activate, is_stored, store_policy
from fairserve.service.routes.deps import AdminKey, AgentKey, ApiError, Svc
from fairserve.service.shadow import shadow_report
from fairserve.service.store import write

__all__ = ["router"]

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.get("")
def list_policies(svc: Svc, who: AgentKey) -> list[dict[str, Any]]:
    """Every stored policy: name, version, hash, role (active, shadow or none)."""
    with svc.engine.connect() as conn:
        rows = lifecycle.list_policies(conn)
        conn.rollback()
    return rows


@router.post("", status_code=201, openapi_extra={"requestBody": {"content": {
    "application/toml": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}})
async def upload(request: Request, svc: Svc, who: AdminKey
                 ) -> dict[str, Any]:
    """Upload a policy file (TOML text); refused with 422 naming the bad field."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the policy must be UTF-8 TOML text", "body") from None
    now = svc.clock()
    try:
        with write(svc.engine) as conn:
            policy = store_policy(conn, text, "<upload>", now)
    except PolicyError as exc:
        raise ApiError(422, str(exc), exc.field) from None
    return {"hash": policy.content_hash, "name": policy.name, "version": policy.version}


@router.get("/shadow/report")
def shadow(svc: Svc, who: AgentKey, limit: Annotated[int, Query(ge=1, le=100_000)] = 5000) -> dict[str, Any]:
    """Where the shadow policy disagrees with the active one: who would be served earlier or later, and why."""
    _, candidate = svc.holder.current()
    if candidate is None:
        raise ApiError(404, "no policy is in shadow: POST /v1/policies/{hash}/shadow first", "policy")
    with svc.engine.connect() as conn:
        report = shadow_report(conn, candidate.content_hash, limit)
        conn.rollback()
    return report


@router.post("/{policy_hash}/{role}")
def set_role(policy_hash: str, role: Literal["activate", "shadow", "unshadow"], svc: Svc,
             who: AdminKey) -> dict[str, Any]:
    """Activate a stored policy (new contacts are decided by it within a second, in every worker), run it in
    shadow beside the active one, or stop the shadow."""
    target = {"activate": "active", "shadow": "shadow", "unshadow": "none"}[role]
    with write(svc.engine) as conn:
        if not is_stored(conn, policy_hash):
            raise ApiError(404, f"no stored policy with hash {policy_hash!r}", "policy_hash")
        activate(conn, policy_hash, target, svc.clock(), who.actor)
    svc.holder.invalidate()
    return {"hash": policy_hash, "role": target}
