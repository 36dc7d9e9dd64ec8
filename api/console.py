"""The reviewer console: server-rendered pages for signed-in people, on the same process as the
API. A session cookie (HttpOnly, SameSite=Strict, Secure over TLS) names the person; every form
carries the session's CSRF token; sign-in attempts are rate-limited. Everything shown is escaped
(Jinja2 autoescape: report texts come from the public) and a Content-Security-Policy allows only
the console's own script and style."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from api import console_cases, console_insight, console_quality
from api.console_cases import about_case, as_csv
from api.console_commands import (
    ESCALATION_COMMANDS,
    TAKEDOWN_COMMANDS,
    job_commands,
    run,
)
from api.console_pages import (
    COUNTS_TTL_S,
    EXPORT_ROWS,
    HEAD_ROWS,
    HERE,
    MAX_OFFSET,
    PAGE_ROWS,
    STUCK_TTL_S,
    Recent,
    claimable,
    opens,
    page,
)
from api.console_session import (
    COOKIE,
    LOGIN_COOKIE,
    SECURITY_HEADERS,
    AppealsTeam,
    Approver,
    EscalationReader,
    OpsReader,
    SecurityHeaders,
    Signed,
    SignedOut,
    TakedownReader,
    csrf_ok,
    same,
    set_cookie,
)
from api.problems import Forbidden
from api.roles import ESCALATION_READERS, has, of_kind, reads_queue
from api.signin import TooMany, sign_in
from client.casework import CaseworkClient
from client.ops import Ops
from domain.appeal.lifecycle import APPEAL
from domain.appeal.models import Outcome
from domain.core import Priority
from domain.errors import CaseworkError, EmptyQueue, NotFound, Unavailable, build
from domain.escalation.lifecycle import ESCALATION
from domain.escalation.models import QUEUE as ESCALATIONS
from domain.lifecycles import OPEN_WORK, every
from domain.people import Role
from domain.queue_view import UNCLAIMED, QueueSort, QueueView
from domain.review.lifecycle import REVIEW
from domain.takedown.models import TAKEDOWN_QUEUE as TAKEDOWNS


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(SecurityHeaders)
    app.state.counts = Recent(COUNTS_TTL_S)
    app.state.stuck = Recent(STUCK_TTL_S)

    for exc in (CaseworkError, RequestValidationError, HTTPException, Exception):
        _as_pages(app, exc)

    @app.exception_handler(SignedOut)
    async def _signed_out(request: Request, _: SignedOut) -> Response:
        return RedirectResponse("/login", status_code=303)

    app.include_router(_router())
    app.include_router(console_cases.router())
    app.include_router(console_quality.router())
    app.include_router(console_insight.router())


async def stuck_count(cw: CaseworkClient) -> int | None:
    """How many records are stuck (None: unknown, Temporal or the ledger not answering): the
    ops home's figure, read at most every `STUCK_TTL_S` for all sessions."""
    try:
        return len(await Ops(cw).stuck())
    except Unavailable:
        return None


def reference(request: Request, spec: dict[str, Any]) -> HTMLResponse:
    """The API reference page: every operation with its parameters, body and answers."""
    def schema(ref: dict[str, Any]) -> str:
        name = ref.get("$ref", "").rsplit("/", 1)[-1]
        return name or ref.get("type", "")

    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
         "doc": op.get("description", ""),
         "params": [f"{p['name']} ({p['in']})" for p in op.get("parameters", [])],
         "body": schema(op.get("requestBody", {}).get("content", {})
                        .get("application/json", {}).get("schema", {})),
         "answers": sorted(op.get("responses", {}))}
        for path, ops in spec["paths"].items() for method, op in ops.items()]
    return page(request, "reference.html", s=None, spec=spec, operations=operations,
                 schemas=spec.get("components", {}).get("schemas", {}))


def _as_pages(app: FastAPI, exc: type[Exception]) -> None:
    """The API answers `exc` with problem+json; a console page answers with a page saying the
    same (signed-in pages keep their header)."""
    api_handler = app.exception_handlers[exc]

    async def handler(request: Request, e: Exception) -> Response:
        answer: Response = await api_handler(request, e)
        if not request.url.path.startswith("/api/"):
            cookie = request.cookies.get(COOKIE)  # a bug's page asks nothing more of the ledger
            s = request.app.state.credentials.find_session(cookie) if cookie and (
                exc is not Exception) else None
            answer = page(request, "error.html", answer.status_code, s=s,
                           message=json.loads(bytes(answer.body))["detail"])
        if exc is Exception:  # answered outside SecurityHeaders: the headers go on here
            answer.headers.update({k.decode(): v.decode() for k, v in SECURITY_HEADERS})
            answer.headers["cache-control"] = "no-store"
        return answer

    app.add_exception_handler(exc, handler)


