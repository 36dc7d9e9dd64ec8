"""The baseline of bench/case_throughput.py: a case's Temporal traffic with no domain logic."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

# What one case costs, counted from its history: regular activities (screen, apply, statement,
# two notifications), local activities (7 ledger writes in a case, 8 here) and Updates
# (intake, claim, decide).
ACTIVITIES, LOCAL_ACTIVITIES = 5, 8
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

    @workflow.run
    async def run(self, arg: str) -> None:
        opts = {"start_to_close_timeout": timedelta(seconds=30)}
        await workflow.execute_activity(noop, "screen", **opts)
        await workflow.execute_local_activity(noop, "ledger", **opts)
        await workflow.wait_condition(lambda: self.step == 2)
        for i in range(ACTIVITIES - 1):
            await workflow.execute_activity(noop, "last" if i == ACTIVITIES - 2 else "a", **opts)
            await workflow.execute_local_activity(noop, "ledger", **opts)
        await workflow.wait_condition(lambda: False)  # stays open, like an appealable case

    @workflow.update
    async def step_update(self, name: str) -> str:
        self.step += name != "open"
        await workflow.execute_local_activity(noop, "ledger",
                                              start_to_close_timeout=timedelta(seconds=30))
        return name
