"""A trend scan: the window's and the baseline weeks' counts from the ledger, the spikes among
them (`domain.trends`), and one escalation per finding (source `trend`, to the leads): opened
once under an id made from the spike and the scan's time, so a retried scan (a worker killed
mid-scan) opens the same one; a spike already escalated and still open is told when it grows,
once per new count."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.escalation import open_escalation
from config.pack_file import PackFile
from domain.core import Priority, Subject, SubjectKind
from domain.escalation.lifecycle import ESCALATION
from domain.escalation.models import EscalationSource, OpenRequest, TrendNote
from domain.trend_models import Dimension, Finding, ScanResult, Spike, Volume, printable
from domain.trends import clusters, findings, spikes, windows
from ledger.store import Ledger
from ledger.trends import Row

TREND_GREW = "trend_grew"
EXAMPLES = 20  # example case ids a spike carries in a scan's result


def spike_id(key: str) -> str:
    """A spike's key as an id casework takes (its value comes from the marketplace)."""
    return "trend-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def member(seller: str) -> str:
    """The key a cluster's seller is kept under: a cluster renamed stays one spike."""
    return f"member:{seller}"
ANSWER_WITHIN = timedelta(seconds=10)


def volumes(spans: list[list[Row]], links: list[tuple[str, str]]) -> list[Volume]:
    """Each dimension's values counted in the window (the first span) and each week before."""
    members = clusters(links)
    cluster_of = {s: name for name, sellers in members.items() for s in sellers}
    counts: dict[tuple[Dimension, str], list[int]] = {}
    cases: dict[tuple[Dimension, str], list[str]] = {}
    for i, rows in enumerate(spans):
        for queue, policy, category, seller, shop, case_id in rows:
            for dim, value in ((Dimension.QUEUE, queue), (Dimension.POLICY, policy),
                               (Dimension.CATEGORY, category), (Dimension.SHOP, shop),
                               (Dimension.CLUSTER, cluster_of.get(seller or ""))):
                if not value:
                    continue
                counts.setdefault((dim, value), [0] * len(spans))[i] += 1
                if i == 0:
                    cases.setdefault((dim, value), []).append(case_id)
    return [Volume(dimension=dim, value=value, count=n[0], baseline=n[1:],
                   cases=sorted(cases.get((dim, value), [])),
                   members=members.get(value, []) if dim is Dimension.CLUSTER else [])
            for (dim, value), n in sorted(counts.items())]


class TrendActivities:
    def __init__(self, client: Client, ledger: Ledger, pack: PackFile, task_queue: str,
                 prefix: str) -> None:
        self.client, self.ledger, self.pack = client, ledger, pack
        self.task_queue, self.prefix = task_queue, prefix

    @activity.defn
    async def scan_trends(self, at: datetime, window_minutes: int | None) -> ScanResult:
        cfg = self.pack.get().trends
        window_minutes = window_minutes or cfg.window_minutes
        spans = windows(at, timedelta(minutes=window_minutes), cfg.baseline_weeks)
        earliest = await asyncio.to_thread(self.ledger.first_signal)
        # a week before the ledger counted anything is no baseline (not a week of zeros)
        spans = [spans[0], *(s for s in spans[1:] if earliest is not None and s[0] >= earliest)]
        result = ScanResult(at=at, window_minutes=window_minutes, tested=0, spikes=[],
                            baseline_weeks=len(spans) - 1)
        if len(spans) == 1:
            return result
        rows = await asyncio.to_thread(self.ledger.windows, spans)
        activity.heartbeat("counted")
        sellers = sorted({r[3] for span in rows for r in span if r[3]})
        links = await asyncio.to_thread(self.ledger.links, sellers)
        activity.heartbeat("linked")
        tested = volumes(rows, links)
        found = spikes(tested, cfg)
        result.tested = len(tested)
        result.spikes = [s.model_copy(update={"cases": s.cases[:EXAMPLES]}) for s in found]
        for finding in findings(found):
            activity.heartbeat(finding.lead.key)
            try:
                await self._escalate(finding, at, result)
            except (ValidationError, WorkflowUpdateFailedError) as e:  # never better on retry
                result.failed.append(f"{printable(finding.lead.key)}: {printable(str(e))}")
        return result

    async def _escalate(self, f: Finding, at: datetime, result: ScanResult) -> None:
        """One escalation per finding: a spike (or any spike, cluster member or evidence of
        it) already escalated is that escalation's, told when it grows; one whose escalation
        ended is escalated again only once it has doubled since."""
        lead, window = f.lead, timedelta(minutes=result.window_minutes)
        keys = [lead.key, *(e.key for e in f.evidence), *(member(s) for s in lead.members)]
        found = [(k, k_) for k in keys if (k_ := self.ledger.spike(k)) is not None]
        live = [(k, row) for k, row in found if self._open(row[0])]
        if live:
            escalation_id, _, last = live[0][1]
            if lead.count > last:
                await self.client.get_workflow_handle(escalation_id).execute_update(
                    TREND_GREW, TrendNote(spike=spike_id(lead.key), text=(
                        f"the spike grew: {lead.count} case(s) (was {last}); expected "
                        f"{lead.expected:.1f}; examples {', '.join(lead.cases[:5])}")),
                    id=f"{spike_id(lead.key)}:{lead.count}", rpc_timeout=ANSWER_WITHIN)
                result.noted.append(escalation_id)
            else:
                result.known.append(escalation_id)
            self._keep(keys, escalation_id, at, lead.count)
            return
        if found and lead.count <= 2 * max(row[2] for _, row in found):
            result.known.append(found[0][1][0])  # dismissed: not again until it doubles
            return
        bucket = at - (at - datetime(2000, 1, 1, tzinfo=UTC)) % window  # scans of one window
        req = OpenRequest(subject=await self._subject(lead), source=EscalationSource.TREND,
                          reason=f.reason(window)[:4000], severity=Priority.P1,
                          opened_by="trend-scan",
                          request_id=f"trend-{spike_id(lead.key)}-{bucket:%Y%m%dT%H%M}")
        opened = await open_escalation(self.client, req, self.task_queue, self.prefix)
        result.opened.append(opened.escalation_id)
        self._keep(keys, opened.escalation_id, at, lead.count)

    def _keep(self, keys: list[str], escalation_id: str, at: datetime, count: int) -> None:
        for n, key in enumerate(keys):
            self.ledger.put_spike(key, escalation_id, n == 0, at, count)

    async def _subject(self, s: Spike) -> Subject:
        """What the escalation is about: the cluster's first seller or the shop where its id
        is one casework takes, else the first example case's subject, else the trend itself."""
        kind = {Dimension.CLUSTER: SubjectKind.SELLER, Dimension.SHOP: SubjectKind.SHOP}
        if s.dimension in kind:
            with contextlib.suppress(ValidationError):
                return Subject(kind=kind[s.dimension], id=s.value)
        for case_id in s.cases[:EXAMPLES]:
            if row := await asyncio.to_thread(self.ledger.case, case_id):
                return row.subject
        return Subject(kind=SubjectKind.SELLER, id=spike_id(s.key))

    def _open(self, escalation_id: str) -> bool:
        row = self.ledger.case(escalation_id)
        return row is None or row.state not in ESCALATION.final

    def all(self) -> list[object]:
        return [self.scan_trends]

