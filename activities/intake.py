"""Filing a report on a case's workflow: open it or join it, answered within a bound.

One function serves the client (a report from upstream) and the activity that hands a report
arriving after a decision on to the subject's follow-up case.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from config import search_attributes
from domain.calibration import CalibrationKey
from domain.core import (
    CaseSummary,
    EnforcementResult,
    Report,
    Subject,
)
from domain.review.models import (
    CaseInput,
    CaseRef,
    ForwardRequest,
)

WORKFLOW = "ReviewWorkflow"
# The answer waits this long for screening to route a new case; a slower marketplace gets
# "accepted, still screening" instead of a hang. Acceptance itself is bounded by ACCEPT_WITHIN.
ROUTE_WITHIN = 1.0
ACCEPT_WITHIN = timedelta(seconds=10)


async def file_report(client: Client, case_id: str, subject: Subject, report: Report,
                      task_queue: str, followup_of: str | None = None, generation: int = 1,
                      in_force: list[EnforcementResult] | None = None,
                      route_within: float = ROUTE_WITHIN,
                      calibration: CalibrationKey | None = None) -> CaseRef:
    """Open the case (update-with-start, USE_EXISTING) or join it, idempotent per report key.

    Returns once the case has accepted the report (it is then in history: nothing accepted is
    lost) and either answered or `route_within` seconds have passed; in that case the answer is
    the case's state now, with outcome `accepted`. The report is sent as about `subject`: a
    case takes no report about another (a sealed report copied from another history).
    """
    report = report.model_copy(update={"subject": subject})
    start = WithStartWorkflowOperation(
        WORKFLOW, CaseInput(subject=subject, report=report, followup_of=followup_of,
                            generation=generation, in_force=in_force or [],
                            calibration=calibration),
        id=case_id, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes.at_intake(case_id, subject),
        static_summary=f"review case about {subject}"
        + (f" (follow-up of {followup_of})" if followup_of else ""),
    )
    update = await client.start_update_with_start_workflow(
        "file_report", report, start_workflow_operation=start, id=report.key,
        wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=CaseRef,
        rpc_timeout=ACCEPT_WITHIN)
    try:  # one deadline over the SDK's polls (it polls again when a poll answers empty)
        return await asyncio.wait_for(update.result(), route_within)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        handle = await start.workflow_handle()
        now = await handle.query("summary", result_type=CaseSummary,
                                 rpc_timeout=timedelta(seconds=2))
        return CaseRef(case_id=case_id, state=now.state, queue=now.queue,
                       priority=now.priority, outcome="accepted", followup_of=followup_of)


class IntakeActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def forward_report(self, req: ForwardRequest) -> CaseRef:
        """File a late report on the follow-up case; the answer names the follow-up."""
        activity.heartbeat(req.followup_id)
        try:
            ref = await file_report(self.client, req.followup_id, req.subject, req.report,
                                    req.task_queue, followup_of=req.from_case_id,
                                    generation=req.generation, in_force=req.in_force,
                                    route_within=ROUTE_WITHIN / 2)
        except WorkflowUpdateFailedError as e:  # the follow-up's validator refused it
            raise ApplicationError(f"refused by {req.followup_id}: {e.cause or e}",
                                   type="Refused", non_retryable=True) from None
        outcome = "duplicate" if ref.outcome == "duplicate" else "followup"
        return ref.model_copy(update={"outcome": outcome, "followup_of": req.from_case_id})
