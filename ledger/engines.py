"""The case ledger's two engines behind one interface: SQLite (one connection per thread, WAL)
and PostgreSQL (a checked pool), each running a function in a transaction (`Cursor` translates
the `?` placeholders), and the `Store` the ledger's parts share. A connection failure surfaces as
`domain.errors.Unavailable` with a one-line message."""

from __future__ import annotations

import logging
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
from domain.errors import InvalidInput, Unavailable

T = TypeVar("T")

SCHEMES = "sqlite:///path, postgresql://… or postgres://…"

# The pool logs every failed reconnect. Where logging is configured (the worker) that shows;
# elsewhere (the CLI) Python's last-resort handler would print it on stderr next to the
# one-line error the caller reports.
logging.getLogger("psycopg").addHandler(logging.NullHandler())


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="microseconds")


def dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Store:
    """What every part of the ledger shares: its engine, and one read or write in a transaction."""

    _db: Sqlite | Postgres

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._db.transaction(lambda cur: cur.query(sql, params), write=False)

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        return self._db.transaction(lambda cur: cur.execute(sql, params), write=True)


def first_line(e: BaseException) -> str:
    return next(iter(str(e).splitlines()), type(e).__name__)


def open_db(url: str, timeout: float) -> Sqlite | Postgres:
    if url.startswith("sqlite:///"):
        return Sqlite(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        return Postgres(url, timeout)
    scheme = url.partition("://")[0] if "://" in url else "none"
    raise InvalidInput(f"unsupported ledger URL scheme ({scheme}): use {SCHEMES}")


class Cursor:
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


class Sqlite:
    """One connection per thread (WAL, synchronous=NORMAL). A write takes the write lock up
    front (BEGIN IMMEDIATE: a read-then-write cannot deadlock on the upgrade); a read takes none
    and sees the last commit while a writer works."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conns: dict[int, sqlite3.Connection] = {}  # by thread
        self._closed = False

    def transaction(self, fn: Callable[[Cursor], T], *, write: bool) -> T:
        conn = self._connection()
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            result = fn(Cursor(cur, postgres=False))
            cur.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                cur.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError):  # locked past the busy wait, disk full
                raise Unavailable(f"SQLite ledger {self._path}: {first_line(e)}") from None
            raise
        return result

    def _connection(self) -> sqlite3.Connection:
        conn = self._conns.get(threading.get_ident())
        if conn is not None:
            return conn
        if self._closed:
            raise Unavailable(f"SQLite ledger {self._path} is closed")
        conn = self._conns[threading.get_ident()] = self.connect()
        return conn

    def connect(self) -> sqlite3.Connection:
        """A new connection (the migrations' own, or a thread's), to a file made owner-only
        before SQLite opens it; its transactions are explicit (BEGIN … COMMIT)."""
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            owner_only(self._path)
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            _wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as e:
            raise Unavailable(f"SQLite ledger {self._path}: {first_line(e)}") from None
        return conn

    def close(self) -> None:
        self._closed = True
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()


class Postgres:
    """A pool that checks a connection before handing it out, so the connections a restarted
    server dropped are replaced without the caller noticing."""

    def __init__(self, url: str, timeout: float) -> None:
        try:
            info = conninfo_to_dict(url)
        except psycopg.ProgrammingError as e:
            raise InvalidInput(f"bad PostgreSQL URL: {first_line(e).replace(url, '…')}") from None
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

    def transaction(self, fn: Callable[[Cursor], T], *, write: bool, retry: bool = True) -> T:
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
                return fn(Cursor(conn.cursor(), postgres=True))
        except psycopg.OperationalError as e:
            if not (retry and conn.closed):
                raise Unavailable(f"{self._where}: {first_line(e)}") from None
        finally:
            self._pool.putconn(conn)
        self._pool.drain()
        return self.transaction(fn, write=write, retry=False)

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection outside the pool, in transactions (the migrations' own)."""
        try:
            return psycopg.connect(self._url, connect_timeout=self._kwargs["connect_timeout"])
        except psycopg.Error as e:
            raise Unavailable(f"{self._where}: {first_line(e)}") from None

    def _unreachable(self) -> Unavailable:
        """The pool had no connection in time: one direct attempt says why (the pool only logs
        its reasons)."""
        try:
            psycopg.connect(self._url, **self._kwargs).close()
        except psycopg.Error as e:
            return Unavailable(f"{self._where}: {first_line(e)}")
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
