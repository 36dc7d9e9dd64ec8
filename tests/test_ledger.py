"""The case ledger on SQLite and PostgreSQL: idempotent, ordered writes, the queue index, reads
without write locks, and what a database that goes away does to callers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from domain.core import (
    Priority,
    Subject,
    SubjectKind,
    TimelineEvent,
)
from domain.errors import InvalidInput, Unavailable
from domain.people import ALL_QUEUES, Person, Role
from domain.record import LedgerRecord
from domain.review.models import CaseState
from domain.shop_review.models import Strike
from ledger.schema import SCHEMA
from ledger.store import Ledger
from tests import pg

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def snapshot(n: int, revision: int = 1, priority: Priority = Priority.P2, state: str = "queued",
             sla_hours: int = 24) -> LedgerRecord:
    """A case's ledger record at `revision`, with all its events."""
    return CaseState(
        case_id=f"case-listing-L-{n}", case_uid=f"uid-{n}",
        subject=Subject(kind=SubjectKind.LISTING, id=f"L-{n}"), state=state, queue="ip",
        priority=priority, sla_deadline=NOW + timedelta(hours=sla_hours), opened_at=NOW,
        revision=revision,
        timeline=[TimelineEvent(seq=i, at=NOW, actor="t", event=f"e{i}")
                  for i in range(1, revision + 1)]).ledger_record()


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'l.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    with closing(Ledger(url)) as ledger:
        yield ledger


@pytest.fixture
def cluster(pg_cluster: pg.Cluster | None) -> pg.Cluster:
    """The session's own cluster, for tests that stop it."""
    if pg_cluster is None:
        pytest.skip("CASEWORK_TEST_PG_URL names a server these tests may not stop")
    return pg_cluster


def test_ledgers_opened_together_on_a_new_database(url: str) -> None:
    """Worker processes start together: each creates the schema if it is missing."""
    with ThreadPoolExecutor(8) as ex:
        ledgers = list(ex.map(lambda _: Ledger(url), range(8)))
    for ledger in ledgers:
        ledger.close()


def test_writes_are_idempotent_and_never_go_back(ledger: Ledger) -> None:
    assert ledger.record_case(snapshot(1, revision=2))
    assert not ledger.record_case(snapshot(1, revision=2))  # retried activity
    assert not ledger.record_case(snapshot(1, revision=1, state="screening"))  # late arrival
    [row] = ledger.queue()
    assert row.state == "queued"
    assert [e.seq for e in ledger.audit("case-listing-L-1")] == [1, 2]


def test_queue_is_most_urgent_first(ledger: Ledger) -> None:
    ledger.record_case(snapshot(1, priority=Priority.P3, sla_hours=1))
    ledger.record_case(snapshot(2, priority=Priority.P1, sla_hours=4))
    ledger.record_case(snapshot(3, priority=Priority.P1, sla_hours=2))
    ledger.record_case(snapshot(4, state="closed", priority=Priority.P0))
    assert [e.case_id for e in ledger.queue("ip")] == [
        "case-listing-L-3", "case-listing-L-2", "case-listing-L-1"]
    assert ledger.queue_depths() == {"ip": 3}
    assert (ledger.count(("queued",)), ledger.count(("closed", "queued"))) == (3, 4)
    heads = ledger.queue_heads(["ip", "fraud"], per=2)  # the console's home, in one read
    assert heads == {"ip": ledger.queue("ip")[:2], "fraud": []}
    ledger.record_case(snapshot(5, state="in_review", priority=Priority.P0))  # another state
    order = [e.case_id for e in ledger.queue("ip")]
    assert order[0] == "case-listing-L-5" and order[1:] == [
        "case-listing-L-3", "case-listing-L-2", "case-listing-L-1"]  # merged across states
    assert [e.case_id for e in ledger.queue("ip", limit=2, offset=1)] == order[1:3]
    assert [e.case_id for e in ledger.queue(limit=2, offset=3)] == order[3:]
    assert ledger.queue_counts() == {"ip": (4, 0)}
    assert len(ledger.recent(("review",), limit=2, offset=3)) == 2  # newest first, paged


