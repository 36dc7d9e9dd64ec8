"""The escalation lifecycle's requests and results: what opens an escalation, what its owner
does with it, the state it carries, and what the policy pack configures for it."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from domain.authority import Command
from domain.core import Action, HandBack, LedgerRecord, Model, Priority, Sealable, Subject, TimelineEvent
from domain.text import Ident, PolicyIds, Reason

LIFECYCLE = "escalation"
QUEUE = "escalations"  # the queue an escalation's ledger row and search attributes name
MAX_NOTES = 100  # kept in the escalation; all of them stay in its timeline and the ledger
RESOLVE_ESCALATION = "resolve_escalation"
"""The review workflow's Update a resolved escalation hands its decision back through."""


class EscalationSource(StrEnum):
    """Where an escalation came from: outside (no review case needed), a reviewer, or a case's
    second SLA breach."""

    PRESS = "press"
    REGULATOR = "regulator"
    LAW_ENFORCEMENT = "law_enforcement"
    LEGAL = "legal"
    REVIEWER = "reviewer"
    SLA = "sla"

    @property
    def from_a_case(self) -> bool:
        """Opened from a review case (which it then names); the others come from outside."""
        return self in (EscalationSource.REVIEWER, EscalationSource.SLA)


class HandOffTo(StrEnum):
    LEGAL = "legal"
    LAW_ENFORCEMENT = "law_enforcement"
    REGULATOR = "regulator"


class EscalationPolicy(Model):
    """The policy pack's `[escalation]` settings, as an escalation reads them at its start."""

    lead: str = "lead-escalations@casework.example"  # told of a missed acknowledgement
    leadership: str = "leadership@casework.example"  # status updates, missed acknowledgements
    on_call: str = "oncall-escalations@casework.example"  # paged for a P0
    ack_sla_hours: float = Field(default=1, gt=0)
    update_every_hours: float = Field(default=4, gt=0)


class EscalationSetup(Model):
    """What the escalation workflow gets from the pack at its start."""

    policy: EscalationPolicy
    dependency_alert_minutes: float = 10


class OpenRequest(Model):
    """Open an escalation. Its id derives from the subject, the source and `request_id`, so the
    same request twice opens one escalation."""

    subject: Subject
    source: EscalationSource
    reason: Reason
    severity: Priority
    opened_by: Ident
    request_id: Ident
    review_case_id: Ident | None = None
    owner: Ident | None = None  # assigned at opening; otherwise whoever acknowledges owns it


class EscalationInput(Sealable):
    """What starts an escalation workflow (or continues it as new, with `carried`)."""

    request: OpenRequest
    carried: EscalationState | None = None


class OwnerCommand(Command):
    PERSON = "owner"
    owner: Ident


class AckRequest(OwnerCommand):
    """Acknowledge: the acting person becomes the owner (unless one was assigned)."""


class NoteRequest(OwnerCommand):
    text: Reason = Field(description="the note (the first starts the investigation)")


class SeverityRequest(OwnerCommand):
    severity: Priority
    reason: Reason = Field(description="why the severity changes")


class ResolveRequest(OwnerCommand):
    """Resolve with a decision for the review case (none: the case goes back to its queue)."""

    policy_ids: PolicyIds = Field(default_factory=list, description="what the decision cites")
    actions: list[Action] = Field(default_factory=list)
    reason: Reason = Field(description="the decision's reason")


class HandOffRequest(OwnerCommand):
    to: HandOffTo
    reason: Reason = Field(description="why it leaves casework")


class Note(Model):
    at: AwareDatetime
    by: str
    text: str


class HandBackRequest(Model):
    """A resolved escalation's decision, for the review case it was opened from."""

    review_case_id: str
    hand_back: HandBack


class EscalationSummary(Model):
    """A small view of an escalation: what its commands answer."""

    escalation_id: str
    subject: Subject
    source: EscalationSource
    state: str
    severity: Priority
    owner: str | None = None
    review_case_id: str | None = None
    ack_deadline: AwareDatetime | None = None
    sla_breached: bool = False
    updates_sent: int = 0
    revision: int = 0


class EscalationState(EscalationSummary):
    """Everything an escalation knows; a query returns it, continue-as-new carries it.

    `escalation_id` is the workflow id; `case_uid` (the first run id) keys its ledger row.
    """

    case_uid: str
    reason: str
    opened_by: str
    opened_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    breaches: int = 0
    notes: list[Note] = Field(default_factory=list)
    on_call_paged: bool = False
    resolution: HandBack | None = None
    handed_back: bool = False  # the resolution reached the review case (or was refused)
    handed_off_to: HandOffTo | None = None
    closed_at: AwareDatetime | None = None
    policy: EscalationPolicy | None = None  # from the pack, at the start
    queue_lead: str = ""
    dependency_alert_minutes: float = 10
    waiting_on: str | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)
    committed: int = 0
    commands: list[str] = Field(default_factory=list)  # the last commands' nonces taken

    @property
    def case_id(self) -> str:
        """The ledger's and the shared workflow parts' name for the record."""
        return self.escalation_id

    def next_update_at(self) -> AwareDatetime | None:
        """When leadership hears next: every `update_every_hours` from the acknowledgement."""
        if self.acknowledged_at is None or self.policy is None:
            return None
        every = timedelta(hours=self.policy.update_every_hours)
        return self.acknowledged_at + every * (self.updates_sent + 1)

    def summary(self) -> EscalationSummary:
        return EscalationSummary.model_validate(self, from_attributes=True)

    def ledger_record(self, since: int = 0) -> LedgerRecord:
        """The escalation's ledger row: its severity is its priority, its owner the assignee,
        its acknowledgement deadline the SLA deadline."""
        return LedgerRecord(
            case_id=self.escalation_id, case_uid=self.case_uid, subject=self.subject,
            state=self.state, queue=QUEUE, priority=self.severity, assignee=self.owner,
            sla_deadline=self.ack_deadline, sla_breached=self.sla_breached,
            waiting_on=self.waiting_on, revision=self.revision, lifecycle=LIFECYCLE,
            policy_ids=self.resolution.policy_ids if self.resolution else [],
            opened_at=self.opened_at, timeline=[e for e in self.timeline if e.seq > since])


EscalationInput.model_rebuild()
