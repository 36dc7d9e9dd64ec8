"""Who is calling: people's passwords (argon2 hashes) and API tokens (stored as hashes, shown
once), over the ledger. A person's token acts as that person; a service's token acts only within
its scopes and never as a person: `intake` (every source) or `intake:<source>`, `read`,
`appeal` (file sellers' and reporters' appeals) and `escalate` (open escalations from outside).
`internal` reports are the T&S team's own: a person files them, as themself; no service does."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel

from domain.core import Source
from domain.errors import InvalidInput, NotFound
from domain.people import Person
from ledger.store import Ledger

SERVICE_SCOPES = ("read", "appeal", "escalate", "intake",
                  *(f"intake:{s.value}" for s in Source if s is not Source.INTERNAL))
MIN_PASSWORD = 12
TOKEN_DAYS = 90  # a token's life unless asked otherwise
_HASHER = PasswordHasher()


class Principal(BaseModel):
    """The authenticated caller: a person from the directory, or a service."""

    id: str
    person: Person | None = None  # None: a service
    scopes: list[str] = []
    token_id: str = ""  # the token it came with (signing out revokes it)

    @property
    def is_person(self) -> bool:
        return self.person is not None

    def may_file(self, source: Source) -> bool:
        if self.is_person:
            return source is Source.INTERNAL
        return source is not Source.INTERNAL and (
            "intake" in self.scopes or f"intake:{source.value}" in self.scopes)

    def may(self, scope: str) -> bool:
        """A service's scope (a person holds none: people act through their roles)."""
        return not self.is_person and scope in self.scopes

    def may_read(self) -> bool:
        return self.is_person or "read" in self.scopes


class Credentials:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def set_password(self, person_id: str, password: str) -> None:
        if self.ledger.person(person_id) is None:
            raise NotFound(f"unknown person {person_id!r}: not in the directory")
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters")
        self.ledger.set_password_hash(person_id, _HASHER.hash(password))
        self.ledger.end_sessions_of(person_id)  # a new password signs every browser out

    def check_password(self, person_id: str, password: str) -> Person | None:
        """The person, if the password is theirs and they are active; else None (one answer
        for every failure: no hint which part was wrong)."""
        stored = self.ledger.password_hash(person_id)
        person = self.ledger.person(person_id)
        try:
            _HASHER.verify(stored or _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if stored is None or person is None or not person.active:
            return None
        return person

    def create_token(self, owner: str, scopes: Sequence[str] = (),
                     days: int = TOKEN_DAYS) -> tuple[str, str]:
        """(token id, token): a person's token when `owner` is in the directory, a service's
        otherwise (it needs scopes), valid for `days` (0: until revoked). The token is shown
        once; only its hash is kept."""
        if days < 0:
            raise InvalidInput("--days is 0 (until revoked) or more")
        person = self.ledger.person(owner) is not None
        if person and scopes:
            raise InvalidInput(f"{owner!r} is a person: their token acts with their roles and "
                               "takes no --scope (scopes are for services)")
        if unknown := [s for s in scopes if s not in SERVICE_SCOPES]:
            raise InvalidInput(f"unknown scope(s) {', '.join(unknown)}; known: "
                               f"{', '.join(SERVICE_SCOPES)}")
        if not person and not scopes:
            raise InvalidInput(f"{owner!r} is not in the directory: a service token needs "
                               "--scope")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(days=days) if days else None
        self.ledger.put_token(token_id, _digest(secret), owner, person, scopes, expires)
        return token_id, f"cw_{token_id}_{secret}"

    def revoke(self, token_id: str) -> None:
        if not self.ledger.revoke_token(token_id):
            raise NotFound(f"no active token {token_id!r}")

    def principal(self, token: str) -> Principal | None:
        """Who a bearer token stands for (None: unknown, malformed, revoked or expired)."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "cw":
            return None
        row = self.ledger.token(parts[1])
        if (row is None or row["revoked"] or row["expired"]
                or not hmac.compare_digest(row["secret_hash"], _digest(parts[2]))):
            return None
        if not row["person"]:
            return Principal(id=row["owner"], scopes=row["scopes"], token_id=parts[1])
        person = self.ledger.person(row["owner"])
        if person is None or not person.active:
            return None
        return Principal(id=person.id, person=person, token_id=parts[1])


    # -- browser sessions, sign-in attempts and Idempotency-Keys: the API's memory, kept in the
    # ledger so every API process shares it (each call blocks: callers on an event loop use a
    # thread) --------------------------------------------------------------------------------
    def open_session(self, person: Person) -> Session:
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        self.ledger.put_session(_digest(cookie), person.id, csrf,
                                datetime.now(UTC) + timedelta(hours=SESSION_HOURS))
        return Session(cookie=cookie, csrf=csrf, person=person)

    def find_session(self, cookie: str) -> Session | None:
        """The session behind a cookie, while it lasts and its person is active."""
        found = self.ledger.session(_digest(cookie))
        if found is None:
            return None
        person = self.ledger.person(found[0])
        if person is None or not person.active:
            return None
        return Session(cookie=cookie, csrf=found[1], person=person)

    def end_session(self, cookie: str) -> None:
        self.ledger.end_session(_digest(cookie))

    def count_sign_in(self, keys: list[str], since: datetime) -> tuple[str, list[int]]:
        """Record an attempt under each key: its id and each key's attempts since `since`."""
        return self.ledger.sign_in_attempt(keys, since)

    def forget_sign_ins(self, key: str, attempt_id: str) -> None:
        self.ledger.forget_sign_in_attempts(key, attempt_id)

    def request_key(self, owner: str, key: str, digest: str, since: datetime
                    ) -> tuple[str, bool]:
        """The digest first sent with this Idempotency-Key (kept since `since`), and whether
        this is that first time."""
        return self.ledger.idempotency_key(owner, key, digest, since)

    def forget_request_key(self, owner: str, key: str) -> None:
        self.ledger.forget_idempotency_key(owner, key)


class Session(BaseModel):
    cookie: str  # given to the browser; only its hash is kept
    csrf: str
    person: Person


SESSION_HOURS = 12


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_DUMMY = _HASHER.hash("a password nobody has")  # equal work when the person has none
