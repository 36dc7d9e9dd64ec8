"""The shared core of casework's vocabulary: subjects, reports, decisions, the timeline, typed
names for events and actors, and the ledger rows every lifecycle uses (what text casework
accepts is `domain/text.py`; the messages it sends, `domain/messages.py`). Each lifecycle's own
requests and results live beside its declaration (`domain/<lifecycle>/`).

Every model here crosses a Temporal boundary through pydantic's data converter, so it stays
plain data: no I/O, no clocks.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from domain.errors import INTAKE, InvalidInput, first_problem
from domain.events import Event as Event  # where it was first declared; its home is domain.events
from domain.text import Ident, ReportText


class Actor(StrEnum):
    """Who acted when it was casework itself (people are named by their id)."""

    POLICY_ENGINE = "policy-engine"
    SLA_CLOCK = "sla-clock"
    INTAKE = "intake"
    ENFORCER = "enforcer"
    NOTIFIER = "notifier"
    WATCHDOG = "watchdog"
    TREND_SCAN = "trend-scan"




class Model(BaseModel):
    """Base of every payload model. Unknown fields are ignored, so a history written by a newer
    or older version (a field added or removed) still decodes and replays."""

    model_config = ConfigDict(frozen=False, extra="ignore")


class Sealable(Model):
    """A message a workflow takes from outside (an Update's argument, a signal, a start input):
    the data converter marks it `sealed` when its payload arrived encrypted under a configured
    casework key, and workflows refuse what did not (`domain.authority`)."""

    _sealed: str | None = PrivateAttr(default=None)

    @property
    def sealed(self) -> bool:
        return self._sealed is not None

    def seal(self, key_id: str | None) -> None:
        """For the data converter only: the key id the payload was opened with (None: plain)."""
        self._sealed = key_id

    def __eq__(self, other: object) -> bool:
        """Equal as data: how a message arrived is not part of it."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__


class SubjectKind(StrEnum):
    LISTING = "listing"
    SHOP = "shop"
    SELLER = "seller"


_SUBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class Subject(Model):
    kind: SubjectKind
    id: str

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str, info: ValidationInfo) -> str:
        # At intake the id matches as a whole; decoding keeps the older rule (`$` admits a
        # trailing newline), so cases accepted under it still replay.
        whole = _SUBJECT_ID.fullmatch(v) if info.context == INTAKE else re.match(
            rf"^{_SUBJECT_ID.pattern}$", v)
        if not whole:
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
            return cls.model_validate({"kind": kind, "id": ident}, context=INTAKE)
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
    def rank(self) -> int:
        """How hard the action bears on the seller: `modified` appeals go down this scale."""
        return _RANKS.index(self)

    @property
    def severe(self) -> bool:
        """Severe actions wait for a second person's approval (four eyes)."""
        return self in (Action.SUSPEND_SHOP, Action.SUSPEND_SELLER, Action.TERMINATE_SELLER)

    @property
    def reversal(self) -> str | None:
        return _REVERSALS.get(self)

    @property
    def targets(self) -> SubjectKind | None:
        """The kind of subject the action lands on; None for actions without a target."""
        return _TARGETS.get(self)

    def why_not_on(self, kind: SubjectKind) -> str | None:
        """Why a decision on a case about a `kind` may not take this action (a listing's
        actions need a listing; a shop's, a listing or a shop); None when it may."""
        if self.targets is SubjectKind.LISTING and kind is not SubjectKind.LISTING:
            return f"{self.value} acts on listings; this case is about a {kind.value}"
        if self.targets is SubjectKind.SHOP and kind is SubjectKind.SELLER:
            return f"{self.value} acts on a shop; this case is about a seller"
        return None


_RANKS = [Action.NO_ACTION, Action.WARN, Action.LABEL, Action.DEMOTE, Action.DISABLE,
          Action.REMOVE, Action.RESTRICT_SALES, Action.SUSPEND_SHOP, Action.SUSPEND_SELLER,
          Action.TERMINATE_SELLER]
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


class Detector(Model):
    """What an automated detector reported with its signal at intake: the model, its version
    and its score (0..1), kept for the validation sets built from the decisions."""

    model: Ident
    version: Ident
    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)


