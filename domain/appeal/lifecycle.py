"""The appeal lifecycle, declared once: a complaint from filing to its outcome told."""

from __future__ import annotations

from typing import Any

from domain.appeal.models import AppealDecideRequest, AppealState, Outcome
from domain.authority import ClaimRequest
from domain.core import Action
from domain.engine import Declaration, Guards

APPEAL_STATES = ["filed", "queued", "in_review", "upheld", "overturned", "modified", "notified",
                 "closed"]
VERDICTS = {Outcome.UPHELD: "uphold", Outcome.OVERTURNED: "overturn", Outcome.MODIFIED: "modify"}

APPEAL_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "enqueue", "source": "filed", "dest": "queued"},
    {"trigger": "claim", "source": "queued", "dest": "in_review", "conditions": "claim_ok"},
    {"trigger": "expire_lease", "source": "in_review", "dest": "queued"},
    {"trigger": "release", "source": "in_review", "dest": "queued"},  # ops take a claim back
    {"trigger": "uphold", "source": "in_review", "dest": "upheld", "conditions": "verdict_ok"},
    {"trigger": "overturn", "source": "in_review", "dest": "overturned",
     "conditions": "verdict_ok"},
    {"trigger": "modify", "source": "in_review", "dest": "modified", "conditions": "verdict_ok"},
    {"trigger": "notify", "source": ["upheld", "overturned", "modified"], "dest": "notified"},
    {"trigger": "close", "source": "notified", "dest": "closed"},
    {"trigger": "breach_sla", "source": ["queued", "in_review"], "dest": None},
]


class AppealGuards(Guards):
    record: AppealState

    def why_not_claim(self, req: ClaimRequest) -> str | None:
        decider = self.record.original.decided_by
        if req.reviewer == decider:
            return f"{decider} made the decision under appeal: someone else reviews the appeal"
        return None

    def claim_ok(self, req: ClaimRequest) -> bool:
        return self.why_not_claim(req) is None

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

    def verdict_ok(self, req: AppealDecideRequest) -> bool:
        return self.why_not_verdict(req) is None


APPEAL = Declaration(
    name="appeal", states=APPEAL_STATES, transitions=APPEAL_TRANSITIONS, guards=AppealGuards,
    noun="appeal",
    reasons={"claim": AppealGuards.why_not_claim, "uphold": AppealGuards.why_not_verdict,
             "overturn": AppealGuards.why_not_verdict, "modify": AppealGuards.why_not_verdict})
