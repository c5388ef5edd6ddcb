"""``/v1/webhooks/{vendor}``: Zendesk, Chatwoot, Zammad and a generic social listener, in their own shapes.

Each vendor's module (:mod:`fairserve.service.webhooks`) verifies the signature the way the vendor signs and turns
the payload into a :class:`~fairserve.service.intake.ContactIn` (or into nothing, for an event that is not a new
contact); this route only answers: 404 for a vendor it does not know (naming the known ones), 401 for a bad or
stale signature, 2xx with no contact for other events, and like ``POST /v1/contacts`` for a new contact (201,
then 200 with the same contact on a retry).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from fairserve.service.routes.contacts import answer_intake
from fairserve.service.routes.deps import ApiError, Svc
from fairserve.service.webhooks import NAMES, VENDORS, SignatureError, WebhookError

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("/{vendor}", response_model=None, responses={200: {}, 201: {}, 202: {}, 404: {
    "description": "no such vendor: the error names the known ones"}})
async def receive(vendor: Annotated[str, Path(json_schema_extra={"enum": list(NAMES)})], request: Request,
                  response: Response, svc: Svc) -> dict[str, Any] | Response:
    """Verify and take in one delivery."""
    if vendor not in NAMES:  # a path that names no vendor is not found (not a bad field of a found route)
        raise ApiError(404, f"no webhook for vendor {vendor!r}; the known vendors are {', '.join(NAMES)}", "vendor")
    module = VENDORS[vendor]
    secret = getattr(svc.settings, f"{vendor}_secret")
    body = await request.body()
    try:
        item = module.parse(dict(request.headers), body, secret, svc.clock(), svc.settings.signature_tolerance_seconds)
    except SignatureError as exc:
        raise ApiError(401, str(exc), exc.header) from None
    except WebhookError as exc:
        raise ApiError(422, str(exc), exc.field) from None
    if item is None:
        response.status_code = 202
        return {"accepted": True, "contact": None}
    return await answer_intake(svc, item, vendor, f"webhook:{vendor}")
