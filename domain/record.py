"""The record every lifecycle's workflow carries: what the shared workflow parts (journal,
outbound, queueing) work on, and what a missed deadline says and to whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field

from domain.core import CaseSummary, Model, Priority, Subject, TimelineEvent
from domain.outcomes import Outcome
from domain.trend_models import Signal


class LedgerRecord(CaseSummary):
    """What the ledger keeps of a case: its queue row and the timeline events not yet written."""

    policy_ids: list[str]
    opened_at: AwareDatetime
    timeline: list[TimelineEvent]
    # what the case is about, for search and the seller's and shop's history (review cases)
    seller_id: str | None = None
    shop_id: str | None = None
    title: str | None = None
    search_text: str = ""
    image_hashes: list[str] = Field(default_factory=list)
    outcome: Outcome | None = None  # the work it settled, for the reports
    signal: Signal | None = None  # a review case as trend scans count it


class Breach(Model):
    """A missed deadline as the record words it: the timeline's detail, the new deadline's
    hours, and each staff message (its key suffix, address and text)."""

    detail: str
    hours: float
    tell: list[tuple[str, str, str]]


class Tracked(Model):
    """What every lifecycle's record shares: identity, state, queue and SLA, the timeline and
    how far the ledger has it. The shared workflow parts (journal, outbound, queue clock) work
    on these fields; each lifecycle adds its own."""

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
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    revision: int = 0
    timeline: list[TimelineEvent] = Field(default_factory=list)
    dependency_alert_minutes: float = 10
    waiting_on: str | None = None
    committed: int = 0
    lifecycle: str = "review"
    commands: list[str] = Field(default_factory=list)  # the last commands' nonces taken

    @property
    def policy_ids(self) -> list[str]:
        return []

    def findable(self) -> dict[str, Any]:
        """What the ledger finds the record by besides its subject (`LedgerRecord`'s seller,
        shop, title and search text); a review case knows them once screened."""
        return {}

    def outcome(self) -> Outcome | None:
        """What the record has settled, for the reports (a decision, a verdict)."""
        return None

    def summary(self) -> CaseSummary:
        return CaseSummary.model_validate(self, from_attributes=True)

    def ledger_record(self, since: int = 0) -> LedgerRecord:
        """The record's ledger row with the timeline events after revision `since`."""
        return LedgerRecord(
            **CaseSummary.model_validate(self, from_attributes=True).model_dump(),
            policy_ids=self.policy_ids, opened_at=self.opened_at, **self.findable(),
            outcome=self.outcome(),
            timeline=[e for e in self.timeline if e.seq > since])

    def breach(self, missed: datetime, before: Priority) -> Breach:
        """A queued record missed its SLA: the queue's lead hears."""
        detail = (f"deadline {missed:%Y-%m-%dT%H:%MZ} missed (breach {self.breaches}); "
                  f"priority {before.value} -> {self.priority.value}; lead "
                  f"{self.queue_lead} notified")
        if self.breaches >= 2:
            detail += "; second breach"
        hours = self.sla_hours.get(self.priority) or max(self.sla_hours.values(), default=24)
        return Breach(detail=detail, hours=hours, tell=[
            ("", self.queue_lead, f"Case {self.case_id} in {self.queue} missed its SLA: "
                                  f"{detail}")])
