"""The webhook channel: an HMAC-SHA256-signed JSON POST.

Receivers verify `X-Casework-Signature: sha256=<hex>` over `<timestamp>.<body>` with the shared
secret, and dedupe on `X-Casework-Message-Id` (delivery is at least once: Temporal retries).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
from typing import Any


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def post(url: str, secret: str, message_id: str, payload: dict[str, Any],
         timeout: float = 10) -> int:
    """POST once; raise on a non-2xx answer or a network error so the activity is retried."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    ts = str(int(time.time()))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "X-Casework-Message-Id": message_id,
        "X-Casework-Timestamp": ts,
        "X-Casework-Signature": sign(secret, ts, body),
    })
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return int(resp.status)
