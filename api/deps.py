"""What every API route shares: the casework client, the authenticated caller, who may read
which queue, paging, and the Idempotency-Key that makes every command safe to send again."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from api.problems import Forbidden, Unauthenticated
from api.roles import reads_queue
from client.casework import CaseworkClient
from client.credentials import Principal
from domain.errors import CaseworkError, InvalidInput, Unavailable
from domain.escalation.models import QUEUE as ESCALATIONS_QUEUE
from domain.text import csv_text, unsafe_chars

MAX_OFFSET = 1_000_000  # deeper than any page a person or a listing needs
MAX_KEY = 200
IDEMPOTENCY_KEPT = timedelta(days=7)  # how long a key answers with its first outcome


class In(BaseModel):
    """A request body: JSON with no unknown fields."""

    model_config = ConfigDict(extra="forbid")


class KeyedId(str):
    """A command's request id, from its Idempotency-Key; `again`: the key came before (the same
    request sent again), which a start-like command answers with what its first start made."""

    def __new__(cls, value: str, again: bool = False) -> KeyedId:
        made = super().__new__(cls, value)
        made.again = again
        return made

    again: bool


class Page(BaseModel):
    items: list[Any]
    offset: int
    limit: int
    next_offset: int | None = None


def page(rows: list[Any], offset: int, limit: int) -> Page:
    """A page of `limit` from `rows` read with one more than the limit (there is a next)."""
    return Page(items=rows[:limit], offset=offset, limit=limit,
                next_offset=offset + limit if len(rows) > limit else None)


Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=200)]


def cw(request: Request) -> CaseworkClient:
    return request.app.state.cw  # type: ignore[no-any-return]


def caller(request: Request,
           authorization: Annotated[str | None, Header()] = None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("sign in: send Authorization: Bearer <token>")
    principal = request.app.state.credentials.principal(token.strip())
    if principal is None:
        raise Unauthenticated("the token is unknown, revoked or expired, or its person is disabled")
    return principal  # type: ignore[no-any-return]


def person(who: Annotated[Principal, Depends(caller)]) -> Principal:
    if not who.is_person:
        raise Forbidden(f"{who.id} is a service: only a person may do this")
    return who


def reads(who: Principal, queue: str) -> None:
    if not who.may_read():
        raise Forbidden(f"{who.id}'s token has no read scope")
    if who.person is None and queue == ESCALATIONS_QUEUE:
        raise Forbidden(f"{who.id} is a service: escalations are read by people")
    if who.person is not None and not reads_queue(who.person, queue):
        raise Forbidden(f"{who.id} does not work queue {queue!r}")


async def idempotency(request: Request, who: Annotated[Principal, Depends(caller)],
                      key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
                      ) -> AsyncIterator[str | None]:
    """A command's request id from its `Idempotency-Key`, scoped to the caller: the same key
    with the same request answers the first outcome; with another request it is refused. A
    request refused before it acted frees its key; one whose outcome is unknown (unavailable)
    keeps it, so sending it again is safe."""
    if key is None:
        yield None
        return
    if not 1 <= len(key) <= MAX_KEY or unsafe_chars(key) or key != key.strip():
        raise InvalidInput(f"Idempotency-Key must be 1-{MAX_KEY} characters, without control "
                           "characters or surrounding spaces")
    body = await request.body()
    digest = hashlib.sha256(b"\x1f".join([request.method.encode(), request.url.path.encode(),
                                          body])).hexdigest()
    credentials = request.app.state.credentials
    first, new = await asyncio.to_thread(credentials.request_key, who.id, key, digest,
                                         datetime.now(UTC) - IDEMPOTENCY_KEPT)
    if first != digest:
        raise InvalidInput(f"Idempotency-Key {key!r} was used before with another request: a "
                           "new request needs a new key")
    try:
        yield KeyedId("key-" + hashlib.sha256(f"{who.id}\x1f{key}".encode()).hexdigest()[:40],
                      again=not new)
    except (CaseworkError, RequestValidationError) as e:
        if not isinstance(e, Unavailable):
            await asyncio.to_thread(credentials.forget_request_key, who.id, key)
        raise


Client = Annotated[CaseworkClient, Depends(cw)]
Caller = Annotated[Principal, Depends(caller)]
AsPerson = Annotated[Principal, Depends(person)]
RequestId = Annotated[str | None, Depends(idempotency)]


def csv_response(header: list[str], rows: list[list[Any]], name: str) -> Response:
    """Rows as a CSV download (`domain.text.csv_text`)."""
    return Response(csv_text(header, rows), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{name}.csv"'})
