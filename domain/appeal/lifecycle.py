"""The appeal lifecycle, declared once: a complaint from filing to its outcome told."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from domain.appeal.models import AppealDecideRequest, AppealState, Outcome
from domain.authority import ClaimRequest, approval_needed, why_not_second
from domain.core import Action
from domain.engine import Declaration, Guards, states
from domain.review.models import ApproveRequest


class AppealStage(StrEnum):
    FILED = "filed"
    QUEUED = "queued"
    IN_REVIEW = "in_review"
    AWAITING_APPROVAL = "awaiting_approval"
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    MODIFIED = "modified"
    NOTIFIED = "notified"
    CLOSED = "closed"

VERDICTS = {Outcome.UPHELD: "uphold", Outcome.OVERTURNED: "overturn", Outcome.MODIFIED: "modify"}

APPEAL_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "enqueue", "source": "filed", "dest": "queued"},
    {"trigger": "claim", "source": "queued", "dest": "in_review"},
    {"trigger": "expire_lease", "source": "in_review", "dest": "queued"},
    {"trigger": "release", "source": "in_review", "dest": "queued"},  # ops take a claim back
    {"trigger": "uphold", "source": "in_review", "dest": "upheld"},
    # A verdict that applies a severe action waits for a second person (the engine's rule).
    *({"trigger": t, "source": "in_review", "dest": "awaiting_approval",
       "conditions": "needs_approval"} for t in ("overturn", "modify")),
    {"trigger": "overturn", "source": "in_review", "dest": "overturned",
     "unless": "needs_approval"},
    {"trigger": "modify", "source": "in_review", "dest": "modified", "unless": "needs_approval"},
    {"trigger": "approve", "source": "awaiting_approval", "dest": "overturned",
     "conditions": "overturns"},
    {"trigger": "approve", "source": "awaiting_approval", "dest": "modified",
     "unless": "overturns"},
    {"trigger": "notify", "source": ["upheld", "overturned", "modified"], "dest": "notified"},
    {"trigger": "close", "source": "notified", "dest": "closed"},
    {"trigger": "breach_sla", "source": ["queued", "in_review", "awaiting_approval"],
     "dest": None},
]


class AppealGuards(Guards):
    record: AppealState

    def why_not_claim(self, req: ClaimRequest) -> str | None:
        """An appeal is never decided by someone who decided or approved what it contests."""
        appeal = self.record
        if req.reviewer == appeal.original.decided_by:
            return (f"{req.reviewer} made the decision under appeal: someone else reviews the "
                    "appeal")
        if req.reviewer == appeal.original_approver:
            return (f"{req.reviewer} approved the decision under appeal: someone else reviews "
                    "the appeal")
        return None

    def why_not_verdict(self, req: AppealDecideRequest) -> str | None:
        appeal = self.record
        if req.reviewer != appeal.assignee:
            return f"only the assignee ({appeal.assignee}) may decide this appeal"
        if reason := self.why_not_claim(ClaimRequest(reviewer=req.reviewer)):
            return reason
        landed = [e.action for e in appeal.enforcement]
        if req.outcome is Outcome.UPHELD and req.actions:
            return "upholding keeps the decision: name no actions"
        if req.outcome is Outcome.OVERTURNED:
            if landed and req.actions:
                return "overturning a restriction reverses all of it: name no actions"
            if not landed and not (req.actions and req.policy_ids):
                return ("overturning a decision to take no action names the actions and "
                        "policies that should have applied")
        if req.outcome is Outcome.MODIFIED:
            if not landed:
                return "nothing was restricted: there is nothing to modify"
            if not req.actions or max(a.rank for a in req.actions) >= max(a.rank for a in landed):
                return (f"modifying replaces {', '.join(a.value for a in landed)} with lesser "
                        "actions")
        if any(a is Action.NO_ACTION for a in req.actions):
            return "name the actions to apply, not no_action"
        if unknown := set(req.policy_ids) - {p.id for p in appeal.policies}:
            return f"unknown policy id(s) {', '.join(sorted(unknown))}"
        return None

    def needs_approval(self, req: AppealDecideRequest) -> bool:
        return self.record.four_eyes and approval_needed(req.actions) is not None

    def why_not_approve(self, req: ApproveRequest) -> str | None:
        appeal = self.record
        decided = [appeal.original.decided_by]
        if appeal.verdict is not None:
            decided.append(appeal.verdict.decided_by)
        return why_not_second(req.approver, {"decided": decided,
                                             "approved": [appeal.original_approver]})

    def overturns(self, *_: object) -> bool:
        verdict = self.record.verdict
        return verdict is not None and verdict.outcome is Outcome.OVERTURNED


APPEAL = Declaration(
    name="appeal", state_enum=AppealStage, transitions=APPEAL_TRANSITIONS,
    guards=AppealGuards, noun="appeal",
    waiting=states(["queued", "in_review", "awaiting_approval"]), queued=states(["queued"]),
    held=states(["in_review"]), awaiting=states(["awaiting_approval"]),
    working=states(["filed", "upheld", "overturned", "modified", "notified"]),
    reasons={"claim": AppealGuards.why_not_claim, "uphold": AppealGuards.why_not_verdict,
             "overturn": AppealGuards.why_not_verdict, "modify": AppealGuards.why_not_verdict,
             "approve": AppealGuards.why_not_approve})
