"""Seller notices through a real local webhook receiver: signed, retried, landed once."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from activities.webhook import verify
from client.api import CaseworkClient
from stack.settings import Settings
from tests.helpers import eventually

SECRET = "test-secret"


class Receiver:
    """An HTTP endpoint that fails its first delivery, then records verified messages."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.attempts += 1
                ok = verify(SECRET, self.headers["X-Casework-Timestamp"], body,
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
