"""CaseworkClient: the Python surface for upstream systems and casework's own processes.

Cases are Temporal workflows (the truth); cross-case reads (queue, statements) come from the
case ledger. A person's command is checked against the directory, carries the person as read
(the workflow checks them again) and may carry a request id: the same id again answers the
first outcome. Every refusal surfaces as a typed `domain.errors` exception and changes nothing.
The client holds the payload keys: it is for trusted services and casework's own processes
(the API, the console); people use it through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from activities.intake import file_report
from client.appeals import Appeals
from client.base import ClientBase, Found, parse_actions, parse_choice
from client.datasets import Datasets
from client.escalations import Escalations
from client.jobs import Jobs
from client.qa import QaChecks
from client.reads import LedgerReads
from client.reports import Reports
from client.trends import Trends
from client.warm import AHEAD, Warmer
from config.connection import connect
from config.settings import Settings
from domain.appeal.models import APPEALS_QUEUE
from domain.authority import ClaimRequest, worker_role
from domain.core import (
    Action,
    CaseSummary,
    Detector,
    Priority,
    QueueEntry,
    Report,
    Source,
    Subject,
    TimelineEvent,
    case_id_for,
    report_id_for,
)
from domain.errors import EmptyQueue, InvalidInput, NotFound, Refused, build
from domain.escalation.models import EscalationSummary
from domain.lifecycles import LIFECYCLES
from domain.people import Role
from domain.review.commands import REVIEW_COMMANDS as COMMANDS
from domain.review.models import (
    CaseRef,
    CaseState,
    EscalateRequest,
)
from workflows.appeal import AppealWorkflow
from workflows.review import ReviewWorkflow

__all__ = ["CaseworkClient", "parse_actions", "parse_choice", "report_id_for"]

CLAIM_CANDIDATES = 25
CLAIMS = {"review": ReviewWorkflow.claim, "appeal": AppealWorkflow.claim_appeal}


class CaseworkClient(Appeals, Escalations, Jobs, QaChecks, Reports, Datasets, Trends,
                     LedgerReads, ClientBase):
    @classmethod
    async def connect(cls, settings: Settings | None = None, profile: str | None = None,
                      address: str | None = None) -> CaseworkClient:
        return cls(await connect(profile=profile, address=address, settings=settings), settings)

    # -- intake --------------------------------------------------------------------------------
    async def open_case(self, subject: Subject | str, source: Source | str,
                        reporter: str | None = None, text: str = "",
                        policy_hint: str | None = None, report_id: str | None = None,
                        detector: Detector | None = None) -> CaseRef:
        """Open a case about the subject, or join its open case; idempotent per report. An
        automated source may say which model flagged it, its version and its score."""
        subj = Subject.parse(subject) if isinstance(subject, str) else subject
        src = parse_choice(Source, source, "source")
        if policy_hint and policy_hint not in self.pack().by_id:
            raise InvalidInput(f"unknown policy id {policy_hint!r} in --policy-hint")
        if detector is not None and not src.is_automated:
            raise InvalidInput(f"a detector's model and score come with automated reports, "
                               f"not {src.value} ones")
        report = build(
            Report, report_id=report_id or report_id_for(subj, src, reporter, text, policy_hint),
            source=src, reporter=reporter, text=text, policy_hint=policy_hint,
            received_at=datetime.now(UTC),
            detector=detector.model_dump() if detector else None)
        case_id = case_id_for(subj, self.settings.case_prefix)
        return await self.guard(file_report(self.temporal, case_id, subj, report,
                                            self.settings.task_queue), case_id)

    # -- reads ---------------------------------------------------------------------------------
    async def show(self, case_id: str) -> CaseState:
        return await self.ask(case_id, ReviewWorkflow.snapshot)  # type: ignore[no-any-return]

    async def timeline(self, case_id: str) -> list[TimelineEvent]:
        return await self.ask(case_id, ReviewWorkflow.timeline)  # type: ignore[no-any-return]

    def queue(self, queue: str | None = None, limit: int = 50) -> list[QueueEntry]:
        self.known_queue(queue)
        return self.ledger.queue(queue, limit=limit)

    def statements(self) -> list[dict[str, Any]]:
        return self.ledger.statements()

    # -- reviewer commands ---------------------------------------------------------------------
    @cached_property
    def warmer(self) -> Warmer:
        return Warmer(self.temporal)

    async def claim(self, case_id: str, reviewer: str, lease_minutes: int = 30,
                    request_id: str | None = None,
                    kinds: tuple[str, ...] = tuple(CLAIMS)) -> CaseSummary:
        """Claim a review case or an appeal (`kinds`) by its id, as one who works its queue."""
        req = build(ClaimRequest, reviewer=reviewer, lease_minutes=lease_minutes)
        found = await self.on_record(case_id, reviewer, kinds)
        return await self.command(case_id, CLAIMS[found.lifecycle], req, found,
                                  request_id)

    async def claim_next(self, queue: str, reviewer: str, lease_minutes: int = 30,
                         request_id: str | None = None) -> CaseSummary:
        """Claim the most urgent unassigned case of the queue. The ledger proposes, the
        workflow disposes: a case someone else got first refuses, and the next is tried. Sent
        again with the same `request_id`, it answers the case its first attempt claimed."""
        self.known_queue(queue)
        req = build(ClaimRequest, reviewer=reviewer, lease_minutes=lease_minutes)
        person = self.directory.require(reviewer, worker_role(queue), queue=queue, fresh=True)
        lifecycle = "appeal" if queue == APPEALS_QUEUE else "review"

        async def first(entries: Sequence[QueueEntry]) -> CaseSummary | None:
            for entry in entries:
                try:
                    return await self.command(  # type: ignore[no-any-return]
                        entry.case_id, CLAIMS[lifecycle], req,
                        Found(person, lifecycle, queue, entry.case_uid),
                        f"{request_id}:{entry.case_id}" if request_id else None)
                except (Refused, NotFound):
                    continue
            return None

        # a retry answers the case its first attempt claimed
        if request_id is not None and (again := await first(self.ledger.held_by(queue, reviewer))):
            return again
        if lifecycle == "review" and (given := await self.calibration_case(queue, reviewer,
                                                                                lease_minutes)):
            return given
        entries = self.ledger.queue(queue, states=tuple(LIFECYCLES[lifecycle].queued),
                                    limit=CLAIM_CANDIDATES)
        if got := await first(entries):
            ids = [e.case_id for e in entries]
            at = ids.index(got.case_id) + 1 if got.case_id in ids else len(ids)
            self.warmer.ahead(ids[at:at + AHEAD])  # the next claim finds them in a worker's cache
            return got
        raise EmptyQueue(f"no unassigned case in queue {queue!r}")

    async def decide(self, case_id: str, reviewer: str, policy_ids: Sequence[str],
                     actions: Sequence[str | Action], reason: str,
                     request_id: str | None = None) -> CaseSummary:
        return await self.run(COMMANDS["decide"], case_id, reviewer, {
            "policy_ids": list(policy_ids), "actions": parse_actions(actions),
            "reason": reason}, request_id)

    async def hold(self, case_id: str, reviewer: str, reason: str,
                   request_id: str | None = None) -> CaseSummary:
        """Put a claimed case on hold (waiting for information): its SLA clock stops."""
        return await self.run(COMMANDS["hold"], case_id, reviewer, {"reason": reason},
                              request_id)

    async def resume(self, case_id: str, reviewer: str,
                     request_id: str | None = None) -> CaseSummary:
        """Resume a held case: its SLA runs on with the time it had left."""
        return await self.run(COMMANDS["resume"], case_id, reviewer, {}, request_id)

    async def approve(self, case_id: str, approver: str,
                      request_id: str | None = None) -> CaseSummary:
        """The second person's approval a severe decision waits for (a senior of the
        case's queue who did not decide it)."""
        return await self.run(COMMANDS["approve"], case_id, approver, {}, request_id)

    async def reject(self, case_id: str, approver: str, reason: str,
                     request_id: str | None = None) -> CaseSummary:
        """The second person sends the decision back to the case's queue, saying why."""
        return await self.run(COMMANDS["reject"], case_id, approver, {"reason": reason},
                              request_id)

    async def escalate(self, case_id: str, reviewer: str, reason: str, severity: Priority | str,
                       request_id: str | None = None) -> EscalationSummary:
        """Take review case `case_id` to an escalation owner: the case waits in `escalated`
        (its SLA paused) for the resolution it then carries out."""
        req = build(EscalateRequest, reviewer=reviewer, reason=reason,
                    severity=parse_choice(Priority, severity, "severity"))
        return await self._review(case_id, ReviewWorkflow.escalate, req, Role.REVIEWER,
                                  request_id)

    async def retry(self, case_id: str, operator: str, reason: str, repin: bool = False,
                    request_id: str | None = None) -> CaseSummary:
        """Resume a case waiting in `needs_attention` once its cause is repaired; `repin`
        states its reasons from the current pack (when the fix was a pack edit)."""
        return await self.run(COMMANDS["retry"], case_id, operator,
                              {"reason": reason, "repin": repin}, request_id)

    async def _review(self, case_id: str, update: Any, req: Any, role: Role | frozenset[Role],
                      request_id: str | None) -> Any:
        """A command on a review case by a person with `role` who works its queue."""
        found = await self.on_record(case_id, req.person, "review", role)
        return await self.command(case_id, update, req, found, request_id)
