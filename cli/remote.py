"""The command line's signed-in commands: each is one call to casework's HTTP API as the signed-in
person (or service), declared once as a `Call` (its method and path, its body from the command's
arguments, the model its answer is read as, how it is shown)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from cli import show
from cli import table as cli_commands
from cli.session import Remote, api_url, forget, kept, path, save, saved
from domain import errors
from domain.appeal.models import AppealRef, AppealState
from domain.commands import CommandSpec
from domain.core import CaseSummary, QueueEntry, TakedownItem, TimelineEvent
from domain.escalation.models import EscalationState, EscalationSummary
from domain.ops import Explanation, QueueBacklog, RepairReport, Stuck, Workers
from domain.people import Person
from domain.qa.models import QaView
from domain.reports import Report, Section, table
from domain.review.models import CaseRef, CaseState
from domain.shop_review.lifecycle import SHOP_REVIEW
from domain.shop_review.models import ShopReviewSummary
from domain.takedown.lifecycle import TAKEDOWN
from domain.takedown.models import JobSummary
from domain.text import csv_text
from domain.trend_models import parse_span, whole_minutes

MAX_FILE = 64 * 1024 * 1024  # an id file: a million ids of a job fit well inside

Emit = Callable[[argparse.Namespace, Any, Callable[[Any], str]], None]


@dataclass(frozen=True)
class Call:
    """One API call a command makes: `path` takes the command's arguments by name."""

    method: str
    path: str
    body: Callable[[argparse.Namespace], Any] = field(default=lambda a: None)
    params: Callable[[argparse.Namespace], dict[str, Any]] = field(default=lambda a: {})
    model: Any = None  # what the answer is read as (None: as JSON)
    show: Callable[[Any], str] = field(default=lambda r: json.dumps(show.plain(r)))

    async def __call__(self, args: argparse.Namespace) -> Any:
        ids = {k: str(v) for k, v in vars(args).items() if f"{{{k}}}" in self.path}
        answer = await remote(args).call(self.method, path(self.path, **ids), self.body(args),
                                         self.params(args))
        return TypeAdapter(self.model).validate_python(answer) if self.model else answer


def remote(args: argparse.Namespace) -> Remote:
    return Remote(getattr(args, "api", None), request_id=getattr(args, "request_id", None))


def handler(call: Call, emit: Emit) -> Callable[[argparse.Namespace], Awaitable[None]]:
    async def run(args: argparse.Namespace) -> None:
        emit(args, await call(args), call.show)
    return run


def read_ids(name: str) -> list[str]:
    """An id file's lines: a regular text file (UTF-8) of at most MAX_FILE bytes. Nothing of
    its content is echoed in a refusal."""
    return read_text(name, "--file", "KIND:ID lines").splitlines()


