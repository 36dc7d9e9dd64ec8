"""OpenTelemetry traces: one trace from the HTTP request that opens a case, through its Update
and the workflow's spans, to the enforcement activity (the decision's own request linked in);
an OTLP endpoint that does not answer is said once and casework runs on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.casework import CaseworkClient
from config.connection import connect
from config.settings import Settings
from tests.helpers import eventually, free_port, serving
from tests.test_e2e_cli import CASEWORK, cli_env
from tests.test_metrics import answering, bearers, polled, process, until


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """This process's spans, kept in memory (the global provider is set once a process: later
    tests' spans are dropped once this module is done)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "a tracer provider was set before"
    yield exporter
    exporter.shutdown()


def server_span(spans: list[ReadableSpan], route: str) -> ReadableSpan:
    [span] = [s for s in spans if s.kind is SpanKind.SERVER and s.attributes
              and s.attributes.get("http.route") == route]
    return span


async def test_one_trace_from_the_http_request_to_the_enforcement_activity(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor, spans: InMemorySpanExporter) -> None:
    # casework's own client (config.connection: the tracing interceptor), its worker on it
    client = await connect(address=dev_env.client.service_client.config.target_host,
                           settings=settings)
    alice, intake = bearers(settings)
    async with worker_module.build_worker(client, settings, executor):
        cw = CaseworkClient(client, settings)
        async with serving(cw) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            opened = await http.post("/api/reports", headers=intake, json={
                "subject": "listing:L-0002", "source": "user_report", "reporter": "buyer-1",
                "text": "fake bag"})
            assert opened.status_code == 201, opened.text
            case_id = opened.json()["case_id"]
            await eventually(lambda: cw.show(case_id), lambda c: c.state == "queued")
            claimed = await http.post(f"/api/cases/{case_id}/claim", headers=alice, json={})
            assert claimed.status_code == 200, claimed.text
            decided = await http.post(f"/api/cases/{case_id}/decision", headers=alice, json={
                "policy_ids": ["counterfeit"], "actions": ["remove"], "reason": "replica"})
            assert decided.status_code == 200, decided.text
            await eventually(lambda: cw.show(case_id), lambda c: c.state == "appealable")

    finished = list(spans.get_finished_spans())
    request = server_span(finished, "/api/reports")
    one_trace = [s for s in finished if s.context.trace_id == request.context.trace_id]
    named = {s.name: s for s in one_trace}
    assert {"StartUpdateWithStartWorkflow:ReviewWorkflow", "RunWorkflow:ReviewWorkflow",
            "HandleUpdate:file_report", "RunActivity:screen_case", "HandleUpdate:decide",
            "StartActivity:apply_action", "RunActivity:apply_action"} <= set(named), sorted(named)
    # the Update's client span is the request's child; the enforcement's span its activity's
    assert named["StartUpdateWithStartWorkflow:ReviewWorkflow"].parent.span_id == \
        request.context.span_id
    assert named["RunActivity:apply_action"].parent.span_id == \
        named["StartActivity:apply_action"].context.span_id
    assert named["RunActivity:apply_action"].attributes["temporalWorkflowID"] == case_id
    # the decision's own request: its trace holds the Update it sent, which the workflow's
    # span of handling it links to
    decision = server_span(finished, "/api/cases/{record_id}/decision")
    [sent] = [s for s in finished if s.name == "StartWorkflowUpdate:decide"
              and s.context.trace_id == decision.context.trace_id]
    assert sent.context.span_id in {link.context.span_id
                                    for link in named["HandleUpdate:decide"].links}


async def test_an_unreachable_otlp_endpoint_is_said_once_and_casework_runs_on(
        dev_env: WorkflowEnvironment, settings: Settings) -> None:
    api_port, nobody = free_port(), free_port()  # nothing listens at `nobody`
    env = {**cli_env(dev_env, settings), "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{nobody}",
           "OTEL_EXPORTER_OTLP_TIMEOUT": "1", "OTEL_BSP_SCHEDULE_DELAY": "100"}
    api = f"http://127.0.0.1:{api_port}"
    logs = {"worker": settings.data_dir / "worker.log", "api": settings.data_dir / "api.log"}
    alice, intake = bearers(settings)
    with (process([CASEWORK, "worker"], env, logs["worker"]),
          process([CASEWORK, "api", "--port", str(api_port)], env, logs["api"]) as api_proc):
        await answering(f"{api}/metrics", api_proc, logs["api"])
        await polled(dev_env, settings)
        case_ids = []
        for n, subject in enumerate(("listing:L-0002", "listing:L-0005", "listing:L-0012")):
            opened = httpx.post(f"{api}/api/reports", headers=intake, timeout=30, json={
                "subject": subject, "source": "user_report", "reporter": f"buyer-{n}"})
            assert opened.status_code == 201, opened.text
            case_ids.append(opened.json()["case_id"])
        for case_id in case_ids:  # screened and queued: the worker ran on
            await until(lambda: httpx.get(f"{api}/api/cases/{case_id}", headers=alice).json(),  # noqa: B023
                        lambda c: c.get("state") == "queued", timeout=90)
        await until(lambda: [_said(logs[p]) for p in logs], lambda said: said == [1, 1])
        for _ in range(10):  # more batches, each refused: nothing more is said
            assert httpx.get(f"{api}/api/cases/{case_ids[0]}", headers=alice).status_code == 200
            await asyncio.sleep(0.3)
        assert [_said(logs[p]) for p in logs] == [1, 1]
    for log in logs.values():
        [line] = [line for line in log.read_text().splitlines() if "OTLP" in line]
        assert f"the OTLP endpoint http://127.0.0.1:{nobody} does not take them" in line, line
        assert "Traceback" not in log.read_text()


def _said(log: Path) -> int:
    return len(re.findall(r"traces not exported", log.read_text()))
