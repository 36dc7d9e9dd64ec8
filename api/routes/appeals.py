"""Appeals: read by the appeals team and those who oversee it, claimed and decided by the
appeals team, a severe verdict approved by a senior who took no part."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from api.deps import AsPerson, Caller, Client, In, RequestId, reads
from api.roles import of_kind
from api.routes.cases import ClaimIn
from domain.appeal.models import APPEALS_QUEUE, AppealState
from domain.core import Action, CaseSummary

router = APIRouter(prefix="/api/appeals", tags=["appeals"])


class AppealDecisionIn(In):
    outcome: str
    actions: list[Action] = Field(default_factory=list)
    policy_ids: list[str] = Field(default_factory=list)
    reason: str


@router.get("/{appeal_id}")
async def show_appeal(appeal_id: str, c: Client, who: Caller) -> AppealState:
    reads(who, APPEALS_QUEUE)
    await of_kind(c, appeal_id, "appeal")
    return await c.appeal(appeal_id)


@router.post("/{appeal_id}/claim")
async def claim_appeal(appeal_id: str, body: ClaimIn, c: Client, who: AsPerson,
                       request_id: RequestId) -> CaseSummary:
    return await c.claim(appeal_id, who.id, body.lease_minutes, request_id, kinds=("appeal",))


@router.post("/{appeal_id}/decision")
async def decide_appeal(appeal_id: str, body: AppealDecisionIn, c: Client, who: AsPerson,
                        request_id: RequestId) -> CaseSummary:
    return await c.decide_appeal(appeal_id, who.id, body.outcome, body.actions,
                                 body.policy_ids, body.reason, request_id)