def _loginpage(request: Request, status: int, error: str) -> HTMLResponse:
    """The sign-in form with a fresh CSRF value in its cookie (double submit)."""
    token = secrets.token_urlsafe(16)
    response = page(request, "login.html", status, error=error, csrf=token)
    set_cookie(response, request, LOGIN_COOKIE, token)
    return response


def _router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/login")
    async def login_form(request: Request) -> HTMLResponse:
        return _loginpage(request, 200, "")

    @r.post("/login")
    async def login(request: Request, username: Annotated[str, Form()] = "",
                    password: Annotated[str, Form()] = "",
                    csrf: Annotated[str, Form()] = "") -> Response:
        credentials = request.app.state.credentials
        if not csrf or not same(request.cookies.get(LOGIN_COOKIE, ""), csrf):
            return _loginpage(request, 400, "The form expired: try again.")
        try:
            person = await sign_in(request, username, password)
        except TooMany:
            return _loginpage(request, 429, "Too many attempts: wait five minutes.")
        if person is None:
            return _loginpage(request, 401, "Wrong name or password.")
        if old := request.cookies.get(COOKIE):  # a new sign-in ends the session it replaces
            await asyncio.to_thread(credentials.end_session, old)
        s = await asyncio.to_thread(credentials.open_session, person)
        response = RedirectResponse("/", status_code=303)
        set_cookie(response, request, COOKIE, s.cookie)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @r.post("/logout")
    async def logout(request: Request, s: Signed, csrf: Annotated[str, Form()] = "") -> Response:
        csrf_ok(s, csrf)
        await asyncio.to_thread(request.app.state.credentials.end_session, s.cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @r.get("/")
    async def home(request: Request, s: Signed, empty: str = "", decided: str = ""
                   ) -> HTMLResponse:
        """Everyone's home: the queues one works (all one reads, for a lead or ops who work
        none), open work first; escalations for their readers; how many records are stuck,
        for ops. After a claim found nothing, which queue has work."""
        cw: CaseworkClient = request.app.state.cw
        person = s.person
        queues = [q for q in cw.pack().queues
                  if reads_queue(person, q) and (person.works(q) or not person.queues)]
        found = await cw.queue_heads(queues, HEAD_ROWS)
        if has(person, ESCALATION_READERS):
            found[ESCALATIONS] = await cw.queue_page(ESCALATIONS, limit=HEAD_ROWS,
                                                     states=sorted(ESCALATION.waiting))
        counts = await request.app.state.counts.get(cw.queue_counts)
        rows = dict(sorted(found.items(), key=lambda kv: (not kv[1], kv[0])))
        waiting = [q for q, entries in rows.items()
                   if q != empty and any(e.state in REVIEW.queued for e in entries)]
        stuck = await request.app.state.stuck.get(lambda: stuck_count(cw)) if (
            Role.OPS in person.roles) else None
        if decided and ((row := await cw.row(decided)) is None
                        or not reads_queue(person, row.queue)):
            decided = ""  # only a case this person may open is named
        return page(request, "queues.html", s=s, rows=rows, counts=counts, empty=empty,
                    decided=decided, waiting=waiting, stuck=stuck, home=True,
                    ops_home=Role.OPS in person.roles,
                    claim_any=bool(claimable(cw, person)))

    @r.get("/queues/{queue}")
    async def queue_page(request: Request, queue: str, s: Signed, offset: int = 0,
                         format: str = "html") -> Response:
        """A queue's open work, 50 rows a page, narrowed and ordered by the page's filters
        (`priority`, `state`, `assignee`, `breached`, `sort`); `format=csv` downloads it."""
        cw: CaseworkClient = request.app.state.cw
        cw.known_queue(queue)
        if not reads_queue(s.person, queue):
            raise Forbidden(f"You do not work queue {queue}.")
        asked = {k: v for k, v in request.query_params.items() if k in QueueView.model_fields and v}
        view = build(QueueView, **asked)
        if format == "csv":
            return as_csv(await cw.queue_page(queue, limit=EXPORT_ROWS, view=view), queue)
        offset = min(max(0, offset), MAX_OFFSET)
        rows = await cw.queue_page(queue, limit=PAGE_ROWS + 1, offset=offset, view=view)
        counts = await request.app.state.counts.get(cw.queue_counts)
        return page(request, "queues.html", s=s, rows={queue: rows[:PAGE_ROWS]},
                     counts=counts, offset=offset, more=len(rows) > PAGE_ROWS,
                     page_rows=PAGE_ROWS, view=view, asked=urlencode(asked),
                     priorities=list(Priority), sorts=list(QueueSort),
                     states=sorted(OPEN_WORK), unclaimed=UNCLAIMED)

    @r.post("/queues/{queue}/claim-next")
    async def claim_next(request: Request, queue: str, s: Signed,
                         csrf: Annotated[str, Form()] = "") -> Response:
        csrf_ok(s, csrf)
        cw: CaseworkClient = request.app.state.cw
        try:
            case = await cw.claim_next(queue, s.person.id)
        except EmptyQueue:
            return RedirectResponse(f"/?empty={queue}", status_code=303)
        return RedirectResponse(opens(case), status_code=303)

    @r.get("/appeals")
    async def appeals(request: Request, s: AppealsTeam) -> HTMLResponse:
        cw: CaseworkClient = request.app.state.cw
        rows = await cw.queue_page("appeals", limit=PAGE_ROWS)
        counts = await request.app.state.counts.get(cw.queue_counts)
        return page(request, "queues.html", s=s, rows={"appeals": rows}, counts=counts)

    @r.get("/appeals/{appeal_id}")
    async def appeal_page(request: Request, appeal_id: str, s: AppealsTeam) -> HTMLResponse:
        await of_kind(request.app.state.cw, appeal_id, "appeal")
        appeal = await request.app.state.cw.appeal(appeal_id)
        return page(request, "appeal.html", s=s, appeal=appeal,
                    **await about_case(request.app.state.cw, appeal.review_case_id, s.person),
                     mine=appeal.assignee == s.person.id,
                     approver=appeal.state in APPEAL.awaiting
                     and Role.SENIOR in s.person.roles)

    @r.post("/appeals/{appeal_id}/claim")
    async def claim_appeal(request: Request, appeal_id: str, s: AppealsTeam,
                           csrf: Annotated[str, Form()] = "") -> Response:
        csrf_ok(s, csrf)
        await request.app.state.cw.claim(appeal_id, s.person.id, kinds=("appeal",))
        return RedirectResponse(f"/appeals/{appeal_id}", status_code=303)

    @r.post("/appeals/{appeal_id}/approve")
    async def approve_appeal(request: Request, appeal_id: str, s: AppealsTeam,
                             csrf: Annotated[str, Form()] = "") -> Response:
        """A severe verdict's second person (the engine refuses anyone who took part)."""
        csrf_ok(s, csrf)
        await request.app.state.cw.approve_appeal(appeal_id, s.person.id)
        return RedirectResponse(f"/appeals/{appeal_id}", status_code=303)

    @r.post("/appeals/{appeal_id}/decide")
    async def decide_appeal(request: Request, appeal_id: str, s: AppealsTeam,
                            csrf: Annotated[str, Form()] = "", outcome: Annotated[str, Form()] = "",
                            reason: Annotated[str, Form()] = "",
                            action: Annotated[str, Form()] = "") -> Response:
        csrf_ok(s, csrf)
        actions = [action] if outcome == Outcome.MODIFIED and action else []
        await request.app.state.cw.decide_appeal(appeal_id, s.person.id, outcome, actions,
                                                 reason=reason)
        return RedirectResponse(f"/appeals/{appeal_id}", status_code=303)

    @r.get("/escalations")
    async def escalations(request: Request, s: EscalationReader) -> HTMLResponse:
        cw: CaseworkClient = request.app.state.cw
        states = sorted(ESCALATION.waiting)
        rows = await cw.queue_page("escalations", states=states, limit=PAGE_ROWS)
        counts = await cw.queue_counts(states=states)
        return page(request, "queues.html", s=s, rows={"escalations": rows}, counts=counts,
                     unpaged=True)

    @r.get("/escalations/{escalation_id}")
    async def escalation_page(request: Request, escalation_id: str, s: EscalationReader) -> HTMLResponse:
        cw: CaseworkClient = request.app.state.cw
        await of_kind(cw, escalation_id, "escalation")
        esc = await cw.show_escalation(escalation_id)
        sent = await cw.messages(escalation_id)
        about = await about_case(cw, esc.review_case_id, s.person) if (
            esc.review_case_id) else {}
        return page(request, "escalation.html", s=s, esc=esc, **about,
                     updates=[m for m in sent if m["kind"] == "leadership_update"],
                     owner=Role.ESCALATION_OWNER in s.person.roles,
                     policies=request.app.state.cw.pack().policies)

    @r.post("/escalations/{escalation_id}/{command}")
    async def escalation_command(request: Request, escalation_id: str, command: str,
                                 s: EscalationReader, csrf: Annotated[str, Form()] = "",
                                 text: Annotated[str, Form()] = "",
                                 choice: Annotated[str, Form()] = "") -> Response:
        csrf_ok(s, csrf)
        await run(ESCALATION_COMMANDS, "escalation", command, request.app.state.cw,
                   escalation_id, s.person.id, text, choice)
        return RedirectResponse(f"/escalations/{escalation_id}", status_code=303)

    @r.get("/approvals")
    async def approvals(request: Request, s: Approver) -> HTMLResponse:
        """What waits for a second person in the queues one works (decisions, appeal verdicts,
        jobs, shop decisions), the longest waiting first; each opens on its own page."""
        cw: CaseworkClient = request.app.state.cw
        queues = [q for q in cw.pack().queues if s.person.works(q) and reads_queue(s.person, q)]
        heads = await cw.queue_heads(queues, PAGE_ROWS, states=tuple(every("awaiting")))
        rows = sorted((e for entries in heads.values() for e in entries),
                      key=lambda e: e.state_since or e.updated_at)
        return page(request, "approvals.html", s=s, rows=rows)

    @r.get("/jobs")
    async def jobs(request: Request, s: TakedownReader) -> HTMLResponse:
        """Takedown jobs and shop reviews, newest first."""
        cw: CaseworkClient = request.app.state.cw
        rows = await cw.recent(("takedown", "shop_review"), 100)
        return page(request, "jobs.html", s=s, rows=rows)

    @r.get("/takedowns/{job_id}")
    async def job_page(request: Request, job_id: str, s: Signed, offset: int = 0
                       ) -> HTMLResponse:
        """For those who read the takedowns queue, and for the job's requester: what it does
        and why (its approver decides on this), its items a page at a time, and its progress
        item by item from the ledger."""
        cw: CaseworkClient = request.app.state.cw
        await of_kind(cw, job_id, "takedown")
        job = await cw.takedown_status(job_id)
        if not reads_queue(s.person, TAKEDOWNS) and job.requester != s.person.id:
            raise NotFound(f"No takedown job {job_id} that you may open.")  # as for no job
        offset = min(max(0, offset), MAX_OFFSET)
        items = await cw.job_items(job_id, after=offset, until=offset + PAGE_ROWS + 1)
        by_id = cw.pack().by_id
        return page(request, "job.html", s=s, job=job, commands=job_commands(job, s.person),
                    items=items[:PAGE_ROWS], offset=offset, more=len(items) > PAGE_ROWS,
                    page_rows=PAGE_ROWS, live=await cw.job_counts(job_id),
                    cited=[by_id[p] for p in job.policy_ids if p in by_id])

    @r.post("/takedowns/{job_id}/{command}")
    async def steer_job(request: Request, job_id: str, command: str, s: Signed,
                        csrf: Annotated[str, Form()] = "") -> Response:
        """The requester steers, a senior approves: the client and the workflow decide."""
        csrf_ok(s, csrf)
        await run(TAKEDOWN_COMMANDS, "takedown", command, request.app.state.cw, job_id,
                   s.person.id, "", "")
        return RedirectResponse(f"/takedowns/{job_id}", status_code=303)

    @r.get("/shop-reviews/{review_id}")
    async def shop_page(request: Request, review_id: str, s: TakedownReader) -> HTMLResponse:
        await of_kind(request.app.state.cw, review_id, "shop_review")
        review = await request.app.state.cw.shop_status(review_id)
        return page(request, "shop.html", s=s, review=review,
                     decider=Role.SENIOR in s.person.roles and review.requester != s.person.id)

    @r.post("/shop-reviews/{review_id}/decide")
    async def decide_shop(request: Request, review_id: str, s: TakedownReader,
                          csrf: Annotated[str, Form()] = "", outcome: Annotated[str, Form()] = "",
                          reason: Annotated[str, Form()] = "") -> Response:
        csrf_ok(s, csrf)
        await request.app.state.cw.decide_shop(review_id, s.person.id, outcome, reason)
        return RedirectResponse(f"/shop-reviews/{review_id}", status_code=303)

    @r.get("/ops")
    async def ops_page(request: Request, s: OpsReader) -> HTMLResponse:
        ops = Ops(request.app.state.cw)
        backlog = await asyncio.to_thread(ops.backlog)
        return page(request, "ops.html", s=s, backlog=backlog, stuck=await ops.stuck(),
                    repairs=Role.OPS in s.person.roles)

    @r.post("/ops/{record_id}/{repair}")
    async def ops_repair(request: Request, record_id: str, repair: str, s: OpsReader,
                         csrf: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
                         choice: Annotated[str, Form()] = "") -> Response:
        """A repair from the ops page, with its reason (and whom to hand it to): the client
        checks the operator's role and the record's lifecycle refuses what does not apply."""
        csrf_ok(s, csrf)
        await Ops(request.app.state.cw).repair(repair, record_id, s.person.id, text,
                                               to=choice or None)
        return RedirectResponse("/ops", status_code=303)

    return r
