"""Seller notices through a real local webhook receiver: signed, retried, landed once; the
signature contract, and no worker without a secret."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from activities.webhook import post, sign, verify
from client.casework import CaseworkClient
from config.settings import Settings
from domain.errors import InvalidInput
from tests.helpers import eventually

SECRET = "test-secret"
CASEWORK = str(Path(sys.executable).parent / "casework")


class Receiver:
    """An HTTP endpoint that fails its first delivery, then records verified messages."""

    def __init__(self, redirect: bool = False) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.attempts += 1
                if redirect:
                    self.send_response(301)
                    self.send_header("Location", "/elsewhere")
                    self.end_headers()
                    return
                ok = verify(SECRET, self.headers["X-Casework-Timestamp"],
                            self.headers["X-Casework-Message-Id"], body,
                            self.headers["X-Casework-Signature"])
                if outer.attempts == 1 or not ok:
                    self.send_response(503 if ok else 401)
                else:
                    outer.received.append({"id": self.headers["X-Casework-Message-Id"],
                                           **json.loads(body)})
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


async def test_statement_reaches_the_seller_webhook_signed_after_a_retry(
        dev_env: WorkflowEnvironment, settings: Settings, receiver: Receiver,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    hooked = dataclasses.replace(settings, webhook_url=receiver.url, webhook_secret=SECRET)
    async with worker_module.build_worker(dev_env.client, hooked, executor):
        client = CaseworkClient(dev_env.client, hooked)
        ref = await client.open_case("listing:L-0019", "user_report", reporter="buyer-8")
        await eventually(lambda: client.show(ref.case_id), lambda c: c.state == "queued")
        await client.claim(ref.case_id, "alice")
        await client.decide(ref.case_id, "alice", ["weapons"], ["remove"], "brass knuckles")
        case = await eventually(lambda: client.show(ref.case_id),
                                lambda c: c.state == "appealable", timeout=30)
    kinds = {m["kind"]: m for m in receiver.received}
    sor_msg = kinds["statement_of_reasons"]
    assert sor_msg["address"] == "seller02@sandbox.example"
    assert sor_msg["statement"]["puid"] == case.statement_puid
    assert kinds["outcome"]["recipient"] == "reporter:buyer-8"
    assert receiver.attempts == len(receiver.received) + 1  # the first try failed, was retried
    outbox = client.ledger.messages(ref.case_id)
    assert sorted(m["kind"] for m in outbox) == ["outcome", "statement_of_reasons"]


def test_the_signature_covers_timestamp_message_id_and_body() -> None:
    now = 1_800_000_000
    ts, body = str(now), b'{"kind": "outcome"}'
    good = sign(SECRET, ts, "m-1", body)
    assert verify(SECRET, ts, "m-1", body, good, now=now)
    assert verify(SECRET, ts, "m-1", body, good, now=now + 299)
    tampered = [(SECRET, ts, "m-2", body, good), (SECRET, ts, "m-1", body + b" ", good),
                (SECRET, str(now + 1), "m-1", body, good), ("other-secret", ts, "m-1", body, good)]
    stale_or_future = [(SECRET, ts, "m-1", body, good, now + 301),
                       (SECRET, ts, "m-1", body, good, now - 301)]
    malformed: list[tuple[Any, ...]] = [
        (SECRET, ts, "m-1", body, good.removeprefix("sha256=")),
        (SECRET, ts, "m-1", body, "sha256=not-hex"), (SECRET, ts, "m-1", body, "sha256=ünï"),
        (SECRET, ts, "m-1", body, ""), (SECRET, ts, "m-1", body, None),
        (SECRET, "soon", "m-1", body, good), (SECRET, "", "m-1", body, good),
        (SECRET, None, "m-1", body, good), (SECRET, ts, "m-1", "not bytes", good),
        ("", ts, "m-1", body, good)]
    for args in tampered + malformed:
        assert verify(*args, now=now) is False, args
    for *args, at in stale_or_future:
        assert verify(*args, now=at) is False, at
    assert verify(SECRET, str(int(time.time()) - 30), "m-1", body,
                  sign(SECRET, str(int(time.time()) - 30), "m-1", body))  # default clock


def test_a_redirect_is_not_followed_but_retried() -> None:
    r = Receiver(redirect=True)
    try:
        with pytest.raises(ApplicationError) as raised:
            post(r.url, SECRET, "m-1", {"kind": "outcome"})
    finally:
        r.server.shutdown()
    assert raised.value.type == "WebhookUndelivered" and not raised.value.non_retryable
    assert "301" in raised.value.message and r.attempts == 1


def test_a_worker_with_a_webhook_and_no_secret_refuses_to_start(settings: Settings) -> None:
    env = {**os.environ, "CASEWORK_DATA_DIR": str(settings.data_dir),
           "CASEWORK_WEBHOOK_URL": "https://hooks.example/casework", "CASEWORK_WEBHOOK_SECRET": ""}
    proc = subprocess.run([CASEWORK, "worker"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "casework: invalidinput: CASEWORK_WEBHOOK_URL is set but CASEWORK_WEBHOOK_SECRET is "
        "empty: refusing to send unsigned webhooks"]
    with pytest.raises(InvalidInput, match="CASEWORK_WEBHOOK_SECRET is empty"):
        worker_module.build_activities(dataclasses.replace(
            settings, webhook_url="https://hooks.example/casework", webhook_secret=""))
    with pytest.raises(InvalidInput, match="must be https"):
        worker_module.build_activities(dataclasses.replace(
            settings, webhook_url="http://hooks.example/casework", webhook_secret="s"))
    with pytest.raises(InvalidInput, match="below 15 s"):  # a call must end before a heartbeat
        worker_module.build_activities(dataclasses.replace(settings, marketplace_timeout_s=20))
