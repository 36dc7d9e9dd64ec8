"""Escalations: sensitive matters, read by their owners, leads, ops and admins only; opened
from outside by a service with the `escalate` scope (or a lead or an owner); worked by owners."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AsPerson, Caller, Client, In, Limit, Offset, Page, RequestId, page, reads
from api.problems import Forbidden
from api.roles import ESCALATION_READERS, has, of_kind
from domain.escalation.models import QUEUE as ESCALATIONS_QUEUE
from domain.escalation.models import EscalationState, EscalationSummary
from domain.people import Role

router = APIRouter(prefix="/api/escalations", tags=["escalations"])
OPENERS = frozenset({Role.LEAD, Role.ESCALATION_OWNER})


class EscalationIn(In):
    subject: str
    source: str  # press, regulator, law_enforcement, legal
    reason: str
    severity: str = "P1"
    owner: str | None = None  # assigned now (default: whoever acknowledges it)






class EscalationReceipt(BaseModel):
    """What opening one answers a caller who may not read escalations: its id, nothing of
    its state or owner (the same request twice names the same escalation)."""

    escalation_id: str


@router.get("")
async def escalations(c: Client, who: AsPerson, offset: Offset = 0, limit: Limit = 50) -> Page:
    """Escalations, newest first (their owners, leads, ops and admins)."""
    reads(who, ESCALATIONS_QUEUE)
    return page(await c.recent(("escalation",), limit + 1, offset), offset, limit)


@router.get("/{escalation_id}")
async def show_escalation(escalation_id: str, c: Client, who: AsPerson) -> EscalationState:
    """Sensitive matters: escalation owners, leads, ops and admins only."""
    if not has(who.person, ESCALATION_READERS):
        raise Forbidden(f"{who.id} may not read escalations")
    await of_kind(c, escalation_id, "escalation")
    return await c.show_escalation(escalation_id)


@router.post("", status_code=201)
async def open_escalation(body: EscalationIn, c: Client, who: Caller,
                          _: RequestId) -> EscalationSummary | EscalationReceipt:
    """A sensitive matter from outside (press, regulator, law enforcement, legal): by a
    service with the `escalate` scope, or a lead or escalation owner. The same subject, source
    and reason open one escalation, whoever asks and however often."""
    if not (who.may("escalate") or has(who.person, OPENERS)):
        raise Forbidden(f"{who.id} may not open escalations")
    opened = await c.open_escalation(body.subject, body.source, body.reason, body.severity,
                                     opened_by=who.id, owner=body.owner)
    if has(who.person, ESCALATION_READERS):
        return opened
    return EscalationReceipt(escalation_id=opened.escalation_id)
