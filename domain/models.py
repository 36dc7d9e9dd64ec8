"""The case vocabulary: subjects, reports, decisions and the snapshot a case exposes.

Every model here crosses a Temporal boundary through pydantic's data converter, so it stays
plain data: no I/O, no clocks.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.errors import InvalidInput, first_problem


class Model(BaseModel):
    """Base of every payload model. Unknown fields are ignored, so a history written by a newer
    or older version (a field added or removed) still decodes and replays."""

    model_config = ConfigDict(frozen=False, extra="ignore")


class SubjectKind(StrEnum):
    LISTING = "listing"
    SHOP = "shop"
    SELLER = "seller"


_SUBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class Subject(Model):
    kind: SubjectKind
    id: str

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not _SUBJECT_ID.match(v):
            raise ValueError("subject id must be 1-128 letters, digits, '.', '_' or '-'")
        return v

    @classmethod
    def parse(cls, text: str) -> Subject:
        """Parse `KIND:ID`, e.g. `listing:L-0042`."""
        kind, sep, ident = text.partition(":")
        if not sep or kind not in SubjectKind.__members__.values():
            kinds = "|".join(k.value for k in SubjectKind)
            raise InvalidInput(f"malformed subject {text!r}: expected KIND:ID with KIND {kinds}")
        try:
            return cls(kind=SubjectKind(kind), id=ident)
        except ValidationError as e:
            raise InvalidInput(f"malformed subject {text!r}: {first_problem(e)}") from None

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


class Source(StrEnum):
    """Who brought the matter to us; decides DSA source_type and automated_detection."""

    USER_REPORT = "user_report"
    TRUSTED_FLAGGER = "trusted_flagger"
    RIGHTS_OWNER = "rights_owner"
    LAW_ENFORCEMENT = "law_enforcement"
    CLASSIFIER = "classifier"
    INTERNAL = "internal"

    @property
    def is_automated(self) -> bool:
        return self is Source.CLASSIFIER


class Priority(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def rank(self) -> int:
        return int(self.value[1])

    def raised(self) -> Priority:
        """One step more urgent, capped at P0."""
        return Priority(f"P{max(self.rank - 1, 0)}")


class Action(StrEnum):
    REMOVE = "remove"
    DISABLE = "disable"
    DEMOTE = "demote"
    LABEL = "label"
    RESTRICT_SALES = "restrict_sales"
    SUSPEND_SHOP = "suspend_shop"
    SUSPEND_SELLER = "suspend_seller"
    TERMINATE_SELLER = "terminate_seller"
    WARN = "warn"
    NO_ACTION = "no_action"

    @property
    def restricts(self) -> bool:
        """Restrictions need a statement of reasons (DSA Art. 17)."""
        return self not in (Action.WARN, Action.NO_ACTION)

    @property
    def reversal(self) -> str | None:
        return _REVERSALS.get(self)

    @property
    def targets(self) -> SubjectKind | None:
        """The kind of subject the action lands on; None for actions without a target."""
        return _TARGETS.get(self)


_REVERSALS = {
    Action.REMOVE: "restore",
    Action.DISABLE: "enable",
    Action.DEMOTE: "promote",
    Action.LABEL: "unlabel",
    Action.RESTRICT_SALES: "lift_sales_restriction",
    Action.SUSPEND_SHOP: "reinstate_shop",
    Action.SUSPEND_SELLER: "reinstate_seller",
    Action.TERMINATE_SELLER: "reinstate_seller",
}

_TARGETS = {
    Action.REMOVE: SubjectKind.LISTING,
    Action.DISABLE: SubjectKind.LISTING,
    Action.DEMOTE: SubjectKind.LISTING,
    Action.LABEL: SubjectKind.LISTING,
    Action.RESTRICT_SALES: SubjectKind.SELLER,
    Action.SUSPEND_SHOP: SubjectKind.SHOP,
    Action.SUSPEND_SELLER: SubjectKind.SELLER,
    Action.TERMINATE_SELLER: SubjectKind.SELLER,
    Action.WARN: SubjectKind.SELLER,
}


class Report(Model):
    """One notice or signal about a subject. `report_id` makes re-sending it harmless."""

    report_id: str = Field(min_length=1, max_length=200)
    source: Source
    reporter: str | None = None
    text: str = Field(default="", max_length=20_000)
    policy_hint: str | None = None
    received_at: AwareDatetime


class CaseInput(Model):
    """What starts a review workflow (or continues it as new, with `carried`)."""

    subject: Subject
    report: Report
    carried: CaseState | None = None


class PolicyHit(Model):
    policy_id: str
    rule: str
    score: float
    evidence: str


class PolicyRef(Model):
    """What a case needs to know of a policy to validate and explain a decision."""

    id: str
    title: str
    queue: str
    priority: Priority


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


class ClaimRequest(Model):
    reviewer: str = Field(min_length=1, max_length=200)
    lease_minutes: int = Field(default=30, ge=1, le=8 * 60)


class DecideRequest(Model):
    reviewer: str = Field(min_length=1, max_length=200)
    policy_ids: list[str] = Field(default_factory=list)
    actions: list[Action] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=5_000)


class Decision(Model):
    decided_by: str
    policy_ids: list[str]
    actions: list[Action]
    reason: str
    decided_at: AwareDatetime
    automated: bool

    @property
    def restricts(self) -> bool:
        return any(a.restricts for a in self.actions)


class EnforcementResult(Model):
    action: Action
    target: Subject
    applied: bool
    detail: str
    applied_at: AwareDatetime


class TimelineEvent(Model):
    seq: int
    at: AwareDatetime
    actor: str
    event: str
    detail: str = ""


class CaseState(Model):
    """Everything a case knows; a query returns it, continue-as-new carries it.

    `case_id` is the workflow id, one per subject at a time; `case_uid` (the first run id) tells
    apart the cases a subject has had over time.
    """

    case_id: str
    case_uid: str
    subject: Subject
    state: str
    queue: str = "intake"
    priority: Priority = Priority.P3
    assignee: str | None = None
    lease_expires_at: AwareDatetime | None = None
    sla_deadline: AwareDatetime | None = None
    sla_breached: bool = False
    breaches: int = 0
    queue_lead: str = ""
    sla_hours: dict[Priority, float] = Field(default_factory=dict)
    reports: list[Report] = Field(default_factory=list)
    hits: list[PolicyHit] = Field(default_factory=list)
    policies: list[PolicyRef] = Field(default_factory=list)
    pack_version: str = ""
    decision: Decision | None = None
    enforcement: list[EnforcementResult] = Field(default_factory=list)
    statement_puid: str | None = None
    notice_delivered_at: AwareDatetime | None = None
    appeal_deadline: AwareDatetime | None = None
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    revision: int = 0
    timeline: list[TimelineEvent] = Field(default_factory=list)

    @property
    def policy_ids(self) -> list[str]:
        cited = self.decision.policy_ids if self.decision else []
        return sorted({h.policy_id for h in self.hits} | set(cited))


class CaseRef(Model):
    """Answer to filing a report: the case, and whether this call opened it, joined it, or
    repeated a report the case already holds."""

    case_id: str
    state: str
    queue: str
    priority: Priority
    outcome: str  # "opened" | "joined" | "duplicate"


# -- activity inputs and outputs -------------------------------------------------------------------
class ScreenRequest(Model):
    subject: Subject
    reports: list[Report]


class ApplyRequest(Model):
    case_id: str
    subject: Subject
    action: Action
    idempotency_key: str
    reason: str


class StatementRequest(Model):
    case: CaseState
    puid: str


class Notification(Model):
    """One message; `message_id` makes re-sending it land once in the outbox."""

    message_id: str
    case_id: str
    recipient: str  # "seller-of:<subject>", "reporter:<id>" or an address (a queue lead's)
    kind: str  # "statement_of_reasons", "warning", "outcome", "sla_breach"
    text: str
    statement: dict[str, object] | None = None


class Receipt(Model):
    message_id: str
    delivered_at: AwareDatetime
    channels: list[str]


class QueueEntry(Model):
    """One row of the queue index, as the ledger serves it."""

    case_uid: str
    case_id: str
    state: str
    queue: str
    priority: Priority
    assignee: str | None
    lease_expires_at: datetime | None
    sla_deadline: datetime | None
    sla_breached: bool
    subject: Subject
    policy_ids: list[str]
    opened_at: datetime
    updated_at: datetime


CaseInput.model_rebuild()
