"""The reviewer console: server-rendered pages for signed-in people, on the same process as the
API. A session cookie (HttpOnly, SameSite=Strict, Secure over TLS) names the person; every form
carries the session's CSRF token; sign-in attempts are rate-limited. Everything shown is escaped
(Jinja2 autoescape: report texts come from the public) and a Content-Security-Policy allows only
the console's own script and style."""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from api.problems import STATUS, Forbidden
from client.api import CaseworkClient
from client.credentials import Session, end_session, find_session, open_session
from client.ops import Ops
from domain.errors import CaseworkError, EmptyQueue
from domain.people import Role

HERE = Path(__file__).parent
COOKIE, LOGIN_COOKIE = "cw_session", "cw_login"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
GRAPHIC = {"STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "STATEMENT_CATEGORY_VIOLENCE",
           "STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_SELF_HARM"}
ATTEMPTS, WINDOW_S = 5, 300  # failed sign-ins per person and address, then wait

templates = Jinja2Templates(directory=str(HERE / "templates"))


def highlight(text: str, evidence: list[str]) -> Markup:
    """`text` escaped, with the evidence words marked."""
    out = escape(text)
    for word in sorted({w for w in evidence if w.strip()}, key=len, reverse=True):
        out = Markup(out.replace(escape(word), Markup(f"<mark>{escape(word)}</mark>")))
    return out


templates.env.filters["highlight"] = highlight


class SignedOut(Exception):
    pass


