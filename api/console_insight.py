"""The console's insight pages: trends (leads, admins, ops: cases opened per policy and week as
SVG charts, the spikes found with the escalations they opened, the Schedule, a scan now) and
validation sets (leads and admins: the export's form, the set downloaded as a zip of its
files)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask

from api.charts import line_chart
from api.console_pages import page
from api.console_session import allowed, csrf_ok
from api.roles import has
from api.routes.datasets import DatasetIn, query_of
from client.datasets import SetWriter
from client.trends import WATCHERS
from domain.datasets.build import Export
from domain.datasets.query import EXPORTERS, parse_split
from domain.errors import InvalidInput, build

Watcher = allowed(lambda p: has(p, WATCHERS), "the trends page is for leads, admins and ops")
Exporter = allowed(lambda p: has(p, EXPORTERS), "validation sets are for leads and admins")
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

    @r.get("/datasets")
    async def datasets(request: Request, s: Exporter) -> HTMLResponse:
        """The export's form."""
        return page(request, "datasets.html", s=s, policies=request.app.state.cw.pack().policies)

    @r.post("/datasets")
    async def export(request: Request, s: Exporter, csrf: Annotated[str, Form()] = "",
                     policies: Annotated[list[str] | None, Form()] = None,
                     since: Annotated[str, Form()] = "", until: Annotated[str, Form()] = "",
                     size: Annotated[str, Form()] = "", seed: Annotated[str, Form()] = "0",
                     split: Annotated[str, Form()] = "validation=0.2",
                     include_provisional: Annotated[str, Form()] = "") -> FileResponse:
        """The set as a zip of its files (Parquet, JSON lines, manifest, datasheet)."""
        csrf_ok(s, csrf)
        body = build(DatasetIn, policies=policies or [], since=since or None,
                     until=until or None, size=_whole(size, "size"), seed=_whole(seed, "seed"),
                     split=parse_split(split), include_provisional=bool(include_provisional))
        found = await request.app.state.cw.dataset(s.person.id, query_of(body))
        folder = Path(tempfile.mkdtemp(prefix="casework-set-"))
        try:
            zipped = await asyncio.to_thread(_zip, found, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        name = f"validation-set-{found.head.manifest.content_sha256[:12]}.zip"
        return FileResponse(zipped, media_type="application/zip", filename=name,
                            background=BackgroundTask(shutil.rmtree, folder, True))

    return r


def _whole(text: str, name: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise InvalidInput(f"{name} {text[:20]!r} is not a whole number")
    return int(text)


def _zip(export: Export, folder: Path) -> Path:
    """The set's files written as the CLI writes them, zipped beside them."""
    writer = SetWriter(folder / "set")
    try:
        for row in export.rows():
            writer.add(row)
        writer.finish(export.head)
    except BaseException:
        writer.abandon()
        raise
    zipped = folder / "set.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted((folder / "set").iterdir()):
            z.write(f, f.name)
    return zipped
