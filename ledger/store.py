"""The case ledger: casework's own SQL store for questions that span cases.

Workflows are the truth; activities feed the ledger idempotently (a row moves only forward in
its case's revision, an event or statement is written once by its key). The same SQL runs on
SQLite (embedded default, `sqlite:///path`) and PostgreSQL (`postgresql://…` or `postgres://…`).
A connection failure surfaces as `domain.errors.Unavailable` with a one-line message.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from config.files import owner_only
from domain.core import (
    LedgerRecord,
    Priority,
    QueueEntry,
    Report,
    Subject,
    SubjectKind,
    TakedownItem,
    TimelineEvent,
)
from domain.errors import InvalidInput, Unavailable
from domain.people import Person
from domain.shop_review.models import Strike

T = TypeVar("T")

SCHEMES = "sqlite:///path, postgresql://… or postgres://…"

# The pool logs every failed reconnect. Where logging is configured (the worker) that shows;
# elsewhere (the CLI) Python's last-resort handler would print it on stderr next to the
# one-line error the caller reports.
logging.getLogger("psycopg").addHandler(logging.NullHandler())

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
    "CREATE INDEX IF NOT EXISTS cases_state_idx ON cases (state, opened_at)",
    # a queue's order, per state: the most urgent rows of a queue are read off it, not sorted
    "DROP INDEX IF EXISTS cases_queue_idx",
    "CREATE INDEX IF NOT EXISTS cases_urgent_idx ON cases "
    "(state, queue, priority_rank, sla_deadline, opened_at)",
    "CREATE INDEX IF NOT EXISTS cases_subject_idx ON cases (subject_kind, subject_id)",
    # covers the console's open and breached counts per queue (no table reads)
    "CREATE INDEX IF NOT EXISTS cases_counts_idx ON cases (state, queue, sla_breached)",
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
    """CREATE TABLE IF NOT EXISTS takedown_items (
        job_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL,
        seller_id TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
    )""",
    "CREATE INDEX IF NOT EXISTS takedown_items_status_idx ON takedown_items (job_id, status)",
    """CREATE TABLE IF NOT EXISTS takedown_jobs (
        job_id TEXT PRIMARY KEY,
        requester TEXT NOT NULL,
        items INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS takedown_jobs_requester_idx ON takedown_jobs (requester, created_at)",
    "CREATE INDEX IF NOT EXISTS audit_event_idx ON audit (event, at)",
    """CREATE TABLE IF NOT EXISTS strikes (
        case_uid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        seller_id TEXT NOT NULL,
        shop_id TEXT,
        policy_ids TEXT NOT NULL,
        at TEXT NOT NULL,
        overturned INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS strikes_seller_idx ON strikes (seller_id, at)",
    """CREATE TABLE IF NOT EXISTS credentials (
        person_id TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tokens (
        token_id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        owner TEXT NOT NULL,
        person INTEGER NOT NULL,
        scopes TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS sessions (
        session_hash TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        caller TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (caller, idem_key)
    )""",
    """CREATE TABLE IF NOT EXISTS sign_in_attempts (
        attempt_key TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sign_in_attempts_idx ON sign_in_attempts (attempt_key, at)",
    """CREATE TABLE IF NOT EXISTS people (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        roles TEXT NOT NULL,
        queues TEXT NOT NULL,
        active INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
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

IN_QUEUE = ("queued", "in_review", "on_hold", "awaiting_approval")  # a queue's open work
_CASE_COLUMNS = (
    "case_uid, case_id, revision, state, queue, priority, priority_rank, assignee, lease_expires_at, "
    "sla_deadline, sla_breached, subject_kind, subject_id, policy_ids, opened_at, lifecycle, "
    "waiting_on, state_since, updated_at"
)
_AUDIT_COLUMNS = "case_uid, case_id, seq, at, actor, event, detail"
# Columns added since the first release: ledgers made before get them (`lifecycle`: their
# rows are reviews; `state_since` NULL: since the row's last write; `expires_at` NULL: a token
# made before tokens expired does not).
_ADDED_COLUMNS = {
    "cases": {"lifecycle": "lifecycle TEXT NOT NULL DEFAULT 'review'",
              "waiting_on": "waiting_on TEXT", "state_since": "state_since TEXT"},
    "tokens": {"expires_at": "expires_at TEXT"},
    "sign_in_attempts": {"attempt_id": "attempt_id TEXT"},
}
_OUTBOX_COLUMNS = "message_id, case_id, channel, recipient, kind, body, created_at"
_PEOPLE_COLUMNS = "id, name, roles, queues, active, created_at, updated_at"
_PERSON = f"SELECT {_PEOPLE_COLUMNS} FROM people WHERE id = ?"

_UPSERT_CASE = (
    f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES ({', '.join('?' * 19)}) "
    "ON CONFLICT (case_uid) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _CASE_COLUMNS.split(", ")
                if c not in ("case_uid", "state_since"))
    # when the row entered its state: kept while the state stays (the SET reads the old row)
    + ", state_since = CASE WHEN cases.state = excluded.state AND COALESCE(cases.assignee, '')"
      " = COALESCE(excluded.assignee, '') THEN cases.state_since ELSE excluded.state_since END"
    + " WHERE cases.revision < excluded.revision"
)

# What a rebuild must reproduce, as (table, columns, order): write times left out. The outbox
# (what was sent) and ledger-held reports are records of their own, not derived from workflows.
_DUMPED = (
    ("cases", _CASE_COLUMNS.removesuffix(", state_since, updated_at"), "case_uid"),
    ("audit", _AUDIT_COLUMNS, "case_uid, seq"),
    ("statements", "puid, case_id, body", "puid"),
)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Ledger:
    """Open with a URL: `sqlite:///path/to/ledger.db` or `postgresql://user@host/db`.

    `timeout`: how long a PostgreSQL operation waits for a connection (say, while the server
    restarts) before it raises Unavailable.
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self._db = _open(url, timeout)
        try:
            self._db.transaction(_create_schema, write=True)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the pool or the connections; the ledger then refuses work (Unavailable)."""
        self._db.close()

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._db.transaction(lambda cur: cur.query(sql, params), write=False)

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        return self._db.transaction(lambda cur: cur.execute(sql, params), write=True)

    # -- writes (from activities; every one idempotent) ------------------------------------------
    def record_case(self, case: LedgerRecord, restore: bool = False) -> bool:
        """Upsert the case's queue row and append its new timeline events.

        Returns False when the ledger already holds this revision or a later one. `restore`
        (a rebuild from the workflows): write every event the ledger lacks, whatever the
        revision of its row, so a rebuild is safe while workers write.
        """
        now = _iso(datetime.now(UTC))
        row = (
            case.case_uid, case.case_id, case.revision, case.state, case.queue, case.priority.value,
            case.priority.rank, case.assignee, _iso(case.lease_expires_at),
            _iso(case.sla_deadline), int(case.sla_breached), case.subject.kind.value,
            case.subject.id, json.dumps(case.policy_ids), _iso(case.opened_at), case.lifecycle,
            case.waiting_on, now, now,
        )

        def upsert(cur: _Cursor) -> bool:
            found = cur.query("SELECT revision FROM cases WHERE case_uid = ?", (case.case_uid,))
            prior = found[0][0] if found else 0
            if found and prior >= case.revision and not restore:
                return False  # a retry, or a late write overtaken by a newer one
            cur.execute(_UPSERT_CASE, row)  # moves the row forward only
            # Events up to `prior` were written with that revision's row, in its transaction.
            for ev in case.timeline:
                if ev.seq > prior or restore:
                    cur.execute(
                        f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (case_uid, seq) DO NOTHING",
                        (case.case_uid, case.case_id, ev.seq, _iso(ev.at), ev.actor, ev.event,
                         ev.detail),
                    )
            return True

        return self._db.transaction(upsert, write=True)

    def put_statement(self, puid: str, case_id: str, body: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO statements (puid, case_id, created_at, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (puid) DO NOTHING",
            (puid, case_id, _iso(datetime.now(UTC)), json.dumps(body, sort_keys=True)),
        )

    def put_message(
        self, message_id: str, case_id: str, channel: str, recipient: str, kind: str, body: str
    ) -> bool:
        """Land a message in the outbox once; True if it is new."""
        return self._write(
            f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (message_id) DO NOTHING",
            (message_id, case_id, channel, recipient, kind, body, _iso(datetime.now(UTC))),
        ) > 0

    def clear_derived(self) -> None:
        """Delete the rows derived from the workflows (a rebuild starts from here)."""

        def delete_all(cur: _Cursor) -> None:
            for table, _, _ in _DUMPED:
                cur.execute(f"DELETE FROM {table}")

        self._db.transaction(delete_all, write=True)

    def put_overflow_report(self, case_uid: str, case_id: str, report: Report) -> int:
        """Keep a report beyond its case's cap (once by its key); returns how many the ledger
        holds for the case, so a retry after a lost answer still counts it."""

        def put(cur: _Cursor) -> int:
            cur.execute(
                "INSERT INTO overflow_reports (case_uid, report_key, case_id, reporter_key, "
                "reporter, body) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (case_uid, report_key) DO NOTHING",
                (case_uid, report.key, case_id, report.reporter_key, report.reporter,
                 report.model_dump_json()))
            return int(cur.query("SELECT COUNT(*) FROM overflow_reports WHERE case_uid = ?",
                                 (case_uid,))[0][0])

        return self._db.transaction(put, write=True)

    # -- the directory of people (a record of its own: not derived, kept by a rebuild) --------
    def put_person(self, person: Person) -> Person:
        """Add a person or replace their name, roles, queues and active flag (the time they
        were first added stays); the stored person."""
        now = _iso(datetime.now(UTC))

        def upsert(cur: _Cursor) -> Person:
            cur.execute(
                f"INSERT INTO people ({_PEOPLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, roles = excluded.roles, "
                "queues = excluded.queues, active = excluded.active, "
                "updated_at = excluded.updated_at",
                (person.id, person.name, json.dumps([r.value for r in person.roles]),
                 json.dumps(person.queues), int(person.active), now, now))
            return _person(cur.query(_PERSON, (person.id,))[0])

        return self._db.transaction(upsert, write=True)

    def disable_person(self, person_id: str) -> Person | None:
        """Mark a person inactive (again: nothing changes) and end their sessions and tokens;
        None if there is no such person."""

        def disable(cur: _Cursor) -> Person | None:
            now = _iso(datetime.now(UTC))
            cur.execute("UPDATE people SET active = 0, updated_at = ? WHERE id = ? AND active = 1",
                        (now, person_id))
            # Their sessions and tokens end now and stay ended if they are made active again.
            cur.execute("DELETE FROM sessions WHERE person_id = ?", (person_id,))
            cur.execute("UPDATE tokens SET revoked_at = ? WHERE owner = ? AND person = 1 AND "
                        "revoked_at IS NULL", (now, person_id))
            rows = cur.query(_PERSON, (person_id,))
            return _person(rows[0]) if rows else None

        return self._db.transaction(disable, write=True)

    def person(self, person_id: str) -> Person | None:
        rows = self._read(_PERSON, (person_id,))
        return _person(rows[0]) if rows else None

    def people(self) -> list[Person]:
        """Everyone in the directory, disabled people too, by id."""
        return [_person(r) for r in self._read(f"SELECT {_PEOPLE_COLUMNS} FROM people ORDER BY id")]

    # -- takedown jobs: their items, one row each, numbered from 1 ---------------------------------
    # -- credentials (hashes only: a password or token secret is never stored) ----------------
    def set_password_hash(self, person_id: str, password_hash: str) -> None:
        self._write("INSERT INTO credentials (person_id, password_hash, updated_at) VALUES "
                    "(?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET password_hash = "
                    "excluded.password_hash, updated_at = excluded.updated_at",
                    (person_id, password_hash, _iso(datetime.now(UTC))))

    def password_hash(self, person_id: str) -> str | None:
        rows = self._read("SELECT password_hash FROM credentials WHERE person_id = ?",
                          (person_id,))
        return rows[0][0] if rows else None

    def put_token(self, token_id: str, secret_hash: str, owner: str, person: bool,
                  scopes: Sequence[str], expires_at: datetime | None = None) -> None:
        self._write("INSERT INTO tokens (token_id, secret_hash, owner, person, scopes, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (token_id, secret_hash, owner, int(person), json.dumps(sorted(scopes)),
                     _iso(datetime.now(UTC)), _iso(expires_at)))

    def token(self, token_id: str) -> dict[str, Any] | None:
        """A token's row (hash, owner, person or service, scopes, revoked, expired)."""
        rows = self._read("SELECT secret_hash, owner, person, scopes, revoked_at, expires_at "
                          "FROM tokens WHERE token_id = ?", (token_id,))
        if not rows:
            return None
        secret_hash, owner, person, scopes, revoked, expires = rows[0]
        return {"token_id": token_id, "secret_hash": secret_hash, "owner": owner,
                "person": bool(person), "scopes": json.loads(scopes), "revoked": bool(revoked),
                "expired": expires is not None and expires <= _iso(datetime.now(UTC))}

    def tokens(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every token (never its hash): id, owner, person or service, scopes, when made and
        revoked; one owner's when given."""
        where, params = ("WHERE owner = ?", (owner,)) if owner else ("", ())
        return [{"token_id": t, "owner": o, "person": bool(p), "scopes": json.loads(sc),
                 "created_at": c, "expires_at": e, "revoked_at": r}
                for t, o, p, sc, c, e, r in self._read(
            "SELECT token_id, owner, person, scopes, created_at, expires_at, revoked_at FROM "
            f"tokens {where} ORDER BY created_at", params)]

    def put_session(self, session_hash: str, person_id: str, csrf: str,
                    expires_at: datetime) -> None:
        """A new session; expired ones go as it comes."""
        def write(cur: _Cursor) -> None:
            cur.execute("DELETE FROM sessions WHERE expires_at <= ?", (_iso(datetime.now(UTC)),))
            cur.execute("INSERT INTO sessions (session_hash, person_id, csrf, expires_at) "
                        "VALUES (?, ?, ?, ?)", (session_hash, person_id, csrf, _iso(expires_at)))

        self._db.transaction(write, write=True)

    def idempotency_key(self, caller: str, key: str, body_hash: str, forget_before: datetime
                        ) -> tuple[str, bool]:
        """The body hash an Idempotency-Key was first used with (this one, if it is new), and
        whether it is new; keys older than `forget_before` go."""
        def write(cur: _Cursor) -> tuple[str, bool]:
            cur.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (_iso(forget_before),))
            new = cur.execute(
                "INSERT INTO idempotency_keys (caller, idem_key, body_hash, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (caller, idem_key) DO NOTHING",
                (caller, key, body_hash, _iso(datetime.now(UTC)))) > 0
            return str(cur.query("SELECT body_hash FROM idempotency_keys WHERE caller = ? AND "
                                 "idem_key = ?", (caller, key))[0][0]), new

        return self._db.transaction(write, write=True)

    def forget_idempotency_key(self, caller: str, key: str) -> None:
        """A key whose first request was refused answers nothing: it may be used again."""
        self._write("DELETE FROM idempotency_keys WHERE caller = ? AND idem_key = ?",
                    (caller, key))

    def sign_in_attempt(self, keys: Sequence[str], since: datetime) -> tuple[str, list[int]]:
        """Count one attempt under each key (a person and an address; the address) and answer
        its id and how many each key has had since then, this one included. One write
        transaction, serialised per key (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory
        lock), so concurrent attempts cannot all read a count under the limit."""
        attempt_id, now = secrets.token_hex(8), _iso(datetime.now(UTC))

        def write(cur: _Cursor) -> list[int]:
            for key in sorted(keys) if cur.postgres else ():
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))
            cur.execute("DELETE FROM sign_in_attempts WHERE at <= ?", (_iso(since),))
            counts = []
            for key in keys:
                cur.execute("INSERT INTO sign_in_attempts (attempt_key, at, attempt_id) "
                            "VALUES (?, ?, ?)", (key, now, attempt_id))
                counts.append(int(cur.query("SELECT COUNT(*) FROM sign_in_attempts WHERE "
                                            "attempt_key = ?", (key,))[0][0]))
            return counts

        return attempt_id, self._db.transaction(write, write=True)

    def forget_sign_in_attempts(self, key: str, attempt_id: str) -> None:
        """A successful sign-in: every attempt under `key`, and this attempt, are forgotten."""
        self._write("DELETE FROM sign_in_attempts WHERE attempt_key = ? OR attempt_id = ?",
                    (key, attempt_id))

    def end_sessions_of(self, person_id: str) -> None:
        self._write("DELETE FROM sessions WHERE person_id = ?", (person_id,))

    def session(self, session_hash: str) -> tuple[str, str] | None:
        """(person id, CSRF token) of a session not yet expired."""
        rows = self._read("SELECT person_id, csrf FROM sessions WHERE session_hash = ? AND "
                          "expires_at > ?", (session_hash, _iso(datetime.now(UTC))))
        return (rows[0][0], rows[0][1]) if rows else None

    def end_session(self, session_hash: str) -> None:
        self._write("DELETE FROM sessions WHERE session_hash = ?", (session_hash,))

    def revoke_token(self, token_id: str) -> bool:
        return self._write("UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND "
                           "revoked_at IS NULL", (_iso(datetime.now(UTC)), token_id)) > 0

    def put_takedown_items(self, job_id: str, subjects: Sequence[Subject],
                           requester: str) -> int:
        """The job's items and who asked for it, once (a job planned again keeps its rows);
        how many items it has."""
        now = _iso(datetime.now(UTC))

        def put(cur: _Cursor) -> int:
            cur.execute("INSERT INTO takedown_jobs (job_id, requester, items, created_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
                        (job_id, requester, len(subjects), now))
            cur.execute_many(
                "INSERT INTO takedown_items (job_id, seq, subject_kind, subject_id, status, "
                "detail, seller_id, updated_at) VALUES (?, ?, ?, ?, 'pending', '', NULL, ?) "
                "ON CONFLICT (job_id, seq) DO NOTHING",
                [(job_id, seq, s.kind.value, s.id, now) for seq, s in enumerate(subjects, 1)])
            return int(cur.query("SELECT COUNT(*) FROM takedown_items WHERE job_id = ?",
                                 (job_id,))[0][0])

        return self._db.transaction(put, write=True)

    def requested_items(self, requester: str, since: datetime, besides: str) -> int:
        """Items in the jobs `requester` asked for since `since`, but job `besides`."""
        return int(self._read(
            "SELECT COALESCE(SUM(items), 0) FROM takedown_jobs WHERE requester = ? AND "
            "created_at >= ? AND job_id <> ?", (requester, _iso(since), besides))[0][0])

    def takedown_items(self, job_id: str, after: int = 0, until: int | None = None,
                       status: str | None = None) -> list[TakedownItem]:
        """The job's items in seq order, `after` < seq <= `until`, of one status if given."""
        sql, params = "SELECT seq, subject_kind, subject_id, status, detail, seller_id " \
            "FROM takedown_items WHERE job_id = ? AND seq > ?", [job_id, after]
        if until is not None:
            sql, params = sql + " AND seq <= ?", [*params, until]
        if status is not None:
            sql, params = sql + " AND status = ?", [*params, status]
        return [TakedownItem(seq=seq, subject=Subject(kind=SubjectKind(k), id=i), status=st,
                             detail=d, seller_id=sel)
                for seq, k, i, st, d, sel in self._read(sql + " ORDER BY seq", params)]

    def takedown_sellers(self, job_id: str, status: str, sample: int = 50
                         ) -> list[tuple[str | None, int, list[Subject]]]:
        """Per seller: how many of the job's items have this status, and the first `sample` of
        them (aggregated in the database, so a 100k-item job never sits in memory)."""
        rows = self._read(
            "SELECT seller_id, n, subject_kind, subject_id FROM (SELECT seller_id, subject_kind, "
            "subject_id, seq, ROW_NUMBER() OVER (PARTITION BY seller_id ORDER BY seq) AS rn, "
            "COUNT(*) OVER (PARTITION BY seller_id) AS n FROM takedown_items "
            "WHERE job_id = ? AND status = ?) AS t WHERE rn <= ? ORDER BY seller_id, seq",
            [job_id, status, sample])
        out: dict[str | None, tuple[str | None, int, list[Subject]]] = {}
        for seller, n, kind, sid in rows:
            out.setdefault(seller, (seller, int(n), []))[2].append(
                Subject(kind=SubjectKind(kind), id=sid))
        return list(out.values())

    def set_takedown_item(self, job_id: str, seq: int, status: str, detail: str,
                          seller_id: str | None = None) -> None:
        self._write(
            "UPDATE takedown_items SET status = ?, detail = ?, "
            "seller_id = COALESCE(?, seller_id), updated_at = ? WHERE job_id = ? AND seq = ?",
            (status, detail, seller_id, _iso(datetime.now(UTC)), job_id, seq))

    def takedown_counts(self, job_id: str, after: int = 0, until: int | None = None
                        ) -> dict[str, int]:
        sql, params = ("SELECT status, COUNT(*) FROM takedown_items WHERE job_id = ? AND seq > ?",
                       [job_id, after])
        if until is not None:
            sql, params = sql + " AND seq <= ?", [*params, until]
        return {s: int(n) for s, n in self._read(sql + " GROUP BY status", params)}

    def put_strike(self, strike: Strike, at: datetime) -> None:
        """A seller's upheld violation, once per review case."""
        self._write(
            "INSERT INTO strikes (case_uid, case_id, seller_id, shop_id, policy_ids, at, "
            "overturned) VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (case_uid) DO NOTHING",
            (strike.case_uid, strike.case_id, strike.seller_id, strike.shop_id,
             json.dumps(strike.policy_ids), _iso(at)))

    def overturn_strike(self, case_uid: str) -> None:
        """An appeal overturned the decision: the violation no longer counts."""
        self._write("UPDATE strikes SET overturned = 1 WHERE case_uid = ?", (case_uid,))

    def strikes(self, seller_id: str, since: datetime) -> list[str]:
        """The review cases of the seller's upheld violations since `since`, oldest first."""
        return [r[0] for r in self._read(
            "SELECT case_id FROM strikes WHERE seller_id = ? AND at >= ? AND overturned = 0 "
            "ORDER BY at", (seller_id, _iso(since)))]

    # -- reads -----------------------------------------------------------------------------------
    def queue(
        self, queue: str | None = None,
        states: Sequence[str] = IN_QUEUE,
        limit: int = 50, offset: int = 0,
    ) -> list[QueueEntry]:
        """Open cases most urgent first: priority, then the nearest SLA deadline."""
        if queue:
            rows = self._read(*_urgent(queue, states, limit, offset))
        else:
            marks = ", ".join("?" * len(states))
            rows = self._read(
                f"SELECT {_CASE_COLUMNS} FROM cases WHERE state IN ({marks}) "
                "ORDER BY priority_rank, sla_deadline, opened_at LIMIT ? OFFSET ?",
                (*states, limit, offset))
        return [_entry(r) for r in rows]

    def queue_counts(self, states: Sequence[str] = IN_QUEUE) -> dict[str, tuple[int, int]]:
        """(open, breached) per queue, from the queue index."""
        marks = ", ".join("?" * len(states))
        rows = self._read(f"SELECT queue, COUNT(*), SUM(sla_breached) "
                          f"FROM cases WHERE state IN ({marks}) GROUP BY queue", tuple(states))
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}

    def recent(self, lifecycles: Sequence[str], limit: int = 50, offset: int = 0
               ) -> list[QueueEntry]:
        """The latest records of these lifecycles, newest first, whatever their state."""
        marks = ", ".join("?" * len(lifecycles))
        return [_entry(r) for r in self._read(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE lifecycle IN ({marks}) "
            "ORDER BY opened_at DESC, case_uid LIMIT ? OFFSET ?", (*lifecycles, limit, offset))]

    def queue_heads(self, queues: Sequence[str], per: int = 25,
                    states: Sequence[str] = IN_QUEUE) -> dict[str, list[QueueEntry]]:
        """The most urgent `per` open cases of each queue (the console's home): one indexed
        read per queue, in one transaction."""

        def read(cur: _Cursor) -> dict[str, list[QueueEntry]]:
            return {q: [_entry(r) for r in cur.query(*_urgent(q, states, per))] for q in queues}

        return self._db.transaction(read, write=False)

    def held_by(self, queue: str, assignee: str) -> list[QueueEntry]:
        """The records of `queue` that `assignee` holds (claimed, in review)."""
        return [_entry(r) for r in self._read(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE state = 'in_review' AND queue = ? "
            "AND assignee = ?", (queue, assignee))]

    def case(self, case_id: str) -> QueueEntry | None:
        """The row of the latest case under this id (None before screening has routed it)."""
        rows = self._read(f"SELECT {_CASE_COLUMNS} FROM cases WHERE case_id = ? "
                          "ORDER BY opened_at DESC LIMIT 1", (case_id,))
        return _entry(rows[0]) if rows else None

    def open_review_cases(self, subject: Subject) -> list[str]:
        """The subject's review cases not yet closed (a case and its open follow-ups)."""
        return [r[0] for r in self._read(
            "SELECT DISTINCT case_id FROM cases WHERE subject_kind = ? AND subject_id = ? "
            "AND lifecycle = 'review' AND state <> 'closed'",
            (subject.kind.value, subject.id))]

    def count(self, states: Sequence[str]) -> int:
        """How many cases are in these states (the queue index answers it)."""
        marks = ", ".join("?" * len(states))
        return int(self._read(f"SELECT COUNT(*) FROM cases WHERE state IN ({marks})",
                              tuple(states))[0][0])

    def open_rows(self, final: Sequence[str]) -> list[QueueEntry]:
        """Every record not in one of the `final` states, oldest first (ops' stuck scan)."""
        marks = ", ".join("?" * len(final))
        return [_entry(r) for r in self._read(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE state NOT IN ({marks}) ORDER BY opened_at",
            tuple(final))]

    def backlog(self, final: Sequence[str]) -> list[tuple[str, str, int, int, str]]:
        """Per queue and state of the open records: how many, how many breached, the oldest
        opening."""
        marks = ", ".join("?" * len(final))
        return [(q, st, int(n), int(b or 0), str(oldest)) for q, st, n, b, oldest in self._read(
            f"SELECT queue, state, COUNT(*), SUM(sla_breached), MIN(opened_at) FROM cases "
            f"WHERE state NOT IN ({marks}) GROUP BY queue, state ORDER BY queue, state",
            tuple(final))]

    def decided_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Per queue: records decided (an appeal's verdict, an escalation acknowledged, a job
        approved) since `since`, and how many of them past their SLA."""
        return {q: (int(n), int(b or 0)) for q, n, b in self._read(
            "SELECT c.queue, COUNT(DISTINCT c.case_uid), "
            "COUNT(DISTINCT CASE WHEN c.sla_breached = 1 THEN c.case_uid END) "
            "FROM audit a JOIN cases c ON c.case_uid = a.case_uid "
            "WHERE a.at >= ? AND (a.event = 'decided' OR (a.event = 'appeal_decided' AND "
            "c.lifecycle = 'appeal') OR (a.event = 'acknowledged' AND c.lifecycle = "
            "'escalation') OR (a.event = 'approved' AND c.lifecycle = 'takedown')) "
            "GROUP BY c.queue", (_iso(since),))}

    def queue_depths(self) -> dict[str, int]:
        return dict(self._read(
            "SELECT queue, COUNT(*) FROM cases WHERE state = 'queued' GROUP BY queue"))

    def audit(self, case_id: str) -> list[TimelineEvent]:
        """The timeline of the latest case under this id."""
        rows = self._read(
            "SELECT seq, at, actor, event, detail FROM audit WHERE case_uid = "
            "(SELECT case_uid FROM cases WHERE case_id = ? ORDER BY opened_at DESC LIMIT 1) "
            "ORDER BY seq",
            (case_id,),
        )
        return [
            TimelineEvent(seq=s, at=_dt(at), actor=a, event=e, detail=d)  # type: ignore[arg-type]
            for s, at, a, e, d in rows
        ]

    def overflow_reporters(self, case_uid: str) -> list[tuple[str, str]]:
        """(reporter_key, reporter) of each reporter of a case's ledger-held reports."""
        return [(k, r) for k, r in self._read(
            "SELECT DISTINCT reporter_key, reporter FROM overflow_reports "
            "WHERE case_uid = ? AND reporter_key IS NOT NULL ORDER BY reporter_key",
            (case_uid,))]

    def statements(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return [json.loads(b) for (b,) in self._read(
            "SELECT body FROM statements ORDER BY created_at, puid" + page)]

    def messages(self, case_id: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        params: tuple[Any, ...] = ()
        if case_id:
            sql, params = sql + " WHERE case_id = ?", (case_id,)
        rows = self._read(sql + " ORDER BY created_at, message_id", params)
        return [dict(zip(_OUTBOX_COLUMNS.split(", "), r, strict=True)) for r in rows]

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """What a rebuild must reproduce, as plain data to compare: queue rows without
        `updated_at`, audit rows, statements (body as stored) without `created_at`."""

        def read(cur: _Cursor) -> dict[str, list[dict[str, Any]]]:
            return {
                table: [dict(zip(columns.split(", "), r, strict=True))
                        for r in cur.query(f"SELECT {columns} FROM {table} ORDER BY {order}")]
                for table, columns, order in _DUMPED
            }

        return self._db.transaction(read, write=False)


def _create_schema(cur: _Cursor) -> None:
    if cur.postgres:  # processes starting together would collide in CREATE TABLE IF NOT EXISTS
        cur.execute("SELECT pg_advisory_xact_lock(?)", (int.from_bytes(b"casework"),))
    for stmt in SCHEMA:
        cur.execute(stmt)
    for table, added in _ADDED_COLUMNS.items():
        have = set() if cur.postgres else {r[1] for r in cur.query(f"PRAGMA table_info({table})")}
        for name, column in added.items():
            if cur.postgres:
                cur.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")
            elif name not in have:
                cur.execute(f"ALTER TABLE {table} ADD COLUMN {column}")


def _urgent(queue: str, states: Sequence[str], limit: int, offset: int = 0
            ) -> tuple[str, tuple[Any, ...]]:
    """The most urgent rows of a queue in these states: each state's walked in index order
    (`cases_urgent_idx`), then merged; nothing is sorted beyond limit + offset rows a state."""
    order = "ORDER BY priority_rank, sla_deadline, opened_at"
    parts = [f"SELECT * FROM (SELECT {_CASE_COLUMNS} FROM cases WHERE state = ? AND queue = ? "
             f"{order} LIMIT ?) AS s{i}" for i in range(len(states))]
    params = [p for st in states for p in (st, queue, limit + offset)]
    return (f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS u {order} LIMIT ? OFFSET ?",
            (*params, limit, offset))


def _entry(r: Sequence[Any]) -> QueueEntry:
    (case_uid, case_id, _rev, state, queue, priority, _rank, assignee, lease, sla, breached, kind, sid,
     policy_ids, opened, lifecycle, waiting_on, state_since, updated) = r
    return QueueEntry(
        lifecycle=lifecycle,
        case_uid=case_uid, case_id=case_id, state=state, queue=queue, priority=Priority(priority),
        assignee=assignee,
        lease_expires_at=_dt(lease), sla_deadline=_dt(sla), sla_breached=bool(breached),
        subject=Subject(kind=SubjectKind(kind), id=sid), policy_ids=json.loads(policy_ids),
        opened_at=_dt(opened), updated_at=_dt(updated),  # type: ignore[arg-type]
        waiting_on=waiting_on, state_since=_dt(state_since) or _dt(updated),
    )


def _person(r: Sequence[Any]) -> Person:
    pid, name, roles, queues, active, created, updated = r
    return Person(id=pid, name=name, roles=json.loads(roles), queues=json.loads(queues),
                  active=bool(active), created_at=_dt(created), updated_at=_dt(updated))


def _first_line(e: BaseException) -> str:
    return next(iter(str(e).splitlines()), type(e).__name__)


def _open(url: str, timeout: float) -> _Sqlite | _Postgres:
    if url.startswith("sqlite:///"):
        return _Sqlite(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        return _Postgres(url, timeout)
    scheme = url.partition("://")[0] if "://" in url else "none"
    raise InvalidInput(f"unsupported ledger URL scheme ({scheme}): use {SCHEMES}")


class _Cursor:
    """DB-API cursor that accepts `?` placeholders on either engine."""

    def __init__(self, cur: Any, postgres: bool) -> None:
        self._cur, self.postgres = cur, postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        self._cur.execute(sql.replace("?", "%s") if self.postgres else sql, params)
        return int(self._cur.rowcount)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cur.executemany(sql.replace("?", "%s") if self.postgres else sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.execute(sql, params)
        return list(self._cur.fetchall())


class _Sqlite:
    """One connection per thread (WAL, synchronous=NORMAL). A write takes the write lock up
    front (BEGIN IMMEDIATE: a read-then-write cannot deadlock on the upgrade); a read takes none
    and sees the last commit while a writer works."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conns: dict[int, sqlite3.Connection] = {}  # by thread
        self._closed = False

    def transaction(self, fn: Callable[[_Cursor], T], *, write: bool) -> T:
        conn = self._connection()
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            result = fn(_Cursor(cur, postgres=False))
            cur.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                cur.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError):  # locked past the busy wait, disk full
                raise Unavailable(f"SQLite ledger {self._path}: {_first_line(e)}") from None
            raise
        return result

    def _connection(self) -> sqlite3.Connection:
        conn = self._conns.get(threading.get_ident())
        if conn is not None:
            return conn
        if self._closed:
            raise Unavailable(f"SQLite ledger {self._path} is closed")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            owner_only(self._path)
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            _wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as e:
            raise Unavailable(f"SQLite ledger {self._path}: {_first_line(e)}") from None
        self._conns[threading.get_ident()] = conn
        return conn

    def close(self) -> None:
        self._closed = True
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()


class _Postgres:
    """A pool that checks a connection before handing it out, so the connections a restarted
    server dropped are replaced without the caller noticing."""

    def __init__(self, url: str, timeout: float) -> None:
        try:
            info = conninfo_to_dict(url)
        except psycopg.ProgrammingError as e:
            raise InvalidInput(f"bad PostgreSQL URL: {_first_line(e).replace(url, '…')}") from None
        self._where = "PostgreSQL ledger (" + " ".join(
            f"{k}={info[k]}" for k in ("host", "port", "dbname") if k in info) + ")"
        self._url = url
        self._kwargs: dict[str, Any] = {
            "autocommit": True,  # transactions are explicit blocks
            # One attempt (the pool's, or the diagnosis after a timeout) waits no longer either.
            "connect_timeout": info.get("connect_timeout", max(2, round(timeout))),
        }
        # Activities run on up to 32 threads per worker; an operation holds a connection for
        # milliseconds, so 10 serve them and leave room for many workers in max_connections.
        self._pool: ConnectionPool = ConnectionPool(
            url, kwargs=self._kwargs, min_size=1, max_size=10, timeout=timeout,
            check=ConnectionPool.check_connection, open=True)

    def transaction(self, fn: Callable[[_Cursor], T], *, write: bool, retry: bool = True) -> T:
        """Reads and writes alike run in a plain transaction (PostgreSQL readers take no write
        locks). An operation whose connection breaks runs once more on a fresh one (every
        ledger operation is idempotent); the pool's other connections are replaced too, as a
        lost connection usually means the server went away."""
        try:
            conn = self._pool.getconn()
        except PoolClosed:
            raise Unavailable(f"{self._where} is closed") from None
        except PoolTimeout:
            raise self._unreachable() from None
        try:
            with conn.transaction():
                return fn(_Cursor(conn.cursor(), postgres=True))
        except psycopg.OperationalError as e:
            if not (retry and conn.closed):
                raise Unavailable(f"{self._where}: {_first_line(e)}") from None
        finally:
            self._pool.putconn(conn)
        self._pool.drain()
        return self.transaction(fn, write=write, retry=False)

    def _unreachable(self) -> Unavailable:
        """The pool had no connection in time: one direct attempt says why (the pool only logs
        its reasons)."""
        try:
            psycopg.connect(self._url, **self._kwargs).close()
        except psycopg.Error as e:
            return Unavailable(f"{self._where}: {_first_line(e)}")
        return Unavailable(f"{self._where}: no free connection within {self._pool.timeout:g} s")

    def close(self) -> None:
        self._pool.close()


def _wal(conn: sqlite3.Connection, tries: int = 50) -> None:
    """Switch the file to WAL once. The switch needs the file to itself and does not wait for
    a busy one (ledgers opened together): try again for a few seconds."""
    for attempt in range(tries):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == tries - 1:
                raise
            time.sleep(0.1)
