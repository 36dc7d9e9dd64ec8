"""The case ledger: casework's own SQL store for questions that span cases.

Workflows are the truth; activities feed the ledger idempotently (a row moves only forward in
its case's revision, an event or statement is written once by its key). The same SQL runs on
SQLite (embedded default, `sqlite:///path`) and PostgreSQL (`postgresql://…` or `postgres://…`).
A connection failure surfaces as `domain.errors.Unavailable` with a one-line message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.core import (
    Event,
    Mention,
    Priority,
    QueueEntry,
    Report,
    Subject,
    SubjectKind,
    TimelineEvent,
)
from domain.lifecycles import OPEN_WORK
from domain.queue_view import UNCLAIMED, QueueSort, QueueView
from domain.record import LedgerRecord
from domain.review.models import MAX_IMAGES, photos
from domain.text import mentions
from ledger.calibration import Calibrations
from ledger.datasets import Datasets
from ledger.engines import Cursor, dt, iso, open_db
from ledger.jobs import Jobs
from ledger.outcomes import DERIVED, Outcomes, put_outcome
from ledger.people import People
from ledger.schema import create_schema
from ledger.trends import SIGNAL_COLUMNS, Trends, put_signal

IN_QUEUE = tuple(sorted(OPEN_WORK))  # a queue's open work
# a calibration copy is its reviewer's alone: no list, count, search or inbox shows it
NOT_CALIBRATION = ("NOT EXISTS (SELECT 1 FROM calibration_cases k WHERE k.case_id = "
                   "cases.case_id)")
_CASE_COLUMNS = (
    "case_uid, case_id, revision, state, queue, priority, priority_rank, assignee, lease_expires_at, "
    "sla_deadline, sla_breached, subject_kind, subject_id, policy_ids, opened_at, lifecycle, "
    "waiting_on, state_since, updated_at, seller_id, shop_id, title, search_text"
)
_AUDIT_COLUMNS = "case_uid, case_id, seq, at, actor, event, detail"
_OUTBOX_COLUMNS = "message_id, case_id, channel, recipient, kind, body, created_at"

_UPSERT_CASE = (
    f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES ({', '.join('?' * 23)}) "
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
    ("cases", _CASE_COLUMNS.replace(", state_since, updated_at", ""), "case_uid"),
    ("audit", _AUDIT_COLUMNS, "case_uid, seq"),
    ("statements", "puid, case_id, body", "puid"),
    ("case_images", "case_uid, image_hash", "case_uid, image_hash"),
    *DERIVED,
    ("signals", SIGNAL_COLUMNS, "case_uid"),
    ("seller_links", "seller_id, link", "seller_id, link"),
)


class Ledger(People, Jobs, Outcomes, Calibrations, Datasets, Trends):
    """Open with a URL: `sqlite:///path/to/ledger.db` or `postgresql://user@host/db`. Its parts
    by concern: cases, their audit, statements and outbox (here); the directory and who may
    call (`ledger/people.py`); takedown jobs' items and strikes (`ledger/jobs.py`); decisions,
    QA checks, appeals and calibration answers for the reports (`ledger/outcomes.py`).

    `timeout`: how long a PostgreSQL operation waits for a connection (say, while the server
    restarts) before it raises Unavailable.
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self._db = open_db(url, timeout)
        try:
            create_schema(self._db)  # the schema's numbered revisions
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the pool or the connections; the ledger then refuses work (Unavailable)."""
        self._db.close()

    # -- writes (from activities; every one idempotent) ------------------------------------------
    def record_case(self, case: LedgerRecord, restore: bool = False) -> bool:
        """Upsert the case's queue row and append its new timeline events.

        Returns False when the ledger already holds this revision or a later one. `restore`
        (a rebuild from the workflows): write every event the ledger lacks, whatever the
        revision of its row, so a rebuild is safe while workers write.
        """
        return self.record_new(case, restore) is not None

    def record_new(self, case: LedgerRecord, restore: bool = False) -> int | None:
        """`record_case`, answering the revision the ledger held before (0: a new row; the
        events after it are new to the ledger), or None when it wrote nothing."""
        now = iso(datetime.now(UTC))
        row = (
            case.case_uid, case.case_id, case.revision, case.state, case.queue, case.priority.value,
            case.priority.rank, case.assignee, iso(case.lease_expires_at),
            iso(case.sla_deadline), int(case.sla_breached), case.subject.kind.value,
            case.subject.id, json.dumps(case.policy_ids), iso(case.opened_at), case.lifecycle,
            case.waiting_on, now, now, case.seller_id, case.shop_id, case.title,
            case.search_text,
        )

        def upsert(cur: Cursor) -> int | None:
            found = cur.query("SELECT revision FROM cases WHERE case_uid = ?", (case.case_uid,))
            prior: int = found[0][0] if found else 0
            if found and prior >= case.revision and not restore:
                return None  # a retry, or a late write overtaken by a newer one
            cur.execute(_UPSERT_CASE, row)  # moves the row forward only
            for image in photos(case.image_hashes):  # kept, never taken back
                cur.execute("INSERT INTO case_images (case_uid, image_hash) VALUES (?, ?) "
                            "ON CONFLICT (case_uid, image_hash) DO NOTHING",
                            (case.case_uid, image))
            # Events up to `prior` were written with that revision's row, in its transaction.
            for ev in case.timeline:
                if ev.seq > prior or restore:
                    cur.execute(
                        f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (case_uid, seq) DO NOTHING",
                        (case.case_uid, case.case_id, ev.seq, iso(ev.at), ev.actor, ev.event,
                         ev.detail),
                    )
            if case.outcome is not None:
                put_outcome(cur, case.case_uid, case.case_id, case.outcome)
            if case.signal is not None:
                put_signal(cur, case.case_uid, case.case_id, case.signal)
            return prior

        return self._db.transaction(upsert, write=True)

    def put_statement(self, puid: str, case_id: str, body: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO statements (puid, case_id, created_at, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (puid) DO NOTHING",
            (puid, case_id, iso(datetime.now(UTC)), json.dumps(body, sort_keys=True)),
        )

    def put_message(
        self, message_id: str, case_id: str, channel: str, recipient: str, kind: str, body: str
    ) -> bool:
        """Land a message in the outbox once; True if it is new."""
        return self._write(
            f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (message_id) DO NOTHING",
            (message_id, case_id, channel, recipient, kind, body, iso(datetime.now(UTC))),
        ) > 0

    def clear_derived(self) -> None:
        """Delete the rows derived from the workflows (a rebuild starts from here)."""

        def delete_all(cur: Cursor) -> None:
            for table, _, _ in _DUMPED:
                cur.execute(f"DELETE FROM {table}")

        self._db.transaction(delete_all, write=True)

    def put_overflow_report(self, case_uid: str, case_id: str, report: Report) -> int:
        """Keep a report beyond its case's cap (once by its key); returns how many the ledger
        holds for the case, so a retry after a lost answer still counts it."""

        def put(cur: Cursor) -> int:
            cur.execute(
                "INSERT INTO overflow_reports (case_uid, report_key, case_id, reporter_key, "
                "reporter, body) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (case_uid, report_key) DO NOTHING",
                (case_uid, report.key, case_id, report.reporter_key, report.reporter,
                 report.model_dump_json()))
            return int(cur.query("SELECT COUNT(*) FROM overflow_reports WHERE case_uid = ?",
                                 (case_uid,))[0][0])

        return self._db.transaction(put, write=True)

    # -- reads -----------------------------------------------------------------------------------
    def queue(
        self, queue: str | None = None,
        states: Sequence[str] = IN_QUEUE,
        limit: int = 50, offset: int = 0, view: QueueView | None = None,
    ) -> list[QueueEntry]:
        """Open cases most urgent first: priority, then the nearest SLA deadline; a queue's
        narrowed and ordered as `view` asks."""
        if queue:
            rows = self._read(*_urgent(queue, states, limit, offset, view))
        else:
            marks = ", ".join("?" * len(states))
            rows = self._read(
                f"SELECT {_CASE_COLUMNS} FROM cases WHERE state IN ({marks}) AND "
                f"{NOT_CALIBRATION} ORDER BY priority_rank, sla_deadline, opened_at LIMIT ? "
                "OFFSET ?",
                (*states, limit, offset))
        return [_entry(r) for r in rows]

    def queue_counts(self, states: Sequence[str] = IN_QUEUE) -> dict[str, tuple[int, int]]:
        """(open, breached) per queue, from the queue index."""
        marks = ", ".join("?" * len(states))
        rows = self._read(f"SELECT queue, COUNT(*), SUM(sla_breached) "
                          f"FROM cases WHERE state IN ({marks}) AND {NOT_CALIBRATION} "
                          f"GROUP BY queue", tuple(states))
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

        def read(cur: Cursor) -> dict[str, list[QueueEntry]]:
            return {q: [_entry(r) for r in cur.query(*_urgent(q, states, per))] for q in queues}

        return self._db.transaction(read, write=False)

    def held_by(self, queue: str, assignee: str) -> list[QueueEntry]:
        """The records of `queue` that `assignee` holds (claimed, in review)."""
        return [_entry(r) for r in self._read(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE state = 'in_review' AND queue = ? "
            "AND assignee = ?", (queue, assignee))]

    def search(self, text: str, queues: Sequence[str], limit: int = 50) -> list[QueueEntry]:
        """The records of `queues` about a subject (`listing:L-1`, or its id), a seller or a
        shop (`seller:U-1`, `shop:S-1`, or the id), or whose words (title, description,
        reports) hold `text` in any case; the newest first. Ids are indexed lookups; only when
        no id matches are words searched, walking the rows newest first to `limit` matches."""
        text = text.strip()
        if not text or not queues:
            return []
        kind, _, ident = text.partition(":")
        if not ident or kind not in tuple(SubjectKind):
            kind, ident = "", text
        kinds = [kind] if kind else [k.value for k in SubjectKind]
        like = f"%{_literal(text.lower())}%"
        found = [self._newest(f"subject_kind IN ({', '.join('?' * len(kinds))}) AND "
                              "subject_id = ?", (*kinds, ident), queues, limit)]
        for column, k in (("seller_id", SubjectKind.SELLER), ("shop_id", SubjectKind.SHOP)):
            if kind in ("", k):
                found.append(self._newest(f"{column} = ?", (ident,), queues, limit))
        if not any(found):
            found.append(self._newest("search_text LIKE ? ESCAPE '\\'", (like,), queues, limit))
        return _newest_first(found, limit)

    def about(self, seller_id: str | None, shop_id: str | None, queues: Sequence[str],
              limit: int = 20, image_hashes: Sequence[str] = ()) -> list[QueueEntry]:
        """The records of `queues` about this seller, this shop or one of these photos, the
        newest first (their history and related cases): one indexed walk each, at most `limit`
        of each, so a photo many cases share does not crowd out the seller's own."""
        photos = list(image_hashes)[:MAX_IMAGES]
        found = [self._newest(f"{column} = ?", (value,), queues, limit)
                 for column, value in (("seller_id", seller_id), ("shop_id", shop_id)) if value]
        if photos:
            found.append(self._newest(
                "case_uid IN (SELECT case_uid FROM case_images WHERE image_hash IN "
                f"({', '.join('?' * len(photos))}))", tuple(photos), queues, limit))
        return _newest_first(found, 3 * limit)

    def _newest(self, where: str, params: Sequence[Any], queues: Sequence[str], limit: int
                ) -> list[QueueEntry]:
        if not queues:  # reads nothing (and `IN ()` is no SQL PostgreSQL takes)
            return []
        return [_entry(r) for r in self._read(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE {where} AND {NOT_CALIBRATION} AND queue "
            f"IN ({', '.join('?' * len(queues))}) ORDER BY opened_at DESC LIMIT ?",
            (*params, *queues, limit))]

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

    def holds(self, person_id: str, lifecycle: str, subject: Subject,
              states: Sequence[str]) -> bool:
        """Whether the person holds a record of `lifecycle` about `subject` in `states`."""
        return bool(self._read(
            "SELECT 1 FROM cases WHERE lifecycle = ? AND subject_kind = ? AND subject_id = ? "
            f"AND assignee = ? AND state IN ({', '.join('?' * len(states))}) LIMIT 1",
            (lifecycle, subject.kind.value, subject.id, person_id, *states)))

    def decisions_by(self, person_id: str) -> int:
        """How many decisions a person has made (their timeline events `decided`; a
        calibration case's answer is not one)."""
        return int(self._read(
            "SELECT COUNT(*) FROM audit a WHERE event = ? AND actor = ? AND NOT EXISTS "
            "(SELECT 1 FROM calibration_cases c WHERE c.case_id = a.case_id)",
            (Event.DECIDED.value, person_id))[0][0])

    def count(self, states: Sequence[str]) -> int:
        """How many cases are in these states (the queue index answers it)."""
        marks = ", ".join("?" * len(states))
        return int(self._read(f"SELECT COUNT(*) FROM cases WHERE state IN ({marks})",
                              tuple(states))[0][0])

    def open_rows(self, final: Sequence[str], states: Sequence[str]) -> list[QueueEntry]:
        """The records not in a `final` state that are in one of `states`, breached with nobody
        holding them, or waiting on a dependency; oldest first (ops' stuck scan)."""
        marks = ", ".join("?" * len(final))
        watched = ", ".join("?" * len(states)) or "NULL"
        return [_entry(r) for r in self._read(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE state NOT IN ({marks}) AND (state IN "
            f"({watched}) OR waiting_on IS NOT NULL OR (sla_breached = 1 AND assignee IS NULL)) "
            "ORDER BY opened_at", (*final, *states))]

    def backlog(self, final: Sequence[str]) -> list[tuple[str, str, int, int, str]]:
        """Per queue and state of the open records: how many, how many breached, the oldest
        opening."""
        marks = ", ".join("?" * len(final))
        return [(q, st, int(n), int(b or 0), str(oldest)) for q, st, n, b, oldest in self._read(
            f"SELECT queue, state, COUNT(*), SUM(sla_breached), MIN(opened_at) FROM cases "
            f"WHERE state NOT IN ({marks}) AND {NOT_CALIBRATION} GROUP BY queue, state "
            f"ORDER BY queue, state",
            tuple(final))]

    def decided_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Per queue: records decided (an appeal's verdict, an escalation acknowledged, a job
        approved; calibration cases are no work done) since `since`, and how many of them past
        their SLA."""
        return {q: (int(n), int(b or 0)) for q, n, b in self._read(
            "SELECT c.queue, COUNT(DISTINCT c.case_uid), "
            "COUNT(DISTINCT CASE WHEN c.sla_breached = 1 THEN c.case_uid END) "
            "FROM audit a JOIN cases c ON c.case_uid = a.case_uid "
            "WHERE a.at >= ? AND (a.event = 'decided' OR (a.event = 'appeal_decided' AND "
            "c.lifecycle = 'appeal') OR (a.event = 'acknowledged' AND c.lifecycle = "
            "'escalation') OR (a.event = 'approved' AND c.lifecycle = 'takedown')) "
            "AND NOT EXISTS (SELECT 1 FROM calibration_cases k WHERE k.case_id = c.case_id) "
            "GROUP BY c.queue", (iso(since),))}

    def queue_depths(self) -> dict[str, int]:
        return dict(self._read(
            "SELECT queue, COUNT(*) FROM cases WHERE state = 'queued' GROUP BY queue"))

    def mentions(self, person_id: str, queues: Sequence[str], limit: int = 50
                 ) -> list[Mention]:
        """Notes on records of `queues` that name `@person_id`, the newest first (their
        inbox; a note naming `@bobby` matches the text search for bob, not the mention)."""
        like = f"%@{_literal(person_id)}%"
        rows = self._read(
            "SELECT a.case_id, c.lifecycle, c.queue, c.title, a.at, a.actor, a.detail "
            "FROM audit a JOIN cases c ON c.case_uid = a.case_uid WHERE a.event = ? "
            f"AND a.detail LIKE ? ESCAPE '\\' AND c.queue IN ({', '.join('?' * len(queues))}) "
            "AND NOT EXISTS (SELECT 1 FROM calibration_cases k WHERE k.case_id = c.case_id) "
            "ORDER BY a.at DESC LIMIT ?",
            (Event.NOTE_ADDED.value, like, *queues, limit * 4))
        return [Mention(case_id=i, lifecycle=lc, queue=q, title=t, at=dt(at), by=by, text=d)
                for i, lc, q, t, at, by, d in rows if person_id in mentions(d)][:limit]

    def audit(self, case_id: str) -> list[TimelineEvent]:
        """The timeline of the latest case under this id."""
        rows = self._read(
            "SELECT seq, at, actor, event, detail FROM audit WHERE case_uid = "
            "(SELECT case_uid FROM cases WHERE case_id = ? ORDER BY opened_at DESC LIMIT 1) "
            "ORDER BY seq",
            (case_id,),
        )
        return [
            TimelineEvent(seq=s, at=dt(at), actor=a, event=e, detail=d)  # type: ignore[arg-type]
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

        def read(cur: Cursor) -> dict[str, list[dict[str, Any]]]:
            return {
                table: [dict(zip(columns.split(", "), r, strict=True))
                        for r in cur.query(f"SELECT {columns} FROM {table} ORDER BY {order}")]
                for table, columns, order in _DUMPED
            }

        return self._db.transaction(read, write=False)


_ORDERS = {QueueSort.URGENCY: "priority_rank, sla_deadline, opened_at",
           QueueSort.OLDEST: "opened_at, case_uid", QueueSort.NEWEST: "opened_at DESC, case_uid"}


def _urgent(queue: str, states: Sequence[str], limit: int, offset: int = 0,
            view: QueueView | None = None) -> tuple[str, tuple[Any, ...]]:
    """The rows of a queue in these states, most urgent first (or as `view` orders and narrows
    them): each state's walked in index order (`cases_urgent_idx`: state, queue, priority),
    then merged; nothing is sorted beyond limit + offset rows a state."""
    view = view or QueueView()
    where, extra = ["state = ?", "queue = ?", NOT_CALIBRATION], []
    if view.priority:
        where.append("priority_rank = ?")
        extra.append(view.priority.rank)
    if view.breached:
        where.append("sla_breached = 1")
    if view.assignee == UNCLAIMED:
        where.append("assignee IS NULL")
    elif view.assignee:
        where.append("assignee = ?")
        extra.append(view.assignee)
    order = f"ORDER BY {_ORDERS[view.sort]}"
    states = view.states(tuple(states)) or ("",)  # a state outside these: nothing
    parts = [f"SELECT * FROM (SELECT {_CASE_COLUMNS} FROM cases WHERE {' AND '.join(where)} "
             f"{order} LIMIT ?) AS s{i}" for i in range(len(states))]
    params = [p for st in states for p in (st, queue, *extra, limit + offset)]
    return (f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS u {order} LIMIT ? OFFSET ?",
            (*params, limit, offset))


def _literal(text: str) -> str:
    """`text` for a LIKE pattern with `ESCAPE '\\'`: its wildcards and escapes taken as text."""
    return "".join("\\" + c if c in "\\%_" else c for c in text)


def _newest_first(found: list[list[QueueEntry]], limit: int) -> list[QueueEntry]:
    """Several answers as one: each record once, the newest first, at most `limit`."""
    rows = {e.case_uid: e for rows in found for e in rows}
    return sorted(rows.values(), key=lambda e: e.opened_at, reverse=True)[:limit]


def _entry(r: Sequence[Any]) -> QueueEntry:
    (case_uid, case_id, _rev, state, queue, priority, _rank, assignee, lease, sla, breached, kind, sid,
     policy_ids, opened, lifecycle, waiting_on, state_since, updated, seller_id, shop_id, title,
     _text) = r
    return QueueEntry(
        lifecycle=lifecycle,
        case_uid=case_uid, case_id=case_id, state=state, queue=queue, priority=Priority(priority),
        assignee=assignee,
        lease_expires_at=dt(lease), sla_deadline=dt(sla), sla_breached=bool(breached),
        subject=Subject(kind=SubjectKind(kind), id=sid), policy_ids=json.loads(policy_ids),
        opened_at=dt(opened), updated_at=dt(updated),  # type: ignore[arg-type]
        waiting_on=waiting_on, state_since=dt(state_since) or dt(updated),
        seller_id=seller_id, shop_id=shop_id, title=title,
    )