def read_text(name: str, flag: str, what: str) -> str:
    """A regular UTF-8 text file of at most MAX_FILE bytes."""
    not_regular = errors.InvalidInput(f"{flag} {name} is not a regular file")
    try:
        with Path(name).open("rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # /dev/zero, a pipe
                raise not_regular
            data = f.read(MAX_FILE + 1)
    except IsADirectoryError:
        raise not_regular from None
    except OSError as e:
        raise errors.InvalidInput(f"cannot read {flag} {name}: {e.strerror}") from None
    if len(data) > MAX_FILE:
        raise errors.InvalidInput(f"{flag} {name} is larger than {MAX_FILE // 2**20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidInput(f"{flag} {name} is not a UTF-8 text file of {what}"
                                  ) from None
    if "\x00" in text:
        raise errors.InvalidInput(f"{flag} {name} is not a text file of {what}")
    return text


def _order(a: argparse.Namespace) -> dict[str, Any]:
    try:
        due = date.fromisoformat(a.deadline)
    except ValueError:
        raise errors.InvalidInput(f"--deadline {a.deadline!r} is not YYYY-MM-DD") from None
    return {"authority": a.authority, "reference": a.reference,
            "legal_ground": a.legal_ground, "deadline": due.isoformat()}


def _job(a: argparse.Namespace) -> dict[str, Any]:
    order = _order(a) if getattr(a, "authority", None) else None
    return {"lines": read_ids(a.file), "action": a.action,
            "reason": a.legal_ground if order else a.reason, "policy_ids": a.policy or [],
            "order": order}


SUMMARY = {"model": CaseSummary, "show": show.case_line}
ESCALATION = {"model": EscalationSummary, "show": show.escalation_line}
JOB = {"model": JobSummary, "show": show.job_line}
SHOP = {"model": ShopReviewSummary, "show": show.review_line}
SHOWN = {EscalationSummary: show.escalation_line, JobSummary: show.job_line,
         ShopReviewSummary: show.review_line}  # a table command's answer, as a line
CLAIM = lambda a: {"lease_minutes": a.lease_minutes}  # noqa: E731

CALLS: dict[str, Call] = {
    # reads
    "case show": Call("GET", "/api/cases/{case_id}", model=CaseState, show=show.case_detail),
    "case timeline": Call("GET", "/api/cases/{case_id}/timeline", model=list[TimelineEvent],
                          show=show.timeline),
    "appeal show": Call("GET", "/api/appeals/{appeal_id}", model=AppealState,
                        show=show.appeal_detail),
    "qa show": Call("GET", "/api/qa/{qa_id}", model=QaView, show=show.qa_check),
    "qa list": Call("GET", "/api/qa", params=lambda a: {"limit": a.limit}, show=show.qa_queue),
    "escalation show": Call("GET", "/api/escalations/{escalation_id}", model=EscalationState,
                            show=show.escalation_detail),
    "shop status": Call("GET", "/api/shop-reviews/{review_id}", model=ShopReviewSummary,
                        show=show.review_report),
    "ops stuck": Call("GET", "/api/ops/stuck", params=lambda a: {"kind": a.kind},
                      model=list[Stuck], show=show.stuck),
    "ops explain": Call("GET", "/api/ops/records/{case_id}", model=Explanation,
                        show=show.explanation),
    "reviewer list": Call("GET", "/api/people", model=list[Person],
                          show=lambda ps: "\n".join(map(show.person_line, ps)) or "(nobody)"),
    "policy list": Call("GET", "/api/policies", show=show.policies),
    "whoami": Call("GET", "/api/me", show=show.principal),
    # intake and appeals from services (or a person's internal report)
    "case open": Call("POST", "/api/reports", body=lambda a: {
        "subject": a.subject, "source": a.source, "reporter": a.reporter,
        "text": a.text or "", "policy_hint": a.policy_hint,
        "detector": {"model": a.model, "version": a.model_version, "score": a.score}
        if (a.model, a.model_version, a.score) != (None, None, None) else None}, model=CaseRef,
        show=lambda r: f"{r.case_id} {r.outcome}: {r.state} in {r.queue} {r.priority.value}"),
    "appeal file": Call("POST", "/api/cases/{case_id}/appeal", body=lambda a: {
        "text": a.text or "", "appellant": a.appellant}, model=AppealRef,
        show=lambda r: f"{r.appeal_id} {r.state}: {r.appellant.kind.value} {r.appellant.id} "
                       f"appeals {r.review_case_id}"),
    "escalation open": Call("POST", "/api/escalations", body=lambda a: {
        "subject": a.subject, "source": a.source, "reason": a.reason,
        "severity": a.severity, "owner": a.owner}, show=show.escalation_opened),
    # a person's commands
    "case claim": Call("POST", "/api/cases/{case_id}/claim", body=CLAIM, **SUMMARY),
    "queue claim": Call("POST", "/api/queues/{queue}/claim-next", body=CLAIM, **SUMMARY),
    "case escalate": Call("POST", "/api/cases/{case_id}/escalation", body=lambda a: {
        "reason": a.reason, "severity": a.severity}, **ESCALATION),
    "appeal claim": Call("POST", "/api/appeals/{appeal_id}/claim", body=CLAIM, **SUMMARY),
    "appeal decide": Call("POST", "/api/appeals/{appeal_id}/decision", body=lambda a: {
        "outcome": a.outcome, "actions": a.action or [], "policy_ids": a.policy or [],
        "reason": a.reason}, **SUMMARY),
    "takedown bulk": Call("POST", "/api/takedowns", body=_job, **JOB),
    "takedown order": Call("POST", "/api/takedowns", body=_job, **JOB),
    "shop review": Call("POST", "/api/shop-reviews", body=lambda a: {
        "shop_id": a.shop_id, "reason": a.reason}, **SHOP),
    # abuse trends
    "trends scan": Call("POST", "/api/trends/scans", body=lambda a: {
        "window_minutes": whole_minutes(parse_span(a.window, "--window"), "a window")
        if a.window else None}, show=show.trend_scan),
    "trends schedule": Call("PUT", "/api/trends/schedule", body=lambda a: {
        "every_minutes": whole_minutes(parse_span(a.every, "--every"), "--every")
        if a.every else None},
        show=lambda r: f"schedule {r['schedule_id']} {r['made']}: a scan every "
                       f"{r['every_minutes']} min"),
    "trends show": Call("GET", "/api/trends", show=show.trends),
    # calibration sets
    "calibration load": Call("POST", "/api/calibration/sets", body=lambda a: {
        "set_id": a.set_id or Path(a.file).stem, "text": read_text(a.file, "FILE",
                                                                   "JSON lines")},
        show=lambda r: f"calibration set {r['set_id']}: {r['items']} items for "
                       f"{', '.join(r['queues'])}"),
    "calibration list": Call("GET", "/api/calibration/sets", show=show.calibration_sets),
    "calibration results": Call("GET", "/api/calibration/results", params=lambda a: {
        k: v for k, v in (("set_id", a.set_id), ("reviewer", a.reviewer)) if v},
        show=show.calibration_results),
}


def table_call(group: str, spec: CommandSpec) -> Call:
    """The API call of a command of a lifecycle's table."""
    _, where, _ = cli_commands.GROUPS[group]
    return Call("POST", f"{where}/{spec.path}", body=partial(cli_commands.body, spec),
                model=spec.answer, show=SHOWN.get(spec.answer, show.case_line))


# -- commands that do more than one call ---------------------------------------------------------
async def queue_list(args: argparse.Namespace, emit: Emit) -> None:
    r = remote(args)
    if args.queue:
        page = await r.call("GET", path("/api/queues/{q}", q=args.queue),
                            params={"limit": min(args.limit, 200)})
        rows = page["items"]
    else:
        rows = await r.call("GET", "/api/queues", params={"limit": min(args.limit, 200)})
    entries = TypeAdapter(list[QueueEntry]).validate_python(rows)
    emit(args, entries, lambda es: "\n".join(map(show.case_line, es)) or "(empty)")


async def takedown_status(args: argparse.Namespace, emit: Emit) -> None:
    r = remote(args)
    where = path("/api/takedowns/{job_id}", job_id=args.job_id)
    if args.items:
        items, offset = [], 0
        while offset is not None:
            page = await r.call("GET", f"{where}/items", params={"offset": offset})
            items += TypeAdapter(list[TakedownItem]).validate_python(page["items"])
            offset = page["next_offset"]
        emit(args, items, show.items)
        return
    job = JobSummary.model_validate(await r.call("GET", where))
    while args.watch and not args.json and job.state in TAKEDOWN.working | TAKEDOWN.awaiting:
        print(show.safe(show.bar(job)), end="\r", flush=True)
        await asyncio.sleep(1)
        job = JobSummary.model_validate(await r.call("GET", where))
    emit(args, job, show.bar if args.watch else show.job_line)


async def shop_watch(args: argparse.Namespace, emit: Emit) -> None:
    review = await CALLS["shop status"](args)
    while args.watch and not args.json and review.state == SHOP_REVIEW.initial:
        print(show.safe(show.review_line(review)), end="\r", flush=True)
        await asyncio.sleep(1)
        review = await CALLS["shop status"](args)
    emit(args, review, show.review_report)


async def ops_backlog(args: argparse.Namespace, emit: Emit) -> None:
    r = remote(args)

    async def read() -> list[QueueBacklog]:
        return TypeAdapter(list[QueueBacklog]).validate_python(
            await r.call("GET", "/api/ops/backlog"))

    while args.watch and not args.json:
        print("\033[2J\033[H" + show.backlog(await read()), flush=True)
        await asyncio.sleep(args.every)
    emit(args, await read(), show.backlog)


async def ops_repair(args: argparse.Namespace, emit: Emit) -> None:
    """One record by its id, or a batch (`--query`, `--all-stuck`): a dry run that lists what
    would change unless `--yes`."""
    report = RepairReport.model_validate(await remote(args).call("POST", "/api/ops/repairs", {
        "repair": args.cmd, "case_id": args.case_id, "query": args.query,
        "all_stuck": args.all_stuck, "kind": args.kind, "act": args.yes or not (
            args.query or args.all_stuck), "reason": args.reason, "to": args.to,
        "priority": args.priority, "severity": args.severity, "to_event": args.to_event}))
    emit(args, report.results, lambda rs: show.repairs(args.cmd, rs))
    if report.failed:
        raise errors.Refused(f"{len(report.failed)} of {len(report.failed) + len(report.results)}"
                             f" not repaired: {'; '.join(report.failed)}")


async def ops_workers(args: argparse.Namespace, emit: Emit) -> None:
    """Who polls casework's task queue; exit 6 when nobody has in the last minute."""
    w = Workers.model_validate(await remote(args).call("GET", "/api/ops/workers"))
    emit(args, w, show.workers)
    if not w.ok:
        raise errors.Unavailable(f"no casework worker polls task queue {w.task_queue}")


async def statements_export(args: argparse.Namespace, emit: Emit) -> None:
    r, rows, offset = remote(args), [], 0
    while offset is not None:
        page = await r.call("GET", "/api/statements", params={"offset": offset, "limit": 1000})
        rows += page["items"]
        offset = page["next_offset"]
    text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
    if not args.out:
        sys.stdout.write(text)
        return
    try:
        Path(args.out).write_text(text)
    except OSError as e:
        raise errors.InvalidInput(f"cannot write --out {args.out}: {e.strerror}") from None
    emit(args, {"written": len(rows), "out": args.out},
         lambda w: f"{w['written']} statement(s) written to {w['out']}")


# -- signing in ----------------------------------------------------------------------------------
async def login(args: argparse.Namespace, emit: Emit) -> None:
    """A person's password for a token kept for this user (`--refresh`: a new one for the
    token kept, which is revoked)."""
    url = api_url(getattr(args, "api", None))
    if args.refresh:  # the kept token, whatever CASEWORK_TOKEN holds
        answer = await Remote(url, bearer=kept(url) or "").call("POST", "/api/token/refresh")
    else:
        user = args.user or input("name: ").strip()
        password = (getpass.getpass(f"password for {user}: ") if sys.stdin.isatty()
                    else sys.stdin.readline().rstrip("\n"))
        answer = await Remote(url, bearer="").call(
            "POST", "/api/login", {"username": user, "password": password},
            authenticated=False)
    where = save(url, answer)
    emit(args, {"person": answer["person"]["id"], "api": url,
                "expires_at": answer["expires_at"], "saved": str(where)},
         lambda r: f"signed in as {r['person']} on {r['api']} until {r['expires_at'][:16]} "
                   f"(token kept in {r['saved']})")


async def logout(args: argparse.Namespace, emit: Emit) -> None:
    """Revoke the kept token and forget it (forgotten here even when the API cannot be
    reached: then it says so, and the token ends when it expires or an admin revokes it)."""
    url = api_url(getattr(args, "api", None))
    who = saved().get("person") if kept(url) else None
    try:
        await Remote(url, bearer=kept(url) or "").call("POST", "/api/logout")
    finally:
        if who:
            forget()
    emit(args, {"signed_out": who}, lambda r: f"signed out {r['signed_out'] or ''}".strip())


async def report(args: argparse.Namespace, emit: Emit) -> None:
    """A report as columns, `--json`, or one section as CSV (`--csv`)."""
    params = {k: v for k, v in (("since", args.since), ("until", args.until),
                                ("queue", args.queue), ("reviewer", args.reviewer)) if v}
    answer = await remote(args).call("GET", path("/api/reports/{kind}", kind=args.cmd),
                                     params=params)
    found = Report.model_validate(answer)
    if args.csv:
        header, rows = table(found, Section(args.section))
        sys.stdout.write(csv_text(header, rows))
        return
    emit(args, found, show.report)
