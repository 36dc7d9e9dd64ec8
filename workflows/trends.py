"""A trend scan as a workflow (what the hourly Schedule starts, and `casework trends scan`):
one activity counts, tests and escalates; the scan's time is the run's, so a retried activity
(a worker killed mid-scan) scans the same window and opens nothing twice."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.trends import TrendActivities
    from domain.trend_models import ScanInput, ScanResult
    from workflows.parts.options import LONG
    from workflows.parts.trust import refuse_unsealed_start

# a scan that keeps failing gives up (the next one comes within the hour) rather than holding
# the Schedule's slot: its overlap policy skips a scan while one runs
SCAN = {**LONG, "retry_policy": RetryPolicy(maximum_attempts=5,
                                            maximum_interval=timedelta(minutes=1))}


@workflow.defn
class TrendScanWorkflow:
    @workflow.run
    async def run(self, inp: ScanInput) -> ScanResult:
        refuse_unsealed_start(inp)
        at = inp.at or workflow.now()
        return await workflow.execute_activity_method(
            TrendActivities.scan_trends, args=[at, inp.window_minutes], **SCAN,
            summary=f"scan the {inp.window_minutes or 'pack'}-minute window to {at:%H:%M}")


