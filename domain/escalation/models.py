"""The escalation lifecycle's requests and results: what opens an escalation, what its owner
does with it, the state it carries, and what the policy pack configures for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, ConfigDict, Field

from domain.authority import Command
from domain.core import Action, HandBack, Model, Priority, Sealable, Subject
from domain.record import Breach, Tracked
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
    TREND = "trend"  # a trend scan's spike

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


class TrendNote(Sealable):
    """A trend scan's word on the escalation its spike opened: the spike has grown."""

    spike: Ident
    text: Reason


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


class EscalationState(Tracked):
    """Everything an escalation knows; a query returns it, continue-as-new carries it. It is a
    record like the others (the shared parts and the ledger read the same fields); on the wire
    it keeps its own words: `escalation_id` (the workflow id), `severity`, `owner` and
    `ack_deadline` (the acknowledgement's deadline is its SLA). `case_uid` (the first run id)
    keys its ledger row."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True,
                              validate_by_alias=True)

    case_id: str = Field(alias="escalation_id")
    priority: Priority = Field(alias="severity")
    assignee: str | None = Field(default=None, alias="owner")
    sla_deadline: AwareDatetime | None = Field(default=None, alias="ack_deadline")
    # the same for every escalation (no lease, its own deadline's hours): not on the wire
    queue: str = Field(default=QUEUE, exclude=True)
    lifecycle: str = Field(default=LIFECYCLE, exclude=True)
    lease_expires_at: AwareDatetime | None = Field(default=None, exclude=True)
    sla_hours: dict[Priority, float] = Field(default_factory=dict, exclude=True)
    source: EscalationSource
    review_case_id: str | None = None
    updates_sent: int = 0
    reason: str
    opened_by: str
    acknowledged_at: AwareDatetime | None = None
    notes: list[Note] = Field(default_factory=list)
    on_call_paged: bool = False
    resolution: HandBack | None = None
    handed_back: bool = False  # the resolution reached the review case (or was refused)
    handed_off_to: HandOffTo | None = None
    policy: EscalationPolicy | None = None  # from the pack, at the start

    @property
    def policy_ids(self) -> list[str]:
        return self.resolution.policy_ids if self.resolution else []

    def next_update_at(self) -> AwareDatetime | None:
        """When leadership hears next: every `update_every_hours` from the acknowledgement."""
        if self.acknowledged_at is None or self.policy is None:
            return None
        every = timedelta(hours=self.policy.update_every_hours)
        return self.acknowledged_at + every * (self.updates_sent + 1)

    def summary(self) -> EscalationSummary:  # type: ignore[override]
        return EscalationSummary.model_validate(self.model_dump(
            include=set(EscalationSummary.model_fields) | {"case_id", "priority", "assignee",
                                                           "sla_deadline"}))

    def breach(self, missed: datetime, before: Priority) -> Breach:
        """Not acknowledged in time: its own deadline again; the lead and leadership hear."""
        assert self.policy is not None
        detail = (f"not acknowledged by {missed:%Y-%m-%dT%H:%MZ} (breach {self.breaches}); "
                  f"severity {before.value} -> {self.priority.value}; lead and leadership told")
        text = f"Escalation {self.case_id} about {self.subject} was not acknowledged: {detail}"
        return Breach(detail=detail, hours=self.policy.ack_sla_hours, tell=[
            ("-lead", self.policy.lead, text), ("-leadership", self.policy.leadership, text)])


EscalationInput.model_rebuild()
