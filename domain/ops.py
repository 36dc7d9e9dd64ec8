"""Stuck records, as ops see them: each kind with its reason and the command that repairs it.

Pure rules over a record's ledger row (and, for what only Temporal knows, the facts the caller
read from it); `client/ops.py` gathers the rows and facts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from domain.appeal.lifecycle import APPEAL
from domain.authority import Command
from domain.core import Model, Priority, QueueEntry, TimelineEvent
from domain.errors import InvalidInput
from domain.escalation.lifecycle import ESCALATION
from domain.people import Person
from domain.policy import OpsConfig
from domain.review.lifecycle import REVIEW
from domain.shop_review.lifecycle import SHOP_REVIEW
from domain.takedown.lifecycle import TAKEDOWN, JobStage
from domain.text import Ident, Reason

# Where a record waits for a decision, an approval or an acknowledgement under its SLA.
AWAITING = {**dict.fromkeys(REVIEW.awaiting | APPEAL.awaiting | TAKEDOWN.awaiting, "an approval"),
            **dict.fromkeys(SHOP_REVIEW.awaiting, "a senior's decision"),
            **dict.fromkeys(ESCALATION.queued, "an acknowledgement"),
            **dict.fromkeys(REVIEW.sources("resume"), "the end of its hold")}
QUEUED = REVIEW.queued | APPEAL.queued  # unowned work under an SLA
CLAIMED = REVIEW.sources("release") | APPEAL.sources("release")


class OpsRepair(Command):
    """A repair, by an operator, for a reason: both go on the record's timeline."""

    PERSON = "operator"

    operator: Ident
    reason: Reason
    reviewer: Ident | None = None  # reassign: who holds the claim now
    holder: Person | None = None  # reassign: that person, as the directory has them
    lease_minutes: int = Field(default=30, ge=1, le=8 * 60)
    priority: Priority | None = None  # bump: to this priority (default: one step up)
    severity: Priority = Priority.P1  # escalate: the escalation's severity


class StuckKind(StrEnum):
    SLA_BREACHED_UNOWNED = "sla_breached_unowned"
    OVERDUE = "overdue"  # an approval, hold, acknowledgement or decision past its SLA
    IN_STATE_TOO_LONG = "in_state_too_long"
    CLAIM_LAPSED = "claim_lapsed"
    CLAIM_TOO_LONG = "claim_too_long"
    NEEDS_ATTENTION = "needs_attention"
    JOB_PAUSED = "job_paused"
    JOB_STALLED = "job_stalled"
    ACTIVITY_RETRYING = "activity_retrying"
    TASK_FAILING = "task_failing"
    LEDGER_LAG = "ledger_lag"


# What ops run for each kind they mend themselves (the rest is a person's command, or waits).
REPAIR_OF = {StuckKind.ACTIVITY_RETRYING: "retry", StuckKind.JOB_STALLED: "retry",
             StuckKind.TASK_FAILING: "reset", StuckKind.SLA_BREACHED_UNOWNED: "reassign",
             StuckKind.CLAIM_TOO_LONG: "release"}


class Stuck(Model):
    case_id: str
    lifecycle: str
    state: str
    queue: str
    kind: StuckKind
    reason: str
    suggested: str
    since: datetime | None = None
    repair: str | None = None  # the ops repair that mends it (`ops <repair>`), if one does

    @model_validator(mode="after")
    def _repair(self) -> Stuck:
        self.repair = self.repair or REPAIR_OF.get(self.kind)
        return self


class PendingActivity(Model):
    activity: str
    attempt: int
    state: str
    last_failure: str = ""


class Explanation(Model):
    case_id: str
    lifecycle: str
    state: str
    since: datetime | None = None
    status: str  # Temporal's: running, completed, …
    waiting_on: str | None = None
    pending_activities: list[PendingActivity] = []
    task_attempt: int = 0  # the workflow task's attempt (above 1: it is failing)
    recent: list[TimelineEvent] = []
    stuck: list[Stuck] = []


class QueueBacklog(Model):
    queue: str
    open: int
    by_state: dict[str, int]
    breached: int
    oldest_opened_at: datetime | None = None
    oldest_age_h: float = 0
    decided_24h: int = 0
    sla_compliance_24h: float | None = None  # share decided within their SLA (None: none)


class Poller(Model):
    kind: str  # workflow | activity
    identity: str
    last_access: datetime | None = None
    age_s: float | None = None


class Workers(Model):
    task_queue: str
    pollers: list[Poller]
    ok: bool  # a worker polls both kinds of task within the last minute


class RepairResult(Model):
    case_id: str
    repair: str
    done: bool
    detail: str


class RepairReport(Model):
    """One repair or a batch: what was done, what failed and why (a dry run does nothing)."""

    results: list[RepairResult]
    failed: list[str] = []


def scoped(task_queue: str, query: str) -> str:
    """A visibility query that selects only within casework's task queue. The caller's query,
    read as Temporal's SQL-like language (quoted strings and backquoted names skipped), must be
    one balanced expression with no comments, so nothing in it closes the scope it is put in."""
    depth, quote, escaped, before = 0, "", False, ""
    for ch in query:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if before + ch in ("--", "/*", "*/") or ch == "#":
            raise InvalidInput("--query may not hold comments")
        if ch in "'\"`":
            quote = ch
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            raise InvalidInput("--query closes a parenthesis it did not open: it selects "
                               "only within casework's task queue")
        before = ch
    if quote or depth or not query.strip():
        raise InvalidInput("--query is empty, or has an unclosed quote or parenthesis")
    return f"TaskQueue = '{task_queue}' AND ({query})"


