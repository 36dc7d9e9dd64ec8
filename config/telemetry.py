"""What a long-running casework process (a worker, the API, `make run`) exports about itself.

Metrics: one Prometheus registry (prometheus_client's) per process holds casework's own series
(`config.metrics`) and the Temporal SDK's runtime metrics. The SDK's core keeps its metrics in
Rust and serves them itself (`temporalio.runtime.PrometheusConfig`) on a loopback port of the
process's own; `CoreMetrics`, a collector in the registry, reads that page at each scrape. So
one address serves both, the SDK's named as Temporal's Prometheus exporter names them
(`temporal_request_total`, `temporal_workflow_task_execution_latency_seconds_bucket`, …), at
no cost between scrapes (draining a `MetricBuffer` in Python instead cost ~3 ms of CPU per
case). The worker serves the registry at CASEWORK_METRICS_ADDRESS (`host:port`, default
127.0.0.1:9464; `off` serves nothing, port 0 takes a free one); the API at its own `/metrics`.

Traces: `TracingInterceptor` (temporalio.contrib.opentelemetry) is on every Temporal client
casework connects (`config.connection`), so the worker built on that client carries it too;
the API makes a server span per request (opentelemetry-instrumentation-fastapi). Spans are
exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set;
otherwise the global tracer stays OpenTelemetry's no-op one and nothing is recorded. An
endpoint that does not answer is said once, and again once when it answers again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from prometheus_client import REGISTRY, Metric, start_http_server
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from domain.errors import InvalidInput

ADDRESS_VARIABLE = "CASEWORK_METRICS_ADDRESS"
OFF = "off"
log = logging.getLogger("casework.telemetry")
_tracing: list[str] = []  # the service tracing was started for (once a process)
_sdk: list[int] = []  # the loopback port the SDK core serves its metrics on (once a process)


def parse_address(address: str) -> tuple[str, int] | None:
    """`host:port` (`[::1]:9464` for IPv6) as a pair; None for `off`; else a one-line refusal
    naming the variable."""
    if address.strip().lower() == OFF:
        return None
    host, sep, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InvalidInput(f"{ADDRESS_VARIABLE}={address!r} is not host:port (or {OFF})")
    return host, int(port)


def serve_metrics(address: str) -> tuple[Any, str] | None:
    """Serve the process's registry at `address` (a thread of prometheus_client's): the server
    and its URL, or None when `off`. An address in use is a one-line refusal, not a traceback."""
    parsed = parse_address(address)
    if parsed is None:
        return None
    host, port = parsed
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as e:
        raise InvalidInput(f"cannot serve metrics at {address} ({ADDRESS_VARIABLE}): "
                           f"{e.strerror or e}") from None
    shown = f"[{host}]" if ":" in host else host
    return server, f"http://{shown}:{server.server_port}/metrics"


class CoreMetrics(Collector):
    """A collector: the SDK core's page of metrics, read at each scrape (a page it cannot
    read leaves them out of that scrape, not casework's)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def describe(self) -> list[Metric]:
        return []  # (nothing to read at registration)

    def collect(self) -> Iterator[Metric]:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as page:
                text = page.read().decode()
        except OSError as e:
            log.warning("the Temporal SDK's metrics at %s could not be read: %s", self.url, e)
            return
        yield from text_string_to_metric_families(text)


def sdk_metrics() -> None:
    """The Temporal SDK's metrics into this process's registry, once a process: sets the
    default `Runtime` (so call it before connecting)."""
    if _sdk:
        return
    with socket.socket() as s:  # a free loopback port for the core's page
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
        bind_address=f"127.0.0.1:{port}", counters_total_suffix=True, unit_suffix=True,
        durations_as_seconds=True))), error_if_already_set=False)
    REGISTRY.register(CoreMetrics(f"http://127.0.0.1:{port}/metrics"))
    _sdk.append(port)


def tracing_endpoint() -> str:
    return (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "")


def start_tracing(service: str) -> bool:
    """Export spans over OTLP/HTTP when an endpoint is configured (the standard OTEL_*
    variables: endpoint, headers, timeout, OTEL_SERVICE_NAME); whether it does."""
    endpoint = tracing_endpoint()
    if not endpoint:
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"casework-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(Reported(OTLPSpanExporter(), endpoint)))
    trace.set_tracer_provider(provider)
    return True


class Reported(SpanExporter):
    """An exporter that says once when its endpoint stops taking spans (and once when it takes
    them again) instead of the OTLP exporter's line per batch; casework runs on either way."""

    QUIET = "opentelemetry.exporter.otlp.proto.http.trace_exporter"

    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self.inner, self.endpoint = inner, endpoint
        self.failing = False
        self._lock = threading.Lock()
        logging.getLogger(self.QUIET).setLevel(logging.CRITICAL)  # said here, once

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        failing = result is not SpanExportResult.SUCCESS
        with self._lock:
            changed, self.failing = failing != self.failing, failing
        if changed and failing:
            log.warning("traces not exported: the OTLP endpoint %s does not take them "
                        "(OTEL_EXPORTER_OTLP_ENDPOINT); casework runs on, and says when it does",
                        self.endpoint)
        elif changed:
            log.warning("traces exported again to %s", self.endpoint)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


@contextmanager
def exported(service: str, metrics_address: str | None) -> Iterator[str | None]:
    """A process's telemetry while it runs: tracing when configured, the SDK's metrics in the
    registry, and the registry served at `metrics_address` (None: not served here, as for the
    API, which serves `/metrics` itself). Yields the metrics URL (or None). Call it before
    connecting to Temporal."""
    served = serve_metrics(metrics_address) if metrics_address else None  # refused: nothing begun
    if not _tracing:
        _tracing.append(service)
        start_tracing(service)
    sdk_metrics()
    if served:
        log.info("metrics on %s", served[1])
    try:
        yield served[1] if served else None
    finally:
        if served:
            served[0].shutdown()
