"""The baselines: a case's Temporal traffic with no domain logic (bench/case_throughput.py);
a bulk job's count of activities with no-op bodies (bench/bulk_takedown.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

# What one case costs, read from its history, in its order: screen (activity) + ledger write;
# claim and decide (Updates) with a ledger write each; a ledger write (enforcing); apply
# (activity) + ledger write (notifying); statement and two notices (activities) + ledger write
# (appealable). Intake is an Update too: 5 activities, 6 local activities, 3 Updates.
_OPTS = {"start_to_close_timeout": timedelta(seconds=30)}
_finished: list[str] = []


@activity.defn
def noop(step: str) -> str:
    if step == "last":
        _finished.append(step)
    return step


def done() -> int:
    return len(_finished)


@workflow.defn
class BareWorkflow:
    def __init__(self) -> None:
        self.step = 0
        self.screened = False

    @workflow.run
    async def run(self, arg: str) -> None:
        await workflow.execute_activity(noop, "screen", **_OPTS)
        await workflow.execute_local_activity(noop, "ledger", **_OPTS)
        self.screened = True
        await workflow.wait_condition(lambda: self.step == 2)
        await workflow.execute_local_activity(noop, "ledger", **_OPTS)
        await workflow.execute_activity(noop, "apply", **_OPTS)
        await workflow.execute_local_activity(noop, "ledger", **_OPTS)
        for step in ("statement", "notice", "notice"):
            await workflow.execute_activity(noop, step, **_OPTS)
        await workflow.execute_local_activity(noop, "last", **_OPTS)
        await workflow.wait_condition(lambda: False)  # stays open, like an appealable case

    @workflow.update
    async def step_update(self, name: str) -> str:
        if name == "open":  # intake answers once screened, without a ledger write of its own
            await workflow.wait_condition(lambda: self.screened)
        else:
            self.step += 1
            await workflow.execute_local_activity(noop, "ledger", **_OPTS)
        return name


@activity.defn
def act_on_item(seq: int) -> int:
    return seq


@workflow.defn
class BareBulkWorkflow:
    """N no-op activities, `batch` at a time; continues as new before its history grows."""

    @workflow.run
    async def run(self, n: int, batch: int, done: int = 0) -> int:
        while done < n:
            if workflow.info().get_current_history_length() > 5_000:
                workflow.continue_as_new(args=[n, batch, done])
            size = min(batch, n - done)
            await asyncio.gather(*(workflow.execute_activity(
                act_on_item, done + i, start_to_close_timeout=timedelta(seconds=60))
                for i in range(size)))
            done += size
        return done
