"""The directory of people and who may call: people, password hashes, tokens, sessions,
sign-in attempts and Idempotency-Keys (records of their own: not derived from workflows, kept
by a rebuild). Hashes only: a password or a token's secret is never stored."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.people import Person
from ledger.engines import Cursor, Store, dt, iso

_PEOPLE_COLUMNS = "id, name, roles, queues, active, created_at, updated_at"
_PERSON = f"SELECT {_PEOPLE_COLUMNS} FROM people WHERE id = ?"


class People(Store):
    # -- the directory of people (a record of its own: not derived, kept by a rebuild) --------
    def put_person(self, person: Person) -> Person:
        """Add a person or replace their name, roles, queues and active flag (the time they
        were first added stays); the stored person."""
        now = iso(datetime.now(UTC))

        def upsert(cur: Cursor) -> Person:
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

        def disable(cur: Cursor) -> Person | None:
            now = iso(datetime.now(UTC))
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

    # -- credentials (hashes only: a password or token secret is never stored) ----------------
    def set_password_hash(self, person_id: str, password_hash: str) -> None:
        self._write("INSERT INTO credentials (person_id, password_hash, updated_at) VALUES "
                    "(?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET password_hash = "
                    "excluded.password_hash, updated_at = excluded.updated_at",
                    (person_id, password_hash, iso(datetime.now(UTC))))

    def password_hash(self, person_id: str) -> str | None:
        rows = self._read("SELECT password_hash FROM credentials WHERE person_id = ?",
                          (person_id,))
        return rows[0][0] if rows else None

    def put_token(self, token_id: str, secret_hash: str, owner: str, person: bool,
                  scopes: Sequence[str], expires_at: datetime | None = None) -> None:
        self._write("INSERT INTO tokens (token_id, secret_hash, owner, person, scopes, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (token_id, secret_hash, owner, int(person), json.dumps(sorted(scopes)),
                     iso(datetime.now(UTC)), iso(expires_at)))

    def token(self, token_id: str) -> dict[str, Any] | None:
        """A token's row (hash, owner, person or service, scopes, revoked, expired)."""
        rows = self._read("SELECT secret_hash, owner, person, scopes, revoked_at, expires_at "
                          "FROM tokens WHERE token_id = ?", (token_id,))
        if not rows:
            return None
        secret_hash, owner, person, scopes, revoked, expires = rows[0]
        return {"token_id": token_id, "secret_hash": secret_hash, "owner": owner,
                "person": bool(person), "scopes": json.loads(scopes), "revoked": bool(revoked),
                "expired": expires is not None and expires <= iso(datetime.now(UTC))}

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
        def write(cur: Cursor) -> None:
            cur.execute("DELETE FROM sessions WHERE expires_at <= ?", (iso(datetime.now(UTC)),))
            cur.execute("INSERT INTO sessions (session_hash, person_id, csrf, expires_at) "
                        "VALUES (?, ?, ?, ?)", (session_hash, person_id, csrf, iso(expires_at)))

        self._db.transaction(write, write=True)

    def idempotency_key(self, caller: str, key: str, body_hash: str, forget_before: datetime
                        ) -> tuple[str, bool]:
        """The body hash an Idempotency-Key was first used with (this one, if it is new), and
        whether it is new; keys older than `forget_before` go."""
        def write(cur: Cursor) -> tuple[str, bool]:
            cur.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (iso(forget_before),))
            new = cur.execute(
                "INSERT INTO idempotency_keys (caller, idem_key, body_hash, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (caller, idem_key) DO NOTHING",
                (caller, key, body_hash, iso(datetime.now(UTC)))) > 0
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
        attempt_id, now = secrets.token_hex(8), iso(datetime.now(UTC))

        def write(cur: Cursor) -> list[int]:
            for key in sorted(keys) if cur.postgres else ():
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))
            cur.execute("DELETE FROM sign_in_attempts WHERE at <= ?", (iso(since),))
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
                          "expires_at > ?", (session_hash, iso(datetime.now(UTC))))
        return (rows[0][0], rows[0][1]) if rows else None

    def end_session(self, session_hash: str) -> None:
        self._write("DELETE FROM sessions WHERE session_hash = ?", (session_hash,))

    def revoke_token(self, token_id: str) -> bool:
        return self._write("UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND "
                           "revoked_at IS NULL", (iso(datetime.now(UTC)), token_id)) > 0


def _person(r: Sequence[Any]) -> Person:
    pid, name, roles, queues, active, created, updated = r
    return Person(id=pid, name=name, roles=json.loads(roles), queues=json.loads(queues),
                  active=bool(active), created_at=dt(created), updated_at=dt(updated))


