"""Bulk work through the client: takedown jobs (and authority orders) and shop reviews."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from client.base import ClientBase, parse_actions, until
from domain.authority import JOB_STARTERS
from domain.core import Action, Subject, SubjectKind, TakedownItem
from domain.errors import InvalidInput, NotFound, Refused, Unavailable, build, parse_members
from domain.people import Role
from domain.shop_review.commands import SHOP_COMMANDS
from domain.shop_review.lifecycle import SHOP_REVIEW, ShopStage
from domain.shop_review.models import (
    ShopOutcome,
    ShopReviewInput,
    ShopReviewRequest,
    ShopReviewSummary,
    shop_review_id,
)
from domain.takedown.commands import TAKEDOWN_COMMANDS
from domain.takedown.lifecycle import TAKEDOWN, JobStage
from domain.takedown.models import (
    AuthorityOrder,
    JobSummary,
    TakedownInput,
    TakedownRequest,
    parse_ids,
)
from workflows.shop_review import ShopReviewWorkflow
from workflows.takedown import TakedownWorkflow

STEERING = ("pause", "resume", "cancel", "reverse")  # a requester's commands on their job


class Jobs(ClientBase):
    async def takedown(self, lines: Sequence[str], action: str | Action, reason: str,
                       requester: str, policy_ids: Sequence[str] = (),
                       order: AuthorityOrder | None = None, again: bool = False) -> JobSummary:
        """Start a bulk takedown (or an authority's order, entered by `requester`) over
        `KIND:ID` lines. Bad lines are reported by number and nothing starts; each subject is
        acted on once. The same job asked again (same requester, action, order and subjects) is
        the same job while it runs, and refused once it has ended, unless it is the same
        request sent `again` (a retry): that answers the job as it is now."""
        subjects = parse_ids(list(lines))
        [act] = parse_actions([action])
        if act is Action.NO_ACTION:
            raise InvalidInput("a takedown acts: no_action is not an action for a job")
        self.known_policies(policy_ids)
        if act.restricts and not policy_ids and order is None:
            raise InvalidInput(f"name the policy a {act.value} job enforces (--policy): each "
                               "subject gets a statement of reasons citing it")
        person = self.directory.require(requester, JOB_STARTERS, fresh=True)
        req = build(TakedownRequest, action=act, policy_ids=list(policy_ids), reason=reason,
                    requester=requester, items=len(subjects),
                    kinds=sorted({s.kind for s in subjects}), order=order,
                    issued_at=datetime.now(UTC))
        digest = hashlib.sha256("\x1f".join(
            [requester, act.value, reason, order.reference if order else "",
             *map(str, subjects)]).encode()).hexdigest()[:16]
        job_id = f"{self.settings.case_prefix}-takedown-{digest}"
        status = await self._status(job_id)
        if status not in (None, WorkflowExecutionStatus.RUNNING):
            if again:  # the same request again: its job as it is now
                return await self.takedown_status(job_id)
            raise Refused(f"job {job_id} with these subjects and this reason has ended "
                          f"({status.name.lower()}); give a new reason to act again")
        self.ledger.put_takedown_items(job_id, subjects, requester)
        req.as_person(person, job_id, datetime.now(UTC), uuid.uuid4().hex)
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

    async def _status(self, record_id: str) -> WorkflowExecutionStatus | None:
        try:
            desc = await self.temporal.get_workflow_handle(record_id).describe(
                rpc_timeout=self.read_timeout)
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                return None
            raise Unavailable(f"Temporal unavailable: {e.message}") from None
        return desc.status

    async def _started(self, record_id: str) -> bool:
        return await self._status(record_id) is not None

    async def _planned(self, job_id: str, wait_s: float = 10) -> JobSummary:
        """The job once it has read the pack and knows whether it waits for approval (or as
        it is after `wait_s`, with no worker to plan it)."""
        job = await until(lambda: self.takedown_status(job_id),
                          lambda j: j.state != TAKEDOWN.initial, wait_s)
        if job.state == JobStage.REFUSED:
            raise Refused(f"job {job_id} was refused: {job.refusal}")
        return job

    async def takedown_status(self, job_id: str) -> JobSummary:
        return await self.ask(job_id, TakedownWorkflow.progress)  # type: ignore[no-any-return]

    def takedown_items(self, job_id: str) -> list[TakedownItem]:
        """Each item's outcome (done, failed with its error, skipped, reversed)."""
        return self.ledger.takedown_items(job_id)

    async def approve_takedown(self, job_id: str, approver: str,
                               request_id: str | None = None) -> JobSummary:
        """A job's second person: a senior who neither asked for it nor decided it."""
        return await self.run(TAKEDOWN_COMMANDS["approve"], job_id, approver, {}, request_id)

    async def steer_takedown(self, job_id: str, command: str, requester: str,
                             request_id: str | None = None) -> JobSummary:
        """pause, resume, cancel or reverse a job, as its requester."""
        if command not in STEERING:
            raise InvalidInput(f"unknown job command {command!r}; known: {', '.join(STEERING)}")
        return await self.run(TAKEDOWN_COMMANDS[command], job_id, requester, {}, request_id)

    # -- shop reviews ----------------------------------------------------------------------------
    async def shop_review(self, shop_id: str, requester: str, reason: str | None = None,
                          again: bool = False) -> ShopReviewSummary:
        """Review every listing of a shop (ops); the shop's open review is joined, not doubled,
        and an ended one is followed by a new one. Returns once the review has found the shop
        (NotFound when the marketplace has none). The same request sent `again` (a retry)
        answers the review its first start made."""
        person = self.directory.require(requester, Role.OPS, fresh=True)
        req = build(ShopReviewRequest, shop_id=shop_id, requester=requester, reason=reason,
                    issued_at=datetime.now(UTC))
        review_id = shop_review_id(req.shop_id, self.settings.case_prefix)
        if not again or not await self._started(review_id):
            req.as_person(person, review_id, datetime.now(UTC), uuid.uuid4().hex)
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
        review = await until(lambda: self.shop_status(review_id),
                             lambda r: bool(r.seller_id) or r.state != SHOP_REVIEW.initial)
        if review.refusal:
            raise Refused(f"shop review {review_id} was refused: {review.refusal}")
        if review.state == ShopStage.ABANDONED:
            raise NotFound(f"the marketplace has no shop {shop_id!r}")
        return review

    async def shop_status(self, review_id: str) -> ShopReviewSummary:
        return await self.ask(review_id, ShopReviewWorkflow.progress)  # type: ignore[no-any-return]

    async def decide_shop(self, review_id: str, decider: str, outcome: str, reason: str,
                          policy_ids: Sequence[str] = (),
                          request_id: str | None = None) -> ShopReviewSummary:
        """The shop-level decision, by a senior who did not ask for the review."""
        [how] = parse_members(ShopOutcome, [outcome], "outcome")
        return await self.run(SHOP_COMMANDS["decide"], review_id, decider, {
            "outcome": how, "reason": reason, "policy_ids": list(policy_ids)}, request_id)
