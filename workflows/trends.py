"""A trend scan as a workflow (what the hourly Schedule starts, and `casework trends scan`):
one activity counts, tests and escalates; the scan's time is the run's, so a retried activity
(a worker killed mid-scan) scans the same window and opens nothing twice."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.trends import TrendActivities
    from domain.trend_models import ScanInput, ScanResult
    from workflows.parts.options import LONG
    from workflows.parts.trust import refuse_unsealed_start


@workflow.defn
class TrendScanWorkflow:
    @workflow.run
    async def run(self, inp: ScanInput) -> ScanResult:
        refuse_unsealed_start(inp)
        at = inp.at or workflow.now()
        return await workflow.execute_activity_method(
            TrendActivities.scan_trends, args=[at, inp.window_minutes], **LONG,
            summary=f"scan the {inp.window_minutes or 'pack'}-minute window to {at:%H:%M}")


