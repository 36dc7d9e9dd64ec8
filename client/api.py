"""CaseworkClient: the Python surface for upstream systems and reviewers.

Cases are Temporal workflows (the truth); cross-case reads (queue, statements) come from the
case ledger. Every refusal surfaces as a typed `domain.errors` exception and changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.intake import file_report
from client.directory import Directory
from config.connection import connect
from config.pack_file import PackFile
from config.settings import Settings
from domain.core import (
    Action,
    CaseSummary,
    ClaimRequest,
    QueueEntry,
    Report,
    Source,
    Subject,
    TimelineEvent,
)
from domain.errors import (
    BY_NAME,
    CaseworkError,
    EmptyQueue,
    InvalidInput,
    NotFound,
    Refused,
    Unavailable,
    build,
    parse_members,
)
from domain.people import Role
from domain.policy import PolicyPack
from domain.review.models import (
    CaseRef,
    CaseState,
    DecideRequest,
    RetryRequest,
)
from ledger.store import Ledger
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
    return parse_members(Action, names, "action")


class CaseworkClient:
    # Every call to Temporal is bounded: a read answers from a worker's cache, a command waits
    # for one workflow task. Past these the caller gets Unavailable, never a hang.
    read_timeout = timedelta(seconds=5)
    command_timeout = timedelta(seconds=15)

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

    @cached_property
    def directory(self) -> Directory:
        """The people who may act: every command for a person asks it before anything is
        sent to Temporal."""
        return Directory(self.ledger, self._known_queue)

    def pack(self) -> PolicyPack:
        return self._pack.get()

    def _known_queue(self, queue: str | None) -> None:
        queues = self.pack().queues
        if queue is not None and queue not in queues:
            raise InvalidInput(f"unknown queue {queue!r}; known: {', '.join(sorted(queues))}")

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
        return await self._guard(file_report(self.temporal, case_id, subj, report,
                                             self.settings.task_queue), case_id)

    # -- reads ---------------------------------------------------------------------------------
    async def show(self, case_id: str) -> CaseState:
        handle = self._handle(case_id)
        return await self._guard(handle.query(ReviewWorkflow.snapshot,
                                              rpc_timeout=self.read_timeout), case_id)

    async def timeline(self, case_id: str) -> list[TimelineEvent]:
        handle = self._handle(case_id)
        return await self._guard(handle.query(ReviewWorkflow.timeline,
                                              rpc_timeout=self.read_timeout), case_id)

    def queue(self, queue: str | None = None, limit: int = 50) -> list[QueueEntry]:
        self._known_queue(queue)
        return self.ledger.queue(queue, limit=limit)

    def statements(self) -> list[dict[str, Any]]:
        return self.ledger.statements()

    # -- reviewer commands ---------------------------------------------------------------------
    async def claim(self, case_id: str, reviewer: str, lease_minutes: int = 30,
                    request_id: str | None = None) -> CaseSummary:
        req = build(ClaimRequest, reviewer=reviewer, lease_minutes=lease_minutes)
        await self._require_on_case(case_id, reviewer, Role.REVIEWER)
        return await self._send_claim(case_id, req, request_id)

    async def claim_next(self, queue: str, reviewer: str, lease_minutes: int = 30
                         ) -> CaseSummary:
        """Claim the most urgent unassigned case of the queue. The ledger proposes, the
        workflow disposes: a case someone else got first refuses, and the next is tried."""
        self._known_queue(queue)
        req = build(ClaimRequest, reviewer=reviewer, lease_minutes=lease_minutes)
        self.directory.require(reviewer, Role.REVIEWER, queue=queue)  # the candidates' queue
        for entry in self.ledger.queue(queue, states=("queued",), limit=CLAIM_CANDIDATES):
            try:
                return await self._send_claim(entry.case_id, req, None)
            except (Refused, NotFound):
                continue
        raise EmptyQueue(f"no unassigned case in queue {queue!r}")

    async def _send_claim(self, case_id: str, req: ClaimRequest, request_id: str | None
                          ) -> CaseSummary:
        return await self._guard(self._handle(case_id).execute_update(
            ReviewWorkflow.claim, req, id=request_id or f"claim-{uuid.uuid4()}",
            rpc_timeout=self.command_timeout), case_id)

    async def decide(self, case_id: str, reviewer: str, policy_ids: Sequence[str],
                     actions: Sequence[str | Action], reason: str,
                     request_id: str | None = None) -> CaseSummary:
        acts = parse_actions(actions)
        pack = self.pack()
        if unknown := [p for p in policy_ids if p not in pack.by_id]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(unknown)}")
        req = build(DecideRequest, reviewer=reviewer, policy_ids=list(policy_ids), actions=acts,
                    reason=reason)
        await self._require_on_case(case_id, reviewer, Role.REVIEWER)
        return await self._guard(self._handle(case_id).execute_update(
            ReviewWorkflow.decide, req, id=request_id or f"decide-{uuid.uuid4()}",
            rpc_timeout=self.command_timeout), case_id)

    async def retry(self, case_id: str, operator: str, reason: str, repin: bool = False,
                    request_id: str | None = None) -> CaseSummary:
        """Resume a case waiting in `needs_attention` once its cause is repaired; `repin`
        states its reasons from the current pack (when the fix was a pack edit)."""
        req = build(RetryRequest, operator=operator, reason=reason, repin=repin)
        self.directory.require(operator, Role.OPS)
        return await self._guard(self._handle(case_id).execute_update(
            ReviewWorkflow.retry, req, id=request_id or f"retry-{uuid.uuid4()}",
            rpc_timeout=self.command_timeout), case_id)

    async def _require_on_case(self, case_id: str, person_id: str, role: Role) -> None:
        """Refuse unless the person may act in `role` on the case's queue; who they are is
        checked before the case is looked up. The queue is set once, by screening: it is read
        from the case's ledger row (one indexed read; the workflow's `summary` query waits for
        a worker, +100-200 ms per claim and decide under the bench's load), and from that
        query only when the ledger has no row (not routed yet, unknown, or a ledger lagging or
        being rebuilt)."""
        self.directory.require(person_id, role)
        row = self.ledger.case(case_id)
        queue = row.queue if row else (await self._guard(self._handle(case_id).query(
            ReviewWorkflow.summary, rpc_timeout=self.read_timeout), case_id)).queue
        self.directory.require(person_id, role, queue=queue)

    def _handle(self, case_id: str) -> Any:
        return self.temporal.get_workflow_handle_for(ReviewWorkflow.run, case_id)

    # -- error mapping -------------------------------------------------------------------------
    async def _guard(self, call: Any, case_id: str) -> Any:
        try:
            return await call
        except WorkflowUpdateFailedError as e:
            raise _from_failure(e.cause) from None
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as e:
            raise Unavailable(f"case {case_id} cannot answer now (its workflow task may be "
                              f"failing): {str(e).splitlines()[0]}") from None
        except RPCTimeoutOrCancelledError:
            raise Unavailable(f"case {case_id} did not answer in time: is a casework worker "
                              "running? (a command sent again with the same id is safe)") from None
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                if "completed" in e.message:
                    raise Refused(f"case {case_id} is closed") from None
                raise NotFound(f"no case {case_id}") from None
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"Temporal unavailable: {e.message}") from None
            if e.status is RPCStatusCode.CANCELLED:  # our own deadline passed
                raise Unavailable(f"case {case_id} did not answer in time: is a casework "
                                  "worker running?") from None
            raise Refused(e.message) from None


def _from_failure(cause: BaseException | None) -> CaseworkError:
    err_type = getattr(cause, "type", None)
    message = getattr(cause, "message", None) or str(cause)
    cls = BY_NAME.get(err_type or "", Refused)
    return cls(message)
