"""Nothing a caller does hangs: commands and reads are bounded, and answer Unavailable."""

from __future__ import annotations

import concurrent.futures
import time
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.api import CaseworkClient
from domain.errors import Unavailable
from stack.settings import Settings
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
        with pytest.raises(Unavailable, match="did not answer in time"):
            await call
        assert time.monotonic() - started < 5
