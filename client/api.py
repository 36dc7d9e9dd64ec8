"""CaseworkClient: the Python surface for upstream systems and reviewers.

Cases are Temporal workflows (the truth); cross-case reads (queue, statements) come from the
case ledger. Every refusal surfaces as a typed `domain.errors` exception and changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from pydantic import ValidationError
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.escalation import escalation_id_for, open_escalation, open_request_id
from activities.intake import file_report
from client.directory import Directory
from config.connection import connect
from config.pack_file import PackFile
from config.settings import Settings
from domain.appeal.models import (
    APPEALS_QUEUE,
    AppealDecideRequest,
    AppealRef,
    AppealRequest,
    AppealState,
    Outcome,
    appeal_id_for,
    appellant_for,
    why_not_appeal,
)
from domain.core import (
    Action,
    CaseSummary,
    ClaimRequest,
    Priority,
    QueueEntry,
    Report,
    Source,
    Subject,
    SubjectKind,
    TakedownItem,
    TimelineEvent,
    case_id_for,
)
from domain.errors import (
    BY_NAME,
    CaseworkError,
    Closed,
    EmptyQueue,
    InvalidInput,
    NotFound,
    Refused,
    Unavailable,
    build,
    parse_members,
)
from domain.escalation.models import (
    AckRequest,
    EscalationSource,
    EscalationState,
    EscalationSummary,
    HandOffRequest,
    HandOffTo,
    NoteRequest,
    OpenRequest,
    ResolveRequest,
    SeverityRequest,
)
from domain.people import Role
from domain.policy import PolicyPack
from domain.review.models import (
    ApproveRequest,
    CaseRef,
    CaseState,
    DecideRequest,
    EscalateRequest,
    HoldRequest,
    RetryRequest,
)
from domain.shop_review.models import (
    ShopDecision,
    ShopOutcome,
    ShopReviewInput,
    ShopReviewRequest,
    ShopReviewSummary,
    shop_review_id,
)
from domain.takedown.models import (
    ApproveJob,
    AuthorityOrder,
    JobCommand,
    JobSummary,
    TakedownInput,
    TakedownRequest,
    parse_ids,
)
from ledger.store import Ledger
from workflows.appeal import AppealWorkflow
from workflows.escalation import EscalationWorkflow
from workflows.review import ReviewWorkflow
from workflows.shop_review import ShopReviewWorkflow
from workflows.takedown import TakedownWorkflow

CLAIM_CANDIDATES = 25


def report_id_for(subject: Subject, source: Source, reporter: str | None, text: str,
                  policy_hint: str | None) -> str:
    """A report's identity when the caller gives none: the same report sent twice is one."""
    raw = "\x1f".join([str(subject), source.value, reporter or "", text, policy_hint or ""])
    return "r-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def parse_actions(names: Sequence[str | Action]) -> list[Action]:
    return parse_members(Action, names, "action")


