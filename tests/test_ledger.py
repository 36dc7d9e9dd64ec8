"""The case ledger: idempotent, ordered writes and the queue index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.models import CaseState, Priority, Subject, SubjectKind, TimelineEvent
from ledger.store import Ledger

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def snapshot(n: int, revision: int = 1, priority: Priority = Priority.P2, state: str = "queued",
             sla_hours: int = 24) -> CaseState:
    return CaseState(
        case_id=f"case-listing-L-{n}", case_uid=f"uid-{n}",
        subject=Subject(kind=SubjectKind.LISTING, id=f"L-{n}"), state=state, queue="ip",
        priority=priority, sla_deadline=NOW + timedelta(hours=sla_hours), opened_at=NOW,
        revision=revision,
        timeline=[TimelineEvent(seq=i, at=NOW, actor="t", event=f"e{i}")
                  for i in range(1, revision + 1)])


def test_writes_are_idempotent_and_never_go_back(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    assert ledger.record_case(snapshot(1, revision=2))
    assert not ledger.record_case(snapshot(1, revision=2))  # retried activity
    assert not ledger.record_case(snapshot(1, revision=1, state="screening"))  # late arrival
    [row] = ledger.queue()
    assert row.state == "queued"
    assert [e.seq for e in ledger.audit("case-listing-L-1")] == [1, 2]


def test_queue_is_most_urgent_first(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.record_case(snapshot(1, priority=Priority.P3, sla_hours=1))
    ledger.record_case(snapshot(2, priority=Priority.P1, sla_hours=4))
    ledger.record_case(snapshot(3, priority=Priority.P1, sla_hours=2))
    ledger.record_case(snapshot(4, state="closed", priority=Priority.P0))
    assert [e.case_id for e in ledger.queue("ip")] == [
        "case-listing-L-3", "case-listing-L-2", "case-listing-L-1"]
    assert ledger.queue_depths() == {"ip": 3}


def test_outbox_lands_a_message_once(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    assert ledger.put_message("m1", "c1", "outbox", "a@b", "outcome", "hi")
    assert not ledger.put_message("m1", "c1", "outbox", "a@b", "outcome", "hi")
    assert len(ledger.messages("c1")) == 1
