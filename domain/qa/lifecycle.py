"""The QA lifecycle, declared once: a blind second review of one decision, and the senior's
adjudication when the two disagree."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from domain.authority import ClaimRequest
from domain.core import Action
from domain.engine import Declaration, Guards, states
from domain.qa.models import AdjudicateRequest, Agreement, QaDecideRequest, QaState


class QaStage(StrEnum):
    SAMPLED = "sampled"
    QUEUED = "queued"
    IN_REVIEW = "in_review"
    AGREED = "agreed"
    DISAGREED = "disagreed"
    ADJUDICATING = "adjudicating"
    CORRECTING = "correcting"
    CLOSED = "closed"
    CORRECTED = "corrected"


QA_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "enqueue", "source": "sampled", "dest": "queued"},
    {"trigger": "claim", "source": "queued", "dest": "in_review"},
    {"trigger": "expire_lease", "source": "in_review", "dest": "queued"},
    {"trigger": "release", "source": "in_review", "dest": "queued"},
    {"trigger": "decide", "source": "in_review", "dest": "agreed", "conditions": "agrees"},
    {"trigger": "decide", "source": "in_review", "dest": "disagreed", "unless": "agrees"},
    {"trigger": "close", "source": "agreed", "dest": "closed"},
    {"trigger": "adjudicate_next", "source": "disagreed", "dest": "adjudicating"},
    # The senior's word: what was enforced stands (closed) or is corrected on the marketplace.
    {"trigger": "adjudicate", "source": "adjudicating", "dest": "closed", "conditions": "upholds"},
    {"trigger": "adjudicate", "source": "adjudicating", "dest": "correcting", "unless": "upholds"},
    {"trigger": "finish", "source": "correcting", "dest": "corrected"},
    {"trigger": "breach_sla", "source": ["queued", "in_review", "adjudicating"], "dest": None},
]


class QaGuards(Guards):
    record: QaState

    def why_not_claim(self, req: ClaimRequest) -> str | None:
        """A decision is never checked by who made or approved it."""
        qa = self.record
        if req.reviewer == qa.first.decided_by:
            return f"{req.reviewer} made the decision under check: someone else checks it"
        if req.reviewer == qa.first_approver:
            return f"{req.reviewer} approved the decision under check: someone else checks it"
        return None

    def why_not_decide(self, req: QaDecideRequest) -> str | None:
        qa = self.record
        if req.reviewer != qa.assignee:
            return f"only the assignee ({qa.assignee}) may give this check's verdict"
        return self.why_not_claim(ClaimRequest(reviewer=req.reviewer)) or _why_not_valid(qa, req)

    def why_not_adjudicate(self, req: AdjudicateRequest) -> str | None:
        qa = self.record
        if req.senior in qa.parties:
            return (f"{req.senior} took part (decider, approver or QA reviewer): a senior who "
                    "is neither party adjudicates")
        return _why_not_valid(qa, req)

    def agrees(self, req: QaDecideRequest) -> bool:
        return Agreement.of(self.record.first, req).agreed

    def upholds(self, req: AdjudicateRequest) -> bool:
        """The senior's word is what was enforced: nothing to correct."""
        return Agreement.of(self.record.first, req).agreed


def _why_not_valid(qa: QaState, req: QaDecideRequest | AdjudicateRequest) -> str | None:
    if Action.NO_ACTION in req.actions and len(req.actions) > 1:
        return "no_action stands alone"
    if Action.NO_ACTION not in req.actions and not req.policy_ids:
        return "actions cite the policy they enforce"
    if unknown := set(req.policy_ids) - {p.id for p in qa.seen.policies}:
        return f"unknown policy id(s) {', '.join(sorted(unknown))}"
    if len(set(req.actions)) != len(req.actions):
        return "each action may be named once"
    return next(filter(None, (a.why_not_on(qa.subject.kind) for a in req.actions)), None)


BLIND = frozenset({"sampled", "queued", "in_review"})  # before the QA verdict

QA = Declaration(
    name="qa", state_enum=QaStage, transitions=QA_TRANSITIONS, guards=QaGuards,
    noun="QA check", waiting=states(["queued", "in_review", "adjudicating"]),
    queued=states(["queued", "adjudicating"]), held=states(["in_review"]),
    working=states(["sampled", "agreed", "disagreed", "correcting"]),
    reasons={"claim": QaGuards.why_not_claim, "decide": QaGuards.why_not_decide,
             "adjudicate": QaGuards.why_not_adjudicate})
