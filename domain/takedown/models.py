"""The takedown lifecycle's requests and results: one action on many subjects (a bulk job or an
authority's order), in paced batches, each subject acted on at most once, reversible as a whole.

The items live in the ledger (a job may name hundreds of thousands of subjects: far more than a
workflow's payloads may carry); the workflow carries counts and the position it has reached.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field, computed_field

from domain.authority import Command
from domain.core import Action, Model, PolicyRef, Priority, Sealable, Subject, SubjectKind
from domain.errors import InvalidInput
from domain.record import Tracked
from domain.text import Ident, PolicyIds, Reason

MAX_ITEMS = 1_000_000
TAKEDOWN_QUEUE = "takedowns"


class ItemStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"  # acted on (or found acted on under this job's key: never twice)
    FAILED = "failed"  # retried, then given up: the error is kept
    SKIPPED = "skipped"  # the marketplace does not know it, or refuses it for good
    REVERSED = "reversed"
    REVERSAL_FAILED = "reversal_failed"  # acted on, and the marketplace would not undo it


def parse_ids(lines: list[str]) -> list[Subject]:
    """`KIND:ID` per line (blank lines and `#` comments ignored), each subject once. Every bad
    line is reported by its number; nothing is accepted from a file with one."""
    subjects: dict[str, Subject] = {}
    bad: list[int] = []
    for n, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            subject = Subject.parse(text)
        except InvalidInput:  # the line is not echoed: a file may hold anything
            bad.append(n)
            continue
        subjects.setdefault(str(subject), subject)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InvalidInput(f"{len(bad)} bad line(s): line {', '.join(map(str, bad[:5]))}{more} "
                           "not KIND:ID (KIND listing|shop|seller; an id of 1-128 letters, "
                           "digits, '.', '_' or '-')")
    if not subjects:
        raise InvalidInput("no subjects: the file names none")
    if len(subjects) > MAX_ITEMS:
        raise InvalidInput(f"{len(subjects)} subjects: a job takes at most {MAX_ITEMS}")
    return list(subjects.values())


class AuthorityOrder(Model):
    """An order to act against illegal content (DSA Art. 9): executed without the approval
    wait; its effect is reported back to the authority."""

    authority: Ident
    reference: Ident
    legal_ground: Reason
    deadline: date


def order_citation(order: AuthorityOrder | None) -> PolicyRef | None:
    """What a statement cites for an order that names no policy of the pack: the order's own
    legal ground, as illegal content of a category the order does not specify."""
    if order is None:
        return None
    return PolicyRef(
        id=f"order-{order.reference}", title=f"Order {order.reference} of {order.authority}",
        queue=TAKEDOWN_QUEUE, priority=Priority.P0,
        category="STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
        ground="DECISION_GROUND_ILLEGAL_CONTENT", legal_reference=order.legal_ground,
        explanation=f"Order {order.reference} of {order.authority} (DSA Art. 9) to act against "
                    "this content as illegal.")


class TakedownRequest(Command):
    """A job as a requester asks for it; its items are already in the ledger."""

    PERSON = "requester"

    action: Action
    policy_ids: PolicyIds = Field(default_factory=list)
    reason: Reason
    requester: Ident
    items: int = Field(ge=1, le=MAX_ITEMS)
    kinds: list[SubjectKind] = Field(default_factory=list)
    order: AuthorityOrder | None = None
    shop_review_id: str | None = None  # a senior's shop-level decision: told when done
    # who else took part in the matter ("decided", "asked for": people), none of whom approves
    parties: dict[str, list[str]] = Field(default_factory=dict)
    issued_at: AwareDatetime | None = None  # when it was asked for: a much later start is a copy


class JobPlan(Model):
    """What a job asks at its start: the pack's settings, and the requester's other jobs."""

    job_id: str
    requester: str
    policy_ids: list[str] = Field(default_factory=list)


class TakedownSettings(Model):
    """What the pack says for takedowns, read once by an activity: when a second person
    approves, how fast the marketplace may be acted on, and the policies cited. `four_eyes`:
    read by a run that applies the engine's four-eyes rule (`domain.authority`); runs from
    before waited only above the size, and never for an order or a shop's decision."""

    four_eyes: bool = False
    recent_items: int = 0  # the requester's other jobs' items in the split window
    known_authorities: list[str] = Field(default_factory=list)
    approval_above: int = 100
    approval_sla_hours: float = 4
    rate_per_s: float = 50
    batch_size: int = 500
    reversible_days: float = 184
    queue_lead: str = ""
    citations: list[PolicyRef] = Field(default_factory=list)
    pack_version: str = ""
    dependency_alert_minutes: float = 10


