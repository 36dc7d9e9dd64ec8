"""The appeal lifecycle's requests and results: a complaint against one decision (DSA Art. 20)
by the seller it restricted, or by a reporter whose notice led to no action."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from domain.authority import Command
from domain.core import (
    Action,
    Decision,
    EnforcementResult,
    Event,
    Model,
    PolicyRef,
    Priority,
    Report,
    Sealable,
    Subject,
    SubjectFacts,
)
from domain.messages import reporter_address, seller_of
from domain.outcomes import AppealOutcome, label
from domain.qa.config import QaConfig
from domain.record import Tracked
from domain.sla import appeal_deadline
from domain.text import Ident, PolicyIds, Reason, ReportText

APPEALS_QUEUE = "appeals"


class AppellantKind(StrEnum):
    SELLER = "seller"
    REPORTER = "reporter"


class Appellant(Model):
    kind: AppellantKind
    id: Ident


class AppealRequest(Sealable):
    """A complaint against a case's decision, by a seller or a reporter of the case (by id);
    without an appellant, the restricted seller's."""

    appellant: Ident | None = None
    text: ReportText = ""
    case_uid: str = ""  # the case appealed: no other takes it


def appellant_for(appellant_id: str | None, seller_id: str | None,
                  reporters: list[str]) -> Appellant:
    """Who complains: a reporter of the case by their id, else the seller (the default)."""
    if appellant_id is not None and appellant_id in reporters and appellant_id != seller_id:
        return Appellant(kind=AppellantKind.REPORTER, id=appellant_id)
    return Appellant(kind=AppellantKind.SELLER, id=appellant_id or seller_id or "unknown")


class Filing(Model):
    """An appeal as the case sees it arrive: who, and when on the workflow's clock."""

    appellant: Appellant
    at: AwareDatetime


class Outcome(StrEnum):
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    MODIFIED = "modified"


class AppealDecideRequest(Command):
    """The appeal reviewer's verdict. `overturned` on a restriction takes no actions (all are
    reversed); on `no_action` it names the actions that should have happened. `modified` names
    the lesser actions that replace the decision's."""

    reviewer: Ident
    outcome: Outcome
    actions: list[Action] = Field(default_factory=list)
    policy_ids: PolicyIds = Field(default_factory=list)
    reason: Reason


class Verdict(Model):
    outcome: Outcome
    decided_by: str
    reason: str
    decided_at: AwareDatetime
    decision: Decision | None = None  # the decision that replaces the appealed one


class AppealSettings(Model):
    """What the pack says for appeals, read once by an activity."""

    queue_lead: str
    sla_hours: dict[Priority, float]
    dispute_settlement: str
    dependency_alert_minutes: float = 10
    approval_sla_hours: float = 4  # a severe verdict's second person, within this


class AppealInput(Sealable):
    """What an appeal starts from: the appealed case's decision and what of it landed."""

    review_case_id: str
    review_case_uid: str
    subject: Subject
    appellant: Appellant
    text: str = ""
    decision: Decision
    enforcement: list[EnforcementResult] = Field(default_factory=list)
    opener: Report
    had_hits: bool = False
    facts: SubjectFacts | None = None
    policies: list[PolicyRef] = Field(default_factory=list)
    pack_version: str = ""
    priority: Priority = Priority.P2
    approved_by: str | None = None  # the second person of the decision appealed
    qa: QaConfig = Field(default_factory=QaConfig)  # the review case's QA rates
    carried: AppealState | None = None