def test_concurrent_sign_in_attempts_are_counted_one_at_a_time(url: str) -> None:
    """Every console process counts through its own connection: no two attempts may read the
    same count (on PostgreSQL as on SQLite)."""
    past = datetime.now(UTC) - timedelta(minutes=5)
    ledgers = [Ledger(url) for _ in range(6)]
    try:
        with ThreadPoolExecutor(6) as ex:
            counts = list(ex.map(lambda i: ledgers[i % 6].sign_in_attempt(
                ["nina\x1fa", "*\x1fa"], past)[1], range(12)))
        assert sorted(c[0] for c in counts) == list(range(1, 13)), counts
    finally:
        for ledger in ledgers:
            ledger.close()


def test_strikes_recorded_at_once_by_many_workers_each_see_those_before_them(url: str) -> None:
    """Twelve strikes of one seller written at once through six connections (six worker
    processes): each answers the strikes up to itself, so exactly one is the third and starts
    the shop's review; a retried strike answers as it first did."""
    ledgers = [Ledger(url) for _ in range(6)]
    strikes = [Strike(case_id=f"case-{i}", case_uid=f"uid-{i}", seller_id="U-01", shop_id="S-01")
               for i in range(12)]
    try:
        with ThreadPoolExecutor(6) as ex:
            seen = list(ex.map(lambda i: ledgers[i % 6].put_strike(strikes[i],
                                                                    timedelta(days=90)),
                               range(12)))
        assert sorted(len(s) for s in seen) == list(range(1, 13)), seen
        assert sum(len(s) == 3 for s in seen) == 1
        longest = max(seen, key=len)
        assert all(s == longest[:len(s)] for s in seen)  # one order, each seeing its past
        assert ledgers[0].put_strike(strikes[5], timedelta(days=90)) == seen[5]
    finally:
        for ledger in ledgers:
            ledger.close()


def test_sign_in_attempts_and_idempotency_keys(ledger: Ledger) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    keys = ["bob\x1f1.2.3.4", "*\x1f1.2.3.4"]
    made = [ledger.sign_in_attempt(keys, past) for _ in range(3)]
    assert [counts for _, counts in made] == [[1, 1], [2, 2], [3, 3]]
    ledger.forget_sign_in_attempts(keys[0], made[-1][0])  # bob signed in: his, and this one
    assert ledger.sign_in_attempt(keys, past)[1] == [1, 3]
    assert ledger.sign_in_attempt(keys, datetime.now(UTC) + timedelta(1))[1] == [1, 1]
    week = datetime.now(UTC) - timedelta(days=7)
    assert ledger.idempotency_key("forms", "K", "h1", week) == ("h1", True)
    assert ledger.idempotency_key("forms", "K", "h1", week) == ("h1", False)  # sent again
    assert ledger.idempotency_key("forms", "K", "h2", week) == ("h1", False)  # the first stands
    assert ledger.idempotency_key("other", "K", "h2", week) == ("h2", True)  # per caller
    ledger.put_token("t1", "hash", "svc", False, ["read"])
    assert [(t["token_id"], t["scopes"], t["revoked_at"]) for t in ledger.tokens("svc")] == [
        ("t1", ["read"], None)]


def test_a_case_row_is_the_latest_case_under_its_id(ledger: Ledger) -> None:
    assert ledger.case("case-listing-L-1") is None
    ledger.record_case(snapshot(1, state="closed"))
    later = snapshot(1).model_copy(update={"case_uid": "uid-1b", "queue": "fraud",
                                           "opened_at": NOW + timedelta(days=1)})
    ledger.record_case(later)
    row = ledger.case("case-listing-L-1")
    assert row is not None and (row.case_uid, row.queue) == ("uid-1b", "fraud")


def test_outbox_lands_a_message_once(ledger: Ledger) -> None:
    assert ledger.put_message("m1", "c1", "outbox", "a@b", "outcome", "hi")
    assert not ledger.put_message("m1", "c1", "outbox", "a@b", "outcome", "hi")
    assert len(ledger.messages("c1")) == 1


