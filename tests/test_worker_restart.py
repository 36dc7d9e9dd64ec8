"""The worker killed mid-enforcement and restarted: the case finishes, the action lands once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config.settings import Settings
from domain.core import Action, Subject
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, polling
from tests.test_e2e_cli import cli_env

CASEWORK = str(Path(sys.executable).parent / "casework")


def start_worker(env: WorkflowEnvironment, settings: Settings, delay: float,
                 log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [CASEWORK, "worker"],
        env={**cli_env(env, settings), "CASEWORK_SANDBOX_APPLY_DELAY_S": str(delay)},
        stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def _count(sandbox: SandboxMarketplace, subject: Subject) -> int:
    return sandbox.enforcement_count(subject, Action.REMOVE)


async def test_worker_killed_mid_action_and_restarted(dev_env: WorkflowEnvironment,
                                                      settings: Settings,
                                                      sandbox: SandboxMarketplace) -> None:
    client = CaseworkClient(dev_env.client, settings)
    log = settings.data_dir / "worker.log"
    first = start_worker(dev_env, settings, delay=30, log=log)
    second = None
    try:
        await polling(client, first.pid)
        ref = await client.open_case("listing:L-0054", "user_report", reporter="buyer-4",
                                     text="tortoiseshell")
        await eventually(lambda: client.show(ref.case_id), lambda c: c.state == "queued",
                         timeout=30)
        await client.claim(ref.case_id, "alice")
        await client.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "CITES species")
        subject = Subject.parse("listing:L-0054")
        # The action is committed at the marketplace, the activity has not reported back yet.
        # (a worker process starting on a loaded machine may take tens of seconds)
        await eventually(lambda: _count(sandbox, subject), lambda n: n == 1, timeout=90)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second = start_worker(dev_env, settings, delay=0, log=log)
        await polling(client, second.pid)
        case = await eventually(lambda: client.show(ref.case_id),
                                lambda c: c.state == "appealable", timeout=60, interval=0.5)
        assert sandbox.enforcement_count(subject, Action.REMOVE) == 1
        [result] = case.enforcement
        assert result.applied is False and "already applied" in result.detail
        assert sandbox.show(subject)["status"] == "removed"
        assert case.statement_puid is not None
    finally:
        for proc in (first, second):
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


async def test_worker_killed_mid_reversal_and_restarted(dev_env: WorkflowEnvironment,
                                                        settings: Settings,
                                                        sandbox: SandboxMarketplace) -> None:
    """An overturned removal: the reversal lands, the worker dies before it reports, the next
    worker retries it under the same key: reinstated exactly once."""
    client = CaseworkClient(dev_env.client, settings)
    log = settings.data_dir / "worker.log"
    subject = Subject.parse("listing:L-0054")
    workers = [start_worker(dev_env, settings, delay=0, log=log)]
    try:
        await polling(client, workers[0].pid)
        ref = await client.open_case(subject, "user_report", reporter="buyer-4")
        await eventually(lambda: client.show(ref.case_id), lambda c: c.state == "queued",
                         timeout=30)
        await client.claim(ref.case_id, "alice")
        await client.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "CITES species")
        await eventually(lambda: client.show(ref.case_id), lambda c: c.state == "appealable",
                         timeout=30)
        workers[0].terminate()
        workers[0].wait(timeout=30)
        workers.append(start_worker(dev_env, settings, delay=30, log=log))  # holds a reversal
        appeal = await client.file_appeal(ref.case_id, "permit attached")
        await eventually(lambda: client.appeal(appeal.appeal_id), lambda a: a.state == "queued",
                         timeout=90)  # a worker process starting on a loaded machine
        await client.claim(appeal.appeal_id, "max")
        await client.decide_appeal(appeal.appeal_id, "max", "overturned", [], [], "permit valid")
        reversals = lambda: _reversals(sandbox, subject)  # noqa: E731
        await eventually(reversals, lambda n: n == 1, timeout=90)  # landed, not yet reported
        workers[1].send_signal(signal.SIGKILL)
        workers[1].wait(timeout=10)

        workers.append(start_worker(dev_env, settings, delay=0, log=log))
        done = await eventually(lambda: client.appeal(appeal.appeal_id),
                                lambda a: a.state == "closed", timeout=90, interval=0.5)
        [reversed_] = done.reversed
        assert reversed_.applied is False and "already applied" in reversed_.detail
        assert await reversals() == 1
        assert sandbox.show(subject)["status"] == "active"
        case = await eventually(lambda: client.show(ref.case_id), lambda c: c.state == "closed",
                                timeout=30)
        assert case.appeal_outcome == "overturned"
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


async def _reversals(sandbox: SandboxMarketplace, subject: Subject) -> int:
    return sandbox.enforcement_count(subject, Action.REMOVE, reversals=True)
