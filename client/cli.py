"""`casework`: the command line for intake, reviewers and ops.

Every command takes `--json`. Errors print one line on stderr and exit non-zero:
2 invalid input, 3 refused, 4 not found, 5 empty queue, 6 unavailable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from domain import errors
from domain.core import (
    Subject,
    SubjectKind,
    unsafe_chars,
)
from domain.escalation.models import EscalationSource, HandOffTo
from domain.people import Role

EXIT_CODES: dict[type[errors.CaseworkError], int] = {
    errors.InvalidInput: 2, errors.Refused: 3, errors.NotFound: 4, errors.EmptyQueue: 5,
    errors.Unavailable: 6,
}


def _plain(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, list):
        return [_plain(o) for o in obj]
    return obj


def _emit(args: argparse.Namespace, obj: Any, human: Callable[[Any], str]) -> None:
    print(json.dumps(_plain(obj)) if args.json else _safe(human(obj), keep_newlines=True))


def _safe(text: str, keep_newlines: bool = False) -> str:
    """Text from the public as a terminal should show it: control and bidirectional
    characters escaped (`\\x1b`, `\\u202e`), so they cannot rewrite what is on screen."""
    return "".join(
        ch if (ch == "\n" and keep_newlines) or not unsafe_chars(ch)
        else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _case_line(c: Any) -> str:
    sla = f"{c.sla_deadline:%Y-%m-%d %H:%MZ}" if c.sla_deadline else "-"
    return (f"{c.case_id:<28} {c.state:<11} {c.queue:<16} {c.priority.value} "
            f"{(c.assignee or '-'):<12} sla {sla}{' BREACHED' if c.sla_breached else ''} "
            f"{c.subject}")


def _case_detail(c: Any) -> str:
    lines = [_case_line(c)]
    for h in c.hits:
        lines.append(f"  hit  {h.policy_id:<18} {h.rule:<14} {h.score:.2f} {_safe(h.evidence)}")
    for r in c.reports:
        lines.append(f"  report {r.report_id} {r.source.value} {r.reporter or '-'}: "
                     f"{_safe(r.text)}")
    if c.reports_overflow:
        lines.append(f"  (+{c.reports_overflow} more report(s) kept in the ledger)")
    if c.decision:
        d = c.decision
        lines.append(f"  decision by {d.decided_by}: {', '.join(a.value for a in d.actions)} "
                     f"under {', '.join(d.policy_ids) or '-'}: {_safe(d.reason)}")
    for e in c.enforcement:
        lines.append(f"  enforced {e.action.value} on {e.target}: {_safe(e.detail)}")
    if c.statement_puid:
        lines.append(f"  statement {c.statement_puid}; appeal until {c.appeal_deadline:%Y-%m-%d}")
    if c.waiting_on:
        lines.append(f"  waiting on {_safe(c.waiting_on)}")
    for f in c.followups:
        lines.append(f"  follow-up case {f}")
    return "\n".join(lines)


def _timeline(events: list[Any]) -> str:
    return "\n".join(f"{e.seq:>3} {e.at:%Y-%m-%d %H:%M:%S}Z {e.actor:<18} {e.event:<16} "
                     f"{_safe(e.detail)}" for e in events)


async def _client(args: argparse.Namespace) -> Any:
    from client.api import CaseworkClient

    return await CaseworkClient.connect(profile=args.profile, address=args.address)


# -- commands ------------------------------------------------------------------------------------
async def case_open(args: argparse.Namespace) -> None:
    subject = Subject.parse(args.subject)
    c = await _client(args)
    ref = await c.open_case(subject, args.source, reporter=args.reporter, text=args.text or "",
                            policy_hint=args.policy_hint, report_id=args.report_id)
    _emit(args, ref, lambda r: f"{r.case_id} {r.outcome}: {r.state} in {r.queue} {r.priority.value}")


async def case_show(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.show(args.case_id), _case_detail)


async def case_timeline(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.timeline(args.case_id), _timeline)


async def case_claim(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.claim(args.case_id, args.reviewer, args.lease_minutes), _case_line)


async def case_decide(args: argparse.Namespace) -> None:
    c = await _client(args)
    case = await c.decide(args.case_id, args.reviewer, args.policy or [], args.action,
                          args.reason, request_id=args.request_id)
    _emit(args, case, _case_line)


async def case_retry(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.retry(args.case_id, args.operator, args.reason, repin=args.repin,
                              request_id=args.request_id), _case_line)


async def case_hold(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.hold(args.case_id, args.reviewer, args.reason), _case_line)


async def case_resume(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.resume(args.case_id, args.reviewer), _case_line)


async def case_escalate(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.escalate(args.case_id, args.reviewer, args.reason, args.severity),
          _escalation_line)


async def case_approve(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.approve(args.case_id, args.approver), _case_line)


def _appeal_line(a: Any) -> str:
    verdict = f" {a.verdict.outcome.value} by {a.verdict.decided_by}" if a.verdict else ""
    return (f"{a.case_id:<44} {a.state:<10}{verdict} {a.appellant.kind.value} "
            f"{a.appellant.id} against {a.review_case_id}")


def _appeal_detail(a: Any) -> str:
    lines = [_appeal_line(a), f"  appealed: {', '.join(x.value for x in a.original.actions)} "
             f"by {a.original.decided_by}: {_safe(a.original.reason)}"]
    if a.text:
        lines.append(f"  appellant: {_safe(a.text)}")
    if a.verdict:
        lines.append(f"  verdict: {a.verdict.outcome.value}: {_safe(a.verdict.reason)}")
    for label, done in (("reversed", a.reversed), ("applied", a.applied)):
        lines += [f"  {label} {e.action.value} on {e.target}: {_safe(e.detail)}" for e in done]
    return "\n".join(lines)


async def appeal_file(args: argparse.Namespace) -> None:
    c = await _client(args)
    ref = await c.file_appeal(args.case_id, args.text or "", appellant=args.appellant)
    _emit(args, ref, lambda r: f"{r.appeal_id} {r.state}: {r.appellant.kind.value} "
          f"{r.appellant.id} appeals {r.review_case_id}")


async def appeal_show(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.appeal(args.appeal_id), _appeal_detail)


async def appeal_decide(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.decide_appeal(args.appeal_id, args.reviewer, args.outcome,
                                      args.action or [], args.policy or [], args.reason),
          _case_line)
def _escalation_line(e: Any) -> str:
    ack = f" ack by {e.ack_deadline:%Y-%m-%d %H:%MZ}" if e.state == "open" and e.ack_deadline else ""
    return (f"{e.escalation_id} {e.state:<13} {e.severity.value} owner {e.owner or '-'}{ack}"
            f"{' BREACHED' if e.sla_breached else ''} {e.subject} ({e.source.value})")


def _escalation_detail(e: Any) -> str:
    lines = [_escalation_line(e), f"  opened by {e.opened_by}: {_safe(e.reason)}"]
    if e.review_case_id:
        lines.append(f"  review case {e.review_case_id}")
    lines += [f"  note {n.at:%Y-%m-%d %H:%MZ} {n.by}: {_safe(n.text)}" for n in e.notes]
    if e.resolution:
        r = e.resolution
        lines.append(f"  resolved by {r.resolved_by}: {', '.join(a.value for a in r.actions) or '-'}"
                     f" under {', '.join(r.policy_ids) or '-'}: {_safe(r.reason)}")
    if e.handed_off_to:
        lines.append(f"  handed off to {e.handed_off_to.value}")
    lines.append(f"  leadership updates sent: {e.updates_sent}")
    return "\n".join(lines)


async def escalation_open(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.open_escalation(args.subject, args.source, args.reason, args.severity,
                                        opened_by=args.opened_by, owner=args.owner,
                                        request_id=args.request_id), _escalation_line)


async def escalation_show(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.show_escalation(args.escalation_id), _escalation_detail)


async def escalation_ack(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.acknowledge_escalation(args.escalation_id, args.owner,
                                               request_id=args.request_id), _escalation_line)


async def escalation_note(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.note_escalation(args.escalation_id, args.owner, args.text,
                                        request_id=args.request_id), _escalation_line)


async def escalation_severity(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.set_escalation_severity(args.escalation_id, args.owner, args.severity,
                                                args.reason, request_id=args.request_id),
          _escalation_line)


async def escalation_resolve(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.resolve_escalation(args.escalation_id, args.owner, args.reason,
                                           actions=args.action or [], policy_ids=args.policy or [],
                                           request_id=args.request_id), _escalation_line)


async def escalation_handoff(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.hand_off_escalation(args.escalation_id, args.owner, args.to, args.reason,
                                            request_id=args.request_id), _escalation_line)


def _job_line(j: Any) -> str:
    p = j.progress
    eta = f" eta {p.eta_s:.0f}s" if p.eta_s is not None else ""
    order = f" order {j.order.reference} ({j.order.authority})" if j.order else ""
    return (f"{j.job_id} {j.state:<16} {j.action.value} done {p.done} failed {p.failed} "
            f"skipped {p.skipped} reversed {p.reversed} of {p.total} at {p.rate_per_s}/s{eta}"
            f"{order}")


def _bar(j: Any, width: int = 40) -> str:
    p = j.progress
    filled = int(width * (p.total - p.remaining) / p.total) if p.total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {_job_line(j)}"


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _read_ids(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError as e:
        raise errors.InvalidInput(f"cannot read --file {path}: {e.strerror}") from None


async def takedown_bulk(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.takedown(_read_ids(args.file), args.action, args.reason,
                                 args.requester, args.policy or []), _job_line)


async def takedown_order(args: argparse.Namespace) -> None:
    from datetime import date

    from domain.takedown.models import AuthorityOrder

    try:
        due = date.fromisoformat(args.deadline)
    except ValueError:
        raise errors.InvalidInput(f"--deadline {args.deadline!r} is not YYYY-MM-DD") from None
    order = errors.build(AuthorityOrder, authority=args.authority, reference=args.reference,
                         legal_ground=args.legal_ground, deadline=due)
    c = await _client(args)
    _emit(args, await c.takedown(_read_ids(args.file), args.action, args.legal_ground,
                                 args.requester, args.policy or [], order=order), _job_line)


async def takedown_status(args: argparse.Namespace) -> None:
    c = await _client(args)
    if args.items:
        _emit(args, c.takedown_items(args.job_id), lambda items: "\n".join(
            f"{i.seq:>7} {i.subject!s:<22} {i.status:<9} {i.detail}" for i in items))
        return
    job = await c.takedown_status(args.job_id)
    while args.watch and not args.json and job.state in ("planned", "pending_approval",
                                                         "executing", "reversing"):
        print(_safe(_bar(job)), end="\r", flush=True)
        await asyncio.sleep(1)
        job = await c.takedown_status(args.job_id)
    _emit(args, job, _bar if args.watch else _job_line)


async def takedown_approve(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.approve_takedown(args.job_id, args.approver), _job_line)


async def takedown_steer(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.steer_takedown(args.job_id, args.cmd, args.requester), _job_line)


async def shop_review(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.shop_review(args.shop_id, args.requester, args.reason),
          _review_line)


async def shop_status(args: argparse.Namespace) -> None:
    c = await _client(args)
    review = await c.shop_status(args.review_id)
    while args.watch and not args.json and review.state == "screening":
        print(_safe(_review_line(review)), end="\r", flush=True)
        await asyncio.sleep(1)
        review = await c.shop_status(args.review_id)
    _emit(args, review, _review_report)


async def shop_decide(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.decide_shop(args.review_id, args.decider, args.outcome, args.reason,
                                    args.policy or []), _review_line)


def _review_line(r: Any) -> str:
    line = (f"{r.review_id}  {r.state:<17} shop {r.shop_id}  screened {r.screened}  "
            f"hits {r.hits}")
    if r.decision:
        line += f"  decided {r.decision.outcome} by {r.decision.decider}"
    if r.job_ids:
        line += f"  jobs {', '.join(r.job_ids)}"
    return line


def _review_report(r: Any) -> str:
    lines = [_review_line(r)]
    if r.history:
        h = r.history
        lines.append(f"seller {h.seller_id}: {h.strikes} upheld violation(s) in "
                     f"{h.window_days:g} days, {h.prior_violations} on the marketplace")
    lines += [f"  {f.subject!s:<20} {f.policy_id:<22} {f.rule:<14} {f.case_id}  {f.evidence}"
              for f in r.findings]
    return "\n".join(lines)


async def ops_stuck(args: argparse.Namespace) -> None:
    from client.ops import Ops
    from domain.ops import StuckKind

    kind = errors.parse_members(StuckKind, [args.kind], "kind")[0] if args.kind else None
    rows = await Ops(await _client(args)).stuck(kind)
    _emit(args, rows, lambda rs: "\n".join(
        f"{r.case_id}  {r.lifecycle:<11} {r.state:<17} {r.kind:<21} {r.reason}\n"
        f"    -> {r.suggested}" for r in rs) or "(nothing stuck)")


async def ops_explain(args: argparse.Namespace) -> None:
    from client.ops import Ops

    _emit(args, await Ops(await _client(args)).explain(args.case_id), _explanation)


async def ops_backlog(args: argparse.Namespace) -> None:
    from client.ops import Ops

    ops = Ops(await _client(args))
    while args.watch and not args.json:
        print("\033[2J\033[H" + _backlog(ops.backlog()), flush=True)
        await asyncio.sleep(args.every)
    _emit(args, ops.backlog(), _backlog)


def _backlog(queues: list[Any]) -> str:
    lines = [f"{'queue':<16} {'open':>5} {'breached':>8} {'oldest h':>8} {'24h SLA':>8}  states"]
    for q in queues:
        sla = f"{q.sla_compliance_24h:.0%}" if q.sla_compliance_24h is not None else "-"
        states = ", ".join(f"{s} {n}" for s, n in q.by_state.items())
        lines.append(f"{q.queue:<16} {q.open:>5} {q.breached:>8} {q.oldest_age_h:>8} "
                     f"{sla:>8}  {states}")
    return "\n".join(lines)


async def ops_workers(args: argparse.Namespace) -> None:
    from client.ops import Ops

    w = await Ops(await _client(args)).workers()
    _emit(args, w, lambda w: "\n".join(
        [f"task queue {w.task_queue}: " + ("workers polling" if w.ok else
                                           "NO WORKER has polled in the last minute")]
        + [f"  {p.kind:<8} {p.identity}  last poll {p.age_s}s ago" for p in w.pollers]))
    if not w.ok:
        raise errors.Unavailable(f"no casework worker polls task queue {w.task_queue}")


async def ops_repair(args: argparse.Namespace) -> None:
    """One record by its id, or a batch (`--query`, `--all-stuck [--kind]`): a dry run that
    lists what would change unless `--yes`."""
    from client.ops import Ops
    from domain.ops import StuckKind

    ops = Ops(await _client(args))
    batch = args.query is not None or args.all_stuck
    if batch == (args.case_id is not None):
        raise errors.InvalidInput("give one ID, or --query/--all-stuck for a batch")
    kind = errors.parse_members(StuckKind, [args.kind], "kind")[0] if args.kind else None
    if args.cmd == "reset" and args.all_stuck and kind is not StuckKind.TASK_FAILING:
        raise errors.InvalidInput("a batch reset takes only failing tasks: --kind task_failing")
    ids = await ops.targets(args.query, kind) if batch else [args.case_id]
    if batch and not args.yes:
        _emit(args, [{"case_id": i, "repair": args.cmd, "done": False, "detail": "dry run"}
                     for i in ids], lambda rs: "\n".join(
            f"would {args.cmd} {r['case_id']}" for r in rs) + f"\n{len(ids)} record(s); "
            "add --yes to repair them")
        return
    results, failed = [], []
    for case_id in ids:
        try:
            results.append(await ops.repair(args.cmd, case_id, args.operator, args.reason,
                                            to=args.to, priority=args.priority,
                                            severity=args.severity, to_event=args.to_event))
        except errors.CaseworkError as e:
            if not batch:
                raise
            failed.append(f"{case_id}: {e}")
    _emit(args, results, lambda rs: "\n".join(f"{r.repair} {r.case_id}: {r.detail}"
                                               for r in rs))
    if failed:
        raise errors.Refused(f"{len(failed)} of {len(ids)} not repaired: {'; '.join(failed)}")


def _explanation(x: Any) -> str:
    since = f" since {x.since:%Y-%m-%d %H:%M:%SZ}" if x.since else ""
    lines = [f"{x.case_id}  {x.lifecycle}  {x.state}{since}  (workflow {x.status})"]
    if x.waiting_on:
        lines.append(f"waits on {x.waiting_on}")
    if x.task_attempt > 1:
        lines.append(f"its workflow task is on attempt {x.task_attempt}: it keeps failing")
    lines += [f"activity {a.activity}: attempt {a.attempt}, {a.state}"
              + (f", last error: {a.last_failure}" if a.last_failure else "")
              for a in x.pending_activities]
    lines += ["recent:"] + [f"  {e.at:%Y-%m-%d %H:%M:%SZ}  {e.actor:<14} {e.event:<18} "
                            f"{e.detail}" for e in x.recent]
    lines += [f"stuck: {s.kind}: {s.reason}\n  repair: {s.suggested}" for s in x.stuck]
    return "\n".join(lines)


async def queue_list(args: argparse.Namespace) -> None:
    from client.api import CaseworkClient

    _emit(args, CaseworkClient(None).queue(args.queue, limit=args.limit),
          lambda es: "\n".join(_case_line(e) for e in es) or "(empty)")


async def queue_claim(args: argparse.Namespace) -> None:
    c = await _client(args)
    _emit(args, await c.claim_next(args.queue, args.reviewer, args.lease_minutes), _case_line)


async def ledger_rebuild(args: argparse.Namespace) -> None:
    from client.rebuild import rebuild

    c = await _client(args)
    report = await rebuild(c.temporal, c.ledger, c.settings.task_queue, fresh=args.fresh)
    _emit(args, report, lambda r: f"rebuilt {r.cases} case(s) and {r.statements} statement(s)"
          + "".join(f"\n  unreadable: {u}" for u in r.unreadable))


async def statements_export(args: argparse.Namespace) -> None:
    from client.api import CaseworkClient

    rows = CaseworkClient(None).statements()
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    if args.out:
        try:
            Path(args.out).write_text(text)
        except OSError as e:
            raise errors.InvalidInput(f"cannot write --out {args.out}: {e.strerror}") from None
        print(json.dumps({"written": len(rows), "out": args.out}) if args.json
              else f"{len(rows)} statement(s) written to {args.out}")
    else:
        sys.stdout.write(text)


async def policy_list(args: argparse.Namespace) -> None:
    from client.api import CaseworkClient

    pack = CaseworkClient(None).pack()
    rows = [{"id": p.id, "title": p.title, "category": p.category, "ground": p.ground,
             "severity": p.severity, "queue": p.queue, "priority": p.priority.value,
             "default_actions": [a.value for a in p.default_actions],
             "auto_enforce_threshold": p.auto_enforce_threshold} for p in pack.policies]
    _emit(args, rows, lambda rs: "\n".join(
        f"{r['id']:<18} {r['priority']} {r['queue']:<16} {r['severity']:<8} {r['title']}"
        for r in rs))


def _sandbox() -> Any:
    from config.settings import Settings
    from marketplace.sandbox import SandboxMarketplace

    return SandboxMarketplace(Settings().sandbox_db)


async def sandbox_list(args: argparse.Namespace) -> None:
    kind = SubjectKind(args.kind) if args.kind else None
    rows = _sandbox().list(kind, limit=args.limit, shop=args.shop)
    if args.ids:  # a takedown's id file
        _emit(args, rows, lambda rs: "\n".join(r["subject"] for r in rs))
        return
    _emit(args, rows, lambda rs: "\n".join(
        f"{r['subject']:<16} {r['status']:<17} {r.get('title') or r.get('name')}" for r in rs))


async def sandbox_show(args: argparse.Namespace) -> None:
    from marketplace.base import SubjectNotFound

    try:
        row = _sandbox().show(Subject.parse(args.subject))
    except SubjectNotFound as e:
        raise errors.NotFound(str(e)) from None
    _emit(args, row, lambda r: json.dumps(r, indent=2))


async def sandbox_load(args: argparse.Namespace) -> None:
    from marketplace import demo

    sandbox = _sandbox()
    sandbox.load(*demo.generate())
    _emit(args, {"listings": len(sandbox.list(SubjectKind.LISTING))},
          lambda r: f"sandbox holds {r['listings']} listings")


def _person_line(p: Any) -> str:
    return (f"{p.id:<16} {'active' if p.active else 'disabled':<8} "
            f"{','.join(r.value for r in p.roles):<28} {','.join(p.queues) or '-':<24} {p.name}")


def _directory() -> Any:
    from client.api import CaseworkClient

    return CaseworkClient(None).directory


async def reviewer_list(args: argparse.Namespace) -> None:
    _emit(args, _directory().people(),
          lambda ps: "\n".join(_person_line(p) for p in ps) or "(nobody)")


async def reviewer_add(args: argparse.Namespace) -> None:
    _emit(args, _directory().add(args.person_id, args.name, args.role, args.queue or []),
          _person_line)


async def reviewer_disable(args: argparse.Namespace) -> None:
    _emit(args, _directory().disable(args.person_id), _person_line)


def _credentials() -> Any:
    from client.credentials import Credentials
    from config.settings import Settings
    from ledger.store import Ledger

    return Credentials(Ledger(Settings().ledger_url))


async def reviewer_password(args: argparse.Namespace) -> None:
    """The password from stdin (its first line), never from the command line; asked for
    without echo on a terminal."""
    password = (getpass.getpass(f"password for {args.person_id}: ") if sys.stdin.isatty()
                else sys.stdin.readline().rstrip("\n"))
    _credentials().set_password(args.person_id, password)
    _emit(args, {"person_id": args.person_id, "password_set": True},
          lambda r: f"password set for {r['person_id']}")


async def token_create(args: argparse.Namespace) -> None:
    from client.credentials import TOKEN_DAYS

    days = TOKEN_DAYS if args.days is None else args.days
    token_id, token = _credentials().create_token(args.owner, args.scope or [], days)
    _emit(args, {"token_id": token_id, "owner": args.owner, "token": token, "days": days},
          lambda r: f"{r['token']}\n(token id {r['token_id']}; valid "
                    f"{str(r['days']) + ' days' if r['days'] else 'until revoked'}; "
                    "shown once: keep it secret)")


async def token_list(args: argparse.Namespace) -> None:
    rows = _credentials().ledger.tokens(args.owner)
    _emit(args, rows, lambda rs: "\n".join(
        f"{r['token_id']}  {r['owner']:<20} {'person' if r['person'] else 'service':<8} "
        f"{','.join(r['scopes']) or '-':<30} made {r['created_at'][:16]}"
        f"{'  expires ' + r['expires_at'][:16] if r['expires_at'] else ''}"
        f"{'  revoked ' + r['revoked_at'][:16] if r['revoked_at'] else ''}" for r in rs)
        or "no tokens")


async def token_revoke(args: argparse.Namespace) -> None:
    _credentials().revoke(args.token_id)
    _emit(args, {"token_id": args.token_id, "revoked": True},
          lambda r: f"revoked token {r['token_id']}")


async def api_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api.app import create_app
    from client.api import CaseworkClient
    from config.settings import Settings

    settings = Settings()
    host, port = args.host or settings.api_host, args.port or settings.api_port
    app = create_app(lambda: CaseworkClient.connect(profile=args.profile, address=args.address))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    print(f"casework console and API on http://{host}:{port} (reference at /docs)", flush=True)
    await server.serve()


def _drill_line(f: dict[str, Any]) -> str:
    return f"{f['operation']} fails ({f['mode']}) until {f['until'] or 'healed'}"


@contextlib.contextmanager
def _invalid_input() -> Iterator[None]:
    try:
        yield
    except ValueError as e:
        raise errors.InvalidInput(str(e)) from None


async def sandbox_fail(args: argparse.Namespace) -> None:
    with _invalid_input():
        fault = _sandbox().fail(args.operation, args.mode, args.for_s)
    _emit(args, fault, _drill_line)


async def sandbox_heal(args: argparse.Namespace) -> None:
    with _invalid_input():
        healed = _sandbox().heal(args.operation)
    _emit(args, {"healed": healed}, lambda r: "\n".join(
        f"healed {f['operation']} ({f['mode']})" for f in r["healed"]) or "no drill was in force")


async def worker(args: argparse.Namespace) -> None:
    import logging

    import worker as worker_module

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    await worker_module.run(address=args.address, profile=args.profile)


async def codec_server(args: argparse.Namespace) -> None:
    from client import codec_server
    from config.settings import Settings

    with codec_server.build(Settings()).start() as server:
        print(f"codec endpoint on {server.url}; Ctrl-C stops it", flush=True)
        await asyncio.Event().wait()


async def lifecycle(args: argparse.Namespace) -> None:
    from domain.engine import mermaid
    from domain.lifecycles import LIFECYCLES

    declaration = LIFECYCLES[args.machine]
    if args.format == "mermaid":
        print(mermaid(declaration))
    else:
        _emit(args, {"name": declaration.name, "states": declaration.states,
                     "transitions": declaration.transitions},
              lambda d: "\n".join(f"{t['trigger']:<20} {t['source']} -> {t['dest'] or '(same)'}"
                                  for t in d["transitions"]))


# -- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before the subcommand is not reset by the subcommand's parser.
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")
    common.add_argument("--address", default=argparse.SUPPRESS,
                        help="Temporal address (default: TEMPORAL_ADDRESS or localhost:7233)")
    common.add_argument("--profile", default=argparse.SUPPRESS,
                        help="Temporal environment-configuration profile")

    p = argparse.ArgumentParser(prog="casework", description=__doc__, parents=[common])
    sub = p.add_subparsers(dest="group", required=True)

    def cmd(group: Any, name: str, fn: Callable[..., Coroutine[Any, Any, None]],
            help: str) -> argparse.ArgumentParser:
        sp = group.add_parser(name, help=help, parents=[common])
        sp.set_defaults(fn=fn)
        return sp

    case = sub.add_parser("case", help="one case").add_subparsers(dest="cmd", required=True)
    sp = cmd(case, "open", case_open, "open a case, or join the subject's open case")
    sp.add_argument("--subject", required=True, help="KIND:ID, e.g. listing:L-0042")
    sp.add_argument("--source", required=True,
                    help="user_report|trusted_flagger|rights_owner|law_enforcement|classifier|"
                    "internal")
    sp.add_argument("--reporter")
    sp.add_argument("--text")
    sp.add_argument("--policy-hint")
    sp.add_argument("--report-id", help="idempotency key (default: derived from the report)")
    for name, fn, helptext in (("show", case_show, "the case as it is now"),
                               ("timeline", case_timeline, "who did what, when, why")):
        cmd(case, name, fn, helptext).add_argument("case_id")
    sp = cmd(case, "claim", case_claim, "claim this case")
    sp.add_argument("case_id")
    sp.add_argument("--reviewer", required=True)
    sp.add_argument("--lease-minutes", type=int, default=30)
    sp = cmd(case, "decide", case_decide, "decide a case you hold")
    sp.add_argument("case_id")
    sp.add_argument("--reviewer", required=True)
    sp.add_argument("--policy", nargs="+", help="policy ids from the pack")
    sp.add_argument("--action", nargs="+", required=True)
    sp.add_argument("--reason", required=True)
    sp.add_argument("--request-id", help="idempotency key for retries")
    sp = cmd(case, "hold", case_hold, "put a case you hold on hold (its SLA stops)")
    sp.add_argument("case_id")
    sp.add_argument("--reviewer", required=True)
    sp.add_argument("--reason", required=True, help="what the case waits for")
    sp = cmd(case, "resume", case_resume, "resume a case on hold (its SLA runs on)")
    sp.add_argument("case_id")
    sp.add_argument("--reviewer", required=True)
    sp = cmd(case, "escalate", case_escalate, "take a case to an escalation owner")
    sp.add_argument("case_id")
    sp.add_argument("--reviewer", required=True)
    sp.add_argument("--reason", required=True)
    sp.add_argument("--severity", default="P1", help="P0..P3")
    sp = cmd(case, "approve", case_approve, "approve a severe decision (a second person)")
    sp.add_argument("case_id")
    sp.add_argument("--approver", required=True)
    sp = cmd(case, "retry", case_retry, "resume a case waiting in needs_attention, once repaired")
    sp.add_argument("case_id")
    sp.add_argument("--operator", required=True)
    sp.add_argument("--reason", required=True, help="what was repaired")
    sp.add_argument("--repin", action="store_true",
                    help="state the reasons from the current pack (the fix was a pack edit)")
    sp.add_argument("--request-id", help="idempotency key for retries")

    appeal = sub.add_parser("appeal", help="complaints against decisions").add_subparsers(
        dest="cmd", required=True)
    sp = cmd(appeal, "file", appeal_file, "appeal a case's decision (DSA Art. 20)")
    sp.add_argument("case_id")
    sp.add_argument("--text", help="the appellant's explanation")
    sp.add_argument("--appellant", help="a reporter's id, or the seller's (the default)")
    cmd(appeal, "show", appeal_show, "an appeal as it is now").add_argument("appeal_id")
    sp = cmd(appeal, "decide", appeal_decide, "decide an appeal you hold")
    sp.add_argument("appeal_id")
    sp.add_argument("--reviewer", required=True)
    sp.add_argument("--outcome", required=True, help="upheld|overturned|modified")
    sp.add_argument("--action", nargs="+", help="modified: the lesser actions; overturned "
                    "no_action: the actions that should have applied")
    sp.add_argument("--policy", nargs="+")
    esc = sub.add_parser("escalation", help="sensitive escalations").add_subparsers(
        dest="cmd", required=True)
    sp = cmd(esc, "open", escalation_open, "open an escalation (once per subject, source and "
             "request)")
    sp.add_argument("--subject", required=True, help="KIND:ID, e.g. seller:U-0042")
    sp.add_argument("--source", required=True, help="|".join(
        s.value for s in EscalationSource if not s.from_a_case))
    sp.add_argument("--reason", required=True)
    sp.add_argument("--severity", required=True, help="P0|P1|P2|P3 (P0 pages the on-call owner)")
    sp.add_argument("--opened-by", help="who opens it (default: the source)")
    sp.add_argument("--owner", help="assign an owner (default: whoever acknowledges it)")
    sp.add_argument("--request-id", help="idempotency key (default: derived from the reason)")
    cmd(esc, "show", escalation_show, "the escalation as it is now").add_argument("escalation_id")

    def owned(name: str, fn: Callable[..., Coroutine[Any, Any, None]],
              helptext: str) -> argparse.ArgumentParser:
        sp = cmd(esc, name, fn, helptext)
        sp.add_argument("escalation_id")
        sp.add_argument("--owner", required=True, help="the acting owner")
        sp.add_argument("--request-id", help="idempotency key for retries")
        return sp

    owned("ack", escalation_ack, "acknowledge it (and own it, unless assigned)")
    owned("note", escalation_note, "add a note (the first starts the investigation)").add_argument(
        "--text", required=True)
    sp = owned("severity", escalation_severity, "change its severity")
    sp.add_argument("--severity", required=True, help="P0|P1|P2|P3")
    sp.add_argument("--reason", required=True)
    sp = owned("resolve", escalation_resolve,
               "resolve it, handing a decision back to its review case")
    sp.add_argument("--action", nargs="+", help="actions the review case carries out")
    sp.add_argument("--policy", nargs="+", help="policy ids from the pack")
    sp.add_argument("--reason", required=True)
    sp = owned("handoff", escalation_handoff, "hand it off outside casework")
    sp.add_argument("--to", required=True, help="|".join(t.value for t in HandOffTo))
    sp.add_argument("--reason", required=True)

    td = sub.add_parser("takedown", help="bulk takedowns and authority orders").add_subparsers(
        dest="cmd", required=True)
    sp = cmd(td, "bulk", takedown_bulk, "one action on the subjects of a file (KIND:ID lines)")
    sp.add_argument("--file", required=True)
    sp.add_argument("--action", required=True)
    sp.add_argument("--policy", nargs="+")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--requester", required=True)
    sp = cmd(td, "order", takedown_order, "an authority's order (DSA Art. 9): no approval wait")
    for flag in ("--authority", "--reference", "--file", "--action", "--legal-ground",
                 "--deadline"):
        sp.add_argument(flag, required=True)
    sp.add_argument("--requester", required=True, help="who enters the order (and may steer it)")
    sp.add_argument("--policy", nargs="+")
    sp = cmd(td, "status", takedown_status, "a job's progress (--items: each item's outcome)")
    sp.add_argument("job_id")
    sp.add_argument("--watch", action="store_true", help="a live progress bar")
    sp.add_argument("--items", action="store_true")
    sp = cmd(td, "approve", takedown_approve, "approve a big job (a senior, not its requester)")
    sp.add_argument("job_id")
    sp.add_argument("--approver", required=True)
    for name in ("pause", "resume", "cancel", "reverse"):
        sp = cmd(td, name, takedown_steer, f"{name} a job (its requester)")
        sp.add_argument("job_id")
        sp.add_argument("--requester", required=True)

    shop = sub.add_parser("shop", help="shop-level reviews").add_subparsers(
        dest="cmd", required=True)
    sp = cmd(shop, "review", shop_review, "screen every listing of a shop for one decision")
    sp.add_argument("shop_id")
    sp.add_argument("--requester", required=True, help="who asks (the ops role)")
    sp.add_argument("--reason")
    sp = cmd(shop, "status", shop_status, "a shop review's progress, findings and history")
    sp.add_argument("review_id")
    sp.add_argument("--watch", action="store_true", help="follow the screening")
    sp = cmd(shop, "decide", shop_decide, "the shop-level decision (a senior, not the requester)")
    sp.add_argument("review_id")
    sp.add_argument("--decider", required=True)
    sp.add_argument("--outcome", required=True, help="clear|warn|remove_hits|suspend_shop")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--policy", nargs="+", help="what a warning or suspension cites")

    ops = sub.add_parser("ops", help="find and explain stuck records").add_subparsers(
        dest="cmd", required=True)
    sp = cmd(ops, "stuck", ops_stuck, "stuck records of every lifecycle, why, and the repair")
    sp.add_argument("--kind", help="only this kind (e.g. needs_attention, task_failing)")
    sp = cmd(ops, "backlog", ops_backlog, "per queue: open by state, oldest, breached, 24 h SLA")
    sp.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    sp.add_argument("--every", type=_positive, default=5, help="seconds between refreshes")
    cmd(ops, "workers", ops_workers, "who polls casework's task queue (exit 6: nobody)")
    from client.ops import REPAIRS

    for name in REPAIRS:
        sp = cmd(ops, name, ops_repair, f"{name} a record (or a batch: --query, --all-stuck)")
        sp.add_argument("case_id", nargs="?")
        sp.add_argument("--operator", required=True, help="who repairs (the ops role)")
        sp.add_argument("--reason", required=True)
        sp.add_argument("--query", help="a visibility query (within casework's task queue)")
        sp.add_argument("--all-stuck", action="store_true", help="every stuck record")
        sp.add_argument("--kind", help="with --all-stuck: only this kind")
        sp.add_argument("--yes", action="store_true", help="act (a batch is a dry run without)")
        sp.add_argument("--to", help="reassign: the person who takes the claim")
        sp.add_argument("--priority", help="bump: to this priority (default: one step up)")
        sp.add_argument("--severity", default="P1", help="escalate: the escalation's severity")
        sp.add_argument("--to-event", type=_positive,
                        help="reset: to this completed workflow task (default: the last one)")
    sp = cmd(ops, "explain", ops_explain, "one record: state, waits, activities, recent events")
    sp.add_argument("case_id")

    queue = sub.add_parser("queue", help="queues").add_subparsers(dest="cmd", required=True)
    sp = cmd(queue, "list", queue_list, "open cases, most urgent first")
    sp.add_argument("queue", nargs="?")
    sp.add_argument("--limit", type=_positive, default=50)
    sp = cmd(queue, "claim", queue_claim, "claim the most urgent unassigned case")
    sp.add_argument("queue")
    sp.add_argument("--reviewer", required=True)
    sp.add_argument("--lease-minutes", type=int, default=30)

    rv = sub.add_parser("reviewer", help="the directory of people and their roles").add_subparsers(
        dest="cmd", required=True)
    cmd(rv, "list", reviewer_list, "everyone in the directory, disabled people too")
    sp = cmd(rv, "add", reviewer_add, "add a person, or update one (and make them active)")
    sp.add_argument("person_id", metavar="ID")
    sp.add_argument("--name", required=True)
    sp.add_argument("--role", action="append", required=True,
                    help=f"{'|'.join(Role)} (repeat for more)")
    sp.add_argument("--queue", action="append",
                    help="a queue they work, '*' for every queue (repeat for more)")
    cmd(rv, "disable", reviewer_disable, "stop a person acting (their record stays)").add_argument(
        "person_id", metavar="ID")
    cmd(rv, "password", reviewer_password,
        "set a person's password, read from stdin (at least 12 characters)").add_argument(
        "person_id", metavar="ID")

    tk = sub.add_parser("token", help="API tokens").add_subparsers(dest="cmd", required=True)
    sp = cmd(tk, "create", token_create, "a token for a person (acts as them) or a service")
    sp.add_argument("owner", metavar="ID")
    sp.add_argument("--scope", action="append",
                    help="a service's scope: read, intake, intake:<source>, appeal, escalate "
                         "(repeat for more)")
    sp.add_argument("--days", type=int,
                    help="how long the token is valid (default 90; 0: until revoked)")
    cmd(tk, "list", token_list, "tokens by id and owner (never their secrets)").add_argument(
        "--owner", metavar="ID")
    cmd(tk, "revoke", token_revoke, "revoke a token by its id").add_argument("token_id")

    st = sub.add_parser("statements", help="statements of reasons").add_subparsers(
        dest="cmd", required=True)
    cmd(st, "export", statements_export, "write them as JSON lines").add_argument("--out")

    led = sub.add_parser("ledger", help="the case ledger").add_subparsers(dest="cmd",
                                                                          required=True)
    cmd(led, "rebuild", ledger_rebuild,
        "write the queue, audit and statements again from the workflows").add_argument(
        "--fresh", action="store_true",
        help="empty the derived tables first (stop the workers for it)")

    pol = sub.add_parser("policy", help="the policy pack").add_subparsers(dest="cmd",
                                                                          required=True)
    cmd(pol, "list", policy_list, "policies of the pack")

    sb = sub.add_parser("sandbox", help="the sandbox marketplace").add_subparsers(
        dest="cmd", required=True)
    sp = cmd(sb, "list", sandbox_list, "subjects and their status")
    sp.add_argument("--kind", choices=[k.value for k in SubjectKind])
    sp.add_argument("--limit", type=_positive, default=1000)
    sp.add_argument("--shop", help="only this shop's listings")
    sp.add_argument("--ids", action="store_true", help="KIND:ID lines, for a takedown's --file")
    cmd(sb, "show", sandbox_show, "one subject").add_argument("subject")
    cmd(sb, "load", sandbox_load, "load the demo data")
    sp = cmd(sb, "fail", sandbox_fail, "drill: make a marketplace operation fail on purpose")
    sp.add_argument("operation", help="facts|apply_action|seller_contact")
    sp.add_argument("--mode", default="error", help="error|timeout|garbage|refuse")
    sp.add_argument("--for", dest="for_s", type=float, metavar="SECONDS",
                    help="wall-clock seconds (default: until healed)")
    cmd(sb, "heal", sandbox_heal, "end drills (all, or one operation's)").add_argument(
        "operation", nargs="?")

    sp = sub.add_parser("worker", help="run a worker", parents=[common])
    sp.set_defaults(fn=worker)
    sp = sub.add_parser("api", help="serve the HTTP API and the console", parents=[common])
    sp.add_argument("--host", help="default: CASEWORK_API_HOST or 127.0.0.1")
    sp.add_argument("--port", type=_positive, help="default: CASEWORK_API_PORT or 8080")
    sp.set_defaults(fn=api_serve)
    sp = sub.add_parser("codec-server", parents=[common],
                        help="serve the codec endpoint the Temporal UI decrypts payloads through")
    sp.set_defaults(fn=codec_server)
    sp = sub.add_parser("lifecycle", help="the lifecycle declaration", parents=[common])
    from domain.lifecycles import LIFECYCLES

    sp.add_argument("machine", nargs="?", default="review", choices=sorted(LIFECYCLES))
    sp.add_argument("--format", choices=["text", "mermaid"], default="text")
    sp.set_defaults(fn=lifecycle)
    return p


async def _run(args: argparse.Namespace) -> int:
    # Errors are turned into exit codes inside the loop, so nothing holding a Temporal client
    # outlives it (a client finalised at interpreter exit aborts the process).
    try:
        await args.fn(args)
    except errors.CaseworkError as e:
        print(f"casework: {type(e).__name__.lower()}: {_safe(str(e))}", file=sys.stderr)
        return next((EXIT_CODES[k] for k in type(e).__mro__ if k in EXIT_CODES), 1)
    return 0


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for option, default in (("json", False), ("address", None), ("profile", None)):
        setattr(args, option, getattr(args, option, default))
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader left (`casework queue list | head`): not an error
        return 0


def main() -> None:
    """Console entry point. Leaves with `os._exit`: the Temporal client's native runtime can
    abort the interpreter while it finalises (seen as SIGABRT after a finished command)."""
    code = run()
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