def test_a_jobs_items_are_put_once_and_counted_by_status(ledger: Ledger) -> None:
    subjects = [Subject.parse(f"listing:L-{n}") for n in range(1, 2_001)]
    assert ledger.put_takedown_items("j1", subjects, "ann") == 2_000
    assert ledger.put_takedown_items("j1", subjects[:10], "ann") == 2_000  # planned again: kept
    ledger.set_takedown_item("j1", 2, "done", "removed", seller_id="U-1")
    ledger.set_takedown_item("j1", 3, "skipped", "no listing")
    assert ledger.takedown_counts("j1", 0, 10) == {"pending": 8, "done": 1, "skipped": 1}
    [item] = ledger.takedown_items("j1", 1, 2)
    assert (item.subject, item.status, item.seller_id) == (subjects[1], "done", "U-1")
    assert [i.seq for i in ledger.takedown_items("j1", status="skipped")] == [3]
    for seq in range(4, 60):
        ledger.set_takedown_item("j1", seq, "done", "removed", seller_id="U-2")
    [(one, n1, s1), (two, n2, s2)] = ledger.takedown_sellers("j1", "done", sample=50)
    assert (one, n1, s1) == ("U-1", 1, [subjects[1]])
    assert (two, n2, len(s2), s2[0]) == ("U-2", 56, 50, subjects[3])


def test_the_directory_adds_updates_lists_and_disables_people(ledger: Ledger) -> None:
    assert ledger.person("alice") is None and ledger.people() == []
    added = ledger.put_person(Person(id="alice", name="Alice", roles=[Role.REVIEWER],
                                     queues=["ip", "fraud"]))
    assert (added.roles, added.queues, added.active) == ([Role.REVIEWER], ["fraud", "ip"], True)
    assert added.created_at == added.updated_at is not None
    ledger.put_person(Person(id="ops-1", name="Ops", roles=[Role.OPS]))

    updated = ledger.put_person(Person(id="alice", name="Alice M.", roles=[Role.SENIOR,
                                       Role.REVIEWER], queues=[ALL_QUEUES]))
    assert (updated.name, updated.roles, updated.queues) == (
        "Alice M.", [Role.REVIEWER, Role.SENIOR], ["*"])
    assert updated.created_at == added.created_at
    assert updated.updated_at is not None and updated.updated_at > added.updated_at
    assert ledger.person("alice") == updated

    disabled = ledger.disable_person("alice")
    assert disabled is not None and not disabled.active
    assert ledger.disable_person("alice") == disabled  # again: nothing changes
    assert ledger.disable_person("nobody") is None
    assert [(p.id, p.active) for p in ledger.people()] == [("alice", False), ("ops-1", True)]

    ledger.clear_derived()  # the directory is a record of its own, not derived from workflows
    assert [p.id for p in ledger.people()] == ["alice", "ops-1"]
    assert "people" not in ledger.dump()


PHOTOS = ["a3f1c9e2b7d04e18", "5be0d2c47a9f1e36", "x" * 4000, "../sandbox.db"]


def fill(ledger: Ledger) -> None:
    for n in (1, 2):  # the first with photos: two hashes, two a marketplace should not send
        ledger.record_case(snapshot(n, revision=2).model_copy(
            update={"image_hashes": PHOTOS if n == 1 else []}))
    ledger.put_statement("sor-1", "case-listing-L-1", {"decision_ground": "DECISION_GROUND_X"})
    ledger.put_message("m1", "case-listing-L-1", "outbox", "a@b", "outcome", "hi")


def test_dump_after_clear_and_rewrite_equals_dump_before(ledger: Ledger) -> None:
    fill(ledger)
    before = ledger.dump()
    assert [(r["case_uid"], r["revision"], r["state"]) for r in before["cases"]] == [
        ("uid-1", 2, "queued"), ("uid-2", 2, "queued")]
    assert "updated_at" not in before["cases"][0]
    assert [(r["case_uid"], r["seq"]) for r in before["audit"]] == [
        ("uid-1", 1), ("uid-1", 2), ("uid-2", 1), ("uid-2", 2)]
    assert before["statements"] == [{"puid": "sor-1", "case_id": "case-listing-L-1",
                                     "body": '{"decision_ground": "DECISION_GROUND_X"}'}]
    assert before["case_images"] == [{"case_uid": "uid-1", "image_hash": h}
                                     for h in sorted(PHOTOS[:2])]  # malformed ones left out

    ledger.clear_derived()
    assert ledger.dump() == {"cases": [], "audit": [], "statements": [], "case_images": [],
                             "decisions": [], "qa_results": [], "appeal_results": [],
                             "labels": [], "signals": [], "seller_links": []}
    assert len(ledger.messages()) == 1  # the outbox records what was sent: kept

    fill(ledger)  # what a rebuild does, at other times
    assert ledger.dump() == before


