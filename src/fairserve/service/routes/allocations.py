"""``/v1/allocations``: allocate a scarce good among claimants by a policy, recorded in the audit log.

Thin: validates the request, reads the claimants' customers from the store, and calls
:func:`fairserve.policy.allocation.allocate` -- the same function as ``fairserve policy allocate`` -- with the
active policy, or a stored policy given by its hash or a built-in given by its name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from fairserve.errors import FairserveError
from fairserve.service.routes.deps import AgentKey, ApiError, Svc
from fairserve.service.store import customers, write, write_audit

__all__ = ["router"]

router = APIRouter(prefix="/v1/allocations", tags=["allocations"])

_SCORES = ("clv", "profit", "loyalty", "value_percentile", "influence", "followers", "status", "account")


class Claimant(BaseModel):
    """One claimant of the good: who, and the facts of the claim (see ``fairserve check --kind claimants``)."""

    model_config = ConfigDict(extra="forbid")

    claimant_id: str = Field(min_length=1, max_length=200)
    customer_id: str | None = Field(default=None, max_length=200)
    fare: float | None = Field(default=None, ge=0)
    checked_in_hours: float | None = Field(default=None, ge=0)
    severity: int = Field(default=0, ge=0, le=3)
    medical: bool = False
    reduced_mobility: bool = False
    unaccompanied_minor: bool = False
    children: bool = False
    status: str | None = Field(default=None, max_length=100)


class AllocationRequest(BaseModel):
    """How many goods, among whom, under which policy (default: the active one)."""

    model_config = ConfigDict(extra="forbid")

    goods: int = Field(ge=1)
    claimants: list[Claimant] = Field(min_length=1, max_length=100_000)
    policy: str | None = Field(default=None, description="a built-in policy's name; default the active policy")


def _policy(svc: Any, name: str | None) -> Any:
    if name is None:
        return svc.holder.current()[0]
    from fairserve.policy import load_policy
    from fairserve.policy.schema import PolicyError

    try:
        return load_policy(name)
    except PolicyError as exc:
        raise ApiError(422, str(exc), "policy") from None


@router.post("")
def allocate_route(body: AllocationRequest, svc: Svc, who: AgentKey) -> dict[str, Any]:
    """Rank the claimants by the policy's allocation rule and allocate; each claimant with its reasons and
    written statement. Recorded in the audit log with the policy's version and hash."""
    import pandas as pd

    from fairserve.policy.allocation import allocate

    ids = [c.claimant_id for c in body.claimants]
    if len(set(ids)) != len(ids):
        dup = next(i for i, c in enumerate(ids) if ids.index(c) != i)
        raise ApiError(422, f"claimant_id '{ids[dup]}' appears more than once", f"claimants[{dup}].claimant_id")
    policy = _policy(svc, body.policy)
    wanted = sorted({c.customer_id for c in body.claimants if c.customer_id is not None})
    with svc.engine.connect() as conn:
        rows = conn.execute(select(customers).where(customers.c.customer_id.in_(wanted))).all() if wanted else []
        conn.rollback()
    known = {r.customer_id: r for r in rows}
    for i, c in enumerate(body.claimants):
        if c.customer_id is not None and c.customer_id not in known:
            raise ApiError(422, f"customer '{c.customer_id}' is not known to the service (leave customer_id out "
                           "for a guest)", f"claimants[{i}].customer_id")
    records = []
    for c in body.claimants:
        rec: dict[str, Any] = c.model_dump()
        row = known.get(c.customer_id) if c.customer_id is not None else None
        for col in _SCORES:
            if col == "status" and rec["status"] is not None:
                continue  # the claim's own status (e.g. a frequent-flyer tier) wins
            rec[col] = getattr(row, col) if row is not None else None
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    try:
        result = allocate(frame, policy, body.goods)
    except FairserveError as exc:
        raise ApiError(422, str(exc), "policy") from None
    out = result.to_dict()
    receivers = [r["claimant_id"] for r in out["claimants_table"] if r["receives"]]
    with write(svc.engine) as conn:
        write_audit(conn, svc.clock(), who.actor, "allocation", detail={
            "policy": out["policy"], "good": out["good"], "goods": body.goods, "claimants": len(ids),
            "receives": receivers})
    return out