def _ago(now: datetime, then: datetime) -> str:
    minutes = max((now - then).total_seconds() / 60, 0)
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min"


def task_failing_repair(case_id: str) -> str:
    return (f"casework ops reset {case_id} --reason REASON  (by ops, once the fixed worker is "
            "deployed)")


def suggestion(row: QueueEntry, kind: StuckKind) -> str:
    """The command that repairs it, run signed in by the person named after it (placeholders
    in capitals)."""
    cid = row.case_id
    ops = "--reason REASON  (by ops"
    if kind is StuckKind.NEEDS_ATTENTION:
        return f"casework case retry {cid} {ops}, once its cause is repaired)"
    if kind is StuckKind.TASK_FAILING:
        return task_failing_repair(cid)
    if kind is StuckKind.ACTIVITY_RETRYING:
        return f"casework ops retry {cid} {ops}, once the dependency it names is repaired)"
    if kind is StuckKind.JOB_PAUSED:
        return f"casework takedown resume {cid}  (by its requester)"
    if kind is StuckKind.JOB_STALLED:
        return f"casework ops retry {cid} {ops}, once the marketplace answers again)"
    if kind is StuckKind.OVERDUE:
        second = "(by a senior who took no part)"
        return {"takedown": f"casework takedown approve {cid}  {second}",
                "appeal": f"casework appeal approve {cid}  {second}",
                "shop_review": f"casework shop decide {cid} --outcome OUTCOME --reason REASON  "
                               "(by a senior who did not ask for it)",
                "escalation": f"casework escalation ack {cid}  (by an escalation owner)"}.get(
            row.lifecycle, f"casework case approve {cid}  {second}, or casework case reject "
            f"{cid} --reason REASON  (the same senior sends it back to its queue)"
            if row.state in REVIEW.awaiting else
            f"casework case resume {cid}  (by {row.assignee or 'its holder'})")
    if kind is StuckKind.SLA_BREACHED_UNOWNED:
        return f"casework ops reassign {cid} --to REVIEWER {ops})"
    if kind is StuckKind.CLAIM_LAPSED:  # the case's own timer releases it once a worker runs
        return "casework ops workers  (a lapsed lease is released by the case once a worker runs)"
    if kind is StuckKind.CLAIM_TOO_LONG:
        return f"casework ops release {cid} {ops})"
    if kind is StuckKind.LEDGER_LAG:
        return "casework ledger rebuild"
    return f"casework ops explain {cid}"


def stuck_in_ledger(row: QueueEntry, now: datetime, cfg: OpsConfig) -> list[Stuck]:
    """What the ledger row alone shows."""
    found: list[tuple[StuckKind, str, datetime | None]] = []
    grace = timedelta(minutes=cfg.grace_minutes)
    since = row.state_since or row.updated_at
    if row.state in REVIEW.sources("retry"):
        found.append((StuckKind.NEEDS_ATTENTION, f"needs a person for {_ago(now, since)}",
                      since))
    if row.state in QUEUED and row.sla_breached and not row.assignee:
        found.append((StuckKind.SLA_BREACHED_UNOWNED, "SLA breached and nobody has claimed it",
                      row.sla_deadline))
    if row.state in AWAITING and row.sla_deadline and row.sla_deadline + grace < now:
        found.append((StuckKind.OVERDUE, f"waiting for {AWAITING[row.state]} past its SLA "
                      f"for {_ago(now, since)}", row.sla_deadline))
    if row.state in CLAIMED and row.lease_expires_at and row.lease_expires_at + grace < now:
        found.append((StuckKind.CLAIM_LAPSED, f"{row.assignee}'s lease ended "
                      f"{_ago(now, row.lease_expires_at)} ago and the claim still holds",
                      row.lease_expires_at))
    elif (row.state in CLAIMED and row.assignee
          and since + timedelta(hours=cfg.claim_hours) < now):
        found.append((StuckKind.CLAIM_TOO_LONG, f"claimed by {row.assignee} for "
                      f"{_ago(now, since)}", since))
    if row.lifecycle == TAKEDOWN.name and row.state == JobStage.PAUSED and (
            since + timedelta(hours=cfg.paused_hours) < now):
        found.append((StuckKind.JOB_PAUSED, f"paused for {_ago(now, since)}", since))
    hours = cfg.state_hours.get(f"{row.lifecycle}.{row.state}", cfg.state_hours.get(row.state))
    if hours is not None and (
            since + timedelta(hours=hours) < now) and not found:
        found.append((StuckKind.IN_STATE_TOO_LONG, f"in {row.state} for {_ago(now, since)} "
                      f"(threshold {hours:g} h)", since))
    return [stuck(row, kind, reason, at) for kind, reason, at in found]


def watched(cfg: OpsConfig) -> frozenset[str]:
    """The states in which `stuck_in_ledger` finds a row stuck once enough time has passed;
    outside them only a breached row nobody holds is. Ops' scan reads these rows, not every open
    record (100,000 queued cases are no 100,000 rows to judge)."""
    return frozenset({*REVIEW.sources("retry"), *AWAITING, *CLAIMED, JobStage.PAUSED.value,
                      *(key.rpartition(".")[2] for key in cfg.state_hours)})


def stuck(row: QueueEntry, kind: StuckKind, reason: str, since: datetime | None = None
          ) -> Stuck:
    return Stuck(case_id=row.case_id, lifecycle=row.lifecycle, state=row.state, queue=row.queue,
                 kind=kind, reason=reason, suggested=suggestion(row, kind), since=since)
