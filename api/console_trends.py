"""The console's trends page (leads, admins, ops): cases opened per policy and week as SVG
charts, the spikes found with the escalations they opened, the Schedule, and a scan now."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.charts import line_chart
from api.console_pages import page
from api.console_session import allowed, csrf_ok
from api.roles import has
from client.trends import WATCHERS

Watcher = allowed(lambda p: has(p, WATCHERS), "the trends page is for leads, admins and ops")
WEEKS = 8
TOP_POLICIES = 6


def weekly(daily: list[dict[str, Any]], today: date) -> tuple[list[date], dict[str, list[int]]]:
    """Cases per policy and week (Mondays), the busiest policies first."""
    first = today - timedelta(days=today.weekday(), weeks=WEEKS - 1)
    mondays = [first + timedelta(weeks=i) for i in range(WEEKS)]
    per: dict[str, list[int]] = {}
    for d in daily:
        i = (date.fromisoformat(d["day"]) - first).days // 7
        if 0 <= i < WEEKS:
            per.setdefault(d["policy"], [0] * WEEKS)[i] += d["cases"]
    busiest = sorted(per, key=lambda p: -sum(per[p]))[:TOP_POLICIES]
    return mondays, {p: per[p] for p in busiest}


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/trends")
    async def trends(request: Request, s: Watcher) -> HTMLResponse:
        """Volumes per policy and week, the spikes found and their escalations."""
        seen = await request.app.state.cw.trends(s.person.id, WEEKS)
        mondays, per = weekly(seen["daily"], date.today())
        spiked = {k["key"].split(":", 1)[1] for k in seen["spikes"]
                  if k["key"].startswith("policy:")}
        charts = [(f"{policy}{' (spike found)' if policy in spiked else ''}",
                   line_chart(f"trend-{n}", f"Cases opened per week: {policy}",
                              list(zip(mondays, [float(v) for v in counts], strict=True))))
                  for n, (policy, counts) in enumerate(per.items())]
        return page(request, "trends.html", s=s, seen=seen, charts=charts)

    @r.post("/trends/scan")
    async def scan(request: Request, s: Watcher,
                   csrf: Annotated[str, Form()] = "") -> RedirectResponse:
        """A scan of the window ending now (the Schedule's, asked early)."""
        csrf_ok(s, csrf)
        await request.app.state.cw.scan_trends(s.person.id)
        return RedirectResponse("/trends", status_code=303)

    return r
