"""What a review case on the lean path (patch `lean-case-path`) costs its history: one patch
marker, at most one search-attribute upsert per workflow task and none while the engine works
by itself, one timer per deadline (notes restart none), one ledger write per task's commits."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from client.casework import CaseworkClient
from config import search_attributes
from domain.review.commands import REVIEW_COMMANDS
from tests.helpers import eventually

E = EventType


async def _history(c: CaseworkClient, case_id: str) -> list[HistoryEvent]:
    return [e async for e in c.temporal.get_workflow_handle(case_id).fetch_history_events()]


def _per_task(events: list[HistoryEvent], kind: int) -> list[int]:
    """How many events of `kind` each workflow task's completion recorded."""
    counts: list[int] = []
    for e in events:
        if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            counts.append(0)
        elif e.event_type == kind and counts:
            counts[-1] += 1
    return counts


async def test_a_noted_claimed_decided_case_costs_its_history_little(ts: CaseworkClient,
                                                                     ts_env) -> None:
    note = REVIEW_COMMANDS["note"]
    ref = await ts.open_case("listing:L-0001", "user_report", reporter="b1", text="fake")
    await eventually(lambda: ts.show(ref.case_id), lambda s: s.state == "queued")
    for text in ("first look", "second look", "third look"):
        await ts.run(note, ref.case_id, "alice", {"text": text})
    await ts.claim(ref.case_id, "alice")
    await ts.run(note, ref.case_id, "alice", {"text": "checking the photos"})
    await ts.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica")
    await eventually(lambda: ts.show(ref.case_id), lambda s: s.state == "appealable")

    events = await _history(ts, ref.case_id)
    kinds = Counter(e.event_type for e in events)
    markers = [e.marker_recorded_event_attributes.marker_name for e in events
               if e.event_type == E.EVENT_TYPE_MARKER_RECORDED]
    assert markers.count("core_patch") == 1  # lean-case-path alone
    upserts = _per_task(events, E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
    assert max(upserts) == 1
    # TemporalChangeVersion, then queued, in_review, appealable: the decided-to-notifying steps
    # of one go are in the ledger, not upserted one by one; four notes upserted nothing.
    assert sum(upserts) == 4
    # the SLA, the lease, the appeal window: one timer each, the notes restarted none
    assert kinds[E.EVENT_TYPE_TIMER_STARTED] == 3
    assert kinds[E.EVENT_TYPE_TIMER_CANCELED] == 2
    # ledger writes: screened, 4 notes, the claim, decided and enforcing as one, notifying,
    # the strike, appealable
    assert markers.count("core_local_activity") == 1 + 4 + 1 + 1 + 1 + 1 + 1
    # The ledger and visibility agree on where the case rests.
    desc = await ts.temporal.get_workflow_handle(ref.case_id).describe()
    assert desc.typed_search_attributes.get(search_attributes.STATE) == "appealable"
    timeline = [e.event for e in (await ts.show(ref.case_id)).timeline]
    assert ts.ledger.case(ref.case_id).state == "appealable"
    assert {"decided", "enforcing", "notifying", "appealable"} <= set(timeline)


async def test_the_lease_and_the_sla_still_fire_on_the_lean_path(ts: CaseworkClient,
                                                                ts_env) -> None:
    note = REVIEW_COMMANDS["note"]
    ref = await ts.open_case("listing:L-0049", "user_report", reporter="b2")
    await eventually(lambda: ts.show(ref.case_id), lambda s: s.state == "queued")
    await ts.claim(ref.case_id, "bob", lease_minutes=10)
    await ts.run(note, ref.case_id, "bob", {"text": "on it"})
    await ts_env.sleep(timedelta(minutes=11))
    case = await eventually(lambda: ts.show(ref.case_id), lambda s: s.state == "queued")
    assert case.assignee is None
    await ts.run(note, ref.case_id, "bob", {"text": "back later"})
    await ts_env.sleep(timedelta(hours=25))
    case = await eventually(lambda: ts.show(ref.case_id), lambda s: s.sla_breached)
    desc = await ts.temporal.get_workflow_handle(ref.case_id).describe()
    assert desc.typed_search_attributes.get(search_attributes.SLA_BREACHED) is True
    events = await _history(ts, ref.case_id)
    assert max(_per_task(events, E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)) == 1
    fired = [e for e in events if e.event_type == E.EVENT_TYPE_TIMER_FIRED]
    assert len(fired) == 2  # the lease, then the SLA
