"""The work records settle, kept for the reports: decisions, QA checks, appeal outcomes and
calibration answers (written with the record's ledger row, in its transaction), and what a
report adds up from them: SQL aggregates over indexed tables, never history reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from domain.outcomes import (
    AppealOutcome,
    CalibrationOutcome,
    DecisionOutcome,
    Outcome,
    QaOutcome,
)
from domain.reports import ReportQuery, Tallies
from ledger.engines import Cursor, Store, dt, iso

# the tables rebuilt from the workflows (`casework ledger rebuild` clears them first)
DERIVED = (
    ("decisions", "case_uid, case_id, queue, decider, automated, label, actions, claimed_at, "
                  "decided_at, handling_s, breached", "case_uid"),
    ("qa_results", "case_uid, review_case_uid, checker, label, actions, same_actions, "
                   "same_policy, checked_at, adjudicator, final_label, final_actions, "
                   "final_agrees, closed_at", "case_uid"),
    ("appeal_results", "case_uid, review_case_uid, outcome, label, decided_at", "case_uid"),
)


def _upsert(table: str, columns: str, key: str) -> str:
    names = columns.split(", ")
    sets = ", ".join(f"{c} = excluded.{c}" for c in names if c != key)
    return (f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {sets}")


_PUT = {table: _upsert(table, columns, key) for table, columns, key in DERIVED}
_CALIBRATION = ("UPDATE calibration_cases SET label = ?, actions = ?, correct = ?, "
                "same_policy = ?, same_actions = ?, decided_at = ? WHERE case_id = ?")


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
    elif isinstance(o, QaOutcome):
        cur.execute(_PUT["qa_results"], (
            case_uid, o.review_case_uid, o.checker, o.label, _actions(o.actions),
            _flag(o.same_actions), _flag(o.same_policy), iso(o.checked_at), o.adjudicator,
            o.final_label, _actions(o.final_actions), _flag(o.final_agrees), iso(o.closed_at)))
    elif isinstance(o, AppealOutcome):
        cur.execute(_PUT["appeal_results"],
                    (case_uid, o.review_case_uid, o.outcome, o.label, iso(o.decided_at)))
    elif isinstance(o, CalibrationOutcome):
        cur.execute(_CALIBRATION, (o.label, _actions(o.actions), int(o.correct),
                                   int(o.same_policy), int(o.same_actions), iso(o.decided_at),
                                   case_id))


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
    # decisions in the period, of the queue and reviewer asked for
    where, params = ["d.decided_at >= ?", "d.decided_at < ?"], [iso(q.since), iso(q.until)]
    if q.queue:
        where, params = [*where, "d.queue = ?"], [*params, q.queue]
    if q.reviewer:
        where, params = [*where, "d.decider = ?"], [*params, q.reviewer]
    human = " AND ".join([*where, "d.automated = 0"])
    anyone = " AND ".join(where)
    t = Tallies(now=now)

    for who, n, s, timed in cur.query(
            f"SELECT decider, COUNT(*), COALESCE(SUM(handling_s), 0), COUNT(handling_s) "
            f"FROM decisions d WHERE {human} GROUP BY decider", params):
        t.decided[who] = (int(n), float(s), int(timed))
    for who, s in cur.query(f"SELECT decider, handling_s FROM decisions d WHERE {human} "
                            f"AND handling_s IS NOT NULL", params):
        t.handling.setdefault(who, []).append(float(s))
    checked = f"{human} AND q.checked_at IS NOT NULL"
    for who, n, agreed in cur.query(
            f"SELECT d.decider, COUNT(*), SUM(q.same_actions * q.same_policy) FROM qa_results q "
            f"JOIN decisions d ON d.case_uid = q.review_case_uid WHERE {checked} "
            f"GROUP BY d.decider", params):
        t.qa[who] = (int(n), int(agreed or 0))
    for who, n, overturned in cur.query(
            f"SELECT d.decider, COUNT(*), SUM(CASE WHEN a.outcome = 'overturned' THEN 1 ELSE 0 "
            f"END) FROM appeal_results a JOIN decisions d ON d.case_uid = a.review_case_uid "
            f"WHERE {human} GROUP BY d.decider", params):
        t.appeals[who] = (int(n), int(overturned or 0))
    cal_where, cal_params = ["decided_at >= ?", "decided_at < ?"], [iso(q.since), iso(q.until)]
    for column, value in (("queue", q.queue), ("reviewer", q.reviewer)):
        if value:
            cal_where, cal_params = [*cal_where, f"{column} = ?"], [*cal_params, value]
    for who, n, correct in cur.query(
            f"SELECT reviewer, COUNT(*), SUM(correct) FROM calibration_cases WHERE "
            f"{' AND '.join(cal_where)} GROUP BY reviewer", cal_params):
        t.calibration[who] = (int(n), int(correct or 0))

    for queue, n, automated, breached in cur.query(
            f"SELECT queue, COUNT(*), SUM(automated), SUM(breached) FROM decisions d "
            f"WHERE {anyone} GROUP BY queue", params):
        t.queues[queue] = (int(n), int(automated or 0), int(breached or 0))
    marks = ", ".join("?" * len(open_states))
    for queue, n, oldest in cur.query(
            f"SELECT queue, COUNT(*), MIN(opened_at) FROM cases WHERE lifecycle = 'review' AND "
            f"state IN ({marks}){' AND queue = ?' if q.queue else ''} GROUP BY queue",
            [*open_states, *([q.queue] if q.queue else [])]):
        if not q.reviewer:
            t.backlog[queue] = (int(n), dt(oldest))
    for queue, n, agreed in cur.query(
            f"SELECT d.queue, COUNT(*), SUM(q.final_agrees) FROM qa_results q JOIN decisions d "
            f"ON d.case_uid = q.review_case_uid WHERE {anyone} AND d.automated = 1 AND "
            f"q.final_agrees IS NOT NULL GROUP BY d.queue", params):
        t.auto_checked[queue] = (int(n), int(agreed or 0))
    t.pairs = [(queue, first, second) for queue, first, second in cur.query(
        f"SELECT d.queue, d.label, q.label FROM qa_results q JOIN decisions d ON d.case_uid = "
        f"q.review_case_uid WHERE {checked}", params)]
    t.confusion = [(first, final, int(n)) for first, final, n in cur.query(
        f"SELECT d.label, COALESCE(a.label, q.final_label), COUNT(*) FROM decisions d "
        f"LEFT JOIN qa_results q ON q.review_case_uid = d.case_uid AND q.final_label IS NOT NULL "
        f"LEFT JOIN appeal_results a ON a.review_case_uid = d.case_uid "
        f"WHERE {anyone} AND (q.final_label IS NOT NULL OR a.label IS NOT NULL) "
        f"GROUP BY d.label, COALESCE(a.label, q.final_label)", params)]

    days: dict[date, list[float]] = {}

    def add(day: str, at: int, *values: Any) -> None:
        row = days.setdefault(date.fromisoformat(day), [0.0] * 8)
        for i, v in enumerate(values):
            row[at + i] += float(v or 0)

    for day, n, s, timed, breached in cur.query(
            f"SELECT substr(d.decided_at, 1, 10), COUNT(*), SUM(handling_s), COUNT(handling_s), "
            f"SUM(breached) FROM decisions d WHERE {human} GROUP BY substr(d.decided_at, 1, 10)",
            params):
        add(day, 0, n, s, timed, breached)
    for day, n, agreed in cur.query(
            f"SELECT substr(d.decided_at, 1, 10), COUNT(*), SUM(q.same_actions * q.same_policy) "
            f"FROM qa_results q JOIN decisions d ON d.case_uid = q.review_case_uid "
            f"WHERE {checked} GROUP BY substr(d.decided_at, 1, 10)", params):
        add(day, 4, n, agreed)
    for day, n, correct in cur.query(
            f"SELECT substr(decided_at, 1, 10), COUNT(*), SUM(correct) FROM calibration_cases "
            f"WHERE {' AND '.join(cal_where)} GROUP BY substr(decided_at, 1, 10)", cal_params):
        add(day, 6, n, correct)
    t.days = days
    return t
