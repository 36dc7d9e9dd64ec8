"""The console's sessions and the headers of its pages: who is signed in (a cookie naming a
session kept by `Credentials`), the role each kind of page asks, the CSRF check of every form,
and the Content-Security-Policy on every response."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from api.problems import Forbidden
from api.roles import ESCALATION_READERS, OPS_READERS, has, reads_queue
from client.credentials import Session
from domain.appeal.models import APPEALS_QUEUE
from domain.authority import APPROVERS
from domain.people import Person
from domain.takedown.models import TAKEDOWN_QUEUE as TAKEDOWNS

COOKIE, LOGIN_COOKIE = "cw_session", "cw_login"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin")]


class SignedOut(Exception):
    pass


def session(request: Request) -> Session:
    cookie = request.cookies.get(COOKIE)
    found = request.app.state.credentials.find_session(cookie) if cookie else None
    if found is None:
        raise SignedOut
    return found


Signed = Annotated[Session, Depends(session)]


def allowed(check: Callable[[Person], bool], message: str) -> Any:
    """A signed-in session whose person passes `check` (else 403 with `message`)."""
    def dependency(s: Signed) -> Session:
        if not check(s.person):
            raise Forbidden(message)
        return s
    return Annotated[Session, Depends(dependency)]


AppealsTeam = allowed(lambda p: reads_queue(p, APPEALS_QUEUE),
                       "Appeals are for people with the appeals role.")
EscalationReader = allowed(lambda p: has(p, ESCALATION_READERS),
                            "Escalations are for their owners, leads, ops and admins.")
TakedownReader = allowed(lambda p: reads_queue(p, TAKEDOWNS),
                          f"Takedown jobs and shop reviews are for people who work {TAKEDOWNS}.")
Approver = allowed(lambda p: has(p, APPROVERS), "Approvals are for seniors.")
OpsReader = allowed(lambda p: has(p, OPS_READERS), "The ops page is for ops, leads and admins.")


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings, whatever characters a form sent."""
    return hmac.compare_digest(a.encode(), b.encode())


def csrf_ok(s: Session, token: str) -> None:
    if not token or not same(s.csrf, token):
        raise Forbidden("the form's CSRF token is missing or does not match this session")


class SecurityHeaders:
    """The CSP and its companions on every response, and `no-store` on all but the static files
    and what says how long it may be kept (a listing's photo); a page seen signed in is not
    kept for the Back button after sign-out. Plain ASGI."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        static = scope["path"].startswith("/static/")

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), *SECURITY_HEADERS]
                if not static and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
