"""casework's own Prometheus series: the one place they are declared and counted.

Activities count what a ledger write shows happened (`recorded`: a record opened, decided, in
breach of its SLA, an action applied or failed) and what a takedown batch did (`action`); the
API counts HTTP requests (`http_request`). Labels come from closed sets only: a lifecycle, a
queue and a policy id of the pack (`none` when there is none), an action, an HTTP method, a
route's template (never a raw path) and a status code. A record is counted when its ledger
write is new (a retried or overtaken write returns False and counts nothing), so a case's
transition counts once across worker processes; events an overlapping commit wrote already
are left out by revision.

The Temporal SDK's own series (`temporal_*`) join these in the same registry
(`config.telemetry.sdk_metrics`).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

from domain.core import Action
from domain.events import Event
from domain.outcomes import NONE, DecisionOutcome
from domain.record import LedgerRecord

disable_created_metrics()  # no `_created` twin of every series

CASES_OPENED = Counter(
    "casework_cases_opened", "Records opened, by lifecycle, the queue they entered and their "
    "first policy hit", ["lifecycle", "queue", "policy"])
CASES_DECIDED = Counter(
    "casework_cases_decided", "Review decisions made, by queue, the policy they enforce "
    "(`none`: no violation) and who decided (person or engine)", ["queue", "policy", "decided_by"])
CASES_BREACHED = Counter(
    "casework_cases_breached", "SLA deadlines missed, by lifecycle, queue and policy",
    ["lifecycle", "queue", "policy"])
ACTIONS_APPLIED = Counter(
    "casework_actions_applied", "Actions landed at the marketplace (review cases, corrections "
    "and takedown items), by action, queue and policy", ["action", "queue", "policy"])
ACTIONS_FAILED = Counter(
    "casework_actions_failed", "Actions the marketplace refused for good (no retry mends them), "
    "by action, queue and policy", ["action", "queue", "policy"])
DECISION_LATENCY = Histogram(
    "casework_decision_latency_seconds", "From a review case's opening to its decision",
    ["queue", "decided_by"],
    buckets=(1, 10, 60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600,
             48 * 3600, 72 * 3600, 7 * 24 * 3600))
HTTP_REQUESTS = Counter(
    "casework_http_requests", "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "casework_http_request_duration_seconds", "Time to answer an HTTP request, by method and "
    "route template", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route of a request no route took (a 404, a refusal before routing)
_ACTIONS = frozenset(a.value for a in Action)


def primary(policy_ids: list[str]) -> str:
    """One policy label for a record: the first of its policy ids by name, or `none`."""
    return min(policy_ids, default=NONE)


def recorded(record: LedgerRecord, since: int) -> None:
    """Count what a ledger write's events after revision `since` (the ones new to the ledger)
    say happened."""
    outcome = record.outcome
    policy = getattr(outcome, "label", None) or primary(record.policy_ids)
    for event in (e for e in record.timeline if e.seq > since):
        if event.event == Event.OPENED:
            CASES_OPENED.labels(record.lifecycle, record.queue, primary(record.policy_ids)).inc()
        elif event.event == Event.SLA_BREACHED:
            CASES_BREACHED.labels(record.lifecycle, record.queue, policy).inc()
        elif event.event in (Event.DECIDED, Event.AUTO_ACTIONED) and isinstance(
                outcome, DecisionOutcome):
            by = "engine" if outcome.automated else "person"
            CASES_DECIDED.labels(outcome.queue, outcome.label, by).inc()
            DECISION_LATENCY.labels(outcome.queue, by).observe(
                max((outcome.decided_at - record.opened_at).total_seconds(), 0))
        elif event.event in (Event.ENFORCED, Event.ACTION_FAILED):
            # The enforcer's events begin with the action's name ("remove on listing:…",
            # "remove: refused …"); a job's summary ("job …") names none and is not counted.
            name = event.detail.split(":", 1)[0].split(" ", 1)[0]
            if name in _ACTIONS:
                action(name, record.queue, policy, applied=event.event == Event.ENFORCED)


def action(name: str, queue: str, policy: str, applied: bool) -> None:
    (ACTIONS_APPLIED if applied else ACTIONS_FAILED).labels(name, queue, policy).inc()


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)
