"""Review cases and queues: reads for those who work a queue (or oversee it), and the reviewer's
commands, each as the signed-in person, each safe to send again with its Idempotency-Key."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from api.deps import AsPerson, Caller, Client, In, Limit, Offset, Page, RequestId, page, reads
from api.problems import Forbidden
from api.roles import readable_queues
from client.casework import CaseworkClient
from client.credentials import Principal
from domain.appeal.models import AppealRef
from domain.core import CaseSummary, QueueEntry, TimelineEvent
from domain.errors import NotFound
from domain.escalation.models import EscalationSummary
from domain.review.models import CaseState

router = APIRouter(prefix="/api", tags=["cases"])


class ClaimIn(In):
    lease_minutes: int = Field(default=30, ge=1, le=480)





class EscalateIn(In):
    reason: str
    severity: str = "P1"


class AppealIn(In):
    text: str = ""
    appellant: str | None = None  # a reporter's id; none: the seller


async def review_case(c: CaseworkClient, who: Principal, case_id: str) -> None:
    """Authorised from the ledger's row before the workflow is asked (no caller learns more
    than "not found" about a case they may not read)."""
    if not who.may_read():
        raise Forbidden(f"{who.id}'s token has no read scope")
    row = await c.row(case_id)
    if row is None or row.lifecycle != "review":
        raise NotFound(f"no review case {case_id} (or not yet screened)")
    try:
        reads(who, row.queue)
    except Forbidden:
        raise NotFound(f"no review case {case_id} you may read") from None
    await may_open(c, who.id, row)


async def may_open(c: CaseworkClient, person_id: str, row: QueueEntry) -> None:
    """Another reviewer's calibration copy is not found; a QA reviewer holding a blind check of
    a decision on the subject does not read its case (the decision and its author) before
    their own verdict."""
    if await c.hidden_from(person_id, row.case_id):
        raise NotFound(f"no review case {row.case_id} you may read")
    if await c.blind_to(person_id, row.subject):
        raise Forbidden(f"{person_id} holds a blind QA check of {row.subject}: its case opens "
                        "once the check's verdict is in")


@router.get("/cases/{case_id}")
async def show_case(case_id: str, c: Client, who: Caller) -> CaseState:
    await review_case(c, who, case_id)
    return await c.show(case_id)


@router.get("/cases/{case_id}/timeline")
async def case_timeline(case_id: str, c: Client, who: Caller) -> list[TimelineEvent]:
    await review_case(c, who, case_id)
    return await c.timeline(case_id)


@router.get("/queues")
async def open_work(c: Client, who: AsPerson, limit: Limit = 50) -> list[QueueEntry]:
    """The most urgent open records of every queue the caller reads, most urgent first."""
    assert who.person is not None
    queues = readable_queues(who.person, c.pack().queues)
    heads = await c.queue_heads(queues, limit)
    rows = sorted((r for rows in heads.values() for r in rows), key=lambda r: (
        r.priority.rank, r.sla_deadline is None, r.sla_deadline or r.opened_at, r.opened_at))
    return rows[:limit]


@router.get("/queues/{queue}")
async def queue(queue: str, c: Client, who: Caller, offset: Offset = 0,
                limit: Limit = 50) -> Page:
    reads(who, queue)
    c.known_queue(queue)
    return page(await c.queue_page(queue, limit=limit + 1, offset=offset), offset, limit)


@router.post("/queues/{queue}/claim-next")
async def claim_next(queue: str, body: ClaimIn, c: Client, who: AsPerson,
                     request_id: RequestId) -> CaseSummary:
    return await c.claim_next(queue, who.id, body.lease_minutes, request_id)


@router.post("/cases/{case_id}/claim")
async def claim(case_id: str, body: ClaimIn, c: Client, who: AsPerson,
                request_id: RequestId) -> CaseSummary:
    return await c.claim(case_id, who.id, body.lease_minutes, request_id, kinds=("review",))






@router.post("/cases/{case_id}/escalation")
async def escalate(case_id: str, body: EscalateIn, c: Client, who: AsPerson,
                   request_id: RequestId) -> EscalationSummary:
    return await c.escalate(case_id, who.id, body.reason, body.severity, request_id)



@router.post("/cases/{case_id}/appeal", status_code=201)
async def file_appeal(case_id: str, body: AppealIn, c: Client, who: Caller) -> AppealRef:
    """A seller's complaint or a reporter's, filed by the marketplace's service (a person of
    the T&S team files none: they are not the appellant). The same complaint again is
    answered once."""
    if not who.may("appeal"):
        raise Forbidden(f"{who.id} may not file appeals: the marketplace's service files "
                        "them (scope appeal)")
    return await c.file_appeal(case_id, body.text, body.appellant)