class Failures:
    """Recent failed sign-ins per (person, address), in memory (one console process)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def blocked(self, key: tuple[str, str]) -> bool:
        times, now = self.seen[key], time.monotonic()
        while times and times[0] < now - WINDOW_S:
            times.popleft()
        return len(times) >= ATTEMPTS

    def add(self, key: tuple[str, str]) -> None:
        self.seen[key].append(time.monotonic())


def session(request: Request) -> Session:
    cookie = request.cookies.get(COOKIE)
    found = find_session(request.app.state.cw.ledger, cookie) if cookie else None
    if found is None:
        raise SignedOut
    return found


Signed = Annotated[Session, Depends(session)]


def csrf_ok(s: Session, token: str) -> None:
    if not hmac.compare_digest(s.csrf, token):
        raise Forbidden("the form's CSRF token does not match this session")


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.failures = Failures()

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    api_errors = app.exception_handlers[CaseworkError]

    @app.exception_handler(CaseworkError)
    async def _errors(request: Request, e: CaseworkError) -> Response:
        """The API answers problem+json; console pages answer with a page."""
        if request.url.path.startswith("/api/"):
            return await api_errors(request, e)  # type: ignore[no-any-return]
        status = next((v[0] for cls, v in STATUS.items() if isinstance(e, cls)), 400)
        return _page(request, "error.html", status, s=None, message=str(e))

    @app.exception_handler(SignedOut)
    async def _signed_out(request: Request, _: SignedOut) -> Response:
        return RedirectResponse("/login", status_code=303)

    app.include_router(_router())


def _sees_escalations(s: Session) -> bool:
    return bool({Role.ESCALATION_OWNER, Role.LEAD, Role.OPS, Role.ADMIN} & set(s.person.roles))


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def _router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/login")
    async def login_form(request: Request, error: str = "") -> HTMLResponse:
        token = secrets.token_urlsafe(16)
        response = _page(request, "login.html", error=error, csrf=token)
        _cookie(response, request, LOGIN_COOKIE, token)
        return response

    @r.post("/login")
    async def login(request: Request, username: Annotated[str, Form()],
                    password: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
        if not hmac.compare_digest(request.cookies.get(LOGIN_COOKIE, ""), csrf):
            return _page(request, "login.html", 400, error="The form expired: try again.",
                         csrf=csrf)
        key = (username, request.client.host if request.client else "")
        failures: Failures = request.app.state.failures
        if failures.blocked(key):
            return _page(request, "login.html", 429, csrf=csrf,
                         error="Too many attempts: wait five minutes.")
        person = request.app.state.credentials.check_password(username, password)
        if person is None:
            failures.add(key)
            return _page(request, "login.html", 401, csrf=csrf,
                         error="Wrong name or password.")
        s = open_session(request.app.state.cw.ledger, person)
        response = RedirectResponse("/", status_code=303)
        _cookie(response, request, COOKIE, s.cookie)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @r.post("/logout")
    async def logout(request: Request, s: Signed, csrf: Annotated[str, Form()]) -> Response:
        csrf_ok(s, csrf)
        end_session(request.app.state.cw.ledger, s.cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @r.get("/")
    async def home(request: Request, s: Signed) -> HTMLResponse:
        cw: CaseworkClient = request.app.state.cw
        queues = [q for q in cw.pack().queues if s.person.works(q)]
        found = await asyncio.to_thread(cw.ledger.queue_heads, queues)  # off the event loop
        # queues with open work first ("c" claims in the first), each by name
        rows = dict(sorted(found.items(), key=lambda kv: (not kv[1], kv[0])))
        return _page(request, "queues.html", s=s, rows=rows)

    @r.post("/queues/{queue}/claim-next")
    async def claim_next(request: Request, queue: str, s: Signed,
                         csrf: Annotated[str, Form()]) -> Response:
        csrf_ok(s, csrf)
        cw: CaseworkClient = request.app.state.cw
        try:
            case = await cw.claim_next(queue, s.person.id)
        except EmptyQueue:
            return RedirectResponse(f"/?empty={queue}", status_code=303)
        return RedirectResponse(f"/cases/{case.case_id}", status_code=303)

    @r.get("/cases/{case_id}")
    async def case_page(request: Request, case_id: str, s: Signed) -> HTMLResponse:
        cw: CaseworkClient = request.app.state.cw
        case = await cw.show(case_id)
        if not (s.person.works(case.queue) or {Role.LEAD, Role.OPS} & set(s.person.roles)):
            return _page(request, "error.html", 403, s=s,
                         message=f"You do not work queue {case.queue}.")
        pack = cw.pack()
        cited = {h.policy_id for h in case.hits}
        graphic = any(pack.by_id[p].category in GRAPHIC for p in cited if p in pack.by_id)
        evidence = [w.strip() for h in case.hits
                    for w in h.evidence.split(":", 1)[-1].split(",")]
        return _page(request, "case.html", s=s, case=case, policies=pack.policies,
                     graphic=graphic, evidence=evidence, mine=case.assignee == s.person.id)

    @r.post("/cases/{case_id}/decide")
    async def decide(request: Request, case_id: str, s: Signed,
                     csrf: Annotated[str, Form()], policy: Annotated[str, Form()],
                     reason: Annotated[str, Form()]) -> Response:
        csrf_ok(s, csrf)
        cw: CaseworkClient = request.app.state.cw
        case = await cw.show(case_id)
        actions = ["no_action"] if policy == "none" else [
            a.value for a in cw.pack().get(policy).default_actions]
        await cw.decide(case_id, s.person.id, [] if policy == "none" else [policy], actions,
                        reason)
        try:  # decide and next
            nxt = await cw.claim_next(case.queue, s.person.id)
        except EmptyQueue:
            return RedirectResponse(f"/cases/{case_id}?decided=1", status_code=303)
        return RedirectResponse(f"/cases/{nxt.case_id}", status_code=303)

    @r.get("/appeals/{appeal_id}")
    async def appeal_page(request: Request, appeal_id: str, s: Signed) -> HTMLResponse:
        if Role.APPEALS not in s.person.roles:
            return _page(request, "error.html", 403, s=s,
                         message="Appeals are for people with the appeals role.")
        appeal = await request.app.state.cw.appeal(appeal_id)
        return _page(request, "appeal.html", s=s, appeal=appeal,
                     mine=appeal.assignee == s.person.id)

    @r.post("/appeals/{appeal_id}/claim")
    async def claim_appeal(request: Request, appeal_id: str, s: Signed,
                           csrf: Annotated[str, Form()]) -> Response:
        csrf_ok(s, csrf)
        await request.app.state.cw.claim(appeal_id, s.person.id)
        return RedirectResponse(f"/appeals/{appeal_id}", status_code=303)

    @r.post("/appeals/{appeal_id}/decide")
    async def decide_appeal(request: Request, appeal_id: str, s: Signed,
                            csrf: Annotated[str, Form()], outcome: Annotated[str, Form()],
                            reason: Annotated[str, Form()]) -> Response:
        csrf_ok(s, csrf)
        await request.app.state.cw.decide_appeal(appeal_id, s.person.id, outcome, reason=reason)
        return RedirectResponse(f"/appeals/{appeal_id}", status_code=303)

    @r.get("/escalations")
    async def escalations(request: Request, s: Signed) -> HTMLResponse:
        if not _sees_escalations(s):
            return _page(request, "error.html", 403, s=s,
                         message="Escalations are for their owners, leads, ops and admins.")
        cw: CaseworkClient = request.app.state.cw
        rows = await asyncio.to_thread(cw.ledger.queue, "escalations",
                                       ("open", "acknowledged", "investigating"), 100)
        return _page(request, "queues.html", s=s, rows={"escalations": rows})

    @r.get("/escalations/{escalation_id}")
    async def escalation_page(request: Request, escalation_id: str, s: Signed) -> HTMLResponse:
        if not _sees_escalations(s):
            return _page(request, "error.html", 403, s=s,
                         message="Escalations are for their owners, leads, ops and admins.")
        esc = await request.app.state.cw.show_escalation(escalation_id)
        return _page(request, "escalation.html", s=s, esc=esc,
                     owner=Role.ESCALATION_OWNER in s.person.roles)

    @r.post("/escalations/{escalation_id}/{command}")
    async def escalation_command(request: Request, escalation_id: str, command: str,
                                 s: Signed, csrf: Annotated[str, Form()],
                                 text: Annotated[str, Form()] = "") -> Response:
        csrf_ok(s, csrf)
        cw: CaseworkClient = request.app.state.cw
        if command == "ack":
            await cw.acknowledge_escalation(escalation_id, s.person.id)
        elif command == "note":
            await cw.note_escalation(escalation_id, s.person.id, text)
        elif command == "resolve":
            await cw.resolve_escalation(escalation_id, s.person.id, text)
        else:
            return _page(request, "error.html", 404, s=s, message=f"no command {command!r}")
        return RedirectResponse(f"/escalations/{escalation_id}", status_code=303)

    @r.get("/takedowns/{job_id}")
    async def job_page(request: Request, job_id: str, s: Signed) -> HTMLResponse:
        job = await request.app.state.cw.takedown_status(job_id)
        return _page(request, "job.html", s=s, job=job)

    @r.post("/takedowns/{job_id}/{command}")
    async def steer_job(request: Request, job_id: str, command: str, s: Signed,
                        csrf: Annotated[str, Form()]) -> Response:
        csrf_ok(s, csrf)
        cw: CaseworkClient = request.app.state.cw
        if command == "approve":
            await cw.approve_takedown(job_id, s.person.id)
        elif command in ("pause", "resume", "cancel", "reverse"):
            await cw.steer_takedown(job_id, command, s.person.id)
        else:
            return _page(request, "error.html", 404, s=s, message=f"no command {command!r}")
        return RedirectResponse(f"/takedowns/{job_id}", status_code=303)

    @r.get("/ops")
    async def ops_page(request: Request, s: Signed) -> HTMLResponse:
        if not {Role.OPS, Role.LEAD, Role.ADMIN} & set(s.person.roles):
            return _page(request, "error.html", 403, s=s,
                         message="The ops page is for ops, leads and admins.")
        ops = Ops(request.app.state.cw)
        return _page(request, "ops.html", s=s, backlog=ops.backlog(), stuck=await ops.stuck())

    @r.get("/appeals")
    async def appeals(request: Request, s: Signed) -> HTMLResponse:
        if Role.APPEALS not in s.person.roles:
            return _page(request, "error.html", 403, s=s,
                         message="The appeals queue is for people with the appeals role.")
        cw: CaseworkClient = request.app.state.cw
        return _page(request, "queues.html", s=s, rows={"appeals": cw.queue("appeals")})

    return r