class AppealState(Tracked):
    """Everything an appeal knows: a query returns it, the review case reads its result."""

    lifecycle: str = "appeal"
    queue: str = APPEALS_QUEUE
    review_case_id: str
    review_case_uid: str
    appellant: Appellant
    text: str = ""
    original: Decision
    original_approver: str | None = None  # approved the decision appealed: no part here
    enforcement: list[EnforcementResult] = Field(default_factory=list)
    opener: Report
    had_hits: bool = False
    facts: SubjectFacts | None = None
    policies: list[PolicyRef] = Field(default_factory=list)
    pack_version: str = ""
    dispute_settlement: str = ""
    verdict: Verdict | None = None
    four_eyes: bool = False  # a severe verdict waits for a second person (runs from before not)
    approval: str | None = None  # why the verdict waits (waited) for a second person
    approved_by: str | None = None
    approval_sla_hours: float = 4
    reversed: list[EnforcementResult] = Field(default_factory=list)
    applied: list[EnforcementResult] = Field(default_factory=list)
    statement_puid: str | None = None
    statement: dict[str, object] | None = None
    notified_at: AwareDatetime | None = None
    qa: QaConfig = Field(default_factory=QaConfig)  # the rates its verdict is drawn at
    qa_drawn: bool = False

    @property
    def policy_ids(self) -> list[str]:
        return sorted(self.original.policy_ids)

    def final(self) -> Decision | None:
        """The verdict as a decision of the appeal's reviewer: what stands after it (the
        original upheld, the replacement, or no action)."""
        v = self.verdict
        if v is None:
            return None
        stands = (self.original if v.outcome is Outcome.UPHELD else v.decision
                  or Decision(decided_by=v.decided_by, policy_ids=[], reason=v.reason,
                              actions=[Action.NO_ACTION], decided_at=v.decided_at,
                              automated=False))
        return stands.model_copy(update={"decided_by": v.decided_by, "reason": v.reason,
                                         "decided_at": v.decided_at, "automated": False})

    def in_force(self) -> list[EnforcementResult]:
        """What landed and stands after the verdict was carried out."""
        undone = {e.action for e in self.reversed}
        return [e for e in self.enforcement if e.action not in undone] + self.applied

    def outcome(self) -> AppealOutcome | None:
        v, final = self.verdict, self.final()
        if v is None or final is None:
            return None
        claimed = next((e.at for e in reversed(self.timeline) if e.event == Event.CLAIMED
                        and e.actor == v.decided_by and e.at <= v.decided_at), None)
        return AppealOutcome(review_case_uid=self.review_case_uid, outcome=v.outcome.value,
                             label=label(final.policy_ids, final.actions),
                             decided_at=v.decided_at, queue=self.queue, decider=v.decided_by,
                             actions=final.actions, claimed_at=claimed,
                             breached=self.sla_breached)

    def appellant_address(self) -> str:
        if self.appellant.kind is AppellantKind.SELLER:
            return seller_of(self.subject)
        return reporter_address(self.appellant.id)


    def carried(self) -> AppealInput:
        """The input a continued-as-new run starts from: this state."""
        return AppealInput(review_case_id=self.review_case_id,
                           review_case_uid=self.review_case_uid, subject=self.subject,
                           appellant=self.appellant, decision=self.original, opener=self.opener,
                           qa=self.qa, carried=self)


class AppealRef(Model):
    appeal_id: str
    state: str
    review_case_id: str
    appellant: Appellant


def appeal_id_for(case_uid: str) -> str:
    """One appeal per decision: its id is derived from the case's."""
    return f"appeal-{case_uid}"


def why_not_appeal(*, appellant: Appellant, at: datetime, decision: Decision | None,
                   enforcement: list[EnforcementResult], seller_id: str | None,
                   reporters: list[str], notice_delivered_at: datetime | None,
                   closed_at: datetime | None, appealed: bool) -> str | None:
    """Why this complaint cannot be filed, or None. A seller appeals a restriction that landed
    within six calendar months of its notice; a reporter appeals a decision to take no action
    within six months of being told; one appeal per decision."""
    if decision is None:
        return "there is no decision to appeal yet"
    if appealed:
        return "this decision has been appealed already (one appeal per decision)"
    if appellant.kind is AppellantKind.SELLER:
        if appellant.id != seller_id:
            return f"{appellant.id} is neither the seller of this subject nor one who reported it"
        if not enforcement or notice_delivered_at is None:
            return "nothing was restricted: there is no restriction to appeal"
        since = notice_delivered_at
    else:
        if appellant.id not in reporters:
            return f"{appellant.id} did not report this case's subject"
        if any(a is not Action.NO_ACTION for a in decision.actions):
            return "the notice was acted on: a reporter appeals a decision to take no action"
        since = closed_at or decision.decided_at
    # A closed case's clock reads at least its closing time (a restricted case closes when
    # its window ends), whatever the caller's clock says.
    if max(at, closed_at or at) >= (ends := appeal_deadline(since)):
        return f"the appeal window ended on {ends:%Y-%m-%d} (six months from the notice)"
    return None


AppealInput.model_rebuild()
