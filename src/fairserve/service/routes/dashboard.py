"""The dashboard's pages: ``/`` (queues, agents, breaches, social care), ``/queues/{queue}``, ``/contacts/{id}``,
``/customers/{id}``, ``/listening`` and ``/policy`` (admin), with sign-in at ``/signin``.

Thin: each route checks the session, reads its page through :mod:`fairserve.service.web.views` and renders a
template. "Take my next contact" calls the API's own route function
(:func:`fairserve.service.routes.agents.next_contact`), and "Resolve" the API's resolve, so the page and the API
hand out and close contacts by the same code. A page that updates itself fetches itself again (header
``X-Fairserve-Live: 1``) and swaps its live regions; without a session that fetch gets 401, not the sign-in page.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from fairserve.service.auth import Principal, hash_key
from fairserve.service.routes.deps import ApiError
from fairserve.service.store import write, write_audit
from fairserve.service.web import environment, security_headers, views
from fairserve.service.web.session import (
    COOKIE,
    SESSION_SECONDS,
    Session,
    csrf_token,
    key_role,
    make_cookie,
    read_cookie,
)
from fairserve.service.words import with_article

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_NOTES = {
    "empty": "Nothing waits for you on your channels and queues right now.",
    "busy": "You hold as many contacts as you may: resolve one first.",
    "resolved": "Contact resolved.",
    "signedout": "You are signed out.",
    "agent": "Type your agent id first.",
}


def _svc(request: Request) -> Any:
    return request.app.state.service


def _session(request: Request) -> Session | None:
    svc = _svc(request)
    return read_cookie(svc.token_secret(), svc.engine, request.cookies.get(COOKIE), time.time())


def _page(request: Request, template: str, session: Session | None, status: int = 200, live: bool = False,
          **ctx: Any) -> HTMLResponse:
    svc = _svc(request)
    note = request.query_params.get("note")
    html = environment().get_template(template).render(
        session=session, csrf=csrf_token(svc.token_secret(), session.cookie) if session else "",
        path=request.url.path, now=svc.clock(), live=live, note=_NOTES.get(note or ""), **ctx)
    return HTMLResponse(html, status_code=status, headers=security_headers())


def _guard(request: Request, admin: bool = False) -> Session | Response:
    """The session, or the answer to give instead: sign-in (or 401 to a live fetch), or a 403 page."""
    session = _session(request)
    if session is None:
        if request.headers.get("x-fairserve-live"):
            return Response(status_code=401, headers=security_headers())
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
    if session.role not in ("admin", "agent"):
        return _page(request, "error.html", session, 403, title="Not for this key",
                     message="An intake key may only post contacts; sign in with an agent or an admin key.")
    if admin and session.role != "admin":
        return _page(request, "error.html", session, 403, title="Admins only",
                     message="The policy page is for admin keys; your key is an agent's. Ask an admin to open it.")
    return session


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body())[:20_000].decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


async def _post_guard(request: Request) -> tuple[Session, dict[str, str]] | Response:
    """A form post: a session, the same origin, and the session's CSRF token."""
    guard = _guard(request)
    if isinstance(guard, Response):
        return guard
    form = await _form(request)
    if not _same_origin(request) or form.get("csrf") != csrf_token(_svc(request).token_secret(), guard.cookie):
        return _page(request, "error.html", guard, 403, title="Form refused",
                     message="This form did not come from this dashboard's page (its security token is missing "
                             "or stale). Go back, reload the page and try again.")
    return guard, form


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    """The sign-in form: one field for an API key."""
    return _page(request, "signin.html", None, next=_safe_next(next), error=None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Exchange an admin or agent key for a session cookie; a wrong key gets the form again with a message."""
    form = await _form(request)
    target = _safe_next(form.get("next"))
    key = form.get("key", "").strip()
    svc = _svc(request)
    if not _same_origin(request):
        return _page(request, "signin.html", None, 403, next=target, error="Sign in from this dashboard's own page.")
    role = key_role(svc.engine, key=key) if key else None
    if role is None:
        msg = ("Enter your API key." if not key else
               "That key is not known to this service, or it was revoked. Check it and try again "
               "(keys are made with: fairserve keys create --role agent).")
        return _page(request, "signin.html", None, 401, next=target, error=msg)
    if role not in ("admin", "agent"):
        return _page(request, "signin.html", None, 403, next=target,
                     error=f"{with_article(role).capitalize()} key may only post contacts; sign in with an agent "
                     "or an admin key.")
    resp = RedirectResponse(target, status_code=303)
    _set_cookie(request, resp, make_cookie(svc.token_secret(), hash_key(key), "", time.time()))
    with write(svc.engine) as conn:
        write_audit(conn, svc.clock(), f"{role}:{hash_key(key)[:10]}", "dashboard_signin")
    return resp


def _set_cookie(request: Request, resp: Response, value: str) -> None:
    resp.set_cookie(COOKIE, value, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="strict",
                    secure=request.url.scheme == "https")


@router.post("/signout")
async def signout(request: Request) -> Response:
    """End the session (the cookie is cleared)."""
    resp = RedirectResponse("/signin?note=signedout", status_code=303)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.get("/")
def overview(request: Request) -> Response:
    """Live queues with SLA clocks, agents, breaches and the social-care queue."""
    guard = _guard(request)
    if isinstance(guard, Response):
        return guard
    svc = _svc(request)
    now, frac = svc.clock(), svc.settings.sla_near_fraction
    with svc.engine.connect() as conn:
        queues = views.queue_summary(conn, now, frac)
        ctx: dict[str, Any] = {"queues": queues, "agents": views.agents_table(conn, now),
                               "breaches": views.breaches(conn, now, frac),
                               "social": views.social_queue(conn, now, frac)}
        conn.rollback()
    chart = views.waiting_chart(queues)
    policy, shadow = svc.holder.current()
    return _page(request, "overview.html", guard, live=True, policy=policy, shadow=shadow, chart=chart,
                 waiting=sum(q["waiting"] for q in queues), breached=sum(q["breached"] for q in queues),
                 near=sum(q["near"] for q in queues), **ctx)


@router.get("/queues/{queue}")
def queue_page(request: Request, queue: str) -> Response:
    """The waiting contacts of one queue in the order of their queue keys."""
    guard = _guard(request)
    if isinstance(guard, Response):
        return guard
    if queue not in ("service", "social-care"):
        return _page(request, "error.html", guard, 404, title="No such queue",
                     message="The queues are service and social-care.")
    svc = _svc(request)
    with svc.engine.connect() as conn:
        rows = views.queue_contacts(conn, queue, svc.clock(), svc.settings.sla_near_fraction)
        conn.rollback()
    return _page(request, "queue.html", guard, live=True, queue=queue, rows=rows)


@router.get("/contacts/{contact_id}")
def contact_page(request: Request, contact_id: str) -> Response:
    """One contact: its decision and every reason, its SLA clock, its place, its audit lines."""
    guard = _guard(request)
    if isinstance(guard, Response):
        return guard
    svc = _svc(request)
    with svc.engine.connect() as conn:
        view = views.contact_page(conn, contact_id[:40], svc.clock(), svc.settings.sla_near_fraction)
        conn.rollback()
    if view is None:
        return _page(request, "error.html", guard, 404, title="No such contact",
                     message="No contact has that id (it may have been typed wrong).")
    return _page(request, "contact.html", guard, live=True, c=view)


@router.post("/next")
async def take_next(request: Request) -> Response:
    """Hand the signed-in agent their next contact, by the API's own route function."""
    from starlette.concurrency import run_in_threadpool

    from fairserve.service.routes.agents import next_contact

    checked = await _post_guard(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    agent_id = form.get("agent_id", "").strip()[:100] or session.agent_id
    if not agent_id:
        return RedirectResponse("/?note=agent", status_code=303)
    svc = _svc(request)
    who = Principal(session.role, session.actor)
    try:
        taken = await run_in_threadpool(next_contact, agent_id, svc, who)
    except ApiError as exc:
        target = "/?note=busy" if exc.status == 409 else "/"
        if exc.status not in (409,):
            return _page(request, "error.html", session, exc.status, title="Not taken", message=exc.message)
        resp: Response = RedirectResponse(target, status_code=303)
    else:
        target = "/?note=empty" if isinstance(taken, Response) else f"/contacts/{taken['id']}"
        resp = RedirectResponse(target, status_code=303)
    _set_cookie(request, resp, make_cookie(svc.token_secret(), session.key_hash, agent_id, time.time()))
    return resp


@router.post("/contacts/{contact_id}/resolve")
async def resolve_contact(request: Request, contact_id: str) -> Response:
    """Resolve a contact the agent holds, by the API's own route function."""
    from starlette.concurrency import run_in_threadpool

    from fairserve.service.routes.contacts import resolve

    checked = await _post_guard(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    try:
        await run_in_threadpool(resolve, contact_id[:40], _svc(request), Principal(session.role, session.actor))
    except ApiError as exc:
        return _page(request, "error.html", session, exc.status, title="Not resolved", message=exc.message)
    return RedirectResponse("/?note=resolved", status_code=303)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: str) -> Response:
    """A customer's value, influence, tier and the plain-language explanation."""
    guard = _guard(request)
    if isinstance(guard, Response):
        return guard
    svc = _svc(request)
    policy, _ = svc.holder.current()
    with svc.engine.connect() as conn:
        view = views.customer_page(conn, customer_id[:200], policy, svc.clock(), svc.settings.sla_near_fraction)
        conn.rollback()
    if view is None:
        return _page(request, "error.html", guard, 404, title="No such customer",
                     message="No customer has that id.")
    return _page(request, "customer.html", guard, v=view)


@router.post("/customers/{customer_id}/link")
async def customer_link(request: Request, customer_id: str) -> Response:
    """Make the customer's signed link by the API's own route function and open their page."""
    from starlette.concurrency import run_in_threadpool

    from fairserve.service.routes.customers import make_link

    checked = await _post_guard(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    try:
        link = await run_in_threadpool(make_link, customer_id, _svc(request), Principal(session.role, session.actor))
    except ApiError as exc:
        return _page(request, "error.html", session, exc.status, title="No such customer",
                     message="No customer has that id.")
    # relative: the page opens on the host the browser is on, whatever FAIRSERVE_PUBLIC_URL says
    return RedirectResponse(f"/v1/me/explanation?token={link['token']}&format=html", status_code=303)


@router.get("/listening")
def listening_page(request: Request) -> Response:
    """Sentiment and topics over time and representative anecdotes of the stored contacts' text."""
    guard = _guard(request)
    if isinstance(guard, Response):
        return guard
    svc = _svc(request)
    with svc.engine.connect() as conn:
        data = views.listening(conn, _triage(svc))
        conn.rollback()
    return _page(request, "listening.html", guard, data=data)


def _triage(svc: Any) -> Any:
    if "web_triage" not in svc.extra:
        from fairserve.text import TextTriage

        svc.extra["web_triage"] = TextTriage()
    return svc.extra["web_triage"]


@router.get("/policy")
def policy_page(request: Request, candidate: str | None = None) -> Response:
    """The active policy, the stored ones, the audit log, the shadow disagreements and a diff against a candidate."""
    guard = _guard(request, admin=True)
    if isinstance(guard, Response):
        return guard
    svc = _svc(request)
    active, shadow = svc.holder.current()
    with svc.engine.connect() as conn:
        data = views.policy_page(conn, active, shadow, (candidate or "").strip()[:200] or None)
        conn.rollback()
    return _page(request, "policy.html", guard, p=data)
