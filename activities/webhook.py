"""The webhook channel: an HMAC-SHA256-signed JSON POST.

Each POST carries `X-Casework-Timestamp` (Unix seconds), `X-Casework-Message-Id` and
`X-Casework-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<message id>.<body>")>`.
Receivers check it with `verify` (which also refuses timestamps older or newer than five
minutes, so a captured request cannot be replayed later) and dedupe on the message id, which
the signature covers: delivery is at least once, as Temporal retries.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any

from temporalio.exceptions import ApplicationError

from marketplace.http import NO_REDIRECTS


def sign(secret: str, timestamp: str, message_id: str, body: bytes) -> str:
    if not secret:
        raise ValueError("refusing to sign a webhook with an empty secret")
    signed = f"{timestamp}.{message_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, message_id: str, body: bytes, signature: str,
           now: float | None = None, tolerance_s: float = 300) -> bool:
    """True only for a well-formed, fresh signature by `secret`; never raises on bad input."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
        expected = sign(secret, timestamp, message_id, body)
        return abs(age) <= tolerance_s and hmac.compare_digest(expected.encode(),
                                                               signature.encode())
    except (TypeError, ValueError, AttributeError):  # missing, non-integer, empty secret
        return False


def post(url: str, secret: str, message_id: str, payload: dict[str, Any],
         timeout: float = 10) -> int:
    """POST once, following no redirect; anything but a 2xx raises a retryable error."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    ts = str(int(time.time()))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "X-Casework-Message-Id": message_id,
        "X-Casework-Timestamp": ts,
        "X-Casework-Signature": sign(secret, ts, message_id, body),
    })
    try:
        with NO_REDIRECTS.open(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        problem = f"answered {e.code}"
    except (OSError, http.client.HTTPException) as e:
        problem = f"no answer ({type(e).__name__}: {e})"
    raise ApplicationError(f"webhook {url} {problem}", type="WebhookUndelivered")
