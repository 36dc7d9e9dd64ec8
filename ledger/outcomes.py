"""The work records settle, kept for the reports: decisions, QA checks, appeal outcomes and
calibration answers (written with the record's ledger row, in its transaction), and what a
report adds up from them: SQL aggregates over indexed tables, never history reads."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from domain.appeal.models import Outcome as Verdict
from domain.outcomes import (
    AppealOutcome,
    CalibrationOutcome,
    DecisionOutcome,
    Outcome,
    QaOutcome,
)
from domain.reports import ReportQuery, Tallies
from ledger.engines import Cursor, Store, dt, iso

OVERTURNED = Verdict.OVERTURNED.value
# the tables rebuilt from the workflows (`casework ledger rebuild` clears them first)
DERIVED = (
    ("decisions", "case_uid, case_id, queue, decider, automated, label, actions, claimed_at, "
                  "decided_at, handling_s, breached", "case_uid"),
    ("qa_results", "case_uid, review_case_uid, checker, label, actions, same_actions, "
                   "same_policy, checked_at, adjudicator, final_label, final_actions, "
                   "final_agrees, closed_at", "case_uid"),
    ("appeal_results", "case_uid, review_case_uid, outcome, label, decided_at", "case_uid"),
    ("labels", "case_uid, case_id, subject_kind, subject_id, decided_at, seen", "case_uid"),
)


def _upsert(table: str, columns: str, key: str) -> str:
    names = columns.split(", ")
    sets = ", ".join(f"{c} = excluded.{c}" for c in names if c != key)
    return (f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {sets}")


_PUT = {table: _upsert(table, columns, key) for table, columns, key in DERIVED}
# a copy's answer: its row (written when it was given) filled in, or written whole (a rebuild)
_CALIBRATION = (
    "INSERT INTO calibration_cases (case_id, set_id, item_id, reviewer, queue, given_at, label, "
    "actions, correct, same_policy, same_actions, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET label = excluded.label, actions = "
    "excluded.actions, correct = excluded.correct, same_policy = excluded.same_policy, "
    "same_actions = excluded.same_actions, decided_at = excluded.decided_at")


def _actions(actions: Sequence[Any]) -> str:
    return json.dumps([a.value for a in actions])


def put_outcome(cur: Cursor, case_uid: str, case_id: str, o: Outcome) -> None:
    """Write what a record settled (in its ledger write's transaction)."""
    if isinstance(o, DecisionOutcome):
        handling = ((o.decided_at - o.claimed_at).total_seconds()
                    if o.claimed_at and o.claimed_at <= o.decided_at else None)
        cur.execute(_PUT["decisions"], (
            case_uid, case_id, o.queue, o.decider, int(o.automated), o.label,
            _actions(o.actions), iso(o.claimed_at), iso(o.decided_at), handling,
            int(o.breached)))
        if o.seen is not None:
            cur.execute(_PUT["labels"], (case_uid, case_id, o.seen.subject_kind.value,
                                         o.seen.subject_id, iso(o.decided_at),
                                         o.seen.model_dump_json()))
    elif isinstance(o, QaOutcome):
        cur.execute(_PUT["qa_results"], (
            case_uid, o.review_case_uid, o.checker, o.label, _actions(o.actions),
            _flag(o.same_actions), _flag(o.same_policy), iso(o.checked_at), o.adjudicator,
            o.final_label, _actions(o.final_actions), _flag(o.final_agrees), iso(o.closed_at)))
    elif isinstance(o, AppealOutcome):
        cur.execute(_PUT["appeal_results"],
                    (case_uid, o.review_case_uid, o.outcome, o.label, iso(o.decided_at)))
        if (verdict := o.decision()) is not None:  # the appeal reviewer's own decision
            put_outcome(cur, case_uid, case_id, verdict)
    elif isinstance(o, CalibrationOutcome):
        cur.execute(_CALIBRATION, (case_id, o.set_id, o.item_id, o.reviewer, o.queue,
                                   iso(o.decided_at), o.label, _actions(o.actions),
                                   int(o.correct), int(o.same_policy), int(o.same_actions),
                                   iso(o.decided_at)))


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


class Outcomes(Store):
    def put_outcomes(self, rows: Sequence[tuple[str, str, Outcome]]) -> None:
        """Outcomes without their records' rows, in one transaction: history brought in from
        elsewhere (the demo's, a benchmark's)."""

        def put(cur: Cursor) -> None:
            for case_uid, case_id, outcome in rows:
                put_outcome(cur, case_uid, case_id, outcome)

        self._db.transaction(put, write=True)

    def tallies(self, q: ReportQuery, open_states: Sequence[str], now: datetime) -> Tallies:
        """Everything a report adds up, in one read transaction."""

        def read(cur: Cursor) -> Tallies:
            return _tally(cur, q, open_states, now)

        return self._db.transaction(read, write=False)

    def agreement(self, decider: str, window: int) -> float | None:
        """The decider's share of agreed QA verdicts over their last `window` checks; None
        while they have fewer (drift)."""
        rows = self._read(
            "SELECT q.same_actions * q.same_policy FROM qa_results q JOIN decisions d ON "
            "d.case_uid = q.review_case_uid WHERE d.decider = ? AND q.checked_at IS NOT NULL "
            "ORDER BY q.checked_at DESC LIMIT ?", (decider, window))
        return None if len(rows) < window else sum(int(r[0]) for r in rows) / len(rows)


def _tally(cur: Cursor, q: ReportQuery, open_states: Sequence[str], now: datetime) -> Tallies:
    """Four reads: the period's decisions added up per reviewer, queue and day (one walk of
    `decisions_report_idx`, which covers it), their handling times (the same index), the QA
    checks and the appeals of those decisions (each walked from its own small table, the
    decision found by its key)."""
    where, params = ["d.decided_at >= ?", "d.decided_at < ?"], [iso(q.since), iso(q.until)]
    if q.queue:
        where, params = [*where, "d.queue = ?"], [*params, q.queue]
    if q.reviewer:
        where, params = [*where, "d.decider = ?"], [*params, q.reviewer]
    period = " AND ".join(where)
    t = Tallies(now=now)
    days: dict[date, list[float]] = {}

    def day(text: str) -> list[float]:
        return days.setdefault(date.fromisoformat(text), [0.0] * 8)

    queues: dict[str, list[int]] = {}
    for who, queue, on, automated, n, s, timed, breached in cur.query(
            f"SELECT decider, queue, substr(decided_at, 1, 10), automated, COUNT(*), "
            f"SUM(handling_s), COUNT(handling_s), SUM(breached) FROM decisions d WHERE {period} "
            f"GROUP BY decider, queue, substr(decided_at, 1, 10), automated", params):
        n, s, timed, breached = int(n), float(s or 0), int(timed), int(breached or 0)
        acc = queues.setdefault(queue, [0, 0, 0])
        acc[0], acc[1] = acc[0] + n, acc[1] + n * int(automated)
        if automated:  # never queued: no SLA of a person's to meet
            continue
        acc[2] += breached
        mine = t.decided.get(who, (0, 0.0, 0))
        t.decided[who] = (mine[0] + n, mine[1] + s, mine[2] + timed)
        row = day(on)
        row[0], row[1], row[2], row[3] = row[0] + n, row[1] + s, row[2] + timed, row[3] + breached
    t.queues = {queue: (n, automated, breached) for queue, (n, automated, breached)
                in queues.items()}
    for who, s in cur.query(f"SELECT decider, handling_s FROM decisions d WHERE {period} "
                            f"AND d.automated = 0 AND handling_s IS NOT NULL", params):
        t.handling.setdefault(who, []).append(float(s))

    auto: dict[str, list[int]] = {}
    finals: dict[str, tuple[str, str]] = {}  # a decision's first and final labels
    for uid, who, queue, on, automated, first, label, agreed, final, final_agrees in cur.query(
            f"SELECT d.case_uid, d.decider, d.queue, substr(d.decided_at, 1, 10), d.automated, "
            f"d.label, q.label, q.same_actions * q.same_policy, q.final_label, q.final_agrees "
            f"FROM qa_results q CROSS JOIN decisions d WHERE d.case_uid = q.review_case_uid "
            f"AND q.checked_at IS NOT NULL AND {period}", params):
        if final is not None:
            finals[uid] = (first, final)
        if automated:
            if final_agrees is not None:
                acc = auto.setdefault(queue, [0, 0])
                acc[0], acc[1] = acc[0] + 1, acc[1] + int(final_agrees)
            continue
        checked, ok = t.qa.get(who, (0, 0))
        t.qa[who] = (checked + 1, ok + int(agreed))
        t.pairs.append((queue, first, label))
        row = day(on)
        row[4], row[5] = row[4] + 1, row[5] + int(agreed)
    t.auto_checked = {queue: (n, ok) for queue, (n, ok) in auto.items()}
    for uid, who, automated, first, outcome, final in cur.query(
            f"SELECT d.case_uid, d.decider, d.automated, d.label, a.outcome, a.label FROM "
            f"appeal_results a CROSS JOIN decisions d WHERE d.case_uid = a.review_case_uid AND "
            f"{period}", params):
        finals[uid] = (first, final)  # the appeal's word comes after QA's
        if not automated:
            decided, overturned = t.appeals.get(who, (0, 0))
            t.appeals[who] = (decided + 1, overturned + int(outcome == OVERTURNED))
    t.confusion = [(first, final, n) for (first, final), n in Counter(finals.values()).items()]

    cal_where, cal_params = ["decided_at >= ?", "decided_at < ?"], [iso(q.since), iso(q.until)]
    for column, value in (("queue", q.queue), ("reviewer", q.reviewer)):
        if value:
            cal_where, cal_params = [*cal_where, f"{column} = ?"], [*cal_params, value]
    for who, on, n, correct in cur.query(
            f"SELECT reviewer, substr(decided_at, 1, 10), COUNT(*), SUM(correct) FROM "
            f"calibration_cases WHERE {' AND '.join(cal_where)} GROUP BY reviewer, "
            f"substr(decided_at, 1, 10)", cal_params):
        answered, right = t.calibration.get(who, (0, 0))
        t.calibration[who] = (answered + int(n), right + int(correct or 0))
        row = day(on)
        row[6], row[7] = row[6] + int(n), row[7] + int(correct or 0)
    if not q.reviewer:
        marks = ", ".join("?" * len(open_states))
        for queue, n, oldest in cur.query(
                f"SELECT queue, COUNT(*), MIN(opened_at) FROM cases WHERE lifecycle = 'review' "
                f"AND state IN ({marks}){' AND queue = ?' if q.queue else ''} AND NOT EXISTS "
                f"(SELECT 1 FROM calibration_cases k WHERE k.case_id = cases.case_id) "
                f"GROUP BY queue",
                [*open_states, *([q.queue] if q.queue else [])]):
            t.backlog[queue] = (int(n), dt(oldest))
    t.days = days
    return t
