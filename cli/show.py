"""How the command line shows what casework answers: one line per record, details, timelines,
progress; text from the public with its control and bidirectional characters escaped."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from domain.escalation.lifecycle import ESCALATION
from domain.text import unsafe_chars


def plain(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, list):
        return [plain(o) for o in obj]
    return obj


def emit(args: argparse.Namespace, obj: Any, human: Callable[[Any], str]) -> None:
    """`--json`: the answer as JSON; else as a person reads it, public text made safe."""
    print(json.dumps(plain(obj)) if args.json else safe(human(obj), keep_newlines=True))


def safe(text: str, keep_newlines: bool = False) -> str:
    """Text from the public as a terminal should show it: control and bidirectional
    characters escaped (`\\x1b`, `\\u202e`), so they cannot rewrite what is on screen."""
    return "".join(
        ch if (ch == "\n" and keep_newlines) or not unsafe_chars(ch)
        else ch.encode("unicode_escape").decode("ascii") for ch in text)


def case_line(c: Any) -> str:
    sla = f"{c.sla_deadline:%Y-%m-%d %H:%MZ}" if c.sla_deadline else "-"
    return (f"{c.case_id:<28} {c.state:<11} {c.queue:<16} {c.priority.value} "
            f"{(c.assignee or '-'):<12} sla {sla}{' BREACHED' if c.sla_breached else ''} "
            f"{c.subject}")


def case_detail(c: Any) -> str:
    lines = [case_line(c)]
    for h in c.hits:
        lines.append(f"  hit  {h.policy_id:<18} {h.rule:<14} {h.score:.2f} {safe(h.evidence)}")
    for r in c.reports:
        lines.append(f"  report {r.report_id} {r.source.value} {r.reporter or '-'}: "
                     f"{safe(r.text)}")
    if c.reports_overflow:
        lines.append(f"  (+{c.reports_overflow} more report(s) kept in the ledger)")
    if c.decision:
        d = c.decision
        lines.append(f"  decision by {d.decided_by}: {', '.join(a.value for a in d.actions)} "
                     f"under {', '.join(d.policy_ids) or '-'}: {safe(d.reason)}")
    for e in c.enforcement:
        lines.append(f"  enforced {e.action.value} on {e.target}: {safe(e.detail)}")
    if c.statement_puid:
        lines.append(f"  statement {c.statement_puid}; appeal until {c.appeal_deadline:%Y-%m-%d}")
    if c.waiting_on:
        lines.append(f"  waiting on {safe(c.waiting_on)}")
    for f in c.followups:
        lines.append(f"  follow-up case {f}")
    return "\n".join(lines)


def timeline(events: list[Any]) -> str:
    return "\n".join(f"{e.seq:>3} {e.at:%Y-%m-%d %H:%M:%S}Z {e.actor:<18} {e.event:<16} "
                     f"{safe(e.detail)}" for e in events)


def appeal_line(a: Any) -> str:
    verdict = f" {a.verdict.outcome.value} by {a.verdict.decided_by}" if a.verdict else ""
    return (f"{a.case_id:<44} {a.state:<10}{verdict} {a.appellant.kind.value} "
            f"{a.appellant.id} against {a.review_case_id}")


def appeal_detail(a: Any) -> str:
    lines = [appeal_line(a), f"  appealed: {', '.join(x.value for x in a.original.actions)} "
             f"by {a.original.decided_by}: {safe(a.original.reason)}"]
    if a.text:
        lines.append(f"  appellant: {safe(a.text)}")
    if a.verdict:
        lines.append(f"  verdict: {a.verdict.outcome.value}: {safe(a.verdict.reason)}")
    for label, done in (("reversed", a.reversed), ("applied", a.applied)):
        lines += [f"  {label} {e.action.value} on {e.target}: {safe(e.detail)}" for e in done]
    return "\n".join(lines)


def escalation_line(e: Any) -> str:
    unacknowledged = e.state in ESCALATION.queued and e.ack_deadline
    ack = f" ack by {e.ack_deadline:%Y-%m-%d %H:%MZ}" if unacknowledged else ""
    return (f"{e.escalation_id} {e.state:<13} {e.severity.value} owner {e.owner or '-'}{ack}"
            f"{' BREACHED' if e.sla_breached else ''} {e.subject} ({e.source.value})")


def escalation_detail(e: Any) -> str:
    lines = [escalation_line(e.summary()), f"  opened by {e.opened_by}: {safe(e.reason)}"]
    if e.review_case_id:
        lines.append(f"  review case {e.review_case_id}")
    lines += [f"  note {n.at:%Y-%m-%d %H:%MZ} {n.by}: {safe(n.text)}" for n in e.notes]
    if e.resolution:
        r = e.resolution
        lines.append(f"  resolved by {r.resolved_by}: {', '.join(a.value for a in r.actions) or '-'}"
                     f" under {', '.join(r.policy_ids) or '-'}: {safe(r.reason)}")
    if e.handed_off_to:
        lines.append(f"  handed off to {e.handed_off_to.value}")
    lines.append(f"  leadership updates sent: {e.updates_sent}")
    return "\n".join(lines)


def job_line(j: Any) -> str:
    p = j.progress
    eta = f" eta {p.eta_s:.0f}s" if p.eta_s is not None else ""
    order = f" order {j.order.reference} ({j.order.authority})" if j.order else ""
    return (f"{j.job_id} {j.state:<16} {j.action.value} done {p.done} failed {p.failed} "
            f"skipped {p.skipped} reversed {p.reversed} of {p.total} at {p.rate_per_s}/s{eta}"
            f"{order}")


def bar(j: Any, width: int = 40) -> str:
    p = j.progress
    filled = int(width * (p.total - p.remaining) / p.total) if p.total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {job_line(j)}"


def review_line(r: Any) -> str:
    line = (f"{r.review_id}  {r.state:<17} shop {r.shop_id}  screened {r.screened}  "
            f"hits {r.hits}")
    if r.decision:
        line += f"  decided {r.decision.outcome} by {r.decision.decider}"
    if r.job_ids:
        line += f"  jobs {', '.join(r.job_ids)}"
    return line


def review_report(r: Any) -> str:
    lines = [review_line(r)]
    if r.history:
        h = r.history
        lines.append(f"seller {h.seller_id}: {h.strikes} upheld violation(s) in "
                     f"{h.window_days:g} days, {h.prior_violations} on the marketplace")
    lines += [f"  {f.subject!s:<20} {f.policy_id:<22} {f.rule:<14} {f.case_id}  {f.evidence}"
              for f in r.findings]
    return "\n".join(lines)


def backlog(queues: list[Any]) -> str:
    lines = [f"{'queue':<16} {'open':>5} {'breached':>8} {'oldest h':>8} {'24h SLA':>8}  states"]
    for q in queues:
        sla = f"{q.sla_compliance_24h:.0%}" if q.sla_compliance_24h is not None else "-"
        states = ", ".join(f"{s} {n}" for s, n in q.by_state.items())
        lines.append(f"{q.queue:<16} {q.open:>5} {q.breached:>8} {q.oldest_age_h:>8} "
                     f"{sla:>8}  {states}")
    return "\n".join(lines)


def explanation(x: Any) -> str:
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


def person_line(p: Any) -> str:
    return (f"{p.id:<16} {'active' if p.active else 'disabled':<8} "
            f"{','.join(r.value for r in p.roles):<28} {','.join(p.queues) or '-':<24} {p.name}")


def drill_line(f: dict[str, Any]) -> str:
    return f"{f['operation']} fails ({f['mode']}) until {f['until'] or 'healed'}"


def stuck(rows: list[Any]) -> str:
    return "\n".join(f"{r.case_id}  {r.lifecycle:<11} {r.state:<17} {r.kind:<21} {r.reason}\n"
                     f"    -> {r.suggested}" for r in rows) or "(nothing stuck)"


def items(rows: list[Any]) -> str:
    return "\n".join(f"{i.seq:>7} {i.subject!s:<22} {i.status:<9} {safe(i.detail)}"
                     for i in rows)


def workers(w: Any) -> str:
    return "\n".join([f"task queue {w.task_queue}: " + (
        "workers polling" if w.ok else "NO WORKER has polled in the last minute")]
        + [f"  {p.kind:<8} {p.identity}  last poll {p.age_s}s ago" for p in w.pollers])


def repairs(repair: str, results: list[Any]) -> str:
    if results and not any(r.done for r in results):
        return "\n".join(f"would {repair} {r.case_id}" for r in results) + (
            f"\n{len(results)} record(s); add --yes to repair them")
    return "\n".join(f"{r.repair} {r.case_id}: {r.detail}" for r in results)


def policies(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['id']:<18} {r['priority']} {r['queue']:<16} {r['severity']:<8} "
                     f"{r['title']}" for r in rows)


def principal(p: dict[str, Any]) -> str:
    person = p.get("person")
    if person:
        return f"{p['id']}: {', '.join(person['roles'])} (queues {', '.join(person['queues']) or '-'})"
    return f"{p['id']}: a service (scopes {', '.join(p['scopes']) or '-'})"


def escalation_opened(e: Any) -> str:
    """An escalation opened, as the caller may see it (a service sees its id only)."""
    e = plain(e)
    if "state" in e:
        return f"{e['escalation_id']} {e['state']} {e['severity']} owner {e.get('owner') or '-'}"
    return str(e["escalation_id"])


def qa_queue(page: Any) -> str:
    """The QA queue's page (JSON rows): id, state, priority, deadline, subject."""
    return "\n".join(
        f"{r['case_id']} {r['state']:<12} {r['priority']} "
        f"{'SLA ' + r['sla_deadline'][:16] + 'Z' if r.get('sla_deadline') else ''} "
        f"{r['subject']['kind']}:{r['subject']['id']} {safe(r.get('title') or '')}"
        for r in page["items"]) or "(no checks waiting)"


