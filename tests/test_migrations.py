"""The ledger's schema migrations (Alembic, `ledger/migrations/`) on SQLite and PostgreSQL: a
ledger an older casework made upgrades in place and keeps its rows, a new one reaches the newest
revision, opening again does nothing, and processes opening a new ledger together all succeed."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from alembic.script import ScriptDirectory

from domain.errors import Unavailable
from ledger import schema
from ledger.migrations.baseline import ADDED_COLUMNS, SCHEMA
from ledger.schema import current, head
from ledger.store import Ledger
from tests import pg

ROOT = Path(__file__).resolve().parents[1]

# The schema as casework made it before numbered revisions is frozen in
# ledger/migrations/baseline.py (revision 0001 runs it; it is never edited): these tests build
# the ledgers older releases made from it.
OLD_SCHEMA, OLD_ADDED_COLUMNS = SCHEMA, ADDED_COLUMNS

# The first release's columns of `cases`: a row every ledger made before revisions takes.
_OLD_CASE_ROW = (
    "INSERT INTO cases (case_uid, case_id, revision, state, queue, priority, priority_rank, "
    "assignee, lease_expires_at, sla_deadline, sla_breached, subject_kind, subject_id, policy_ids, "
    "opened_at, updated_at) VALUES ('u-1', 'case-listing-L-1', 1, 'queued', 'ip', 'P2', 2, NULL, "
    "NULL, NULL, 0, 'listing', 'L-1', '[]', '2026-11-25T12:00:00+00:00', "
    "'2026-11-25T12:00:00+00:00')")
_OLD_AUDIT_ROW = ("INSERT INTO audit VALUES ('u-1', 'case-listing-L-1', 1, "
                  "'2026-11-25T12:00:00+00:00', 't', 'opened', '')")


def run(url: str, statements: list[str]) -> None:
    """The statements in one transaction, on a connection of the test's own."""
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db, db:
            for stmt in statements:
                db.execute(stmt)
        return
    with psycopg.connect(url) as conn:
        for stmt in statements:
            conn.execute(stmt)  # type: ignore[arg-type]  # test-made SQL


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            return [tuple(r) for r in db.execute(sql)]
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql)]  # type: ignore[arg-type]


def make_old_ledger(url: str, added: bool = True, row: bool = True) -> None:
    """A ledger as casework made it before revisions (no casework_schema_version table); `added`: with
    the columns added since the first release, as the last release made them."""
    statements = list(OLD_SCHEMA)
    if added:
        statements += [f"ALTER TABLE {table} ADD COLUMN {column}"
                       for table, columns in OLD_ADDED_COLUMNS.items() for column in columns.values()]
    run(url, statements + ([_OLD_CASE_ROW, _OLD_AUDIT_ROW] if row else []))


def shape(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's columns in order (name, type, nullability, default) and every index."""
    if url.startswith("sqlite:///"):
        tables = [t for (t,) in rows(url, "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {"columns": [(t, *c) for t in sorted(tables) for c in rows(
                    url, f"SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{t}')")],
                "indexes": rows(url, "SELECT name, tbl_name, sql FROM sqlite_master "
                                     "WHERE type = 'index' ORDER BY name")}
    return {"columns": rows(url, "SELECT table_name, column_name, data_type, is_nullable, "
                                 "column_default FROM information_schema.columns WHERE table_schema "
                                 "= 'public' ORDER BY table_name, ordinal_position"),
            "indexes": rows(url, "SELECT indexname, tablename, indexdef FROM pg_indexes "
                                 "WHERE schemaname = 'public' ORDER BY indexname")}


