"""The console's quality pages: the blind QA queue and a check's page (its commands from the QA
table; the decision checked and who made it only once the QA verdict is in, then side by side
with it), and the dashboard: figures per week drawn as SVG charts against the pack's targets,
per reviewer, queue and policy, with CSV. Everyone's figures for leads, seniors and admins, one's
own for anyone else (the client's rule, `domain.reports.scope`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from api.charts import figure, line_chart
from api.console_commands import run
from api.console_pages import GRAPHIC, MAX_OFFSET, PAGE_ROWS, page, templates
from api.console_session import Signed, allowed, csrf_ok
from api.deps import csv_response
from api.roles import has, of_kind
from api.routes.qa import QA_READERS
from client.casework import CaseworkClient
from client.trends import WATCHERS
from domain.commands import CommandSpec
from domain.core import Action
from domain.datasets.query import EXPORTERS
from domain.errors import InvalidInput, build
from domain.people import Person
from domain.qa.commands import QA_COMMANDS
from domain.qa.lifecycle import QA
from domain.qa.models import QaView
from domain.reports import READ_ALL, Report, ReportKind, ReportQuery, Section, parse_period, table
from domain.review.models import photos

QaReader = allowed(lambda p: has(p, QA_READERS),
                   "QA checks are for QA reviewers, seniors, leads and admins.")
MAX_WEEKS = 160  # the x axis of a report's longest period (three years)

# command -> call(client, check id, the signed-in person, the form's fields)
QaCommand = Callable[[CaseworkClient, str, str, dict[str, Any]], Awaitable[Any]]


def form_command(spec: CommandSpec) -> QaCommand:
    """A command of the QA table from its form: the fields its request takes (the client
    builds and checks the request, the workflow decides)."""
    def go(cw: CaseworkClient, qa_id: str, who: str, body: dict[str, Any]) -> Awaitable[Any]:
        return cw.run(spec, qa_id, who, body)
    return go


QA_FORMS: dict[str, QaCommand] = {name: form_command(spec) for name, spec in QA_COMMANDS.items()}


def offered(view: QaView, person: Person) -> list[str]:
    """The QA commands a check's page offers this person now: what its state allows (the
    declaration's sources), to whoever has the command's roles and took no part in what it
    checks; a held check's verdict to its holder. The client and the workflow decide again."""
    check = view.check
    parties = {view.first.decided_by, view.first_approver} if view.first else set()
    if check.verdict:
        parties.add(check.verdict.by)
    found = []
    for name, spec in QA_COMMANDS.items():
        roles = spec.roles if isinstance(spec.roles, frozenset) else frozenset({spec.roles})
        if (check.state in QA.sources(spec.trigger) and has(person, roles)
                and person.id not in parties
                and (check.state not in QA.held or check.assignee == person.id)):
            found.append(name)
    return found


def quality_nav(person: Person) -> list[tuple[str, str]]:
    """The quality pages in the header: the QA queue for its readers; the dashboard (one's own
    figures for anyone who does not read everyone's); trends for leads, admins and ops;
    validation sets for leads and admins."""
    return [*([("/qa", "QA checks")] if has(person, QA_READERS) else []),
            ("/dashboard", "Dashboard" if has(person, READ_ALL) else "My figures"),
            *([("/trends", "Trends")] if has(person, WATCHERS) else []),
            *([("/datasets", "Validation sets")] if has(person, EXPORTERS) else [])]


