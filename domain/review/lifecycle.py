"""The review lifecycle, declared once: a case from intake to closure."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from domain.appeal.models import Filing, why_not_appeal
from domain.authority import ClaimRequest, why_not_second
from domain.core import Action, Actor, HandBack
from domain.engine import Declaration, Guards, states
from domain.review.models import (
    ApproveRequest,
    CaseState,
    DecideRequest,
    EscalateRequest,
    HoldRequest,
    ReleaseRequest,
    RetryRequest,
)


class ReviewStage(StrEnum):
    SCREENING = "screening"
    AUTO_ACTIONED = "auto_actioned"
    QUEUED = "queued"
    IN_REVIEW = "in_review"
    ON_HOLD = "on_hold"
    ESCALATED = "escalated"
    DECIDED = "decided"
    AWAITING_APPROVAL = "awaiting_approval"
    ENFORCING = "enforcing"
    NOTIFYING = "notifying"
    NEEDS_ATTENTION = "needs_attention"
    APPEALABLE = "appealable"
    APPEALED = "appealed"
    CLOSED = "closed"


REVIEW_STATES = [s.value for s in ReviewStage]
# A report joins the case while it is still to be decided; later it opens a follow-up case.
JOINABLE = ["screening", "queued", "in_review", "on_hold", "escalated"]
# A decision waiting for its second person is not final yet (it may be sent back): a report
# joins it (runs from before `reports-join-awaiting-approval` hand it to a follow-up case).
STILL_OPEN = ["awaiting_approval"]

REVIEW_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "auto_action", "source": "screening", "dest": "auto_actioned"},
    {"trigger": "enqueue", "source": "screening", "dest": "queued"},
    {"trigger": "claim", "source": "queued", "dest": "in_review"},
    {"trigger": "expire_lease", "source": "in_review", "dest": "queued"},
    # A note for the team, wherever the case waits.
    {"trigger": "note", "source": ["queued", "in_review", "on_hold", "escalated",
                                   "awaiting_approval", "appealable", "needs_attention"],
     "dest": None},
    # The holder gives it back, or ops take a claim back.
    {"trigger": "release", "source": "in_review", "dest": "queued"},
    # Waiting for information: the SLA clock stops and resumes with the time that was left.
    {"trigger": "hold", "source": "in_review", "dest": "on_hold", },
    {"trigger": "resume", "source": "on_hold", "dest": "in_review", },
    {"trigger": "decide", "source": "in_review", "dest": "decided",},
    # A sensitive matter goes to an escalation owner (a reviewer's call, or a second SLA
    # breach); the owner's resolution comes back as the decision, or the case is queued again.
    {"trigger": "escalate", "source": ["queued", "in_review", "on_hold"], "dest": "escalated"},
    {"trigger": "return_decision", "source": "escalated", "dest": "decided"},
    {"trigger": "return_to_queue", "source": "escalated", "dest": "queued"},
    # A calibration case acts on nothing and tells no one: its decision is scored, and it ends.
    {"trigger": "score", "source": "decided", "dest": "closed"},
    # ... and one given back (released, its claim lapsed, cancelled by ops) closes unanswered.
    {"trigger": "withdraw", "source": "queued", "dest": "closed"},
    # Severe actions wait for a second person (four eyes) before they execute.
    {"trigger": "seek_approval", "source": ["auto_actioned", "decided"],
     "dest": "awaiting_approval", "conditions": "needs_approval"},
    {"trigger": "approve", "source": "awaiting_approval", "dest": "enforcing"},
    # ... or sends it back to its queue, to be decided again.
    {"trigger": "reject", "source": "awaiting_approval", "dest": "queued"},
    {"trigger": "enforce", "source": ["auto_actioned", "decided"], "dest": "enforcing",
     "conditions": "has_actions", "unless": "needs_approval"},
    {"trigger": "notify", "source": "enforcing", "dest": "notifying"},
    {"trigger": "notify", "source": "decided", "dest": "notifying", "unless": "has_actions"},
    {"trigger": "open_appeal_window", "source": "notifying", "dest": "appealable",
     "conditions": "restricts"},
    {"trigger": "close", "source": "notifying", "dest": "closed", "unless": "restricts"},
    {"trigger": "close", "source": "appealable", "dest": "closed"},
    # A complaint against the decision (DSA Art. 20): its appeal runs as a child; the case
    # records the outcome and closes only after it.
    {"trigger": "appeal", "source": "appealable", "dest": "appealed"},
    {"trigger": "close", "source": "appealed", "dest": "closed"},
    # A step of the restriction chain that needs a person (a statement the DSA rules refuse,
    # a seller the marketplace cannot reach) parks the case; ops resume it once repaired.
    {"trigger": "need_attention", "source": "notifying", "dest": "needs_attention"},
    {"trigger": "retry", "source": "needs_attention", "dest": "notifying"},
    {"trigger": "add_report", "source": JOINABLE + STILL_OPEN, "dest": None},
    {"trigger": "forward_report", "source": [s for s in REVIEW_STATES if s not in JOINABLE],
     "dest": None},
    {"trigger": "breach_sla", "source": ["queued", "in_review", "awaiting_approval"],
     "dest": None},
]


class ReviewGuards(Guards):
    record: CaseState

    @property
    def case(self) -> CaseState:
        return self.record

    def why_not_decide(self, req: DecideRequest) -> str | None:
        case = self.case
        if req.reviewer != case.assignee:
            return f"only the assignee ({case.assignee}) may decide this case, not {req.reviewer}"
        return self._unsound(req.policy_ids, req.actions)

    def _unsound(self, policy_ids: list[str], actions: list[Action]) -> str | None:
        """What is wrong with a decision on this case, whoever makes it."""
        case = self.case
        known = {p.id for p in case.policies}
        if unknown := [p for p in policy_ids if p not in known]:
            return f"unknown policy id(s) {', '.join(unknown)}; the pack has {', '.join(sorted(known))}"
        if Action.NO_ACTION in actions and len(actions) > 1:
            return "no_action cannot be combined with other actions"
        if any(a.restricts or a is Action.WARN for a in actions) and not policy_ids:
            return "a decision that acts must cite at least one policy id"
        if len(set(actions)) != len(actions):
            return "each action may be named once"
        return next(filter(None, (a.why_not_on(case.subject.kind) for a in actions)), None)

    def why_not_claim(self, req: ClaimRequest | None = None) -> str | None:
        held_for = self.case.held_for
        if held_for is not None and (req is None or req.reviewer != held_for):
            return "the case is held for another reviewer"
        return None

    def why_not_escalate(self, req: EscalateRequest) -> str | None:
        if self.case.held_for is not None:  # nothing leaves a calibration copy
            return "this case cannot be escalated; decide it, or hold it"
        holder = self.case.assignee
        if holder is not None and req.reviewer not in (holder, Actor.SLA_CLOCK):
            return f"{holder} holds this case: only they may escalate it"
        return None

    def why_not_hand_back(self, back: HandBack) -> str | None:
        if back.escalation_id != self.case.escalation_id:
            return f"this case is escalated to {self.case.escalation_id}, not {back.escalation_id}"
        return self._unsound(back.policy_ids, back.actions) if back.actions else None


    def why_not_hold(self, req: HoldRequest) -> str | None:
        if req.reviewer != self.case.assignee:
            return f"only the assignee ({self.case.assignee}) may hold or resume this case"
        return None

    def why_not_release(self, req: ReleaseRequest | None = None) -> str | None:
        """The holder gives a case back; ops take a claim back (`ops release`, no request:
        their role is checked where the repair starts)."""
        if req is not None and req.reviewer != self.case.assignee:
            return f"only the assignee ({self.case.assignee}) may give this case back"
        return None


    def needs_approval(self) -> bool:
        return self.case.approval_required and self.case.approved_by is None

    def why_not_approve(self, req: ApproveRequest) -> str | None:
        decision = self.case.decision
        if decision is None:
            return None
        return why_not_second(req.approver, {"decided": [decision.decided_by],
                                             "asked for": [self.case.escalated_by]})

    def why_not_appeal(self, filing: Filing) -> str | None:
        case = self.case
        return why_not_appeal(
            appellant=filing.appellant, at=filing.at, decision=case.decision,
            enforcement=[e for e in case.enforcement if e.action.restricts],
            seller_id=case.facts.seller_id if case.facts else None,
            reporters=case.reporters(), notice_delivered_at=case.notice_delivered_at,
            closed_at=case.closed_at, appealed=case.appeal is not None)

    def why_not_retry(self, req: RetryRequest) -> str | None:
        if self.case.attention is None:
            return "the case is not waiting for a repair"
        return None

    def has_actions(self) -> bool:
        decision = self.case.decision
        return decision is not None and decision.actions != [Action.NO_ACTION]

    def restricts(self) -> bool:
        """A restriction is in force: one was applied. A decided action that failed to land
        opens no appeal window and yields no statement of reasons."""
        return any(e.action.restricts for e in self.case.enforcement)


REVIEW = Declaration(
    name="review", state_enum=ReviewStage, transitions=REVIEW_TRANSITIONS, guards=ReviewGuards,
    waiting=states(["queued", "in_review", "on_hold", "escalated", "awaiting_approval",
                    "appealable", "needs_attention"]),
    queued=states(["queued"]), held=states(["in_review", "on_hold"]),
    awaiting=states(["awaiting_approval"]),
    working=states(["screening", "auto_actioned", "decided", "enforcing", "notifying"]),
    reasons={"claim": ReviewGuards.why_not_claim, "decide": ReviewGuards.why_not_decide,
             "retry": ReviewGuards.why_not_retry,
             "hold": ReviewGuards.why_not_hold, "resume": ReviewGuards.why_not_hold,
             "release": ReviewGuards.why_not_release,
             "approve": ReviewGuards.why_not_approve, "reject": ReviewGuards.why_not_approve,
             "appeal": ReviewGuards.why_not_appeal,
             "escalate": ReviewGuards.why_not_escalate,
             "return_decision": ReviewGuards.why_not_hand_back,
             "return_to_queue": ReviewGuards.why_not_hand_back})
# Ops may end a case with no action (or escalate it) while it is queued or claimed.
CANCELLABLE = REVIEW.sources("claim", "release")
