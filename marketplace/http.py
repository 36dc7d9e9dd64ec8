"""Adapter for a real marketplace behind an HTTP API.

Endpoints: `GET {base}/subjects/{kind}/{id}` answers SubjectFacts,
`GET {base}/subjects/{kind}/{id}/owner?action=A` answers the target subject,
`POST {base}/actions` applies an action and honours the `Idempotency-Key` header, answering
`{"applied": true|false, "detail": …}` (`false`: this key had already acted),
`GET {base}/sellers/{id}/contact` answers `{"address": …}`,
`GET {base}/shops/{id}/listings?after=CURSOR&limit=N` answers a ListingPage,
`GET {base}/images/{hash}` answers the photo itself (PNG, JPEG, WebP or GIF, at most 5 MB).

The contract, and how an answer is classified (see marketplace/base.py):
- Every answer casework acts on is `application/json`. A 2xx whose body does not have the
  endpoint's shape (HTML from a proxy, a POST /actions answer without a boolean `applied`) is
  unreadable: `MarketplaceUnavailable`.
- The marketplace's own refusals are a 4xx with an `application/json` body
  `{"error": "not_found" | "invalid", "detail": …}`: `not_found` is `SubjectNotFound`, `invalid`
  (its validation refused the request) is `ActionRefused`. Both are final.
- Anything else is `MarketplaceUnavailable`: redirects (never followed: urllib would re-send a
  POST as a GET), 408, 429, 5xx, a 4xx without that JSON body (a proxy's HTML 404), timeouts,
  refused or reset connections, answers cut short.

`timeout` bounds connecting and every wait for data; the activity's heartbeat timeout (apply) or
start-to-close timeout (reads) bounds a server that keeps trickling bytes.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, StrictBool, StrictStr, ValidationError

from domain.core import (
    Action,
    Subject,
    SubjectFacts,
)
from domain.errors import first_problem
from domain.text import IMAGE_HASH
from marketplace.base import (
    MAX_IMAGE,
    ActionRefused,
    ApplyResult,
    ImageFile,
    ListingPage,
    MarketplaceError,
    MarketplaceUnavailable,
    SubjectNotFound,
)

M = TypeVar("M", bound=BaseModel)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError for the 3xx itself


NO_REDIRECTS = urllib.request.build_opener(_NoRedirects)
"""An opener that answers a 3xx with HTTPError instead of following it."""


class _Applied(BaseModel):
    applied: StrictBool
    detail: str = ""


class _Contact(BaseModel):
    address: StrictStr


class _Refusal(BaseModel):
    error: Literal["not_found", "invalid"]
    detail: str = ""


_FINAL: dict[str, type[MarketplaceError]] = {"not_found": SubjectNotFound,
                                             "invalid": ActionRefused}


def _read(resp: Any, within: float) -> bytes:
    """A photo's bytes, at most a byte over MAX_IMAGE (too large is unreadable), all within
    `within` seconds (a server trickling bytes is cut off)."""
    end, chunks, size = time.monotonic() + within, [], 0
    while size <= MAX_IMAGE and (chunk := resp.read1(65_536)):
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > end:
            raise TimeoutError(f"the answer took over {within:g}s")
    return b"".join(chunks)


def _parse(model: type[M], content_type: str, data: bytes) -> M:
    """The body as `model` (an image as itself); ValueError when it is not of that shape."""
    if model is ImageFile:
        return model.model_validate({"media_type": content_type, "data": data})
    if content_type != "application/json":
        raise ValueError(f"{content_type} body")
    return model.model_validate_json(data)


class HttpMarketplace:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"the marketplace's URL {base_url[:200]!r} is not http(s): set "
                             "CASEWORK_MARKETPLACE_URL")
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, model: type[M], method: str, path: str, body: Any = None,
              headers: dict[str, str] | None = None, whole_within: float | None = None) -> M:
        """`whole_within`: seconds the whole answer must arrive in (a photo), besides the
        timeout of each wait for data."""
        where = f"{method} {path}"
        req = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     **(headers or {})},
        )
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            try:
                resp = NO_REDIRECTS.open(req, timeout=self.timeout)
            except urllib.error.HTTPError as e:
                resp = e  # an error status is still an answer: read it the same way
            with resp:
                status, answer_headers = resp.status, resp.headers
                data = _read(resp, whole_within) if whole_within else resp.read()
        except (OSError, http.client.HTTPException) as e:  # timeouts, resets, cut short
            raise MarketplaceUnavailable(f"{where}: no answer ({type(e).__name__}: {e})") from None
        content_type = answer_headers.get_content_type()
        if 200 <= status < 300:
            try:
                return _parse(model, content_type, data)
            except ValueError as e:
                problem = first_problem(e) if isinstance(e, ValidationError) else e
                raise MarketplaceUnavailable(
                    f"{where}: unreadable answer ({status}, {problem})") from None
        if 300 <= status < 400:
            raise MarketplaceUnavailable(f"{where}: answered {status}, a redirect to "
                                         f"{answer_headers.get('Location')}: not followed")
        if 400 <= status < 500 and status not in (408, 429):
            try:
                refusal = _parse(_Refusal, content_type, data)
            except ValueError:
                pass
            else:
                raise _FINAL[refusal.error](f"{where}: {refusal.error}: {refusal.detail}")
        raise MarketplaceUnavailable(f"{where}: answered {status} ({content_type})")

    def facts(self, subject: Subject) -> SubjectFacts:
        return self._call(SubjectFacts, "GET", f"/subjects/{subject.kind.value}/{subject.id}")

    def resolve(self, subject: Subject, action: Action) -> Subject:
        return self._call(Subject, "GET", f"/subjects/{subject.kind.value}/{subject.id}/owner"
                          f"?action={action.value}")

    def apply(self, target: Subject, action: Action, idempotency_key: str, reason: str
              ) -> ApplyResult:
        return self._act(target, action.value, idempotency_key, reason)

    def reverse(self, target: Subject, action: Action, idempotency_key: str, reason: str
                ) -> ApplyResult:
        """POST /actions with the reversal's name (`restore`, `reinstate_seller`, …)."""
        if action.reversal is None:
            raise ActionRefused(f"{action.value} has no reversal")
        return self._act(target, action.reversal, idempotency_key, reason)

    def _act(self, target: Subject, name: str, idempotency_key: str, reason: str
             ) -> ApplyResult:
        body = {"subject": target.model_dump(mode="json"), "action": name, "reason": reason}
        answer = self._call(_Applied, "POST", "/actions", body,
                            {"Idempotency-Key": idempotency_key})
        return ApplyResult(applied=answer.applied, target=target, detail=answer.detail)

    def seller_contact(self, seller_id: str) -> str:
        return self._call(_Contact, "GET", f"/sellers/{seller_id}/contact").address

    def image(self, image_hash: str) -> ImageFile:
        if not IMAGE_HASH.fullmatch(image_hash):
            raise SubjectNotFound(f"no image {image_hash[:80]!r}: not a hex hash")
        return self._call(ImageFile, "GET", f"/images/{image_hash}",
                          headers={"Accept": "image/*"}, whole_within=self.timeout)

    def shop_listings(self, shop_id: str, after: str | None, limit: int) -> ListingPage:
        query = urllib.parse.urlencode({"limit": limit, **({"after": after} if after else {})})
        shop = urllib.parse.quote(shop_id, safe="")
        return self._call(ListingPage, "GET", f"/shops/{shop}/listings?{query}")
