"""Errors as `application/problem+json` (RFC 9457): a stable type per casework error, one
reason line that names no internals (a store out of reach is logged, not described), and
nothing changed. `RESPONSES` documents them on every operation of the OpenAPI document."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from domain.errors import (
    CaseworkError,
    Closed,
    EmptyQueue,
    Forbidden,
    InvalidInput,
    NotFound,
    Refused,
    Unavailable,
)

# casework error -> (HTTP status, problem type)
STATUS: dict[type[CaseworkError], tuple[int, str]] = {
    InvalidInput: (422, "invalid-input"), Closed: (409, "closed"), Refused: (409, "refused"),
    NotFound: (404, "not-found"), EmptyQueue: (404, "empty-queue"),
    Unavailable: (503, "unavailable"),
}
HTTP_TYPES = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
              405: "method-not-allowed", 413: "too-large", 415: "unsupported-media-type",
              429: "too-many-requests"}


class Unauthenticated(CaseworkError):
    """No valid credentials."""


class TooManyRequests(CaseworkError):
    """Too many attempts in a window: wait."""


STATUS.update({Forbidden: (403, "forbidden"), Unauthenticated: (401, "unauthenticated"),
               TooManyRequests: (429, "too-many-requests")})
UNAVAILABLE = ("casework cannot answer now (Temporal, a worker or a store did not answer in "
               "time); a command sent again with the same Idempotency-Key is safe")
log = logging.getLogger("casework.api")


class Problem(BaseModel):
    """An error: its stable type, a title, the HTTP status, one line of detail."""

    type: str
    title: str
    status: int
    detail: str


def _documented(status: int, what: str) -> dict[str, object]:
    return {"description": what, "model": Problem,
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}


RESPONSES: dict[int | str, dict[str, object]] = {
    status: _documented(status, what) for status, what in (
        (400, "a malformed request"), (401, "no valid token"),
        (403, "the caller may not do this"), (404, "no such record (or none you may read)"),
        (409, "refused: not allowed in this state or by this person; or closed"),
        (413, "the body is too large"), (422, "invalid input"),
        (429, "too many attempts"), (500, "a bug: nothing changed unless the record shows it"),
        (503, "Temporal, a worker or a store did not answer in time"))}


def problem(status: int, kind: str, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"type": f"/problems/{kind}", "title": kind.replace("-", " "),
                         "status": status, "detail": " ".join(detail.split())},
                        status_code=status, media_type="application/problem+json",
                        headers=headers)


def problem_of(e: CaseworkError) -> JSONResponse:
    status, kind = next((v for cls, v in STATUS.items() if type(e) is cls),
                        next(v for cls, v in STATUS.items() if isinstance(e, cls)))
    if isinstance(e, Unavailable):  # the operator's log says which and why; callers need not
        log.warning("unavailable: %s", e)
        return problem(status, kind, UNAVAILABLE)
    return problem(status, kind, str(e))


def install(app: FastAPI) -> None:
    @app.exception_handler(CaseworkError)
    async def _casework(_: Request, e: CaseworkError) -> JSONResponse:
        return problem_of(e)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return problem(422, "invalid-input", f"{where}: {first.get('msg')}" if where
                       else str(first.get("msg")))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        """A bug: no detail leaves the process (the log has it)."""
        return problem(500, "internal", "something went wrong on our side; nothing was changed "
                       "unless the record shows it")

    @app.exception_handler(HTTPException)
    async def _http(_: Request, e: HTTPException) -> JSONResponse:
        return problem(e.status_code, HTTP_TYPES.get(e.status_code, "error"), str(e.detail))
