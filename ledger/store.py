"""The case ledger: casework's own SQL store for questions that span cases.

Workflows are the truth; activities feed the ledger idempotently (a row moves only forward in
its case's revision, an event or statement is written once by its key). The same SQL runs on
SQLite (embedded default) and PostgreSQL (`postgresql://…`, needs the `postgres` extra).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.models import (
    LedgerRecord,
    Priority,
    QueueEntry,
    Report,
    Subject,
    SubjectKind,
    TimelineEvent,
)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS cases (
        case_uid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        state TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority TEXT NOT NULL,
        priority_rank INTEGER NOT NULL,
        assignee TEXT,
        lease_expires_at TEXT,
        sla_deadline TEXT,
        sla_breached INTEGER NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        policy_ids TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS cases_queue_idx ON cases (state, queue, priority_rank, sla_deadline)",
    "CREATE INDEX IF NOT EXISTS cases_subject_idx ON cases (subject_kind, subject_id)",
    "CREATE INDEX IF NOT EXISTS cases_case_id_idx ON cases (case_id, opened_at)",
    """CREATE TABLE IF NOT EXISTS audit (
        case_uid TEXT NOT NULL,
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (case_uid, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS statements (
        puid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS overflow_reports (
        case_uid TEXT NOT NULL,
        report_key TEXT NOT NULL,
        case_id TEXT NOT NULL,
        reporter_key TEXT,
        reporter TEXT,
        body TEXT NOT NULL,
        PRIMARY KEY (case_uid, report_key)
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        message_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
]

_CASE_COLUMNS = (
    "case_uid, case_id, revision, state, queue, priority, priority_rank, assignee, lease_expires_at, "
    "sla_deadline, sla_breached, subject_kind, subject_id, policy_ids, opened_at, updated_at"
)

_UPSERT_CASE = (
    f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES ({', '.join('?' * 16)}) "
    "ON CONFLICT (case_uid) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _CASE_COLUMNS.split(", ") if c != "case_uid")
    + " WHERE cases.revision < excluded.revision"
)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Ledger:
    """Open with a URL: `sqlite:///path/to/ledger.db` or `postgresql://user@host/db`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        with self._tx() as cur:
            for stmt in SCHEMA:
                cur.execute(stmt)

    # -- connection handling -------------------------------------------------------------------
    def _connect(self) -> Any:
        if self._postgres:
            import psycopg  # optional dependency: the `postgres` extra

            return psycopg.connect(self.url)
        path = self.url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        cur = _Cursor(conn.cursor(), self._postgres)
        if not self._postgres:
            cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            conn.rollback() if self._postgres else cur.execute("ROLLBACK")
            raise
        conn.commit() if self._postgres else cur.execute("COMMIT")

    # -- writes (from activities; every one idempotent) ------------------------------------------
    def record_case(self, case: LedgerRecord) -> bool:
        """Upsert the case's queue row and append its new timeline events.

        Returns False when the ledger already holds this revision or a later one.
        """
        row = (
            case.case_uid, case.case_id, case.revision, case.state, case.queue, case.priority.value,
            case.priority.rank, case.assignee, _iso(case.lease_expires_at),
            _iso(case.sla_deadline), int(case.sla_breached), case.subject.kind.value,
            case.subject.id, json.dumps(case.policy_ids), _iso(case.opened_at),
            _iso(datetime.now(UTC)),
        )
        with self._tx() as cur:
            cur.execute("SELECT revision FROM cases WHERE case_uid = ?", (case.case_uid,))
            found = cur.fetchall()
            prior = found[0][0] if found else 0
            if found and prior >= case.revision:
                return False  # a retry, or a late write overtaken by a newer one
            cur.execute(_UPSERT_CASE, row)
            # Events up to `prior` were written with that revision's row, in its transaction.
            for ev in case.timeline:
                if ev.seq > prior:
                    cur.execute(
                        "INSERT INTO audit (case_uid, case_id, seq, at, actor, event, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_uid, seq) DO NOTHING",
                        (case.case_uid, case.case_id, ev.seq, _iso(ev.at), ev.actor, ev.event,
                         ev.detail),
                    )
        return True

    def put_statement(self, puid: str, case_id: str, body: dict[str, Any]) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO statements (puid, case_id, created_at, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (puid) DO NOTHING",
                (puid, case_id, _iso(datetime.now(UTC)), json.dumps(body, sort_keys=True)),
            )

    def put_message(
        self, message_id: str, case_id: str, channel: str, recipient: str, kind: str, body: str
    ) -> bool:
        """Land a message in the outbox once; True if it is new."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO outbox (message_id, case_id, channel, recipient, kind, body, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
                (message_id, case_id, channel, recipient, kind, body, _iso(datetime.now(UTC))),
            )
            return cur.rowcount > 0

    def put_overflow_report(self, case_uid: str, case_id: str, report: Report) -> bool:
        """Keep a report beyond its case's cap; True if it is new."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO overflow_reports (case_uid, report_key, case_id, reporter_key, "
                "reporter, body) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (case_uid, report_key) DO NOTHING",
                (case_uid, report.key, case_id, report.reporter_key, report.reporter,
                 report.model_dump_json()),
            )
            return cur.rowcount > 0

    # -- reads -----------------------------------------------------------------------------------
    def queue(
        self, queue: str | None = None, states: Sequence[str] = ("queued", "in_review"),
        limit: int = 50,
    ) -> list[QueueEntry]:
        """Open cases most urgent first: priority, then the nearest SLA deadline."""
        marks = ", ".join("?" * len(states))
        where, params = f"state IN ({marks})", list(states)
        if queue:
            where += " AND queue = ?"
            params.append(queue)
        with self._tx() as cur:
            cur.execute(
                f"SELECT {_CASE_COLUMNS} FROM cases WHERE {where} "
                "ORDER BY priority_rank, sla_deadline, opened_at LIMIT ?",
                (*params, limit),
            )
            return [_entry(r) for r in cur.fetchall()]

    def queue_depths(self) -> dict[str, int]:
        with self._tx() as cur:
            cur.execute(
                "SELECT queue, COUNT(*) FROM cases WHERE state = 'queued' GROUP BY queue"
            )
            return dict(cur.fetchall())

    def audit(self, case_id: str) -> list[TimelineEvent]:
        """The timeline of the latest case under this id."""
        with self._tx() as cur:
            cur.execute(
                "SELECT seq, at, actor, event, detail FROM audit WHERE case_uid = "
                "(SELECT case_uid FROM cases WHERE case_id = ? ORDER BY opened_at DESC LIMIT 1) "
                "ORDER BY seq",
                (case_id,),
            )
            return [
                TimelineEvent(seq=s, at=_dt(at), actor=a, event=e, detail=d)  # type: ignore[arg-type]
                for s, at, a, e, d in cur.fetchall()
            ]

    def overflow_reporters(self, case_uid: str) -> list[tuple[str, str]]:
        """(reporter_key, reporter) of each reporter of a case's ledger-held reports."""
        with self._tx() as cur:
            cur.execute(
                "SELECT DISTINCT reporter_key, reporter FROM overflow_reports "
                "WHERE case_uid = ? AND reporter_key IS NOT NULL ORDER BY reporter_key",
                (case_uid,))
            return [(k, r) for k, r in cur.fetchall()]

    def statements(self) -> list[dict[str, Any]]:
        with self._tx() as cur:
            cur.execute("SELECT body FROM statements ORDER BY created_at, puid")
            return [json.loads(b) for (b,) in cur.fetchall()]

    def messages(self, case_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT message_id, case_id, channel, recipient, kind, body, created_at FROM outbox"
        params: tuple[Any, ...] = ()
        if case_id:
            sql, params = sql + " WHERE case_id = ?", (case_id,)
        with self._tx() as cur:
            cur.execute(sql + " ORDER BY created_at, message_id", params)
            cols = ("message_id", "case_id", "channel", "recipient", "kind", "body", "created_at")
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _entry(r: Sequence[Any]) -> QueueEntry:
    (case_uid, case_id, _rev, state, queue, priority, _rank, assignee, lease, sla, breached, kind, sid,
     policy_ids, opened, updated) = r
    return QueueEntry(
        case_uid=case_uid, case_id=case_id, state=state, queue=queue, priority=Priority(priority),
        assignee=assignee,
        lease_expires_at=_dt(lease), sla_deadline=_dt(sla), sla_breached=bool(breached),
        subject=Subject(kind=SubjectKind(kind), id=sid), policy_ids=json.loads(policy_ids),
        opened_at=_dt(opened), updated_at=_dt(updated),  # type: ignore[arg-type]
    )


class _Cursor:
    """DB-API cursor that accepts `?` placeholders on either engine."""

    def __init__(self, cur: Any, postgres: bool) -> None:
        self._cur, self._postgres = cur, postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(sql.replace("?", "%s") if self._postgres else sql, params)

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall())
