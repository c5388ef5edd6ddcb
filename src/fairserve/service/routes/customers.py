"""``/v1/customers``: bulk upsert of scored customers, identity links, and a customer's transparency link."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from fairserve.service.auth import make_token
from fairserve.service.customers import NotUtf8Error, customer_of, link_identity, read_upload, upsert_frame
from fairserve.service.routes.deps import AdminKey, AgentKey, ApiError, Svc
from fairserve.service.store import write, write_audit

__all__ = ["router"]

router = APIRouter(prefix="/v1/customers", tags=["customers"])

_KINDS = {"text/csv": "csv", "application/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
          "application/json-lines": "jsonl", "application/vnd.apache.parquet": "parquet",
          "application/x-parquet": "parquet"}


@router.post("/bulk", openapi_extra={"requestBody": {"content": {
    "text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}}})
async def bulk(request: Request, svc: Svc, who: AdminKey,
               format: Annotated[Literal["csv", "jsonl", "parquet"] | None, Query()] = None) -> dict[str, Any]:
    """Upsert scored customers from CSV, JSON lines or Parquet: each bad row reported by number and field, the
    good rows kept (and their e-mail, phone and handle linked)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    kind = format or _KINDS.get(ctype)
    if kind is None:
        raise ApiError(415, "send text/csv, application/x-ndjson or application/vnd.apache.parquet "
                       "(or ?format=csv|jsonl|parquet)", "content-type")
    data = await request.body()
    try:
        frame, problems = read_upload(data, kind)
    except NotUtf8Error as exc:  # refused whole, before anything is stored
        raise ApiError(422, str(exc), exc.field or "body", row=exc.row) from None
    whole = [p for p in problems if p.row is None]
    if whole:
        raise ApiError(422, whole[0].message, whole[0].field or "body")
    now = svc.clock()

    def work() -> Any:
        with write(svc.engine) as conn:
            result = upsert_frame(conn, frame, now, problems=problems)
            write_audit(conn, now, who.actor, "customers_upserted",
                        detail={"rows": result.rows, "upserted": result.upserted,
                                "rejected": result.to_dict()["rejected"]})
        return result

    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(work)
    return result.to_dict()


@router.get("/{customer_id}")
def get_customer(customer_id: str, svc: Svc, who: AgentKey
                 ) -> dict[str, Any]:
    """What the service knows about a customer (the policy's facts)."""
    with svc.engine.connect() as conn:
        found = customer_of(conn, customer_id)
        conn.rollback()
    if found is None:
        raise ApiError(404, f"unknown customer {customer_id!r}", "customer_id")
    return {"customer_id": found.customer_id, "clv": found.clv, "profit": found.profit, "loyalty": found.loyalty,
            "status": found.status, "account": found.account, "influence": found.influence,
            "followers": found.followers, "value_percentile": found.value_percentile, "facts": dict(found.facts)}


class IdentityIn(BaseModel):
    """An identity that maps a sender to the customer."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["email", "phone", "handle"]
    value: str = Field(min_length=1, max_length=320)
    platform: str | None = Field(default=None, min_length=1, max_length=50)


@router.post("/{customer_id}/identities", status_code=201)
def add_identity(customer_id: str, body: IdentityIn, svc: Svc,
                 who: AgentKey) -> dict[str, Any]:
    """Link an e-mail address, phone number or social handle to the customer."""
    now = svc.clock()
    with write(svc.engine) as conn:
        if customer_of(conn, customer_id) is None:
            raise ApiError(404, f"unknown customer {customer_id!r}", "customer_id")
        if not link_identity(conn, body.kind, body.value, customer_id, body.platform or ""):
            raise ApiError(422, f"not a usable {body.kind}", "value")
        write_audit(conn, now, who.actor, "identity_linked", customer_id=customer_id, detail={"kind": body.kind})
    return {"customer_id": customer_id, "kind": body.kind, "linked": True}


class LinkIn(BaseModel):
    """How long the link stays valid."""

    model_config = ConfigDict(extra="forbid")
    ttl_seconds: float | None = Field(default=None, gt=0, le=90 * 24 * 3600)


@router.post("/{customer_id}/link", status_code=201)
def make_link(customer_id: str, svc: Svc, who: AgentKey, body: LinkIn | None = None) -> dict[str, Any]:
    """A signed, expiring link to the customer's "why am I in this tier?" page."""
    now = svc.clock()
    with write(svc.engine) as conn:
        if customer_of(conn, customer_id) is None:
            raise ApiError(404, f"unknown customer {customer_id!r}", "customer_id")
        ttl = body.ttl_seconds if body is not None and body.ttl_seconds else svc.settings.token_ttl_seconds
        expires = now + ttl
        write_audit(conn, now, who.actor, "link_created", customer_id=customer_id, detail={"expires_at": expires})
    token = make_token(svc.token_secret(), customer_id, expires)
    base = svc.settings.public_url.rstrip("/")
    return {"customer_id": customer_id, "token": token, "expires_at": int(expires),
            "url": f"{base}/v1/me/explanation?token={token}&format=html"}
