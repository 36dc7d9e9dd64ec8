"""casework's HTTP API: the client's operations over HTTP, for people and services alike.

Every call is authenticated (`Authorization: Bearer cw_…`); the acting person is always the
token's owner, never a name in the body. A service token acts only within its scopes and never
as a person. Every command takes an `Idempotency-Key`: sent again, it answers its first outcome.
Bodies are JSON with no unknown fields, at most 1 MB; errors are problem+json. Routes live per
concern in `api/routes/`; what they share is in `api/deps.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException

from api import console, telemetry
from api.problems import RESPONSES, install, problem
from api.routes import (
    appeals,
    auth,
    cases,
    commands,
    datasets,
    escalations,
    intake,
    jobs,
    ops,
    qa,
    reports,
    trends,
)
from client.casework import CaseworkClient
from client.credentials import Credentials
from domain.reports import load_libraries

MAX_BODY = 1_000_000


class BodyLimit:
    """At most MAX_BODY bytes a request, declared (Content-Length: refused before a byte is
    read) or streamed (chunked: refused once the count passes it). The refusal is raised where
    the body is read, so the API answers problem+json and the console a page."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit():
            return await problem(400, "bad-request", "Content-Length is not a number")(
                scope, receive, send)
        seen = int(length) if int(length) > MAX_BODY else 0

        async def counted() -> Any:
            nonlocal seen
            if seen > MAX_BODY:
                raise HTTPException(413, TOO_LARGE)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counted, send)


TOO_LARGE = f"the body exceeds {MAX_BODY:,} bytes"


def create_app(connect: Callable[[], Awaitable[CaseworkClient]]) -> FastAPI:
    """The app, with its casework client made by `connect` when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.cw = await connect()
        app.state.credentials = Credentials(app.state.cw.ledger)
        warming = asyncio.create_task(asyncio.to_thread(load_libraries))  # reports' statistics
        yield
        await warming

    app = FastAPI(title="casework", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description=(__doc__ or "").strip().splitlines()[0])
    install(app)
    app.add_middleware(BodyLimit)
    console.install(app)  # its security headers wrap every response, refusals too
    telemetry.install(app)  # counts and times every request, refusals too; /metrics
    for routes in (auth, intake, cases, commands, appeals, escalations, jobs, ops, qa,
                   reports, datasets, trends):
        app.include_router(routes.router, responses=RESPONSES)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Any:
        """The API reference, drawn from the OpenAPI document (`/openapi.json`) on the server:
        no script from elsewhere, so the console's Content-Security-Policy holds here too."""
        return console.reference(request, app.openapi())

    return app
