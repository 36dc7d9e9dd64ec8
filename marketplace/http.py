"""Adapter for a real marketplace behind an HTTP API.

Expected endpoints (JSON): `GET {base}/subjects/{kind}/{id}` returns SubjectFacts,
`GET {base}/subjects/{kind}/{id}/owner?action=A` returns the target subject,
`POST {base}/actions` applies an action and honours the `Idempotency-Key` header (a repeated key
answers `{"applied": false}`), `GET {base}/sellers/{id}/contact` returns `{"address": …}`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from domain.models import Action, Subject
from domain.policy import SubjectFacts
from marketplace.base import ApplyResult, SubjectNotFound


class HttpMarketplace:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None,
              headers: dict[str, str] | None = None) -> Any:
        req = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise SubjectNotFound(path) from None
            raise

    def facts(self, subject: Subject) -> SubjectFacts:
        return SubjectFacts.model_validate(
            self._call("GET", f"/subjects/{subject.kind.value}/{subject.id}")
        )

    def resolve(self, subject: Subject, action: Action) -> Subject:
        return Subject.model_validate(self._call(
            "GET", f"/subjects/{subject.kind.value}/{subject.id}/owner?action={action.value}"
        ))

    def apply(self, target: Subject, action: Action, idempotency_key: str, reason: str
              ) -> ApplyResult:
        body = {"subject": target.model_dump(mode="json"), "action": action.value,
                "reason": reason}
        answer = self._call("POST", "/actions", body, {"Idempotency-Key": idempotency_key})
        return ApplyResult(applied=bool(answer.get("applied")), target=target,
                           detail=str(answer.get("detail", "")))

    def seller_contact(self, seller_id: str) -> str:
        return str(self._call("GET", f"/sellers/{seller_id}/contact")["address"])
