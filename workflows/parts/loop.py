"""The state-dispatch loop every lifecycle workflow runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from temporalio import workflow

KEEP_EVENTS = 200  # timeline events a continued-as-new run carries (the ledger keeps them all)


async def run_states(handlers: object, record: Any, final: Collection[str],
                     waiting: Collection[str], settled: Callable[[], Awaitable[None]],
                     carry: Callable[[Any], Any], max_events: int | None = None) -> None:
    """Run `handlers._in_<state>()` until a final state. While waiting, once Temporal suggests
    it (or the history holds `max_events`), continue as new with `carry(record)` (the record
    with its last KEEP_EVENTS events) once `settled`: the next run dispatches on the state it
    carries."""
    while record.state not in final:
        await getattr(handlers, f"_in_{record.state}")()
        info = workflow.info()
        long = max_events is not None and info.get_current_history_length() >= max_events
        if record.state in waiting and (long or info.is_continue_as_new_suggested()):
            await settled()
            trimmed = record.model_copy(update={"timeline": record.timeline[-KEEP_EVENTS:]})
            workflow.continue_as_new(carry(trimmed))
