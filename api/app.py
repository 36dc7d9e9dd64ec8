"""casework's HTTP API: the client's operations over HTTP, for people and services alike.

Every call is authenticated (`Authorization: Bearer cw_…`); the acting person is always the
token's owner, never a name in the body. A service token acts only within its scopes and never
as a person. Bodies are JSON with no unknown fields, at most 1 MB; errors are problem+json.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from api import console
from api.problems import Forbidden, Unauthenticated, install, problem, problem_of
from api.roles import ESCALATION_READERS, OVERSEERS, has, of_kind, reads_queue
from client.api import CaseworkClient
from client.credentials import Credentials, Principal
from domain.appeal.models import APPEALS_QUEUE, AppealRef, AppealState
from domain.core import Action, CaseSummary, Source, TimelineEvent
from domain.errors import CaseworkError, InvalidInput, NotFound
from domain.escalation.models import QUEUE as ESCALATIONS_QUEUE
from domain.escalation.models import EscalationState, EscalationSummary
from domain.people import Person, Role
from domain.review.models import CaseRef, CaseState
from domain.shop_review.models import ShopReviewSummary
from domain.takedown.models import TAKEDOWN_QUEUE, AuthorityOrder, JobSummary

MAX_BODY = 1_000_000
MAX_OFFSET = 1_000_000  # deeper than any page a person or a listing needs
IDEMPOTENCY_KEPT = timedelta(days=7)  # how long a key answers with its first report's case


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportIn(_In):
    subject: str
    source: str
    reporter: str | None = None
    text: str = ""
    policy_hint: str | None = None


class ClaimIn(_In):
    lease_minutes: int = Field(default=30, ge=1, le=480)


class DecisionIn(_In):
    policy_ids: list[str] = Field(default_factory=list)
    actions: list[Action] = Field(min_length=1)
    reason: str


class ReasonIn(_In):
    reason: str


class TextIn(_In):
    text: str


class EscalateIn(_In):
    reason: str
    severity: str = "P1"


class AppealIn(_In):
    text: str = ""
    appellant: str | None = None  # a reporter's id; none: the seller


class AppealDecisionIn(_In):
    outcome: str
    actions: list[Action] = Field(default_factory=list)
    policy_ids: list[str] = Field(default_factory=list)
    reason: str


class EscalationIn(_In):
    subject: str
    source: str  # press, regulator, law_enforcement, legal
    reason: str
    severity: str = "P1"


class SeverityIn(_In):
    severity: str
    reason: str


class HandOffIn(_In):
    to: str  # legal, law_enforcement, regulator
    reason: str


class ResolveIn(_In):
    reason: str
    actions: list[Action] = Field(default_factory=list)
    policy_ids: list[str] = Field(default_factory=list)


class TakedownIn(_In):
    lines: list[str] = Field(max_length=100_000)  # KIND:ID each
    action: Action
    reason: str
    policy_ids: list[str] = Field(default_factory=list)
    order: AuthorityOrder | None = None  # an authority's order (DSA Art. 9), entered by staff


class ShopIn(_In):
    shop_id: str
    reason: str | None = None


class ShopDecisionIn(_In):
    outcome: str
    reason: str
    policy_ids: list[str] = Field(default_factory=list)


class Page(BaseModel):
    items: list[Any]
    offset: int
    limit: int
    next_offset: int | None = None


class BodyLimit:
    """At most MAX_BODY bytes a request, declared (Content-Length: refused before a byte is
    read) or streamed (chunked: refused once the count passes it). The refusal is raised where
    the body is read, so the API answers problem+json and the console a page."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit():
            return await problem(400, "bad-request", "Content-Length is not a number")(
                scope, receive, send)
        seen = int(length) if int(length) > MAX_BODY else 0

        async def counted() -> Any:
            nonlocal seen
            if seen > MAX_BODY:
                raise HTTPException(413, TOO_LARGE)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counted, send)


TOO_LARGE = f"the body exceeds {MAX_BODY:,} bytes"


def _page(rows: list[Any], offset: int, limit: int) -> Page:
    """A page of `limit` from `rows` read with one more than the limit (there is a next)."""
    return Page(items=rows[:limit], offset=offset, limit=limit,
                next_offset=offset + limit if len(rows) > limit else None)


Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=200)]


def cw(request: Request) -> CaseworkClient:
    return request.app.state.cw  # type: ignore[no-any-return]