def qa_check(v: Any) -> str:
    c = v.check
    lines = [f"{c.qa_id} {c.state} {c.subject} held by {c.assignee or '-'}"]
    if c.seen.facts:
        lines.append(f"  {safe(c.seen.facts.title)}: {safe(c.seen.facts.description)}")
    lines += [f"  report ({r.source.value}): {safe(r.text)}" for r in c.seen.reports]
    lines += [f"  hit {h.policy_id} {h.rule} {h.score:.2f}: {safe(h.evidence)}"
              for h in c.seen.hits]
    if c.verdict:
        lines.append(f"  QA verdict by {c.verdict.by}: "
                     f"{', '.join(a.value for a in c.verdict.actions)}: {safe(c.verdict.reason)}")
    if not v.revealed:
        lines.append("  (blind: the decision checked is shown once the QA verdict is in)")
        return "\n".join(lines)
    first = v.first
    lines.append(f"  checked: {', '.join(a.value for a in first.actions)} by {first.decided_by}"
                 f" on {v.review_case_id}: {safe(first.reason)} ({v.why_sampled})")
    if v.adjudication:
        lines.append(f"  adjudicated by {v.adjudication.by}: "
                     f"{', '.join(a.value for a in v.adjudication.actions)}: "
                     f"{safe(v.adjudication.reason)}")
    for label, done in (("reversed", v.reversed), ("applied", v.applied)):
        lines += [f"  {label} {e.action.value} on {e.target}: {safe(e.detail)}" for e in done]
    return "\n".join(lines)


