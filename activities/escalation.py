"""Escalations: opening one (from outside, from a review case, or by a case's second SLA
breach), the pack's settings for it, and handing its resolution back to its review case.

`open_escalation` takes a Temporal client, so the client and workflows (through the activity of
the same name: a review case's reviewer or its SLA clock) open escalations the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import timedelta

from temporalio import activity
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from config.pack_file import PackFile
from domain.escalation.models import (
    RESOLVE_ESCALATION,
    EscalationInput,
    EscalationSetup,
    EscalationSummary,
    HandBackRequest,
    OpenRequest,
)

WORKFLOW = "EscalationWorkflow"
ANSWER_WITHIN = timedelta(seconds=15)


def open_request_id(reason: str, review_case_id: str | None = None) -> str:
    """An opening's identity when the caller gives none: the same reason twice is one."""
    raw = "\x1f".join([review_case_id or "", reason])
    return "o-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def escalation_id_for(prefix: str, req: OpenRequest) -> str:
    """`esc-<prefix>-<kind>-<subject id>-<digest of source and request id>`: one escalation per
    request, named for what it is about."""
    digest = hashlib.sha256(f"{req.source.value}\x1f{req.request_id}".encode()).hexdigest()[:10]
    return f"esc-{prefix}-{req.subject.kind.value}-{req.subject.id}-{digest}"


async def open_escalation(client: Client, req: OpenRequest, task_queue: str, prefix: str
                          ) -> EscalationSummary:
    """Open the escalation (update-with-start, USE_EXISTING) and answer with it as it is now.
    The same request again, while it runs or after it closed, answers the same escalation."""
    escalation_id = escalation_id_for(prefix, req)
    start = WithStartWorkflowOperation(
        WORKFLOW, EscalationInput(request=req), id=escalation_id, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=f"{req.source.value} escalation about {req.subject} ({req.severity.value})")
    try:
        return await client.execute_update_with_start_workflow(
            "opened", start_workflow_operation=start, result_type=EscalationSummary,
            rpc_timeout=ANSWER_WITHIN)
    except WorkflowAlreadyStartedError:  # closed already: the id is not reused
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start.workflow_handle()  # takes the failure the SDK also keeps there
        return await client.get_workflow_handle(escalation_id).query(
            "summary", result_type=EscalationSummary, rpc_timeout=ANSWER_WITHIN)


class EscalationActivities:
    def __init__(self, client: Client, pack: PackFile, task_queue: str, prefix: str) -> None:
        self.client = client
        self.pack = pack
        self.task_queue = task_queue
        self.prefix = prefix

    @activity.defn
    def escalation_setup(self, escalation_id: str) -> EscalationSetup:
        """The pack's escalation settings, read once when escalation `escalation_id` starts."""
        return self.pack.get().escalation_setup()

    @activity.defn
    async def open_escalation(self, req: OpenRequest) -> EscalationSummary:
        """Open an escalation from a workflow (a review case's reviewer or its SLA clock)."""
        return await open_escalation(self.client, req, self.task_queue, self.prefix)

    @activity.defn
    async def hand_back(self, req: HandBackRequest) -> None:
        """Execute the review case's `resolve_escalation` Update with the resolution, once (the
        Update id is the escalation's). A refusal or a case that has ended is final."""
        activity.heartbeat(req.review_case_id)
        handle = self.client.get_workflow_handle(req.review_case_id)
        try:
            await handle.execute_update(RESOLVE_ESCALATION, req.hand_back,
                                        id=f"{req.hand_back.escalation_id}-hand-back",
                                        rpc_timeout=ANSWER_WITHIN)
        except WorkflowUpdateFailedError as e:
            why = getattr(e.cause, "message", None) or str(e.cause or e)
            raise ApplicationError(f"{req.review_case_id} refused the decision: {why}",
                                   type="Refused", non_retryable=True) from None
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise ApplicationError(f"no running review case {req.review_case_id}",
                                   type="NotFound", non_retryable=True) from None

    def all(self) -> list[object]:
        return [self.escalation_setup, self.open_escalation, self.hand_back]