def parse_choice(kind: type[Any], value: Any, what: str) -> Any:
    """`value` as a member of the StrEnum `kind`, or InvalidInput naming the known ones."""
    try:
        return kind(value)
    except ValueError:
        known = "|".join(k.value for k in kind)
        raise InvalidInput(f"unknown {what} {value!r}; known: {known}") from None


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
        await self._require_on_case(case_id, reviewer)
        return await self._send_claim(case_id, req, request_id)

    async def claim_next(self, queue: str, reviewer: str, lease_minutes: int = 30
                         ) -> CaseSummary:
        """Claim the most urgent unassigned case of the queue. The ledger proposes, the
        workflow disposes: a case someone else got first refuses, and the next is tried."""
        self._known_queue(queue)
        req = build(ClaimRequest, reviewer=reviewer, lease_minutes=lease_minutes)
        self.directory.require(reviewer, _role_for(queue), queue=queue)  # the candidates' queue
        for entry in self.ledger.queue(queue, states=("queued",), limit=CLAIM_CANDIDATES):
            try:
                return await self._send_claim(entry.case_id, req, None)
            except (Refused, NotFound):
                continue
        raise EmptyQueue(f"no unassigned case in queue {queue!r}")

    async def _send_claim(self, case_id: str, req: ClaimRequest, request_id: str | None
                          ) -> CaseSummary:
        """Reviews and appeals alike: both answer the `claim` Update."""
        return await self._command(case_id, ReviewWorkflow.claim, req,
                                   request_id or f"claim-{uuid.uuid4()}")

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
        return await self._command(case_id, ReviewWorkflow.decide, req,
                                   request_id or f"decide-{uuid.uuid4()}")

    async def hold(self, case_id: str, reviewer: str, reason: str,
                   request_id: str | None = None) -> CaseSummary:
        """Put a claimed case on hold (waiting for information): its SLA clock stops."""
        await self._require_on_case(case_id, reviewer, Role.REVIEWER)
        return await self._command(case_id, ReviewWorkflow.hold, build(
            HoldRequest, reviewer=reviewer, reason=reason), request_id or f"hold-{uuid.uuid4()}")

    async def resume(self, case_id: str, reviewer: str,
                     request_id: str | None = None) -> CaseSummary:
        """Resume a held case: its SLA runs on with the time it had left."""
        await self._require_on_case(case_id, reviewer, Role.REVIEWER)
        return await self._command(case_id, ReviewWorkflow.resume, build(
            HoldRequest, reviewer=reviewer), request_id or f"resume-{uuid.uuid4()}")

    async def approve(self, case_id: str, approver: str,
                      request_id: str | None = None) -> CaseSummary:
        """The second person's approval a severe decision waits for (a senior of the
        case's queue)."""
        await self._require_on_case(case_id, approver, Role.SENIOR)
        return await self._command(case_id, ReviewWorkflow.approve, build(
            ApproveRequest, approver=approver), request_id or f"approve-{uuid.uuid4()}")

    async def _command(self, case_id: str, update: Any, req: Any, request_id: str) -> Any:
        return await self._guard(self._handle(case_id).execute_update(
            update, req, id=request_id, rpc_timeout=self.command_timeout), case_id)

    async def retry(self, case_id: str, operator: str, reason: str, repin: bool = False,
                    request_id: str | None = None) -> CaseSummary:
        """Resume a case waiting in `needs_attention` once its cause is repaired; `repin`
        states its reasons from the current pack (when the fix was a pack edit)."""
        req = build(RetryRequest, operator=operator, reason=reason, repin=repin)
        self.directory.require(operator, Role.OPS)
        return await self._command(case_id, ReviewWorkflow.retry, req,
                                   request_id or f"retry-{uuid.uuid4()}")

    async def _require_on_case(self, case_id: str, person_id: str,
                               role: Role | None = None) -> None:
        """Refuse unless the person may act in `role` on the case's queue; who they are is
        checked before the case is looked up. The queue is set once, by screening: it is read
        from the case's ledger row (one indexed read; the workflow's `summary` query waits for
        a worker, +100-200 ms per claim and decide under the bench's load), and from that
        query only when the ledger has no row (not routed yet, unknown, or a ledger lagging or
        being rebuilt)."""
        self.directory.require(person_id, role or Role.REVIEWER)
        row = self.ledger.case(case_id)
        queue = row.queue if row else (await self._guard(self._handle(case_id).query(
            ReviewWorkflow.summary, rpc_timeout=self.read_timeout), case_id)).queue
        self.directory.require(person_id, role or _role_for(queue), queue=queue)

    def _handle(self, case_id: str) -> Any:
        return self.temporal.get_workflow_handle_for(ReviewWorkflow.run, case_id)

    # -- takedown jobs ---------------------------------------------------------------------------
    async def takedown(self, lines: Sequence[str], action: str | Action, reason: str,
                       requester: str, policy_ids: Sequence[str] = (),
                       order: AuthorityOrder | None = None) -> JobSummary:
        """Start a bulk takedown (or an authority's order, entered by `requester`) over
        `KIND:ID` lines. Bad lines are reported by number and nothing starts; each subject is
        acted on once. The same job asked again (same requester, action, order and subjects) is
        the same job."""
        subjects = parse_ids(list(lines))
        [act] = parse_actions([action])
        if act is Action.NO_ACTION:
            raise InvalidInput("a takedown acts: no_action is not an action for a job")
        if unknown := [p for p in policy_ids if p not in self.pack().by_id]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(unknown)}")
        if act.restricts and not policy_ids and order is None:
            raise InvalidInput(f"name the policy a {act.value} job enforces (--policy): each "
                               "subject gets a statement of reasons citing it")
        self.directory.require(requester, Role.REVIEWER)
        req = build(TakedownRequest, action=act, policy_ids=list(policy_ids), reason=reason,
                    requester=requester, items=len(subjects),
                    kinds=sorted({s.kind for s in subjects}), order=order)
        digest = hashlib.sha256("\x1f".join(
            [requester, act.value, reason, order.reference if order else "",
             *map(str, subjects)]).encode()).hexdigest()[:16]
        job_id = f"{self.settings.case_prefix}-takedown-{digest}"
        await self._not_ended(job_id)
        self.ledger.put_takedown_items(job_id, subjects)
        try:
            await self.temporal.start_workflow(
                TakedownWorkflow.run, TakedownInput(job_id=job_id, subject=subjects[0],
                                                    request=req),
                id=job_id, task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"takedown job: {act.value} on {len(subjects)} subject(s)"
                + (f", order {order.reference} of {order.authority}" if order else ""))
        except RPCError as e:
            raise Unavailable(f"Temporal unavailable: {e.message}") from None
        return await self._planned(job_id)

    async def _not_ended(self, job_id: str) -> None:
        """The same job asked again joins it while it runs; once it has ended it is refused
        (its items are spent: a new job needs a new reason)."""
        try:
            desc = await self.temporal.get_workflow_handle(job_id).describe(
                rpc_timeout=self.read_timeout)
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                return
            raise Unavailable(f"Temporal unavailable: {e.message}") from None
        if desc.status is not WorkflowExecutionStatus.RUNNING:
            raise Refused(f"job {job_id} with these subjects and this reason has ended "
                          f"({desc.status.name.lower()}); give a new reason to act again")

    async def _planned(self, job_id: str, wait_s: float = 10) -> JobSummary:
        """The job once it has read the pack and knows whether it waits for approval (or as
        it is after `wait_s`, with no worker to plan it)."""
        deadline = asyncio.get_running_loop().time() + wait_s
        job = await self.takedown_status(job_id)
        while job.state == "planned" and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            job = await self.takedown_status(job_id)
        return job

    async def takedown_status(self, job_id: str) -> JobSummary:
        handle = self.temporal.get_workflow_handle_for(TakedownWorkflow.run, job_id)
        return await self._guard(handle.query(TakedownWorkflow.progress,
                                              rpc_timeout=self.read_timeout), job_id)

    def takedown_items(self, job_id: str) -> list[TakedownItem]:
        """Each item's outcome (done, failed with its error, skipped, reversed)."""
        return self.ledger.takedown_items(job_id)

    async def approve_takedown(self, job_id: str, approver: str) -> JobSummary:
        self.directory.require(approver, Role.SENIOR)
        return await self._command(job_id, TakedownWorkflow.approve,
                                   build(ApproveJob, approver=approver), f"approve-{job_id}")

    async def steer_takedown(self, job_id: str, command: str, requester: str) -> JobSummary:
        """pause, resume, cancel or reverse a job, as its requester."""
        self.directory.require(requester, Role.REVIEWER)
        updates = {"pause": TakedownWorkflow.pause, "resume": TakedownWorkflow.resume,
                   "cancel": TakedownWorkflow.cancel, "reverse": TakedownWorkflow.reverse}
        return await self._command(job_id, updates[command],
                                   build(JobCommand, requester=requester),
                                   f"{command}-{uuid.uuid4()}")

    # -- shop reviews ----------------------------------------------------------------------------
    async def shop_review(self, shop_id: str, requester: str, reason: str | None = None
                          ) -> ShopReviewSummary:
        """Review every listing of a shop (ops); the shop's open review is joined, not doubled.
        Returns once the review has found the shop (NotFound when the marketplace has none)."""
        self.directory.require(requester, Role.OPS)
        req = build(ShopReviewRequest, shop_id=shop_id, requester=requester, reason=reason)
        review_id = shop_review_id(req.shop_id, self.settings.case_prefix)
        try:
            await self.temporal.start_workflow(
                ShopReviewWorkflow.run, ShopReviewInput(
                    review_id=review_id, subject=Subject(kind=SubjectKind.SHOP, id=shop_id),
                    request=req),
                id=review_id, task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"shop review of shop:{req.shop_id} (asked by {requester})")
        except RPCError as e:
            raise Unavailable(f"Temporal unavailable: {e.message}") from None
        deadline = asyncio.get_running_loop().time() + 10
        review = await self.shop_status(review_id)
        while (not review.seller_id and review.state == "screening"
               and asyncio.get_running_loop().time() < deadline):
            await asyncio.sleep(0.1)
            review = await self.shop_status(review_id)
        if review.state == "abandoned":
            raise NotFound(f"the marketplace has no shop {shop_id!r}")
        return review

    async def shop_status(self, review_id: str) -> ShopReviewSummary:
        handle = self.temporal.get_workflow_handle_for(ShopReviewWorkflow.run, review_id)
        return await self._guard(handle.query(ShopReviewWorkflow.progress,
                                              rpc_timeout=self.read_timeout), review_id)

    async def decide_shop(self, review_id: str, decider: str, outcome: str, reason: str,
                          policy_ids: Sequence[str] = ()) -> ShopReviewSummary:
        """The shop-level decision, by a senior who did not ask for the review."""
        self.directory.require(decider, Role.SENIOR)
        [how] = parse_members(ShopOutcome, [outcome], "outcome")
        if unknown := [p for p in policy_ids if p not in self.pack().by_id]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(unknown)}")
        return await self._command(review_id, ShopReviewWorkflow.decide, build(
            ShopDecision, decider=decider, outcome=how, reason=reason,
            policy_ids=list(policy_ids)), f"decide-{uuid.uuid4()}")

    # -- appeals ---------------------------------------------------------------------------------
    async def file_appeal(self, case_id: str, text: str = "", appellant: str | None = None
                          ) -> AppealRef:
        """A complaint against the case's decision. An open case (a restriction in its appeal
        window) checks and starts it itself; a closed one (a reporter's complaint against
        `no_action`, or a window that ended) is checked here against its final state."""
        req = build(AppealRequest, appellant=appellant, text=text)
        same = hashlib.sha256(f"{req.appellant}\x1f{req.text}".encode()).hexdigest()[:24]
        try:  # the same complaint sent again is answered once
            return await self._command(case_id, ReviewWorkflow.file_appeal, req,
                                       f"appeal-{same}")
        except (Closed, NotFound):  # the server says either of an Update to a closed case
            pass
        case: CaseState = await self._guard(self.temporal.get_workflow_handle(
            case_id, result_type=CaseState).result(follow_runs=False), case_id)
        who = appellant_for(req.appellant, case.facts.seller_id if case.facts else None,
                            case.reporters())
        if reason := why_not_appeal(
                appellant=who, at=datetime.now(UTC), decision=case.decision,
                enforcement=[e for e in case.enforcement if e.action.restricts],
                seller_id=case.facts.seller_id if case.facts else None,
                reporters=case.reporters(), notice_delivered_at=case.notice_delivered_at,
                closed_at=case.closed_at, appealed=case.appeal is not None):
            raise Refused(reason)
        appeal_id = appeal_id_for(case.case_uid)
        try:
            await self.temporal.start_workflow(
                AppealWorkflow.run, case.appeal_input(who, req.text), id=appeal_id,
                task_queue=self.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=f"appeal against {case_id}'s decision on {case.subject}")
        except WorkflowAlreadyStartedError:
            raise Refused("this decision has been appealed already (one appeal per decision)"
                          ) from None
        except RPCError as e:
            raise Unavailable(f"Temporal unavailable: {e.message}") from None
        return AppealRef(appeal_id=appeal_id, state="filed", review_case_id=case_id,
                         appellant=who)

    async def appeal(self, appeal_id: str) -> AppealState:
        handle = self.temporal.get_workflow_handle_for(AppealWorkflow.run, appeal_id)
        return await self._guard(handle.query(AppealWorkflow.snapshot,
                                              rpc_timeout=self.read_timeout), appeal_id)

    async def decide_appeal(self, appeal_id: str, reviewer: str, outcome: str,
                            actions: Sequence[str | Action] = (), policy_ids: Sequence[str] = (),
                            reason: str = "", request_id: str | None = None) -> CaseSummary:
        try:
            verdict = Outcome(outcome)
        except ValueError:
            known = ", ".join(o.value for o in Outcome)
            raise InvalidInput(f"unknown outcome {outcome!r}; known: {known}") from None
        req = build(AppealDecideRequest, reviewer=reviewer, outcome=verdict,
                    actions=parse_actions(actions), policy_ids=list(policy_ids), reason=reason)
        await self._require_on_case(appeal_id, reviewer, Role.APPEALS)
        return await self._command(appeal_id, AppealWorkflow.decide, req,
                                   request_id or f"appeal-decide-{uuid.uuid4()}")
    # -- escalations ---------------------------------------------------------------------------
    async def open_escalation(self, subject: Subject | str, source: EscalationSource | str,
                              reason: str, severity: Priority | str,
                              opened_by: str | None = None, review_case_id: str | None = None,
                              owner: str | None = None, request_id: str | None = None
                              ) -> EscalationSummary:
        """Open an escalation (from outside, or about a review case); the same subject, source
        and request id (by default derived from the reason) open it once."""
        subj = Subject.parse(subject) if isinstance(subject, str) else subject
        src = parse_choice(EscalationSource, source, "source")
        if src.from_a_case and review_case_id is None:
            raise InvalidInput(f"a {src.value} escalation is opened from its review case")
        req = build(OpenRequest, subject=subj, source=src, reason=reason,
                    severity=parse_choice(Priority, severity, "severity"),
                    opened_by=opened_by or src.value, review_case_id=review_case_id,
                    owner=owner, request_id=request_id or open_request_id(reason, review_case_id))
        prefix = self.settings.case_prefix
        return await self._guard(open_escalation(self.temporal, req, self.settings.task_queue,
                                                 prefix), escalation_id_for(prefix, req))

    async def escalate(self, case_id: str, reviewer: str, reason: str, severity: Priority | str,
                       request_id: str | None = None) -> EscalationSummary:
        """Take review case `case_id` to an escalation owner: the case waits in `escalated`
        (its SLA paused) for the resolution it then carries out."""
        req = build(EscalateRequest, reviewer=reviewer, reason=reason,
                    severity=parse_choice(Priority, severity, "severity"))
        await self._require_on_case(case_id, reviewer, Role.REVIEWER)
        return await self._command(case_id, ReviewWorkflow.escalate, req,
                                   request_id or f"escalate-{uuid.uuid4()}")

    async def show_escalation(self, escalation_id: str) -> EscalationState:
        return await self._guard(self._escalation(escalation_id).query(
            EscalationWorkflow.snapshot, rpc_timeout=self.read_timeout), escalation_id)

    async def acknowledge_escalation(self, escalation_id: str, owner: str,
                                     request_id: str | None = None) -> EscalationSummary:
        return await self._escalation_command(escalation_id, EscalationWorkflow.acknowledge,
                                              build(AckRequest, owner=owner), request_id)

    async def note_escalation(self, escalation_id: str, owner: str, text: str,
                              request_id: str | None = None) -> EscalationSummary:
        return await self._escalation_command(escalation_id, EscalationWorkflow.add_note,
                                              build(NoteRequest, owner=owner, text=text),
                                              request_id)

    async def set_escalation_severity(self, escalation_id: str, owner: str,
                                      severity: Priority | str, reason: str,
                                      request_id: str | None = None) -> EscalationSummary:
        req = build(SeverityRequest, owner=owner, reason=reason,
                    severity=parse_choice(Priority, severity, "severity"))
        return await self._escalation_command(escalation_id, EscalationWorkflow.change_severity,
                                              req, request_id)

    async def resolve_escalation(self, escalation_id: str, owner: str, reason: str,
                                 actions: Sequence[str | Action] = (),
                                 policy_ids: Sequence[str] = (),
                                 request_id: str | None = None) -> EscalationSummary:
        """Resolve with the decision the review case carries out (none: back to its queue)."""
        pack = self.pack()
        if unknown := [p for p in policy_ids if p not in pack.by_id]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(unknown)}")
        req = build(ResolveRequest, owner=owner, reason=reason, actions=parse_actions(actions),
                    policy_ids=list(policy_ids))
        return await self._escalation_command(escalation_id, EscalationWorkflow.resolve, req,
                                              request_id)

    async def hand_off_escalation(self, escalation_id: str, owner: str,
                                  to: HandOffTo | str, reason: str,
                                  request_id: str | None = None) -> EscalationSummary:
        req = build(HandOffRequest, owner=owner, reason=reason,
                    to=parse_choice(HandOffTo, to, "hand-off"))
        return await self._escalation_command(escalation_id, EscalationWorkflow.hand_off, req,
                                              request_id)

    def _escalation(self, escalation_id: str) -> Any:
        return self.temporal.get_workflow_handle_for(EscalationWorkflow.run, escalation_id)

    async def _escalation_command(self, escalation_id: str, update: Any, req: Any,
                                  request_id: str | None) -> EscalationSummary:
        """Escalation owners act on escalations (the workflow checks who owns which one)."""
        self.directory.require(req.owner, Role.ESCALATION_OWNER)
        return await self._command(escalation_id, update, req,
                                   request_id or f"{update.__name__}-{uuid.uuid4()}")

    # -- error mapping -------------------------------------------------------------------------
    async def _guard(self, call: Any, case_id: str) -> Any:
        try:
            return await call
        except WorkflowUpdateFailedError as e:
            raise _from_failure(e.cause) from None
        except ValidationError:  # the id names a record of another lifecycle
            raise NotFound(f"no record {case_id} of this kind") from None
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as e:
            raise Unavailable(f"case {case_id} cannot answer now (its workflow task may be "
                              f"failing): {str(e).splitlines()[0]}") from None
        except RPCTimeoutOrCancelledError:
            raise Unavailable(f"case {case_id} did not answer in time: is a casework worker "
                              "running? (a command sent again with the same id is safe)") from None
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                if "completed" in e.message:
                    raise Closed(f"case {case_id} is closed") from None
                raise NotFound(f"no case {case_id}") from None
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"Temporal unavailable: {e.message}") from None
            if e.status is RPCStatusCode.CANCELLED:  # our own deadline passed
                raise Unavailable(f"case {case_id} did not answer in time: is a casework "
                                  "worker running?") from None
            raise Refused(e.message) from None


def _role_for(queue: str) -> Role:
    """Who works a queue: appeals are for the appeals role, the rest for reviewers."""
    return Role.APPEALS if queue == APPEALS_QUEUE else Role.REVIEWER


def _from_failure(cause: BaseException | None) -> CaseworkError:
    err_type = getattr(cause, "type", None)
    message = getattr(cause, "message", None) or str(cause)
    cls = BY_NAME.get(err_type or "", Refused)
    return cls(message)
