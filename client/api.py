"""CaseworkClient: the Python surface for upstream systems and reviewers.

Cases are Temporal workflows (the truth); cross-case reads (queue, statements) come from the
case ledger. Every refusal surfaces as a typed `domain.errors` exception and changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from client.connection import connect
from domain.errors import (
    BY_NAME,
    CaseworkError,
    EmptyQueue,
    InvalidInput,
    NotFound,
    Refused,
    Unavailable,
    build,
)
from domain.models import (
    Action,
    CaseInput,
    CaseRef,
    CaseState,
    ClaimRequest,
    DecideRequest,
    QueueEntry,
    Report,
    Source,
    Subject,
    TimelineEvent,
)
from domain.policy import PolicyPack
from ledger.store import Ledger
from stack.pack_file import PackFile
from stack.settings import Settings
from workflows import search_attributes
from workflows.review import ReviewWorkflow

CLAIM_CANDIDATES = 25


def case_id_for(subject: Subject, prefix: str = "case") -> str:
    """One open case per subject: the workflow id is derived from it."""
    return f"{prefix}-{subject.kind.value}-{subject.id}"


def report_id_for(subject: Subject, source: Source, reporter: str | None, text: str,
                  policy_hint: str | None) -> str:
    """A report's identity when the caller gives none: the same report sent twice is one."""
    raw = "\x1f".join([str(subject), source.value, reporter or "", text, policy_hint or ""])
    return "r-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def parse_actions(names: Sequence[str | Action]) -> list[Action]:
    try:
        return [Action(n) for n in names]
    except ValueError:
        bad = [str(n) for n in names if n not in Action.__members__.values()]
        known = ", ".join(a.value for a in Action)
        raise InvalidInput(f"unknown action(s) {', '.join(bad)}; known: {known}") from None


class CaseworkClient:
    def __init__(self, client: Client | None, settings: Settings | None = None) -> None:
        """`client` may be None for ledger-only reads (queue, statements)."""
        self._temporal = client
        self.settings = settings or Settings()
        self._ledger: Ledger | None = None
        self._pack = PackFile(self.settings.policy_pack)

    @classmethod
    async def connect(cls, settings: Settings | None = None, profile: str | None = None,
                      address: str | None = None) -> CaseworkClient:
        return cls(await connect(profile=profile, address=address, settings=settings), settings)

    @property
    def temporal(self) -> Client:
        if self._temporal is None:
            raise Unavailable("this client was made without a Temporal connection")
        return self._temporal

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.settings.ledger_url)
        return self._ledger

    def pack(self) -> PolicyPack:
        return self._pack.get()

    # -- intake --------------------------------------------------------------------------------
    async def open_case(self, subject: Subject | str, source: Source | str,
                        reporter: str | None = None, text: str = "",
                        policy_hint: str | None = None, report_id: str | None = None
                        ) -> CaseRef:
        """Open a case about the subject, or join its open case; idempotent per report."""
        subj = Subject.parse(subject) if isinstance(subject, str) else subject
        try:
            src = Source(source)
        except ValueError:
            known = ", ".join(s.value for s in Source)
            raise InvalidInput(f"unknown source {source!r}; known: {known}") from None
        if policy_hint and policy_hint not in self.pack().by_id:
            raise InvalidInput(f"unknown policy id {policy_hint!r} in --policy-hint")
        report = build(
            Report, report_id=report_id or report_id_for(subj, src, reporter, text, policy_hint),
            source=src, reporter=reporter, text=text, policy_hint=policy_hint,
            received_at=datetime.now(UTC))
        case_id = case_id_for(subj, self.settings.case_prefix)
        start = WithStartWorkflowOperation(
            ReviewWorkflow.run, CaseInput(subject=subj, report=report),
            id=case_id, task_queue=self.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes.at_intake(case_id, subj),
        )
        return await self._guard(self.temporal.execute_update_with_start_workflow(
            ReviewWorkflow.file_report, report, start_workflow_operation=start,
            id=report.report_id), case_id)

    # -- reads ---------------------------------------------------------------------------------
    async def show(self, case_id: str) -> CaseState:
        handle = self.temporal.get_workflow_handle_for(ReviewWorkflow.run, case_id)
        return await self._guard(handle.query(ReviewWorkflow.snapshot), case_id)

    async def timeline(self, case_id: str) -> list[TimelineEvent]:
        handle = self.temporal.get_workflow_handle_for(ReviewWorkflow.run, case_id)
        return await self._guard(handle.query(ReviewWorkflow.timeline), case_id)

    def queue(self, queue: str | None = None, limit: int = 50) -> list[QueueEntry]:
        return self.ledger.queue(queue, limit=limit)

    def statements(self) -> list[dict[str, Any]]:
        return self.ledger.statements()

    # -- reviewer commands ---------------------------------------------------------------------
    async def claim(self, case_id: str, reviewer: str, lease_minutes: int = 30,
                    request_id: str | None = None) -> CaseState:
        req = build(ClaimRequest, reviewer=reviewer, lease_minutes=lease_minutes)
        handle = self.temporal.get_workflow_handle_for(ReviewWorkflow.run, case_id)
        return await self._guard(handle.execute_update(
            ReviewWorkflow.claim, req, id=request_id or f"claim-{uuid.uuid4()}"), case_id)

    async def claim_next(self, queue: str, reviewer: str, lease_minutes: int = 30) -> CaseState:
        """Claim the most urgent unassigned case of the queue. The ledger proposes, the
        workflow disposes: a case someone else got first refuses, and the next is tried."""
        build(ClaimRequest, reviewer=reviewer, lease_minutes=lease_minutes)  # fail before looping
        for entry in self.ledger.queue(queue, states=("queued",), limit=CLAIM_CANDIDATES):
            try:
                return await self.claim(entry.case_id, reviewer, lease_minutes)
            except (Refused, NotFound):
                continue
        raise EmptyQueue(f"no unassigned case in queue {queue!r}")

    async def decide(self, case_id: str, reviewer: str, policy_ids: Sequence[str],
                     actions: Sequence[str | Action], reason: str,
                     request_id: str | None = None) -> CaseState:
        acts = parse_actions(actions)
        pack = self.pack()
        if unknown := [p for p in policy_ids if p not in pack.by_id]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(unknown)}")
        req = build(DecideRequest, reviewer=reviewer, policy_ids=list(policy_ids), actions=acts,
                    reason=reason)
        handle = self.temporal.get_workflow_handle_for(ReviewWorkflow.run, case_id)
        return await self._guard(handle.execute_update(
            ReviewWorkflow.decide, req, id=request_id or f"decide-{uuid.uuid4()}"), case_id)

    # -- error mapping -------------------------------------------------------------------------
    async def _guard(self, call: Any, case_id: str) -> Any:
        try:
            return await call
        except WorkflowUpdateFailedError as e:
            raise _from_failure(e.cause) from None
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                if "completed" in e.message:
                    raise Refused(f"case {case_id} is closed") from None
                raise NotFound(f"no case {case_id}") from None
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"Temporal unavailable: {e.message}") from None
            raise Refused(e.message) from None


def _from_failure(cause: BaseException | None) -> CaseworkError:
    err_type = getattr(cause, "type", None)
    message = getattr(cause, "message", None) or str(cause)
    cls = BY_NAME.get(err_type or "", Refused)
    return cls(message)