class Report(Sealable):
    """One notice or signal about a subject.

    Its identity is `key`: the caller's `report_id` scoped by source and reporter, so one
    source's id never swallows another's report, and re-sending a report is harmless.
    """

    report_id: Ident
    source: Source
    reporter: Ident | None = None
    text: ReportText = ""
    policy_hint: str | None = None
    received_at: AwareDatetime
    subject: Subject | None = None  # what it is about: a case takes reports about its subject
    detector: Detector | None = None  # an automated source's model and score

    @property
    def key(self) -> str:
        raw = "\x1f".join([self.source.value, self.reporter or "", self.report_id])
        return "report-" + hashlib.sha256(raw.encode()).hexdigest()[:32]

    @property
    def reporter_key(self) -> str | None:
        """Who hears the outcome: a named reporter of a notice (automated sources hear none)."""
        if not self.reporter or self.source.is_automated:
            return None
        return f"{self.source.value}:{self.reporter}"


def report_id_for(subject: Subject, source: Source, reporter: str | None, text: str,
                  policy_hint: str | None) -> str:
    """A report's identity when the caller gives none: the same report sent twice is one."""
    raw = "\x1f".join([str(subject), source.value, reporter or "", text, policy_hint or ""])
    return "r-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


class PolicyRef(Model):
    """What a case needs to know of a policy to validate a decision and state its reasons.

    A decision pins the refs it cites (with the pack version), so later pack edits cannot
    change or break its statement of reasons."""

    id: str
    title: str
    queue: str
    priority: Priority
    category: str = ""
    category_specification: list[str] = Field(default_factory=list)
    ground: str = ""
    legal_reference: str = ""
    explanation: str = ""

    @property
    def citable(self) -> bool:
        """Holds what a statement of reasons needs (refs from before pinning do not)."""
        return bool(self.category and self.ground and self.legal_reference and self.explanation)


class SubjectFacts(Model):
    """What the marketplace tells us about a subject, as the engine screens it."""

    kind: SubjectKind
    id: str
    title: str
    description: str = ""
    category: str = ""
    price: float | None = None
    image_hashes: list[str] = Field(default_factory=list)
    seller_id: str
    shop_id: str | None = None
    seller_prior_violations: int = 0
    seller_is_trader: bool = True
    created_on: date
    status: str = "active"
    # what the seller shares with others, hashed by the marketplace ("payout:…", "contact:…"):
    # trends join sellers into clusters by them
    seller_links: list[str] = Field(default_factory=list)


class Decision(Model):
    decided_by: str
    policy_ids: list[str]
    actions: list[Action]
    reason: str
    decided_at: AwareDatetime
    automated: bool
    citations: list[PolicyRef] = Field(default_factory=list)
    pack_version: str = ""

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


class Attention(Model):
    """Why a case waits for a person; `casework case retry` resumes the step that failed."""

    reason: str
    since: AwareDatetime


class CaseSummary(Model):
    """A small view of a case: what Update results and one-line listings carry."""

    case_id: str
    case_uid: str
    subject: Subject
    state: str
    queue: str
    priority: Priority
    assignee: str | None = None
    lease_expires_at: AwareDatetime | None = None
    sla_deadline: AwareDatetime | None = None
    sla_breached: bool = False
    waiting_on: str | None = None
    revision: int = 0
    lifecycle: str = "review"  # the declaration the record runs (the ledger serves them all)




class Mention(Model):
    """A note that names someone (`@id`): an entry of their inbox."""

    case_id: str
    lifecycle: str
    queue: str
    title: str | None
    at: datetime
    by: str
    text: str


class ApplyRequest(Model):
    case_id: str
    subject: Subject
    action: Action
    idempotency_key: str
    reason: str


class QueueEntry(Model):
    """One row of the queue index, as the ledger serves it."""

    lifecycle: str = "review"
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
    waiting_on: str | None = None  # a dependency failing past its alert
    state_since: datetime | None = None  # when the row entered its state
    seller_id: str | None = None
    shop_id: str | None = None
    title: str | None = None

    @property
    def urgency(self) -> tuple[int, datetime]:
        """Most urgent first: the priority, then the nearest deadline (none: last)."""
        return self.priority.rank, self.sla_deadline or datetime.max.replace(tzinfo=UTC)


class HandBack(Sealable):
    """What a resolved escalation hands back to the review case it was opened from: the
    decision the case then carries out (or none: the case goes back to the queue)."""

    escalation_id: str
    resolved_by: str
    policy_ids: list[str] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    reason: str


def case_id_for(subject: Subject, prefix: str = "case") -> str:
    """One open review case per subject: the workflow id is derived from it."""
    return f"{prefix}-{subject.kind.value}-{subject.id}"


class TakedownItem(Model):
    """One subject of a takedown job as the ledger keeps it."""

    seq: int
    subject: Subject
    status: str
    detail: str = ""
    seller_id: str | None = None
