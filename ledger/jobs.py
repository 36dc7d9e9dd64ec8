"""Takedown jobs' items (one row each, numbered from 1) and who asked for each job, and
sellers' strikes (upheld violations, taken back when an appeal overturns them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from domain.core import Subject, SubjectKind, TakedownItem
from domain.shop_review.models import Strike
from ledger.engines import Cursor, Store, dt, iso


class Jobs(Store):
    # -- takedown jobs: their items, one row each, numbered from 1; strikes ----------------------
    def put_takedown_items(self, job_id: str, subjects: Sequence[Subject],
                           requester: str) -> int:
        """The job's items and who asked for it, once (a job planned again keeps its rows);
        how many items it has."""
        now = iso(datetime.now(UTC))

        def put(cur: Cursor) -> int:
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
            "created_at >= ? AND job_id <> ?", (requester, iso(since), besides))[0][0])

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
            (status, detail, seller_id, iso(datetime.now(UTC)), job_id, seq))

    def takedown_counts(self, job_id: str, after: int = 0, until: int | None = None
                        ) -> dict[str, int]:
        sql, params = ("SELECT status, COUNT(*) FROM takedown_items WHERE job_id = ? AND seq > ?",
                       [job_id, after])
        if until is not None:
            sql, params = sql + " AND seq <= ?", [*params, until]
        return {s: int(n) for s, n in self._read(sql + " GROUP BY status", params)}

    def put_strike(self, strike: Strike, window: timedelta) -> list[str]:
        """A seller's upheld violation, once per review case, and the review cases of the
        seller's upheld violations in the `window` that ends at it, oldest first, this one last.
        Strikes of one seller are written one at a time (SQLite: BEGIN IMMEDIATE; PostgreSQL:
        an advisory lock), each stamped after the seller's last, so strikes recorded at once by
        several workers each see those before them and exactly one is the threshold's; a retry
        finds its first stamp and answers the same list."""
        def put(cur: Cursor) -> list[str]:
            if cur.postgres:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(?))",
                            (f"strike\x1f{strike.seller_id}",))
            found = cur.query("SELECT at FROM strikes WHERE case_uid = ?", (strike.case_uid,))
            if found:
                at = str(found[0][0])
            else:  # after the seller's last, whatever the clocks of the workers say
                stamp = datetime.now(UTC)
                last = dt(cur.query("SELECT MAX(at) FROM strikes WHERE seller_id = ?",
                                    (strike.seller_id,))[0][0])
                if last is not None and last >= stamp:
                    stamp = last + timedelta(microseconds=1)
                at = str(iso(stamp))
                cur.execute(
                    "INSERT INTO strikes (case_uid, case_id, seller_id, shop_id, policy_ids, at, "
                    "overturned) VALUES (?, ?, ?, ?, ?, ?, 0)",
                    (strike.case_uid, strike.case_id, strike.seller_id, strike.shop_id,
                     json.dumps(strike.policy_ids), at))
            since = iso(datetime.fromisoformat(at) - window)
            return [r[0] for r in cur.query(
                "SELECT case_id FROM strikes WHERE seller_id = ? AND at >= ? AND at <= ? AND "
                "overturned = 0 ORDER BY at", (strike.seller_id, since, at))]

        return self._db.transaction(put, write=True)

    def overturn_strike(self, case_uid: str) -> None:
        """An appeal overturned the decision: the violation no longer counts."""
        self._write("UPDATE strikes SET overturned = 1 WHERE case_uid = ?", (case_uid,))

    def strikes_in(self, seller_id: str, since: datetime) -> list[tuple[str, str | None]]:
        """As `strikes`, each with its case's queue (None when the ledger lacks its row)."""
        return [(r[0], r[1]) for r in self._read(
            "SELECT s.case_id, c.queue FROM strikes s LEFT JOIN cases c ON c.case_uid = "
            "s.case_uid WHERE s.seller_id = ? AND s.at >= ? AND s.overturned = 0 ORDER BY s.at",
            (seller_id, iso(since)))]

    def strikes(self, seller_id: str, since: datetime) -> list[str]:
        """The review cases of the seller's upheld violations since `since`, oldest first."""
        return [r[0] for r in self._read(
            "SELECT case_id FROM strikes WHERE seller_id = ? AND at >= ? AND overturned = 0 "
            "ORDER BY at", (seller_id, iso(since)))]
