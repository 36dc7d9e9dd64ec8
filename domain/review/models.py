"""The review lifecycle's requests and results: what opens, joins, routes, decides and states
the reasons of a review case, and the state a case carries."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field, PrivateAttr

from domain.appeal.models import AppealInput, AppealRef, Appellant
from domain.authority import Command
from domain.calibration import CalibrationKey, CalibrationScore
from domain.core import (
    Action,
    Attention,
    Decision,
    EnforcementResult,
    Event,
    Model,
    PolicyRef,
    Priority,
    Report,
    Sealable,
    Source,
    Subject,
    SubjectFacts,
    SubjectKind,
)
from domain.outcomes import CalibrationOutcome, DecisionOutcome, Seen, label
from domain.qa.config import QaConfig
from domain.record import Tracked
from domain.text import IMAGE_HASH, Ident, PolicyIds, Reason
from domain.trend_models import Signal

MAX_REPORTS_PER_CASE = 50  # kept in the case; later ones go to the ledger, counted
SEARCH_TEXT = 4000  # characters of a case's words the ledger searches
MAX_IMAGES = 20  # photos of a subject the ledger relates cases by


class CaseInput(Sealable):
    """What starts a review workflow (or continues it as new, with `carried`).

    A follow-up case (a report that arrived after its subject's case was decided) names the
    case it follows and its generation."""

    subject: Subject
    report: Report
    carried: CaseState | None = None
    followup_of: str | None = None
    generation: int = 1
    in_force: list[EnforcementResult] = Field(default_factory=list)
    calibration: CalibrationKey | None = None  # a calibration case: acts on nothing, scored


class PolicyHit(Model):
    policy_id: str
    rule: str
    score: float
    evidence: str


class AutoEnforcement(Model):
    policy_id: str
    actions: list[Action]
    reason: str


class Screening(Model):
    hits: list[PolicyHit]
    queue: str
    priority: Priority
    sla_hours: dict[Priority, float]
    queue_lead: str
    policies: list[PolicyRef]
    pack_version: str
    auto: AutoEnforcement | None = None
    subject_found: bool = True
    facts_missing: str = ""  # why the marketplace gave no facts
    approval_sla_hours: float = 4
    max_hold_hours: float = 48
    facts: SubjectFacts | None = None
    source_floors: dict[Source, Priority] = Field(default_factory=dict)
    dependency_alert_minutes: float = 10
    qa: QaConfig = Field(default_factory=QaConfig)  # the pack's QA rates, pinned with the rest


class DecideRequest(Command):
    reviewer: Ident
    policy_ids: PolicyIds = Field(default_factory=list, description="policy ids from the pack")
    actions: list[Action] = Field(min_length=1)
    reason: Reason = Field(description="the reason the seller and the reporters are told")


class HoldRequest(Command):
    """The assignee holds a claimed case (waiting for information) or resumes it."""

    reviewer: Ident
    reason: Reason = Field(default="resumed", description="what the case waits for")


class CaseNoteRequest(Command):
    """A note on the case for the team (who worked it, what to check); `@name` puts it in that
    person's inbox."""

    reviewer: Ident
    text: Reason = Field(description="the note; @name tells that person")


class ReleaseRequest(Command):
    """The assignee gives a claimed case back to its queue, saying why (someone else takes it;
    its SLA runs on)."""

    reviewer: Ident
    reason: Reason = Field(description="why you give it back (the next reviewer reads it)")


class Hold(Model):
    by: str
    reason: str
    since: AwareDatetime
    sla_left_s: float  # what the SLA had left when the clock stopped
    lead_told: bool = False


class EscalateRequest(Command):
    """A sensitive matter for an escalation owner (legal, press, child safety…)."""

    reviewer: Ident
    reason: Reason
    severity: Priority = Priority.P1


class ApproveRequest(Command):
    """A second person approves a severe decision before it executes."""

    PERSON = "approver"

    approver: Ident


class RejectRequest(Command):
    """A second person sends a decision that waits for approval back to its queue, saying why:
    the case is decided again (by anyone of the queue, the first decider too)."""

    PERSON = "approver"

    approver: Ident
    reason: Reason = Field(description="why it goes back: what the next decision must weigh")


class RetryRequest(Command):
    """Ops resume a case that waits for a person (`needs_attention`) once the cause is fixed."""

    PERSON = "operator"

    operator: Ident
    reason: Reason = Field(description="what was repaired")
    repin: bool = Field(default=False, description="state the reasons from the current pack's "
                        "version of the policy")


class CaseState(Tracked):
    """Everything a case knows; a query returns it, continue-as-new carries it.

    `case_id` is the workflow id, one per subject at a time; `case_uid` (the first run id) tells
    apart the cases a subject has had over time.
    """

    reports: list[Report] = Field(default_factory=list)
    hits: list[PolicyHit] = Field(default_factory=list)
    policies: list[PolicyRef] = Field(default_factory=list)
    # A calibration copy's reviewer: never serialised (its workflow sets it from its key), so
    # the case reads like any other, yet only they claim it and search does not find it.
    _held_for: str | None = PrivateAttr(default=None)
    pack_version: str = ""
    decision: Decision | None = None
    enforcement: list[EnforcementResult] = Field(default_factory=list)
    statement_puid: str | None = None
    statement: dict[str, Any] | None = None
    notice_delivered_at: AwareDatetime | None = None
    appeal_deadline: AwareDatetime | None = None
    facts: SubjectFacts | None = None
    source_floors: dict[Source, Priority] = Field(default_factory=dict)
    attention: Attention | None = None
    reports_overflow: int = 0
    notified: list[str] = Field(default_factory=list)
    qa: QaConfig = Field(default_factory=QaConfig)  # the pack's QA rates at screening
    followup_of: str | None = None
    generation: int = 1
    in_force: list[EnforcementResult] = Field(default_factory=list)  # by the cases it follows
    followups: list[str] = Field(default_factory=list)
    forwarding: list[Report] = Field(default_factory=list)  # late reports not yet handed over
    repin: bool = False  # ops asked to state the reasons from the current pack
    hold: Hold | None = None
    max_hold_hours: float = 48
    approval_required: bool = False
    approval_sla_hours: float = 4
    approved_by: str | None = None
    sent_back: list[Decision] = Field(default_factory=list)  # decisions a second person returned
    appeal: AppealRef | None = None
    appeal_outcome: str | None = None
    escalation_id: str | None = None
    escalated_by: str | None = None  # asked for the escalation: no second person of its outcome
    jobs_reversed: list[str] = Field(default_factory=list)  # their notes are not taken again
    calibration: CalibrationScore | None = None  # a calibration case, once decided

    def hold_for(self, reviewer: str) -> None:
        """Mark the case a calibration copy for `reviewer` (see `_held_for`)."""
        self._held_for = reviewer

    @property
    def held_for(self) -> str | None:
        return self._held_for

    def reporters(self) -> list[str]:
        """The people who reported the subject (automated sources are not people)."""
        return [r.reporter for r in self.reports if r.reporter and not r.source.is_automated]

    def appeal_input(self, appellant: Appellant, text: str) -> AppealInput:
        assert self.decision is not None
        return AppealInput(
            review_case_id=self.case_id, review_case_uid=self.case_uid, subject=self.subject,
            appellant=appellant, text=text, decision=self.decision,
            enforcement=[e for e in self.enforcement if e.action.restricts],
            opener=self.reports[0], had_hits=bool(self.hits), facts=self.facts,
            policies=self.policies, pack_version=self.pack_version, priority=self.priority,
            approved_by=self.approved_by, qa=self.qa)

    @property
    def policy_ids(self) -> list[str]:
        cited = self.decision.policy_ids if self.decision else []
        return sorted({h.policy_id for h in self.hits} | set(cited))

    def outcome(self) -> DecisionOutcome | CalibrationOutcome | None:
        """The decision for the reports; a calibration case's answer is scored instead, and
        counts nowhere else."""
        d = self.decision
        if d is None:
            return None
        if self.calibration is not None:
            return self.calibration.outcome(d)
        claimed = next((e.at for e in reversed(self.timeline) if e.event == Event.CLAIMED
                        and e.actor == d.decided_by and e.at <= d.decided_at), None)
        return DecisionOutcome(queue=self.queue, decider=d.decided_by, automated=d.automated,
                               label=label(d.policy_ids, d.actions), actions=d.actions,
                               claimed_at=claimed, decided_at=d.decided_at,
                               breached=self.sla_breached, seen=self.seen())

    @property
    def considered(self) -> list[str]:
        """The policies the case was looked at under: hit, cited or hinted by a report."""
        return sorted(set(self.policy_ids) | {r.policy_hint for r in self.reports
                                               if r.policy_hint})

    def seen(self) -> Seen:
        """What the decision was made on (see `Seen`)."""
        return Seen(subject_kind=self.subject.kind, subject_id=self.subject.id, facts=self.facts,
                    considered=self.considered,
                    pack_version=self.decision.pack_version if self.decision else "",
                    detector=next((r.detector for r in self.reports if r.detector), None))

    def findable(self) -> dict[str, Any]:
        """The screened subject's seller, shop, title and photos, and the words search finds it
        by."""
        f, kind = self.facts, self.subject.kind
        if self._held_for is not None:  # its title for its reviewer's lists; nothing to find
            return {"title": f.title if f else None}
        words = [f.title, f.description] if f else []
        signal = Signal(opened_at=self.opened_at, queue=self.queue,
                        policy=next(iter(self.considered), ""),
                        category=f.category if f else "", seller_id=f.seller_id if f else None,
                        shop_id=f.shop_id if f else None,
                        seller_links=[*f.seller_links, *(f"image:{h}" for h in
                                                         photos(f.image_hashes))] if f else [])
        return {"signal": signal,
                "seller_id": f.seller_id if f else self.subject.id if kind is SubjectKind.SELLER else None,
                "shop_id": f.shop_id if f else self.subject.id if kind is SubjectKind.SHOP else None,
                "title": f.title if f else None,
                "image_hashes": photos(f.image_hashes) if f else [],
                "search_text": " ".join([*words, *(r.text for r in self.reports)]
                                        ).lower()[:SEARCH_TEXT]}

    def statement_request(self, puid: str) -> StatementRequest:
        assert self.decision is not None
        return StatementRequest(case_id=self.case_id, puid=puid, subject=self.subject,
                                decision=self.decision, enforcement=self.enforcement,
                                opener=self.reports[0], had_hits=bool(self.hits),
                                facts=self.facts, repin=self.repin)



class CaseRef(Model):
    """Answer to filing a report: the case, and whether this call opened it, joined it,
    repeated a report the case already holds, or went to a follow-up case (the subject's case
    was already decided; `case_id` is then the follow-up's)."""

    case_id: str
    state: str
    queue: str
    priority: Priority
    outcome: str  # "opened" | "joined" | "duplicate" | "followup" | "accepted" (still routing)
    followup_of: str | None = None


# -- activity inputs and outputs -------------------------------------------------------------------


class ScreenRequest(Model):
    """What screening runs on; a calibration case brings its subject's facts and its queue
    (the marketplace is not asked)."""

    subject: Subject
    reports: list[Report]
    facts: SubjectFacts | None = None
    queue: str | None = None


class StatementRequest(Model):
    """What a statement of reasons is built from: the decision with its pinned citations, the
    actions that landed, how the case came in, and the facts screened at intake."""

    case_id: str
    puid: str
    subject: Subject
    decision: Decision
    enforcement: list[EnforcementResult]
    opener: Report
    had_hits: bool
    facts: SubjectFacts | None = None
    repin: bool = False


class ForwardRequest(Model):
    """A report that arrived after a decision, sent on to the subject's follow-up case."""

    from_case_id: str
    followup_id: str
    generation: int
    subject: Subject
    report: Report
    task_queue: str
    in_force: list[EnforcementResult] = Field(default_factory=list)


class OverflowReport(Model):
    """A report beyond the case's cap: kept in the ledger, counted in the case."""

    case_uid: str
    case_id: str
    report: Report


class OverflowOutcome(Model):
    """The outcome for the reporters of a case's ledger-held reports."""

    case_uid: str
    case_id: str
    text: str


CaseInput.model_rebuild()


def photos(hashes: list[str]) -> list[str]:
    """The well-formed photo hashes of a subject, at most MAX_IMAGES, once each in order."""
    return list(dict.fromkeys(h for h in hashes if IMAGE_HASH.fullmatch(h)))[:MAX_IMAGES]