def test_the_same_writes_dump_alike_on_both_engines(tmp_path: Path, pg_url: str) -> None:
    with closing(Ledger(f"sqlite:///{tmp_path / 'l.db'}")) as lite, closing(Ledger(pg_url)) as pg_:
        fill(lite)
        fill(pg_)
        assert lite.dump() == pg_.dump()


def test_a_closed_ledger_refuses_work(ledger: Ledger) -> None:
    ledger.close()
    with pytest.raises(Unavailable, match="closed"):
        ledger.queue()


@contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Another connection in a write transaction that holds what a ledger write needs: SQLite's
    write lock, or an EXCLUSIVE lock on PostgreSQL's `cases` (it lets only plain reads by)."""
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)) as c:
            c.execute("BEGIN IMMEDIATE")
            c.execute("UPDATE cases SET state = 'closed'")
            yield
            c.execute("ROLLBACK")
    else:
        with psycopg.connect(url) as conn:  # rolled back on leaving
            conn.execute("LOCK TABLE cases IN EXCLUSIVE MODE")
            conn.execute("UPDATE cases SET state = 'closed'")
            yield


def test_reads_go_on_while_a_writer_holds_the_write_lock(url: str, ledger: Ledger) -> None:
    ledger.record_case(snapshot(1, revision=2))
    with ThreadPoolExecutor(2) as ex:
        with write_lock_held(url):
            write = ex.submit(ledger.record_case, snapshot(1, revision=3))
            queue = ex.submit(ledger.queue).result(timeout=3)
            dump = ex.submit(ledger.dump).result(timeout=3)
            assert not write.done()  # the lock is real: the write waits for it
        assert write.result(timeout=10)
    assert [e.state for e in queue] == ["queued"]  # the writer's uncommitted change is not seen
    assert len(dump["audit"]) == 2


@pytest.mark.parametrize("bad", ["postgresql+psycopg://x", "mysql://x", "file.db"])
def test_unknown_schemes_are_refused(bad: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput, match="sqlite:///path, postgresql://… or postgres://…"):
        Ledger(bad)
    assert not list(tmp_path.iterdir())  # no SQLite file made up on the side


