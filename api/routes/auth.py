"""Who is calling, and signing in from the command line: a person exchanges their password for
a token (`casework login`), refreshes it before it expires and revokes it on sign-out; and the
directory, the pack and the statements a signed-in caller may read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from api.deps import AsPerson, Caller, Client, In, Offset, Page, page
from api.problems import Forbidden, TooManyRequests, Unauthenticated
from api.roles import OVERSEERS, has
from api.signin import TooMany, sign_in
from client.credentials import Credentials, Principal
from domain.people import Person

router = APIRouter(prefix="/api", tags=["people"])
SIGN_IN_DAYS = 14  # a command line's token; refreshed before it ends


class SignIn(In):
    username: str
    password: str


class Token(BaseModel):
    """A token, shown once: it acts as its person until `expires_at` or its revocation."""

    token: str
    token_id: str
    person: Person
    expires_at: datetime


def _token(request: Request, person: Person) -> Token:
    credentials: Credentials = request.app.state.credentials
    token_id, token = credentials.create_token(person.id, days=SIGN_IN_DAYS)
    return Token(token=token, token_id=token_id, person=person,
                 expires_at=datetime.now(UTC) + timedelta(days=SIGN_IN_DAYS))


@router.post("/login", status_code=201)
async def login(body: SignIn, request: Request) -> Token:
    """A person's password for a token of theirs (limited as the console's sign-in is)."""
    try:
        person = await sign_in(request, body.username, body.password)
    except TooMany:
        raise TooManyRequests("too many attempts: wait five minutes") from None
    if person is None:
        raise Unauthenticated("wrong name or password")
    return await asyncio.to_thread(_token, request, person)


@router.post("/token/refresh", status_code=201)
async def refresh(request: Request, who: AsPerson) -> Token:
    """A new token for the caller's; the one it was asked with is revoked."""
    assert who.person is not None
    fresh = await asyncio.to_thread(_token, request, who.person)
    await asyncio.to_thread(request.app.state.credentials.revoke, who.token_id)
    return fresh


@router.post("/logout", status_code=204)
async def logout(request: Request, who: Caller) -> None:
    """Revoke the token this is asked with."""
    await asyncio.to_thread(request.app.state.credentials.revoke, who.token_id)


@router.get("/me")
async def me(who: Caller) -> Principal:
    return who


@router.get("/people")
async def people(c: Client, who: Caller) -> list[Person]:
    if not who.may_read():
        raise Forbidden(f"{who.id}'s token has no read scope")
    return c.directory.people()


@router.get("/policies")
async def policies(c: Client, who: Caller) -> list[dict[str, Any]]:
    """The policy pack's policies (what a decision may cite)."""
    if not who.may_read():
        raise Forbidden(f"{who.id}'s token has no read scope")
    return [p.model_dump(mode="json", exclude={"rules"}) for p in c.pack().policies]


@router.get("/statements")
async def statements(c: Client, who: Caller, offset: Offset = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page:
    if not who.may_read() or (who.person and not has(who.person, OVERSEERS)):
        raise Forbidden(f"{who.id} may not export statements")
    return page(await c.statements_page(limit=limit + 1, offset=offset), offset, limit)
