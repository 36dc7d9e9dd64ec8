"""QA checks: the queue and one check, read by QA reviewers, seniors, leads and admins; blind
(no first verdict, decider, approver or review case) until the QA verdict is in. Their
commands (claim, verdict, adjudication) come from the QA table (`api/routes/commands.py`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AsPerson, Client, Limit, Offset, Page, page
from api.problems import Forbidden
from api.roles import has, of_kind
from domain.people import Role
from domain.qa.models import QaView

router = APIRouter(prefix="/api/qa", tags=["qa"])
QA_READERS = frozenset({Role.QA, Role.SENIOR, Role.LEAD, Role.ADMIN})


def _may_read(who: AsPerson) -> None:
    if not has(who.person, QA_READERS):
        raise Forbidden(f"{who.id} may not read QA checks")


@router.get("")
async def qa_queue(c: Client, who: AsPerson, offset: Offset = 0, limit: Limit = 50) -> Page:
    """Checks waiting for a verdict or an adjudication, the most urgent first."""
    _may_read(who)
    return page(await c.qa_queue(limit + 1, offset), offset, limit)


@router.get("/{qa_id}")
async def show_check(qa_id: str, c: Client, who: AsPerson) -> QaView:
    _may_read(who)
    await of_kind(c, qa_id, "qa")
    return await c.qa_check(qa_id)