def without_version_table(s: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {k: [r for r in v if "casework_schema_version" not in r] for k, v in s.items()}


@pytest.fixture(params=["sqlite", "postgres"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes the URL of a new ledger (a database of its own) on the engine of the test."""
    with ExitStack() as stack:
        def make() -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path / uuid4().hex}.db"
            cluster: pg.Cluster | None = request.getfixturevalue("pg_cluster")
            server = cluster.url if cluster else os.environ["CASEWORK_TEST_PG_URL"]
            return stack.enter_context(pg.database(server))

        yield make


def open_close(url: str) -> None:
    Ledger(url).close()


def current_of(url: str) -> str | None:
    with closing(Ledger(url)) as ledger:
        return current(ledger._db)


@pytest.mark.parametrize("added", [True, False], ids=["last-release", "before-added-columns"])
def test_a_ledger_made_before_revisions_upgrades_in_place(new_url: Callable[[], str],
                                                          added: bool) -> None:
    url = new_url()
    make_old_ledger(url, added=added)
    with closing(Ledger(url)) as ledger:
        [entry] = ledger.queue()
        assert (entry.case_id, entry.lifecycle) == ("case-listing-L-1", "review")
    assert rows(url, "SELECT version_num FROM casework_schema_version") == [(head(),)]
    assert rows(url, "SELECT case_uid, seq, event FROM audit") == [("u-1", 1, "opened")]
    fresh = new_url()
    open_close(fresh)
    assert shape(url) == shape(fresh)  # columns in the same order, the same indexes


def test_a_new_ledger_reaches_the_newest_revision_with_all_of_the_last_releases_schema(
        new_url: Callable[[], str]) -> None:
    """Revisions after the baseline only add: every column and index of the last release is
    there as it was."""
    url, old = new_url(), new_url()
    open_close(url)
    assert current_of(url) == head()
    make_old_ledger(old, row=False)
    new, last = without_version_table(shape(url)), shape(old)
    for part in ("columns", "indexes"):
        assert set(last[part]) <= set(new[part]), set(last[part]) - set(new[part])


def test_opening_again_runs_no_revision(new_url: Callable[[], str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = new_url()
    open_close(url)
    before = shape(url)

    def refuse(_: object) -> None:
        raise AssertionError("a ledger at the newest revision was upgraded")

    monkeypatch.setattr(schema, "_upgrade", refuse)
    open_close(url)
    assert shape(url) == before
    assert rows(url, "SELECT version_num FROM casework_schema_version") == [(head(),)]


def test_processes_opening_a_new_ledger_together_all_succeed(new_url: Callable[[], str],
                                                             tmp_path: Path) -> None:
    """Each process imports all it needs, waits for the others, then opens the ledger."""
    url, n = new_url(), 4
    script = (
        "import sys, time, pathlib, sqlalchemy, alembic.operations, alembic.runtime.migration\n"
        "from ledger.store import Ledger\n"
        "ready = pathlib.Path(sys.argv[2]); (ready / sys.argv[3]).touch()\n"
        "deadline = time.monotonic() + 60\n"
        "while len(list(ready.iterdir())) < int(sys.argv[4]) and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "Ledger(sys.argv[1]).close()\n")
    ready = tmp_path / "ready"
    ready.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", script, url, str(ready), str(i), str(n)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert rows(url, "SELECT version_num FROM casework_schema_version") == [(head(),)]


def test_the_revisions_are_numbered_and_chained_in_order() -> None:
    """`head()` reads the newest revision off the file names; Alembic's chain must agree."""
    script = ScriptDirectory(str(schema.MIGRATIONS))
    revisions = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in revisions] == [Path(r.path).name.partition("_")[0]
                                               for r in revisions]
    assert [r.down_revision for r in revisions] == [None] + [r.revision for r in revisions[:-1]]
    assert [int(r.revision) for r in revisions] == list(range(1, len(revisions) + 1))
    assert script.get_heads() == [head()]


def test_a_ledger_at_head_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    open_close(url)
    check = ("import sys\nfrom ledger.store import Ledger\nLedger(sys.argv[1]).close()\n"
             "assert not {'alembic', 'sqlalchemy'} & set(sys.modules), 'imported'\n")
    done = subprocess.run([sys.executable, "-c", check, url], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_ledger_from_a_newer_casework_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    open_close(url)
    run(url, ["UPDATE casework_schema_version SET version_num = '9999'"])
    with pytest.raises(Unavailable, match="newer than this casework"):
        open_close(url)


def test_a_database_shared_with_another_alembic_app_keeps_both(tmp_path: Path) -> None:
    """casework's revisions live in a version table of its own, never in Alembic's default
    one that another application sharing the database keeps."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    run(url, ["CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
              "INSERT INTO alembic_version VALUES ('3f2a9c1d')"])
    open_close(url)
    assert rows(url, "SELECT version_num FROM alembic_version") == [("3f2a9c1d",)]
    assert rows(url, "SELECT version_num FROM casework_schema_version") == [(head(),)]
    assert rows(url, "SELECT count(*) FROM people") == [(0,)]


def test_a_new_sqlite_ledger_is_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "ledger.db"
        with closing(Ledger(f"sqlite:///{path}")) as ledger:
            ledger.queue()
            files = [p for p in tmp_path.iterdir() if p.name.startswith("ledger.db")]
            assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}, files
    finally:
        os.umask(old)


def test_an_older_ledgers_side_files_are_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    open_close(f"sqlite:///{path}")
    for side in ("ledger.db-wal", "ledger.db-shm"):
        (tmp_path / side).touch()
        os.chmod(tmp_path / side, 0o644)
    with closing(Ledger(f"sqlite:///{path}")) as ledger:  # (closing removes them)
        ledger.queue()
        assert {stat.S_IMODE((tmp_path / n).stat().st_mode)
                for n in ("ledger.db", "ledger.db-wal", "ledger.db-shm")} == {0o600}
