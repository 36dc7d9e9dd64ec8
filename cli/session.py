"""The command line signed in, like `gh` or `kubectl`: `casework login` keeps a person's token
for the user (a file only they read), or `CASEWORK_TOKEN` gives one; every person's command
then goes through casework's HTTP API as that person.

A command carries an `Idempotency-Key` made once per invocation (or `--request-id`) and sends
it again on every retry: a command whose answer was lost is answered its first outcome, never
done twice. Errors come back as casework's typed errors, in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from config.settings import Settings
from domain import errors

LOOPBACK = ("127.0.0.1", "localhost", "::1")
RETRIES = (0.5, 1.0, 2.0)  # seconds before each retry of a call that got no answer
TIMEOUT_S = 30.0
PROBLEMS: dict[str, type[errors.CaseworkError]] = {
    "invalid-input": errors.InvalidInput, "bad-request": errors.InvalidInput,
    "too-large": errors.InvalidInput, "refused": errors.Refused, "closed": errors.Closed,
    "forbidden": errors.Refused, "unauthenticated": errors.Refused,
    "too-many-requests": errors.Refused, "not-found": errors.NotFound,
    "empty-queue": errors.EmptyQueue, "unavailable": errors.Unavailable,
}


def config_dir() -> Path:
    """`CASEWORK_CONFIG_DIR`, else `$XDG_CONFIG_HOME/casework`, else `~/.config/casework`."""
    if explicit := os.environ.get("CASEWORK_CONFIG_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "casework"


def _file() -> Path:
    return config_dir() / "credentials.json"


def saved() -> dict[str, Any]:
    """What `casework login` kept (empty when nobody signed in here)."""
    try:
        data = json.loads(_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(api: str, answer: dict[str, Any]) -> Path:
    """Keep a sign-in's token for this user only: written to a new 0600 file in a 0700 folder,
    then renamed over the old one (never through a link someone left there)."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _file()
    fd, fresh = tempfile.mkstemp(dir=folder, prefix=".credentials-")  # 0600, O_EXCL
    with os.fdopen(fd, "w") as f:
        json.dump({"api": api, "token": answer["token"], "token_id": answer["token_id"],
                   "person": answer["person"]["id"], "expires_at": answer["expires_at"]}, f)
    os.replace(fresh, path)
    return path


def forget() -> None:
    with contextlib.suppress(FileNotFoundError):
        _file().unlink()


def api_url(explicit: str | None = None) -> str:
    """`--api`, else `CASEWORK_API_URL`, else the API signed in to, else this machine's (where
    `make run` and `casework api` serve it: CASEWORK_API_HOST and CASEWORK_API_PORT)."""
    if url := explicit or os.environ.get("CASEWORK_API_URL") or saved().get("api"):
        return str(url).rstrip("/")
    return local_api_url(Settings())


def local_api_url(local: Settings) -> str:
    """Where this machine serves the API (`make run`, `casework api`): CASEWORK_API_HOST (an
    any-address as loopback) and CASEWORK_API_PORT."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(local.api_host,
                                                                     local.api_host)
    return f"http://{f'[{host}]' if ':' in host else host}:{local.api_port}"


def token(url: str) -> str | None:
    """The token for the API at `url`: `CASEWORK_TOKEN`, else the one `casework login` kept for
    that API (a kept token never goes to another)."""
    if env := os.environ.get("CASEWORK_TOKEN"):
        return env
    return kept(url)


def kept(url: str) -> str | None:
    """The token `casework login` kept for the API at `url`."""
    found = saved()
    return found.get("token") if found.get("api") == url else None


def _safe_to_send(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return
    raise errors.InvalidInput(f"refusing to send a token to {url}: the API is reached over "
                              "https (or plain http on this machine only)")


def path(template: str, **values: str) -> str:
    """An API path with its ids quoted (an id never adds a path segment)."""
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})


class Remote:
    """casework's HTTP API as the signed-in caller."""

    def __init__(self, url: str | None = None, bearer: str | None = None,
                 request_id: str | None = None) -> None:
        self.url = api_url(url)
        self.bearer = bearer if bearer is not None else token(self.url)
        if request_id is not None and (not 1 <= len(request_id) <= 200 or any(
                not ch.isprintable() for ch in request_id)):
            raise errors.InvalidInput("--request-id must be 1-200 printable characters "
                                      "(no control characters)")
        self.key = request_id or str(uuid.uuid4())  # one per invocation, reused on retry

    async def call(self, method: str, where: str, body: Any = None,
                   params: dict[str, Any] | None = None, authenticated: bool = True,
                   timeout: float = TIMEOUT_S) -> Any:
        """The answer's JSON (None for 204); a problem as its casework error."""
        if authenticated and not self.bearer:
            raise errors.Refused(f"not signed in to {self.url}: run `casework login` (or set "
                                 "CASEWORK_TOKEN); people act through the API as themselves")
        _safe_to_send(self.url)
        headers = {"Idempotency-Key": self.key} if method != "GET" else {}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.bearer}"
        async with httpx.AsyncClient(base_url=self.url, timeout=timeout) as http:
            for wait in (*RETRIES, None):
                try:
                    answer = await http.request(method, where, json=body, headers=headers,
                                                params={k: v for k, v in (params or {}).items()
                                                        if v is not None})
                except httpx.TransportError as e:
                    if wait is None:
                        raise errors.Unavailable(f"casework's API at {self.url} did not answer "
                                                 f"({type(e).__name__}); sending the same "
                                                 "command again is safe") from None
                else:
                    if answer.status_code != 503 or wait is None:
                        return _answer(answer)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


    async def lines(self, method: str, where: str, body: Any = None,
                    timeout: float = TIMEOUT_S) -> AsyncIterator[str]:
        """A JSON-lines answer, line by line as it arrives (not retried: a cut-short answer
        is the caller's to notice); a problem as its casework error."""
        if not self.bearer:
            raise errors.Refused(f"not signed in to {self.url}: run `casework login` (or set "
                                 "CASEWORK_TOKEN); people act through the API as themselves")
        _safe_to_send(self.url)
        headers = {"Idempotency-Key": self.key, "Authorization": f"Bearer {self.bearer}"}
        try:
            async with httpx.AsyncClient(base_url=self.url, timeout=timeout) as http, \
                    http.stream(method, where, json=body, headers=headers) as answer:
                if not answer.is_success:
                    await answer.aread()
                    _answer(answer)
                async for line in answer.aiter_lines():
                    if line:
                        yield line
        except httpx.TransportError as e:
            raise errors.Unavailable(f"casework's API at {self.url} did not answer in full "
                                     f"({type(e).__name__}); nothing written") from None


def _answer(answer: httpx.Response) -> Any:
    if answer.status_code == 204:
        return None
    try:
        data = answer.json()
    except ValueError:
        data = None
    if answer.is_success:
        return data
    kind = str(data.get("type", "")).rsplit("/", 1)[-1] if isinstance(data, dict) else ""
    detail = data.get("detail") if isinstance(data, dict) else None
    cls = PROBLEMS.get(kind, errors.Unavailable if answer.status_code >= 500 else errors.Refused)
    raise cls(str(detail or f"the API answered {answer.status_code}"))
