"""The case ledger's schema: Alembic's numbered revisions (`ledger/migrations/versions/`), run
when a ledger opens, on either engine.

A ledger already at the newest revision costs one cheap read; Alembic and SQLAlchemy are
imported only when there is work to do. The revisions run in one transaction that holds the
ledger to itself (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so processes opening
a ledger together upgrade it once. Revisions only go forward: a ledger is never downgraded.
"""

from __future__ import annotations

import sqlite3
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from domain.errors import Unavailable
from ledger.engines import Cursor, Postgres, Sqlite, first_line
from ledger.migrations.baseline import SCHEMA

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

# SCHEMA (revision 0001's tables): tests make the ledgers of older releases from it.
__all__ = ["SCHEMA", "create_schema", "current", "head"]

MIGRATIONS = Path(__file__).parent / "migrations"
# casework's own name for Alembic's version table: a database shared with another Alembic-managed
# application keeps both apart.
VERSION_TABLE = "casework_schema_version"
# The key casework took before revisions too: an older process starting beside it waits.
_PG_LOCK = int.from_bytes(b"casework")
# Alembic's `op` (what revisions call) is one per process: one ledger upgrades at a time.
_ALEMBIC = threading.Lock()


@cache
def head() -> str:
    """The newest revision: `NNNN_slug.py` is revision NNNN, and each follows the one before."""
    return max((p.name.partition("_")[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py")),
               key=int)


def current(db: Sqlite | Postgres) -> str | None:
    """The ledger's revision; None for a new ledger or one made before revisions."""

    def read(cur: Cursor) -> str | None:
        found = cur.query(f"SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL" if cur.postgres
                          else f"SELECT count(*) FROM sqlite_master WHERE name = '{VERSION_TABLE}'")
        if not found[0][0]:
            return None
        rows = cur.query(f"SELECT version_num FROM {VERSION_TABLE}")
        return str(rows[0][0]) if len(rows) == 1 else None

    return db.transaction(read, write=False)


def create_schema(db: Sqlite | Postgres) -> None:
    """Bring the ledger to the newest revision (a new one, or one an older casework made)."""
    if current(db) == head():
        return
    with _ALEMBIC:
        at = current(db)  # another thread may have done it meanwhile
        if at == head():
            return
        if at is not None and at.isdigit() and int(at) > int(head()):
            raise Unavailable(f"the ledger is at schema revision {at}, newer than this casework's "
                              f"({head()}): run a newer casework")
        _upgrade(db)


def _upgrade(db: Sqlite | Postgres) -> None:
    import sqlalchemy as sa
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError

    postgres = isinstance(db, Postgres)
    # The engine's own connection (the SQLite file made owner-only before anything opens it).
    engine = sa.create_engine("postgresql+psycopg://" if postgres else "sqlite://",
                              creator=db.connect, poolclass=sa.NullPool)
    if not postgres:  # sqlite3 opens no transaction for DDL: this one takes the write lock first
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    script = _script()
    try:
        with engine.connect() as conn, conn.begin():
            if postgres:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
            context = MigrationContext.configure(conn, opts={  # as `alembic upgrade head`
                "script": script, "fn": lambda at, _: script._upgrade_revs("head", at),
                "version_table": VERSION_TABLE})
            with Operations.context(context):
                context.run_migrations()  # reads the revision again, under the lock
    except sa.exc.DBAPIError as e:
        if isinstance(e.orig, sqlite3.OperationalError | psycopg.OperationalError):
            raise Unavailable(f"ledger schema upgrade to {head()}: {first_line(e.orig)}") from None
        raise
    except CommandError as e:  # a revision this casework does not know
        raise Unavailable(f"ledger schema upgrade to {head()}: {first_line(e)}") from None
    finally:
        engine.dispose()


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))
