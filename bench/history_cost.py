"""What a workflow costs in its history: events, and the commands Temporal Cloud bills as
actions (activities, timers, search-attribute upserts, Updates, signals; local activities are
counted once per workflow task that ran them), read from finished histories."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

_BILLED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
    EventType.EVENT_TYPE_TIMER_STARTED: "timers",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "upserts",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
}
_SEEN = {**_BILLED, EventType.EVENT_TYPE_TIMER_CANCELED: "timers_cancelled",
         EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow_tasks"}


async def one(client: Client, workflow_id: str) -> Counter[str]:
    """Counts for one workflow's history (its current run)."""
    counts: Counter[str] = Counter()
    local_tasks: set[int] = set()  # workflow tasks whose completion recorded a local activity
    task = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        counts["events"] += 1
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task = event.event_id
        if name := _SEEN.get(event.event_type):
            counts[name] += 1
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes.marker_name
            counts["local_activities" if marker == "core_local_activity" else "patch_markers"] += 1
            if marker == "core_local_activity":
                local_tasks.add(task)
    counts["local_activity_tasks"] = len(local_tasks)
    counts["billed"] = sum(counts[n] for n in _BILLED.values()) + len(local_tasks)
    return counts


async def per_workflow(client: Client, workflow_ids: Iterable[str]) -> dict[str, float]:
    """The mean of each count over `workflow_ids`."""
    samples = [await one(client, wid) for wid in workflow_ids]
    names = sorted({n for s in samples for n in s})
    return {n: round(statistics.fmean(s[n] for s in samples), 2) for n in names}