def report(r: Any) -> str:
    """Each section of a report as aligned columns, targets marked met or missed."""
    from domain.reports import Section, table

    q = r.query
    out = [f"{q.kind.value} {q.since:%Y-%m-%d %H:%M} .. {q.until:%Y-%m-%d %H:%M}"
           + (f" queue {q.queue}" if q.queue else "")
           + (f" reviewer {q.reviewer}" if q.reviewer else "")]
    for section in Section:
        header, rows = table(r, section)
        if rows:
            out += ["", section.value, columns([header, *rows])]
    return "\n".join(out) if len(out) > 1 else out[0] + "\n(no decisions in the period)"


def columns(rows: list[list[Any]]) -> str:
    cells = [["-" if v is None or v == "" else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


def calibration_sets(sets: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{s['set_id']:<20} {','.join(s['queues']):<16} {s['items']:>4} items  given "
        f"{s['given']}  answered {s['answered']}  correct {s['correct']}" for s in sets
    ) or "(no calibration sets)"


def calibration_results(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['set_id']:<16} {r['item_id']:<12} {r['reviewer']:<12} "
        f"{'correct' if r['correct'] else 'wrong':<8} {r['label']}" for r in rows
    ) or "(no answers yet)"


def trend_scan(r: dict[str, Any]) -> str:
    head = (f"scanned {r['tested']} volume(s) in the {r['window_minutes']} min to "
            f"{str(r['at'])[:16]}: {len(r['spikes'])} spike(s)")
    lines = [head, *(f"  {s['dimension']} {safe(s['value'])}: {s['count']} against "
                     f"{s['expected']:.1f} expected (q={s['q_value']:.2g})"
                     + (f"; sellers {', '.join(map(safe, s['members']))}" if s['members'] else "")
                     for s in r["spikes"])]
    for word, ids in (("opened", r["opened"]), ("told it grew", r["noted"]),
                      ("open already", r["known"])):
        if ids:
            lines.append(f"escalations {word}: {', '.join(ids)}")
    return "\n".join(lines)


def trends(r: dict[str, Any]) -> str:
    per: dict[str, int] = {}
    for d in r["daily"]:
        per[d["policy"]] = per.get(d["policy"], 0) + d["cases"]
    lines = [f"cases opened per policy since {r['since']}:",
             *(f"  {safe(p):<24} {n}" for p, n in sorted(per.items(), key=lambda x: -x[1]))]
    lines.append("spikes:" if r["spikes"] else "spikes: none found yet")
    lines += [f"  {safe(s['key'])}: {s['last_count']} -> {s['escalation_id']}"
              f"{'' if s['leads'] else ' (evidence)'} since {str(s['first_seen'])[:16]}"
              for s in r["spikes"]]
    sched = r["schedule"]
    lines.append(f"schedule {sched['schedule_id']}: every {sched['every_minutes']} min, next "
                 f"{(sched['next'] or ['-'])[0][:16]}" if sched else
                 "no schedule: `casework trends schedule` makes it")
    return "\n".join(lines)
