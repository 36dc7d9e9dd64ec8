"""The API's metrics and traces: every request counted and timed by its route's template
(`/api/cases/{case_id}`, never the raw path) and status, the process's registry at `/metrics`,
and a server span per request (OpenTelemetry's FastAPI instrumentation; recorded only when
tracing is on, see `config.telemetry`), the parent of the Temporal client's spans."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from config import metrics


class HttpMetrics:
    """Pure ASGI: counts each HTTP request once it has answered (a request that raised is a
    500), labelled by the template of the route that took it (`unmatched` for none)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began, status = time.perf_counter(), 500

        async def sent(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = getattr(scope.get("route"), "path", None) or metrics.UNMATCHED
            metrics.http_request(scope["method"], route, status, time.perf_counter() - began)


def install(app: FastAPI) -> None:
    """The middleware (outermost of casework's), `/metrics` and the server spans."""
    app.add_middleware(HttpMetrics)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """This process's Prometheus registry: casework's series and the Temporal SDK's."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    FastAPIInstrumentor.instrument_app(app, excluded_urls="/metrics$")