def caller(request: Request,
           authorization: Annotated[str | None, Header()] = None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("sign in: send Authorization: Bearer <token>")
    principal = request.app.state.credentials.principal(token.strip())
    if principal is None:
        raise Unauthenticated("the token is unknown, revoked or expired, or its person is disabled")
    return principal  # type: ignore[no-any-return]

def person(who: Annotated[Principal, Depends(caller)]) -> Principal:
    if not who.is_person:
        raise Forbidden(f"{who.id} is a service: only a person may do this")
    return who

def reads(who: Principal, queue: str) -> None:
    if not who.may_read():
        raise Forbidden(f"{who.id}'s token has no read scope")
    if who.person is None and queue == ESCALATIONS_QUEUE:
        raise Forbidden(f"{who.id} is a service: escalations are read by people")
    if who.person is not None and not reads_queue(who.person, queue):
        raise Forbidden(f"{who.id} does not work queue {queue!r}")

Client = Annotated[CaseworkClient, Depends(cw)]
Caller = Annotated[Principal, Depends(caller)]
AsPerson = Annotated[Principal, Depends(person)]



def create_app(connect: Callable[[], Awaitable[CaseworkClient]]) -> FastAPI:
    """The app, with its casework client made by `connect` when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.cw = await connect()
        app.state.credentials = Credentials(app.state.cw.ledger)
        yield

    app = FastAPI(title="casework", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description=(__doc__ or "").strip().splitlines()[0])
    install(app)
    app.add_middleware(BodyLimit)
    console.install(app)  # its security headers wrap every response, refusals too

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Any:
        """The API reference, drawn from the OpenAPI document (`/openapi.json`) on the server:
        no script from elsewhere, so the console's Content-Security-Policy holds here too."""
        return console.reference(request, app.openapi())

    @app.get("/api/me")
    async def me(who: Caller) -> Principal:
        return who

    @app.post("/api/reports", status_code=201)
    async def file_report(body: ReportIn, c: Client, who: Caller,
                          idempotency_key: Annotated[str | None, Header()] = None) -> CaseRef:
        """File a report; the same `Idempotency-Key` again answers the same case."""
        return await _file(c, who, body, idempotency_key)

    @app.post("/api/reports/batch", status_code=200)
    async def file_reports(body: list[ReportIn], c: Client, who: Caller) -> list[Any]:
        """Up to 100 reports; each answered on its own (a case, or its problem)."""
        if len(body) > 100:
            raise InvalidInput(f"{len(body)} reports: a batch takes at most 100")
        out: list[Any] = []
        for report in body:
            try:
                out.append(await _file(c, who, report, None))
            except CaseworkError as e:
                out.append(json.loads(problem_of(e).body))
        return out

    async def _file(c: CaseworkClient, who: Principal, body: ReportIn,
                    key: str | None) -> CaseRef:
        try:
            source = Source(body.source)
        except ValueError:
            raise InvalidInput(f"unknown source {body.source!r}") from None
        if not who.may_file(source):
            raise Forbidden(f"{who.id} may not file {source.value} reports")
        if who.is_person:
            reporter = who.id
        else:  # a service names the public's reporters, never the T&S team
            reporter = body.reporter
            if reporter is not None and c.ledger.person(reporter) is not None:
                raise Forbidden(f"{who.id} may not file reports as {reporter!r}: a person of "
                                "the directory files their own")
        if key is not None:
            digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
            first = await asyncio.to_thread(c.ledger.idempotency_key, who.id, key, digest,
                                            datetime.now(UTC) - IDEMPOTENCY_KEPT)
            if first != digest:
                raise InvalidInput(f"Idempotency-Key {key!r} was used before with another body: "
                                   "a new report needs a new key")
        try:
            return await c.open_case(body.subject, source, reporter=reporter, text=body.text,
                                     policy_hint=body.policy_hint,
                                     report_id=f"{who.id}:{key}" if key else None)
        except (InvalidInput, Forbidden):
            if key is not None:  # refused: the key opened nothing and may be used again
                await asyncio.to_thread(c.ledger.forget_idempotency_key, who.id, key)
            raise

    def review_case(c: CaseworkClient, who: Principal, case_id: str) -> None:
        """Authorised from the ledger's row before the workflow is asked (no caller learns
        more than "not found" about a case they may not read)."""
        if not who.may_read():
            raise Forbidden(f"{who.id}'s token has no read scope")
        row = c.ledger.case(case_id)
        if row is None or row.lifecycle != "review":
            raise NotFound(f"no review case {case_id} (or not yet screened)")
        try:
            reads(who, row.queue)
        except Forbidden:
            raise NotFound(f"no review case {case_id} you may read") from None

    @app.get("/api/cases/{case_id}")
    async def show_case(case_id: str, c: Client, who: Caller) -> CaseState:
        review_case(c, who, case_id)
        return await c.show(case_id)

    @app.get("/api/cases/{case_id}/timeline")
    async def case_timeline(case_id: str, c: Client, who: Caller) -> list[TimelineEvent]:
        review_case(c, who, case_id)
        return await c.timeline(case_id)

    @app.get("/api/queues/{queue}")
    async def queue(queue: str, c: Client, who: Caller, offset: Offset = 0,
                    limit: Limit = 50) -> Page:
        reads(who, queue)
        c.known_queue(queue)
        return _page(c.ledger.queue(queue, limit=limit + 1, offset=offset), offset, limit)

    @app.post("/api/queues/{queue}/claim-next")
    async def claim_next(queue: str, body: ClaimIn, c: Client, who: AsPerson) -> CaseSummary:
        return await c.claim_next(queue, who.id, body.lease_minutes)

    @app.post("/api/cases/{case_id}/claim")
    async def claim(case_id: str, body: ClaimIn, c: Client, who: AsPerson) -> CaseSummary:
        return await c.claim(case_id, who.id, body.lease_minutes)

    @app.post("/api/cases/{case_id}/decision")
    async def decide(case_id: str, body: DecisionIn, c: Client, who: AsPerson) -> CaseSummary:
        return await c.decide(case_id, who.id, body.policy_ids, body.actions, body.reason)

    @app.post("/api/cases/{case_id}/hold")
    async def hold(case_id: str, body: ReasonIn, c: Client, who: AsPerson) -> CaseSummary:
        return await c.hold(case_id, who.id, body.reason)

    @app.post("/api/cases/{case_id}/resume")
    async def resume(case_id: str, c: Client, who: AsPerson) -> CaseSummary:
        return await c.resume(case_id, who.id)

    @app.post("/api/cases/{case_id}/approval")
    async def approve(case_id: str, c: Client, who: AsPerson) -> CaseSummary:
        return await c.approve(case_id, who.id)

    @app.post("/api/cases/{case_id}/escalation")
    async def escalate(case_id: str, body: EscalateIn, c: Client,
                       who: AsPerson) -> EscalationSummary:
        return await c.escalate(case_id, who.id, body.reason, body.severity)

    @app.post("/api/cases/{case_id}/appeal", status_code=201)
    async def file_appeal(case_id: str, body: AppealIn, c: Client, who: Caller) -> AppealRef:
        """A seller's complaint or a reporter's, filed by the marketplace's service (a person of
        the T&S team files none: they are not the appellant)."""
        if not who.may("appeal"):
            raise Forbidden(f"{who.id} may not file appeals: the marketplace's service files "
                            "them (scope appeal)")
        return await c.file_appeal(case_id, body.text, body.appellant)

    @app.get("/api/appeals/{appeal_id}")
    async def show_appeal(appeal_id: str, c: Client, who: Caller) -> AppealState:
        reads(who, APPEALS_QUEUE)
        await of_kind(c, appeal_id, "appeal")
        return await c.appeal(appeal_id)

    @app.post("/api/appeals/{appeal_id}/decision")
    async def decide_appeal(appeal_id: str, body: AppealDecisionIn, c: Client,
                            who: AsPerson) -> CaseSummary:
        return await c.decide_appeal(appeal_id, who.id, body.outcome, body.actions,
                                     body.policy_ids, body.reason)

    @app.get("/api/escalations")
    async def escalations(c: Client, who: AsPerson, offset: Offset = 0,
                          limit: Limit = 50) -> Page:
        """Escalations, newest first (their owners, leads, ops and admins)."""
        reads(who, ESCALATIONS_QUEUE)
        return _page(c.ledger.recent(("escalation",), limit + 1, offset), offset, limit)

    @app.get("/api/escalations/{escalation_id}")
    async def show_escalation(escalation_id: str, c: Client, who: AsPerson) -> EscalationState:
        """Sensitive matters: escalation owners, leads, ops and admins only."""
        if not has(who.person, ESCALATION_READERS):
            raise Forbidden(f"{who.id} may not read escalations")
        await of_kind(c, escalation_id, "escalation")
        return await c.show_escalation(escalation_id)

    @app.post("/api/escalations", status_code=201)
    async def open_escalation(body: EscalationIn, c: Client, who: Caller) -> EscalationSummary:
        """A sensitive matter from outside (press, regulator, law enforcement, legal): by a
        service with the `escalate` scope, or a lead or escalation owner."""
        if not (who.may("escalate") or has(who.person, frozenset(
                {Role.LEAD, Role.ESCALATION_OWNER}))):
            raise Forbidden(f"{who.id} may not open escalations")
        return await c.open_escalation(body.subject, body.source, body.reason, body.severity,
                                       opened_by=who.id)

    @app.post("/api/escalations/{escalation_id}/severity")
    async def severity(escalation_id: str, body: SeverityIn, c: Client,
                       who: AsPerson) -> EscalationSummary:
        return await c.set_escalation_severity(escalation_id, who.id, body.severity,
                                               body.reason)

    @app.post("/api/escalations/{escalation_id}/hand-off")
    async def hand_off(escalation_id: str, body: HandOffIn, c: Client,
                       who: AsPerson) -> EscalationSummary:
        return await c.hand_off_escalation(escalation_id, who.id, body.to, body.reason)

    @app.post("/api/escalations/{escalation_id}/acknowledgement")
    async def ack(escalation_id: str, c: Client, who: AsPerson) -> EscalationSummary:
        return await c.acknowledge_escalation(escalation_id, who.id)

    @app.post("/api/escalations/{escalation_id}/notes")
    async def note(escalation_id: str, body: TextIn, c: Client,
                   who: AsPerson) -> EscalationSummary:
        return await c.note_escalation(escalation_id, who.id, body.text)

    @app.post("/api/escalations/{escalation_id}/resolution")
    async def resolve(escalation_id: str, body: ResolveIn, c: Client,
                      who: AsPerson) -> EscalationSummary:
        return await c.resolve_escalation(escalation_id, who.id, body.reason, body.actions,
                                          body.policy_ids)

    @app.post("/api/takedowns", status_code=201)
    async def start_takedown(body: TakedownIn, c: Client, who: AsPerson) -> JobSummary:
        return await c.takedown(body.lines, body.action, body.reason, who.id, body.policy_ids,
                                body.order)

    @app.post("/api/takedowns/{job_id}/approval")
    async def approve_takedown(job_id: str, c: Client, who: AsPerson) -> JobSummary:
        return await c.approve_takedown(job_id, who.id)

    @app.post("/api/takedowns/{job_id}/{command}")
    async def steer_takedown(job_id: str, command: str, c: Client,
                             who: AsPerson) -> JobSummary:
        if command not in ("pause", "resume", "cancel", "reverse"):
            raise NotFound(f"no takedown command {command!r}")
        return await c.steer_takedown(job_id, command, who.id)

    @app.post("/api/shop-reviews", status_code=201)
    async def start_shop_review(body: ShopIn, c: Client, who: AsPerson) -> ShopReviewSummary:
        return await c.shop_review(body.shop_id, who.id, body.reason)

    @app.post("/api/shop-reviews/{review_id}/decision")
    async def decide_shop(review_id: str, body: ShopDecisionIn, c: Client,
                          who: AsPerson) -> ShopReviewSummary:
        return await c.decide_shop(review_id, who.id, body.outcome, body.reason,
                                   body.policy_ids)

    @app.get("/api/people")
    async def people(c: Client, who: Caller) -> list[Person]:
        if not who.may_read():
            raise Forbidden(f"{who.id}'s token has no read scope")
        return c.directory.people()

    @app.get("/api/takedowns")
    async def takedowns(c: Client, who: Caller, offset: Offset = 0, limit: Limit = 50) -> Page:
        """Takedown jobs and shop reviews, newest first."""
        reads(who, TAKEDOWN_QUEUE)
        return _page(c.ledger.recent(("takedown", "shop_review"), limit + 1, offset), offset,
                     limit)

    @app.get("/api/takedowns/{job_id}")
    async def takedown(job_id: str, c: Client, who: Caller) -> JobSummary:
        reads(who, TAKEDOWN_QUEUE)
        await of_kind(c, job_id, "takedown")
        return await c.takedown_status(job_id)

    @app.get("/api/shop-reviews/{review_id}")
    async def shop_review(review_id: str, c: Client, who: Caller) -> ShopReviewSummary:
        reads(who, TAKEDOWN_QUEUE)
        await of_kind(c, review_id, "shop_review")
        return await c.shop_status(review_id)

    @app.get("/api/statements")
    async def statements(c: Client, who: Caller, offset: Offset = 0,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page:
        if not who.may_read() or (who.person and not has(who.person, OVERSEERS)):
            raise Forbidden(f"{who.id} may not export statements")
        return _page(c.ledger.statements(limit=limit + 1, offset=offset), offset, limit)

    return app
