"""The stuck rules over ledger rows, kind by kind, and the healthy records they leave alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.core import Priority, QueueEntry, Subject
from domain.errors import InvalidInput
from domain.lifecycles import LIFECYCLES
from domain.ops import StuckKind, scoped, stuck_in_ledger, watched
from domain.policy import OpsConfig

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CFG = OpsConfig()


def _row(state: str, lifecycle: str = "review", since_h: float = 0.1, **fields: Any
         ) -> QueueEntry:
    since = NOW - timedelta(hours=since_h)
    base: dict[str, Any] = dict(
        lifecycle=lifecycle, case_uid="u-1", case_id="c-1", state=state, queue="ip",
        priority=Priority.P2, assignee=None, lease_expires_at=None,
        sla_deadline=NOW + timedelta(hours=10), sla_breached=False,
        subject=Subject.parse("listing:L-1"), policy_ids=[], opened_at=since,
        updated_at=since, state_since=since)
    return QueueEntry(**{**base, **fields})


@pytest.mark.parametrize(("row", "kind", "suggested"), [
    (_row("needs_attention"), StuckKind.NEEDS_ATTENTION, "casework case retry c-1"),
    (_row("queued", sla_breached=True), StuckKind.SLA_BREACHED_UNOWNED,
     "casework ops reassign c-1 --to REVIEWER"),
    (_row("in_review", assignee="bob", lease_expires_at=NOW - timedelta(minutes=30)),
     StuckKind.CLAIM_LAPSED, "casework ops workers"),
    (_row("in_review", since_h=9, assignee="bob", lease_expires_at=NOW + timedelta(minutes=5)),
     StuckKind.CLAIM_TOO_LONG, "casework ops release c-1"),
    (_row("awaiting_approval", sla_deadline=NOW - timedelta(hours=1)), StuckKind.OVERDUE,
     "casework case approve c-1  (by a senior who took no part)"),
    (_row("on_hold", assignee="bob", sla_deadline=NOW - timedelta(hours=1)), StuckKind.OVERDUE,
     "casework case resume c-1  (by bob)"),
    (_row("open", lifecycle="escalation", sla_deadline=NOW - timedelta(hours=1)),
     StuckKind.OVERDUE, "casework escalation ack c-1  (by an escalation owner)"),
    (_row("awaiting_decision", lifecycle="shop_review", sla_deadline=NOW - timedelta(hours=1)),
     StuckKind.OVERDUE, "casework shop decide c-1 --outcome OUTCOME"),
    (_row("awaiting_approval", lifecycle="appeal", sla_deadline=NOW - timedelta(hours=1)),
     StuckKind.OVERDUE, "casework appeal approve c-1  (by a senior who took no part)"),
    (_row("pending_approval", lifecycle="takedown", sla_deadline=NOW - timedelta(hours=1)),
     StuckKind.OVERDUE, "casework takedown approve c-1  (by a senior who took no part)"),
    (_row("paused", lifecycle="takedown", since_h=25), StuckKind.JOB_PAUSED,
     "casework takedown resume c-1  (by its requester)"),
    (_row("screening", since_h=2), StuckKind.IN_STATE_TOO_LONG, "casework ops explain c-1"),
    (_row("upheld", lifecycle="appeal", since_h=2), StuckKind.IN_STATE_TOO_LONG,
     "casework ops explain c-1"),
], ids=lambda v: v.value if isinstance(v, StuckKind) else None)
def test_each_kind_with_its_repair(row: QueueEntry, kind: StuckKind, suggested: str) -> None:
    [found] = stuck_in_ledger(row, NOW, CFG)
    assert found.kind is kind and found.suggested.startswith(suggested) and found.reason


@pytest.mark.parametrize("row", [
    _row("appealable", since_h=24 * 90),  # the appeal window: six months at rest
    _row("completed", lifecycle="takedown", since_h=24 * 30),  # reversible for 184 days
    _row("queued", since_h=5),  # its SLA runs: the queue's business
    _row("in_review", assignee="bob", lease_expires_at=NOW + timedelta(minutes=5)),
    _row("screening", lifecycle="shop_review", since_h=3),  # a big shop screens for hours
    _row("enforcing", lifecycle="shop_review", since_h=10),  # waits for its jobs
    _row("on_hold", since_h=5, sla_deadline=None, sla_breached=True),  # breached once, held now
    _row("awaiting_approval", sla_breached=True),  # its own deadline still ahead
], ids=["appealable", "job-completed", "queued", "claimed", "shop-screening", "shop-enforcing",
        "held-after-breach", "approval-after-breach"])
def test_healthy_records_are_left_alone(row: QueueEntry) -> None:
    assert stuck_in_ledger(row, NOW, CFG) == []


def test_thresholds_are_per_lifecycle_and_state() -> None:
    cfg = OpsConfig(state_hours={"shop_review.screening": 0.5, "enforcing": 2})
    assert stuck_in_ledger(_row("screening", lifecycle="shop_review", since_h=1), NOW, cfg)
    assert not stuck_in_ledger(_row("screening", since_h=1), NOW, cfg)  # reviews: not named
    assert stuck_in_ledger(_row("enforcing", since_h=3), NOW, cfg)  # a bare state: everyone


def test_the_scan_reads_every_row_a_rule_can_find_stuck() -> None:
    """Ops' scan reads only the rows in `watched` states (and the breached ones nobody holds):
    in every other state of every lifecycle, no row is stuck however long it waits."""
    cfg = OpsConfig(state_hours={"shop_review.screening": 0.5, "enforcing": 2})
    late = NOW - timedelta(days=400)
    for name, lifecycle in LIFECYCLES.items():
        for state in lifecycle.states:
            if state in watched(cfg):
                continue
            for held in (None, "bob"):
                row = _row(state, lifecycle=name, since_h=24 * 400, assignee=held,
                           lease_expires_at=late, sla_deadline=late, sla_breached=held is not None)
                assert stuck_in_ledger(row, NOW, cfg) == [], (name, state, held)


@pytest.mark.parametrize(("query", "refused"), [
    ("CaseState = 'queued'", None),
    ("CaseQueue = 'ip' AND (CasePriority = 'P0' OR CasePriority = 'P1')", None),
    ("CaseQueue = 'it''s (odd)'", None),  # quotes hide their parentheses
    # the audit's reproduction: it selected other teams' workflows for repair
    ("WorkflowId = 'nope') OR (TaskQueue != 'casework'", "closes a parenthesis"),
    ("/* ( */ 1 = 1 ) OR (TaskQueue != 'x' /* ) */", "comments"),
    ("CaseState = 'queued' -- ) OR (1 = 1", "comments"),
    ("(CaseState = 'queued'", "unclosed"),
    ("CaseState = 'queued", "unclosed"),
    ("  ", "empty"),
])
def test_an_ops_query_selects_only_within_caseworks_task_queue(query: str,
                                                              refused: str | None) -> None:
    if refused is None:
        assert scoped("casework", query) == f"TaskQueue = 'casework' AND ({query})"
    else:
        with pytest.raises(InvalidInput, match=refused):
            scoped("casework", query)
