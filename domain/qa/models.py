"""The QA lifecycle's record and requests: a blind second review of one decision.

The QA reviewer sees the subject as the decider saw it (the facts, reports and hits of the case
at decision time) and never the first verdict or who made it, until their own verdict is in.
Agreement is the same actions and the same policy, each counted on its own. A disagreement goes
to a senior who is neither party; the senior's verdict is final."""

from __future__ import annotations

from typing import Protocol

from pydantic import AwareDatetime, Field

from domain.authority import Command
from domain.core import (
    Action,
    Decision,
    EnforcementResult,
    Model,
    PolicyRef,
    Priority,
    Report,
    Sealable,
    Subject,
    SubjectFacts,
)
from domain.outcomes import QaOutcome, label
from domain.qa.config import QA_QUEUE
from domain.record import Tracked
from domain.review.models import PolicyHit
from domain.text import Ident, PolicyIds, Reason


class Seen(Model):
    """What the decider saw, kept as it was: the QA reviewer's whole view of the case."""

    facts: SubjectFacts | None = None
    reports: list[Report] = Field(default_factory=list)
    hits: list[PolicyHit] = Field(default_factory=list)
    policies: list[PolicyRef] = Field(default_factory=list)
    review_queue: str = ""


class Verdict(Model):
    by: str
    policy_ids: list[str]
    actions: list[Action]
    reason: str
    at: AwareDatetime


class Agreement(Model):
    """The QA verdict against the first: the actions and the policy, each on its own."""

    same_actions: bool
    same_policy: bool

    @property
    def agreed(self) -> bool:
        return self.same_actions and self.same_policy

    @classmethod
    def of(cls, first: Judged, second: Judged) -> Agreement:
        return cls(same_actions=set(first.actions) == set(second.actions),
                   same_policy=set(first.policy_ids) == set(second.policy_ids))


class Judged(Protocol):
    """A decision, a verdict or the request for one: what agreement compares."""

    @property
    def actions(self) -> list[Action]: ...

    @property
    def policy_ids(self) -> list[str]: ...


class QaDecideRequest(Command):
    """The QA reviewer's own verdict, made blind: what they would have decided."""

    reviewer: Ident
    policy_ids: PolicyIds = Field(default_factory=list)
    actions: list[Action] = Field(min_length=1)
    reason: Reason


class AdjudicateRequest(Command):
    """A senior's final word on a disagreement (neither the decider nor the QA reviewer)."""

    PERSON = "senior"
    senior: Ident
    policy_ids: PolicyIds = Field(default_factory=list)
    actions: list[Action] = Field(min_length=1)
    reason: Reason


class QaPlanRequest(Model):
    case_uid: str
    decider: str
    drift_window: int = 20  # the decider's last checks their agreement is taken over


class QaPlan(Model):
    """What a decision's QA draw is made of, read by an activity (so replay draws the same):
    its number in [0, 1) under the workers' key, the decider's count of decisions, the QA
    queue's lead."""

    drawn: float
    nth: int
    agreement: float | None = None
    queue_lead: str = ""


class QaInput(Sealable):
    """What a check starts from: the decision checked (a review case's, or an appeal's
    verdict: `review_case_*` name the record that made it) and what its decider saw."""

    review_case_id: str
    review_case_uid: str
    strike_case_uid: str | None = None  # the review case whose strike a correction takes back
    subject: Subject
    first: Decision
    first_approver: str | None = None
    seen: Seen
    why_sampled: str
    enforcement: list[EnforcementResult] = Field(default_factory=list)
    opener: Report | None = None
    had_hits: bool = False
    priority: Priority = Priority.P3
    queue: str = QA_QUEUE
    sla_hours: float = 48
    queue_lead: str = ""
    carried: QaState | None = None