def test_a_server_that_is_down_is_unavailable_in_one_line() -> None:
    url = f"postgresql://casework@127.0.0.1:{pg.free_port()}/casework"
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        Ledger(url, timeout=0.5)
    assert time.monotonic() - started < 5
    assert "Connection refused" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__

    # Without logging configured (as in the CLI) nothing but the caller's line reaches stderr.
    script = ("import sys\nfrom ledger.store import Ledger\n"
              "from domain.errors import Unavailable\n"
              "try:\n    Ledger(sys.argv[1], timeout=0.5)\n"
              "except Unavailable as e:\n    print(e, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script, url], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.stderr.splitlines() == [str(caught.value)]


def test_a_stopped_server_is_unavailable_and_the_same_ledger_recovers(
        cluster: pg.Cluster, pg_url: str) -> None:
    with closing(Ledger(pg_url)) as ledger, closing(Ledger(pg_url, timeout=0.5)) as impatient:
        ledger.record_case(snapshot(1))
        cluster.stop()
        try:
            with pytest.raises(Unavailable) as caught:
                impatient.queue()
        finally:
            cluster.start()
        assert "\n" not in str(caught.value)
        assert [e.case_id for e in ledger.queue()] == ["case-listing-L-1"]


def test_a_connection_broken_mid_write_is_retried_on_a_fresh_one(pg_url: str) -> None:
    with (closing(Ledger(pg_url)) as ledger, ThreadPoolExecutor(1) as ex,
          psycopg.connect(pg_url, autocommit=True) as admin, psycopg.connect(pg_url) as blocker):
        ledger.record_case(snapshot(1, revision=1))
        blocker.execute("SELECT 1 FROM cases WHERE case_uid = 'uid-1' FOR UPDATE")
        write = ex.submit(ledger.record_case, snapshot(1, revision=2))
        deadline = time.monotonic() + 5
        while not (waiting := admin.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'").fetchall()):
            assert time.monotonic() < deadline, "the ledger's write never waited for the row"
            time.sleep(0.01)
        admin.execute("SELECT pg_terminate_backend(%s)", waiting[0])
        blocker.rollback()
        assert write.result(timeout=10)
        assert [e.seq for e in ledger.audit("case-listing-L-1")] == [1, 2]


def test_a_restart_mid_run_loses_nothing(cluster: pg.Cluster, pg_url: str) -> None:
    """Four threads write cases (three revisions and a message each) through one Ledger while
    the server stops and starts: every write lands once, and no caller sees an error."""
    written: list[int] = []
    stop = threading.Event()

    def write_cases(ledger: Ledger, first: int) -> None:
        n = first
        while not stop.is_set():
            for revision in (1, 2, 3):
                ledger.record_case(snapshot(n, revision=revision))
            ledger.put_message(f"m-{n}", f"case-listing-L-{n}", "outbox", "a@b", "outcome", "x")
            written.append(n)
            n += 1

    def until(count: int) -> None:
        deadline = time.monotonic() + 20
        while len(written) < count:
            assert time.monotonic() < deadline, f"{len(written)} of {count} cases written"
            time.sleep(0.01)

    with closing(Ledger(pg_url)) as ledger, ThreadPoolExecutor(4) as ex:
        writers = [ex.submit(write_cases, ledger, k * 1_000_000) for k in range(4)]
        try:
            until(40)
            cluster.stop()
            time.sleep(0.5)  # writes keep coming while the server is gone
            cluster.start()
            until(len(written) + 40)
            assert not any(w.done() for w in writers)  # every writer rode through the restart
        finally:
            stop.set()
        for w in writers:
            w.result()
        dump = ledger.dump()
        assert len(ledger.messages()) == len(written)

    assert {r["case_uid"]: r["revision"] for r in dump["cases"]} == {
        f"uid-{n}": 3 for n in written}
    assert sorted((r["case_uid"], r["seq"]) for r in dump["audit"]) == sorted(
        (f"uid-{n}", seq) for n in written for seq in (1, 2, 3))


def test_a_ledger_from_before_lifecycles_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the first release's table, one review in it
        db.execute(SCHEMA[0].replace("lifecycle TEXT NOT NULL DEFAULT 'review',", ""))
        db.execute("INSERT INTO cases VALUES ('u-1', 'case-listing-L-1', 1, 'queued', 'ip', 'P2', "
                   "2, NULL, NULL, NULL, 0, 'listing', 'L-1', '[]', '2026-11-25T12:00:00+00:00', "
                   "'2026-11-25T12:00:00+00:00')")
    [entry] = Ledger(f"sqlite:///{path}").queue()
    assert (entry.case_id, entry.lifecycle) == ("case-listing-L-1", "review")


def test_a_photo_many_cases_share_does_not_crowd_out_the_sellers_own_history(
        ledger: Ledger) -> None:
    """Each relation (seller, shop, photo) brings its own newest `limit`; no queues, nothing."""
    placeholder = "0000000000000000"
    for n in range(1, 4):  # the seller's own, older
        ledger.record_case(snapshot(n).model_copy(update={
            "seller_id": "U-7", "opened_at": NOW - timedelta(days=1)}))
    for n in range(10, 40):  # a "no photo" placeholder on many others' listings
        ledger.record_case(snapshot(n).model_copy(update={
            "seller_id": f"U-{n}", "image_hashes": [placeholder]}))
    found = ledger.about("U-7", None, ["ip"], 10, [placeholder])
    assert {e.case_uid for e in found if e.seller_id == "U-7"} == {"uid-1", "uid-2", "uid-3"}
    assert len(found) == 13
    assert ledger.about("U-7", None, [], 10, [placeholder]) == []
