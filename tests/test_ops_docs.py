"""The saved views in docs/ops.md run as written with `temporal workflow list`, and find what
they are named for."""

from __future__ import annotations

import asyncio
import re
import subprocess

from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config.settings import ROOT
from stack import devserver
from tests.helpers import eventually

VIEWS = re.findall(r"```visibility\n(.+?)\n```", (ROOT / "docs" / "ops.md").read_text(),
                   re.DOTALL)


async def _list(env: WorkflowEnvironment, query: str) -> subprocess.CompletedProcess:
    address = env.client.service_client.config.target_host
    return await asyncio.to_thread(
        subprocess.run, [devserver.binary("temporal"), "workflow", "list", "--query", query,
                         "--address", address, "--output", "json"],
        capture_output=True, text=True, timeout=30)


async def test_every_saved_view_runs_as_written(dev: CaseworkClient,
                                                dev_env: WorkflowEnvironment) -> None:
    assert len(VIEWS) >= 8
    ref = await dev.open_case("listing:L-0001", "user_report", reporter="buyer-6")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    for query in VIEWS:
        proc = await _list(dev_env, query)
        assert proc.returncode == 0, f"{query}: {proc.stderr}"
    by_assignee = next(q for q in VIEWS if "CaseAssignee = 'alice'" in q)
    assert ref.case_id in (await _list(dev_env, by_assignee)).stdout