class QaState(Tracked):
    """One QA check. `first` and `first_approver` are the decision checked: never shown to the
    QA reviewer before their verdict (`blind`)."""

    lifecycle: str = "qa"
    review_case_id: str
    review_case_uid: str
    strike_case_uid: str | None = None
    first: Decision
    first_approver: str | None = None
    seen: Seen
    why_sampled: str
    verdict: Verdict | None = None
    agreement: Agreement | None = None
    adjudication: Verdict | None = None
    final_agreement: Agreement | None = None  # the senior's word against what was enforced
    # what landed on the review case, and the correction's own steps (workflows/parts/correction)
    enforcement: list[EnforcementResult] = Field(default_factory=list)
    opener: Report | None = None
    had_hits: bool = False
    reversed: list[EnforcementResult] = Field(default_factory=list)
    applied: list[EnforcementResult] = Field(default_factory=list)
    statement_puid: str | None = None
    statement: dict[str, object] | None = None

    @property
    def facts(self) -> SubjectFacts | None:
        return self.seen.facts

    def carried(self) -> QaInput:
        """The input a continued-as-new run starts from: this state."""
        return QaInput(review_case_id=self.review_case_id,
                       review_case_uid=self.review_case_uid,
                       strike_case_uid=self.strike_case_uid, subject=self.subject,
                       first=self.first, seen=self.seen, why_sampled=self.why_sampled,
                       carried=self)

    @property
    def policy_ids(self) -> list[str]:
        return sorted({h.policy_id for h in self.seen.hits})

    def outcome(self) -> QaOutcome:
        first, v, adj = self.first, self.verdict, self.adjudication
        final = adj or (first if self.agreement and self.agreement.agreed else None)
        agrees = (self.final_agreement.agreed if adj and self.final_agreement
                  else True if final else None)
        return QaOutcome(
            review_case_uid=self.review_case_uid, checker=v.by if v else None,
            label=label(v.policy_ids, v.actions) if v else None,
            actions=v.actions if v else [],
            same_actions=self.agreement.same_actions if self.agreement else None,
            same_policy=self.agreement.same_policy if self.agreement else None,
            checked_at=v.at if v else None, adjudicator=adj.by if adj else None,
            final_label=label(final.policy_ids, final.actions) if final else None,
            final_actions=final.actions if final else [], final_agrees=agrees,
            closed_at=self.closed_at)

    @property
    def parties(self) -> list[str]:
        """Who may not be the senior adjudicating: the decider, the approver, the QA reviewer."""
        return [p for p in (self.first.decided_by, self.first_approver,
                            self.verdict.by if self.verdict else None) if p]

    def view(self, blind_states: frozenset[str]) -> QaView:
        """The check for its readers: blind while in `blind_states` (before the QA verdict)."""
        if self.state in blind_states:
            return QaView(check=self.blind())
        return QaView(check=self.blind(), revealed=True, review_case_id=self.review_case_id,
                      first=self.first, first_approver=self.first_approver,
                      why_sampled=self.why_sampled, agreement=self.agreement,
                      adjudication=self.adjudication, final_agreement=self.final_agreement,
                      reversed=self.reversed, applied=self.applied)

    def blind(self) -> BlindCheck:
        """What a QA reviewer may see before their verdict is in."""
        return BlindCheck(qa_id=self.case_id, state=self.state, subject=self.subject,
                          seen=self.seen, assignee=self.assignee,
                          sla_deadline=self.sla_deadline, verdict=self.verdict)


class QaView(Model):
    """A check as its readers see it: `check` (what the QA reviewer sees) always; the first
    verdict, who made and approved it, the review case and why it was drawn only once the QA
    verdict is in (`revealed`), for the adjudicating senior and the leads."""

    check: BlindCheck
    revealed: bool = False
    review_case_id: str | None = None
    first: Decision | None = None
    first_approver: str | None = None
    why_sampled: str | None = None
    agreement: Agreement | None = None
    adjudication: Verdict | None = None
    final_agreement: Agreement | None = None
    reversed: list[EnforcementResult] = Field(default_factory=list)
    applied: list[EnforcementResult] = Field(default_factory=list)


class BlindCheck(Model):
    """A QA check as its reviewer sees it: the subject as it was decided on, and never the
    first verdict, its author or approver, or the case it came from (whose page shows them)."""

    qa_id: str
    state: str
    subject: Subject
    seen: Seen
    assignee: str | None
    sla_deadline: AwareDatetime | None
    verdict: Verdict | None


QaInput.model_rebuild()