class Progress(Model):
    done: int = 0
    failed: int = 0
    skipped: int = 0
    reversed: int = 0
    reversal_failed: int = 0
    total: int = 0
    rate_per_s: float = 0.0
    eta_s: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining(self) -> int:
        return self.total - self.done - self.failed - self.skipped


class BatchRequest(Model):
    """One batch for an activity: the items after `after_seq`, at most `size` of them."""

    job_id: str
    job_uid: str
    after_seq: int
    size: int
    action: Action
    reverse: bool = False
    reason: str
    rate_per_s: float
    requester: str
    policy_ids: list[str] = Field(default_factory=list)
    citations: list[PolicyRef] = Field(default_factory=list)
    pack_version: str = ""
    order: AuthorityOrder | None = None


class BatchResult(Model):
    """What a batch did, counted from the ledger (so a retried batch counts exactly)."""

    last_seq: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    reversed: int = 0
    reversal_failed: int = 0
    exhausted: bool = False  # no items after `last_seq`


class TakedownNote(Sealable):
    """What a review case records of a job that acted on its subject (or, `reversed`, undid
    what it did)."""

    job_id: str
    action: Action
    reason: str
    after_seq: int = 0
    until_seq: int = 0
    subject: Subject | None = None
    reversed: bool = False


class JobNotice(Model):
    """What the job's closing messages need: the sellers' notices, an authority's report."""

    job_id: str
    job_uid: str
    action: Action
    reason: str
    order: AuthorityOrder | None = None


class TakedownState(Tracked):
    lifecycle: str = "takedown"
    queue: str = TAKEDOWN_QUEUE
    request: TakedownRequest
    settings: TakedownSettings = Field(default_factory=TakedownSettings)
    progress: Progress = Field(default_factory=Progress)
    position: int = 0  # the last item seq acted on (or reversed, while reversing)
    approved_by: str | None = None
    approval: str | None = None  # why it waits (waited) for a second person
    refusal: str | None = None  # why it was refused before acting (who asked may not)
    in_flight: bool = False  # a batch is acting now: pause and cancel take effect after it
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    sellers_notified: bool = False
    reported: bool = False
    review_told: bool = False  # the shop review this job carries out knows it finished

    @property
    def policy_ids(self) -> list[str]:
        return sorted(self.request.policy_ids)


class TakedownInput(Sealable):
    job_id: str
    subject: Subject  # what the job is listed under (its first item)
    request: TakedownRequest
    carried: TakedownState | None = None


class JobCommand(Command):
    """pause / resume / cancel / reverse, by the job's requester."""

    PERSON = "requester"

    requester: Ident


class ApproveJob(Command):
    PERSON = "approver"
    approver: Ident


class JobSummary(Model):
    job_id: str
    state: str
    action: Action
    requester: str
    reason: str = ""  # what its approver weighs, with its policies
    policy_ids: list[str] = Field(default_factory=list)
    order: AuthorityOrder | None = None
    progress: Progress
    approved_by: str | None = None
    approval: str | None = None
    refusal: str | None = None
    in_flight: bool = False
    sellers_notified: bool = False
    reported: bool = False  # an order's completion report is with the authority


def job_summary(state: TakedownState) -> JobSummary:
    return JobSummary(job_id=state.case_id, state=state.state, action=state.request.action,
                      requester=state.request.requester, order=state.request.order,
                      reason=state.request.reason, policy_ids=state.request.policy_ids,
                      progress=state.progress, approved_by=state.approved_by,
                      approval=state.approval, refusal=state.refusal,
                      in_flight=state.in_flight, sellers_notified=state.sellers_notified,
                      reported=state.reported)


TakedownInput.model_rebuild()
