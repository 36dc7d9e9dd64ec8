"""Nothing a caller does hangs: commands and reads are bounded, and answer Unavailable."""

from __future__ import annotations

import concurrent.futures
import time
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.casework import CaseworkClient
from config.settings import Settings
from domain.errors import InvalidInput, Refused, Unavailable
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually


async def test_a_command_to_a_case_with_no_worker_is_unavailable_in_time(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    cw = CaseworkClient(dev_env.client, settings)
    async with worker_module.build_worker(dev_env.client, settings, executor):
        ref = await cw.open_case("listing:L-0100", "user_report", reporter="buyer-1")
        await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    cw.command_timeout = cw.read_timeout = timedelta(seconds=2)  # no worker polls any more
    for call in (cw.claim(ref.case_id, "alice"), cw.show(ref.case_id)):
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await call
        # a claim is a read (its queue, for the directory check) and a command, each bounded by
        # 2 s; the margin is for a loaded CI machine (one run took 6.2 s)
        assert time.monotonic() - started < 8


async def test_intake_answers_within_two_seconds_while_the_marketplace_hangs(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    await dev.open_case("listing:L-0001", "internal")  # a warm worker: time the marketplace only
    sandbox.fail("facts", "timeout")  # every screening call hangs, then fails: retried
    started = time.monotonic()
    ref = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-1", text="x")
    assert time.monotonic() - started < 2
    assert (ref.outcome, ref.state) == ("accepted", "screening")
    joined = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-2")
    assert joined.outcome == "joined"  # a join does not wait for the marketplace either
    sandbox.heal()
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued",
                            timeout=60, interval=0.5)
    assert [r.reporter for r in case.reports] == ["buyer-1", "buyer-2"]


@pytest.mark.parametrize(("call", "error", "text"), [
    (lambda cw, c: cw.open_case("listing:L-0100\n", "user_report"), InvalidInput,
     "malformed subject"),
    (lambda cw, c: cw.open_case("listing:L-0100", "user_report", reporter="a\u202eb"),
     InvalidInput, "bidirectional"),
    (lambda cw, c: cw.open_case("listing:L-0100", "user_report", report_id="r\x00"),
     InvalidInput, "control"),
    (lambda cw, c: cw.open_case("listing:L-0100", "user_report", text="x" * 5001),
     InvalidInput, "at most 5000"),
    (lambda cw, c: cw.claim(c, "eve\x1b[2J"), InvalidInput, "control"),
    (lambda cw, c: cw.decide(c, "alice", ["weapons"], ["remove"], "r" * 5001), InvalidInput,
     "at most 5000"),
    (lambda cw, c: cw.retry(c, "ops-1", "nothing parked"), Refused, "cannot retry"),
    (lambda cw, c: cw.claim_next("no-such-queue", "bob"), InvalidInput, "known: adult"),
])
async def test_bad_input_through_the_client_is_typed_and_changes_nothing(
        dev: CaseworkClient, call: Any, error: type[Exception], text: str) -> None:
    ref = await dev.open_case("listing:L-0015", "user_report", reporter="buyer-5")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    before = await dev.show(ref.case_id)
    with pytest.raises(error, match=text):
        await call(dev, ref.case_id)
    assert await dev.show(ref.case_id) == before
    assert [e.case_id for e in dev.queue(limit=100)] == [ref.case_id]