def duration(seconds: float | None) -> str:
    """Handling time as a person reads it: 45 s, 12 min, 1.5 h; — for none."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


templates.env.globals["quality_nav"] = quality_nav
templates.env.filters["percent"] = lambda v: figure(v, True)
templates.env.filters["rate"] = lambda v: figure(v, False)
templates.env.filters["duration"] = duration


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/qa")
    async def qa_queue(request: Request, s: QaReader, offset: int = 0) -> HTMLResponse:
        """Checks waiting for a verdict or an adjudication, the most urgent first."""
        offset = min(max(0, offset), MAX_OFFSET)
        rows = await request.app.state.cw.qa_queue(PAGE_ROWS + 1, offset)
        return page(request, "qa_queue.html", s=s, rows=rows[:PAGE_ROWS], offset=offset,
                    more=len(rows) > PAGE_ROWS, page_rows=PAGE_ROWS,
                    adjudicating=QA.sources("adjudicate"))

    @r.get("/qa/{qa_id}")
    async def qa_check(request: Request, qa_id: str, s: QaReader) -> HTMLResponse:
        """A check as its readers may see it: blind (the subject, reports and hits the decider
        saw) until the QA verdict is in; then both verdicts side by side."""
        cw: CaseworkClient = request.app.state.cw
        await of_kind(cw, qa_id, "qa")
        view = await cw.qa_check(qa_id)
        return page(request, "qa_check.html", s=s, view=view, check=view.check,
                    **seen_context(cw, view), offered=offered(view, s.person),
                    titles={p.id: p.title for p in view.check.seen.policies})

    @r.post("/qa/{qa_id}/{command}")
    async def qa_command(request: Request, qa_id: str, command: str, s: QaReader,
                         csrf: Annotated[str, Form()] = "", policy: Annotated[str, Form()] = "",
                         actions: Annotated[list[str] | None, Form()] = None,
                         reason: Annotated[str, Form()] = "") -> Response:
        """Claim, the QA verdict and the adjudication: a policy (or none: no violation), the
        actions ticked and the reason, for the commands that take them."""
        csrf_ok(s, csrf)
        body: dict[str, Any] = {"reason": reason or None}
        if policy == "none":
            body |= {"policy_ids": [], "actions": [Action.NO_ACTION.value]}
        elif policy:
            if not actions:
                raise InvalidInput("tick the actions the verdict takes, or choose No violation")
            body |= {"policy_ids": [policy], "actions": actions}
        await run(QA_FORMS, "QA check", command, request.app.state.cw, qa_id, s.person.id,
                  body)
        return RedirectResponse(f"/qa/{qa_id}", status_code=303)

    @r.get("/dashboard")
    async def dashboard(request: Request, s: Signed, since: str = "", until: str = "",
                        queue: str = "") -> HTMLResponse:
        """Productivity and quality per week against the targets, and per reviewer, queue and
        policy: everyone's for leads, seniors and admins, one's own for anyone else."""
        cw: CaseworkClient = request.app.state.cw
        report = await make_report(cw, s.person, ReportKind.PRODUCTIVITY, since, until, queue)
        weeks = weekly(report)
        return page(request, "dashboard.html", s=s, report=report, weeks=weeks,
                    charts=charts(report, weeks), everyone=has(s.person, READ_ALL),
                    since=since, until=until, queue=queue, queues=cw.pack().queues,
                    judged=judged, kinds=list(ReportKind),
                    asked={k: v for k, v in (("since", since), ("until", until),
                                             ("queue", queue)) if v})

    @r.get("/dashboard.csv")
    async def dashboard_csv(request: Request, s: Signed,
                            kind: ReportKind = ReportKind.PRODUCTIVITY,
                            section: Section = Section.REVIEWERS, since: str = "",
                            until: str = "", queue: str = "") -> Response:
        """One section of the dashboard's report as CSV, with the kind's columns."""
        report = await make_report(request.app.state.cw, s.person, kind, since, until, queue)
        header, rows = table(report, section)
        return csv_response(header, rows, f"{kind.value}-{section.value}")

    return r


def seen_context(cw: CaseworkClient, view: QaView) -> dict[str, Any]:
    """What a check's page shows of the subject: only what the decider saw (the facts, reports
    and hits as they were, the hit policies' text), never the record's other cases or the
    seller's strikes now (a strike could tell the verdict), and the choices its forms offer."""
    seen, kind = view.check.seen, view.check.subject.kind
    refs = {p.id: p for p in seen.policies}
    hit = sorted({h.policy_id for h in seen.hits})
    defaults = {p.id: p.default_actions for p in cw.pack().policies}
    return {"seen": seen, "f": seen.facts,
            "photos": photos(seen.facts.image_hashes) if seen.facts else [],
            "evidence": [w.strip() for h in seen.hits
                         for w in h.evidence.split(":", 1)[-1].split(",")],
            "cited": [refs[p] for p in hit if p in refs],
            "graphic": any(refs[p].category in GRAPHIC for p in hit if p in refs),
            "choices": seen.policies, "defaults": defaults,
            "actions": [a for a in Action if a is not Action.NO_ACTION
                        and a.why_not_on(kind) is None]}


async def make_report(cw: CaseworkClient, person: Person, kind: ReportKind, since: str,
                      until: str, queue: str) -> Report:
    start, end = parse_period(since or None, until or None, datetime.now(UTC))
    query = build(ReportQuery, kind=kind, since=start, until=end, queue=queue or None)
    return await cw.report(person.id, query)  # type: ignore[no-any-return]


def weekly(report: Report) -> list[tuple[date, Any]]:
    """Every week of the period (its Monday), each with its row (None: nothing that week)."""
    rows = {w.week: w for w in report.weeks}
    first = report.query.since.date()
    last = (report.query.until - timedelta(microseconds=1)).date()
    monday = first - timedelta(days=first.weekday())
    found = []
    while monday <= last and len(found) < MAX_WEEKS:
        found.append((monday, rows.get(monday)))
        monday += timedelta(days=7)
    return found


CHARTS = (("decisions_per_hour", "Decisions per handling hour", False),
          ("sla_compliance", "SLA compliance", True),
          ("qa_agreement", "QA agreement", True),
          ("calibration_accuracy", "Calibration accuracy", True))


def charts(report: Report, weeks: list[tuple[date, Any]]) -> list[tuple[str, Markup]]:
    """One chart per figure (its caption, its SVG), weeks on the x axis and the target as a
    dashed line."""
    target = report.targets.model_dump()
    return [(title, line_chart(f"chart-{name.replace('_', '-')}", f"{title} per week", [
        (w, getattr(row, name) if row else None) for w, row in weeks], target.get(name),
        percent)) for name, title, percent in CHARTS]


def judged(row: Any, name: str, percent: bool = True) -> str:
    """A figure with its verdict against the target in words: `92 % (met)`, `80 % (missed)`."""
    value = getattr(row, name)
    shown = figure(value, percent)
    if name in row.met:
        return f"{shown} ({'met' if row.met[name] else 'missed'})"
    return shown

