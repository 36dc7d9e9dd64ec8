"""Signing in, for the console (a session) and the CLI (a token) alike: attempts are counted in
the ledger before the password is checked (every process counts the same ones), at most
ATTEMPTS per person and address in WINDOW_S and ADDRESS_ATTEMPTS per address (one password
tried on many people); a successful sign-in gives its own back. The address is the peer's: no
header a caller sends (X-Forwarded-For) moves it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import Request

from client.credentials import Credentials
from domain.people import Person

ATTEMPTS, WINDOW_S = 5, 300  # sign-in attempts per person and address, then wait
ADDRESS_ATTEMPTS = 50  # sign-ins per address in the window, the successful ones given back


class TooMany(Exception):
    """Too many attempts: wait."""


class Attempts:
    def __init__(self, credentials: Credentials, person_id: str, address: str) -> None:
        self.credentials = credentials
        self.key, self.address_key = f"{person_id}\x1f{address}", f"*\x1f{address}"
        self.attempt_id = ""

    async def allow(self) -> bool:
        since = datetime.now(UTC) - timedelta(seconds=WINDOW_S)
        self.attempt_id, (mine, address) = await asyncio.to_thread(
            self.credentials.count_sign_in, [self.key, self.address_key], since)
        return mine <= ATTEMPTS and address <= ADDRESS_ATTEMPTS

    async def succeeded(self) -> None:
        await asyncio.to_thread(self.credentials.forget_sign_ins, self.key, self.attempt_id)


async def sign_in(request: Request, username: str, password: str) -> Person | None:
    """The person whose password this is (None: wrong name or password), or TooMany."""
    credentials: Credentials = request.app.state.credentials
    attempts = Attempts(credentials, username,
                        request.client.host if request.client else "")
    if not await attempts.allow():
        raise TooMany
    person = await asyncio.to_thread(  # argon2 takes ~0.1 s: not on the event loop
        credentials.check_password, username, password)
    if person is not None:
        await attempts.succeeded()
    return person
