"""Prometheus metrics from real processes: a `casework worker` and a `casework api` against the
dev server, scraped before and after a case is opened, claimed and decided over HTTP; the bad
addresses refused in one line."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from client.ops import Ops
from config.settings import ROOT, Settings
from ledger.store import Ledger
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, free_port
from tests.test_alert_rules import is_sdk_series, sdk_metric_names
from tests.test_e2e_cli import CASEWORK, cli_env

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=10).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and set(labels.items()) <= set(ls))


def names(samples: Samples) -> set[str]:
    return {n for n, _ in samples}


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)


async def answering(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"{proc.args} ended:\n{log.read_text()}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < end, f"{url} not answering:\n{log.read_text()}"
        await asyncio.sleep(0.3)


async def polled(env: WorkflowEnvironment, settings: Settings, timeout: float = 120) -> None:
    """Until a worker process polls the settings' task queue (its metrics answer before it has
    built its worker: on a loaded machine, seconds before)."""
    workers = Ops(CaseworkClient(env.client, settings)).workers
    await eventually(workers, lambda w: any(p.kind == "workflow" for p in w.pollers),
                     timeout=timeout)


def bearers(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Headers for alice (a reviewer) and for an intake service, on the settings' ledger."""
    creds = Credentials(Ledger(settings.ledger_url))
    return ({"Authorization": f"Bearer {creds.create_token('alice')[1]}"},
            {"Authorization": f"Bearer {creds.create_token('svc', ['intake:user_report'])[1]}"})


async def until(probe, check, timeout: float = 60):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not check(value := await asyncio.to_thread(probe)):
        assert time.monotonic() < end, f"not met in {timeout} s: {value!r}"
        await asyncio.sleep(0.3)
    return value


async def test_worker_and_api_metrics_move_when_a_case_is_decided(
        dev_env: WorkflowEnvironment, settings: Settings) -> None:
    worker_port, api_port = free_port(), free_port()
    env = {**cli_env(dev_env, settings), "CASEWORK_METRICS_ADDRESS": f"127.0.0.1:{worker_port}"}
    worker_url, api = f"http://127.0.0.1:{worker_port}/metrics", f"http://127.0.0.1:{api_port}"
    log = settings.data_dir / "processes.log"
    alice, intake = bearers(settings)
    with (process([CASEWORK, "worker"], env, log) as worker,
          process([CASEWORK, "api", "--port", str(api_port)], env, log) as api_proc):
        await answering(worker_url, worker, log)
        await answering(f"{api}/metrics", api_proc, log)
        await polled(dev_env, settings)
        before_worker, before_api = scrape(worker_url), scrape(f"{api}/metrics")
        assert "casework_cases_opened_total" not in names(before_worker)  # (nothing yet)
        decided = {"queue": "ip", "policy": "counterfeit", "decided_by": "person"}
        assert total(before_worker, "casework_cases_decided_total", **decided) == 0

        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            opened = await http.post("/api/reports", headers=intake, json={
                "subject": "listing:L-0002", "source": "user_report", "reporter": "buyer-1",
                "text": "fake bag"})
            assert opened.status_code == 201, opened.text
            case_id = opened.json()["case_id"]
            await until(lambda: httpx.get(f"{api}/api/cases/{case_id}", headers=alice).json(),
                        lambda c: c.get("state") == "queued")
            claimed = await http.post(f"/api/cases/{case_id}/claim", headers=alice, json={})
            assert claimed.status_code == 200, claimed.text
            # the marketplace fails the first tries: the activity is retried (the SDK counts it)
            SandboxMarketplace(settings.sandbox_db).fail("apply_action", "error", for_s=1.5)
            decision = await http.post(f"/api/cases/{case_id}/decision", headers=alice, json={
                "policy_ids": ["counterfeit"], "actions": ["remove"], "reason": "replica"})
            assert decision.status_code == 200, decision.text
            await until(lambda: httpx.get(f"{api}/api/cases/{case_id}", headers=alice).json(),
                        lambda c: c.get("state") == "appealable")

        after = await until(lambda: scrape(worker_url), lambda s: total(
            s, "temporal_activity_execution_failed_total", activity_type="apply_action") > 0)
        # casework's own series moved by this case, once each
        assert total(after, "casework_cases_opened_total", lifecycle="review", queue="ip") == 1
        assert total(after, "casework_cases_decided_total", **decided) == 1
        assert total(after, "casework_actions_applied_total", action="remove", queue="ip",
                     policy="counterfeit") == 1
        assert total(after, "casework_decision_latency_seconds_count", queue="ip") == 1
        # the SDK's runtime metrics, on the same address
        assert {"temporal_num_pollers", "temporal_workflow_task_execution_latency_seconds_bucket",
                "temporal_activity_execution_latency_seconds_bucket",
                "temporal_request_total"} <= names(after), sorted(names(after))
        sdk = sdk_metric_names()  # named as the alert rules' check expects (test_alert_rules)
        assert all(is_sdk_series(n, sdk) for n in names(after) if n.startswith("temporal_"))

        api_after = await until(lambda: scrape(f"{api}/metrics"),
                                lambda s: "temporal_request_total" in names(s))
        route = {"method": "POST", "route": "/api/cases/{record_id}/decision"}
        assert total(before_api, "casework_http_requests_total", **route) == 0
        assert total(api_after, "casework_http_requests_total", **route, status="200") == 1
        assert total(api_after, "casework_http_request_duration_seconds_count", **route) == 1
        assert total(api_after, "casework_http_requests_total", method="POST",
                     route="/api/reports", status="201") == 1
        # route templates, never raw paths: no case id in any label
        assert not [k for k in api_after if any(case_id in v for _, v in k[1])]


def test_a_metrics_address_in_use_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {"PATH": "/usr/bin:/bin", "CASEWORK_DATA_DIR": str(tmp_path),
               "CASEWORK_METRICS_ADDRESS": address,
               "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}  # never reached
        worker = subprocess.run([CASEWORK, "worker"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert worker.returncode == 2, worker.stderr
        assert worker.stderr.strip() == (
            f"casework: invalidinput: cannot serve metrics at {address} "
            "(CASEWORK_METRICS_ADDRESS): Address already in use")
        ports = {n: str(free_port()) for n in ("CASEWORK_TEMPORAL_PORT", "CASEWORK_UI_PORT",
                                               "CASEWORK_CODEC_PORT", "CASEWORK_API_PORT")}
        stack = subprocess.run([sys.executable, "-m", "stack.run"], cwd=ROOT,
                               env={**env, **ports}, capture_output=True, text=True, timeout=60)
        assert stack.returncode == 1, stack.stderr
        [line] = stack.stderr.strip().splitlines()
        assert line.startswith("make run: invalidinput: cannot serve metrics at "), line
        assert not (tmp_path / "temporal.db").exists()  # no dev server was started


def test_a_malformed_metrics_address_is_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CASEWORK_DATA_DIR": str(tmp_path),
           "CASEWORK_METRICS_ADDRESS": "9464"}
    proc = subprocess.run([CASEWORK, "worker"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("casework: invalidinput: CASEWORK_METRICS_ADDRESS='9464' is "
                                   "not host:port (or off)")
