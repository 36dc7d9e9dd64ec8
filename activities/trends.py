"""A trend scan: the window's and the baseline weeks' counts from the ledger, the spikes among
them (`domain.trends`), and one escalation per finding (source `trend`, to the leads): opened
once under an id made from the spike and the scan's time, so a retried scan (a worker killed
mid-scan) opens the same one; a spike already escalated and still open is told when it grows,
once per new count."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import activity
from temporalio.client import Client

from activities.escalation import open_escalation
from config.pack_file import PackFile
from domain.core import Priority, Subject, SubjectKind
from domain.escalation.lifecycle import ESCALATION
from domain.escalation.models import EscalationSource, OpenRequest, TrendNote
from domain.trend_models import Dimension, Finding, ScanResult, Spike, Volume
from domain.trends import clusters, findings, spikes, windows
from ledger.store import Ledger
from ledger.trends import Row

TREND_GREW = "trend_grew"
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
        rows = await asyncio.to_thread(self.ledger.windows, spans)
        activity.heartbeat("counted")
        sellers = sorted({r[3] for span in rows for r in span if r[3]})
        tested = volumes(rows, await asyncio.to_thread(self.ledger.links, sellers))
        found = spikes(tested, cfg)
        result = ScanResult(at=at, window_minutes=window_minutes, tested=len(tested),
                            spikes=found)
        for finding in findings(found):
            activity.heartbeat(finding.lead.key)
            await self._escalate(finding, at, result)
        return result

    async def _escalate(self, f: Finding, at: datetime, result: ScanResult) -> None:
        lead = f.lead
        known = self.ledger.spike(lead.key)
        if known is not None and self._open(known[0]):
            escalation_id, _, last = known
            if lead.count > last:
                await self.client.get_workflow_handle(escalation_id).execute_update(
                    TREND_GREW, TrendNote(spike=lead.key, text=(
                        f"the spike grew: {lead.count} case(s) (was {last}); expected "
                        f"{lead.expected:.1f}; examples {', '.join(lead.cases[:5])}")),
                    id=f"{lead.key}:{lead.count}", rpc_timeout=ANSWER_WITHIN)
                result.noted.append(escalation_id)
            else:
                result.known.append(escalation_id)
            self.ledger.put_spike(lead.key, escalation_id, True, at, lead.count)
            return
        req = OpenRequest(subject=await self._subject(lead), source=EscalationSource.TREND,
                          reason=f.reason(timedelta(minutes=result.window_minutes))[:4000],
                          severity=Priority.P1, opened_by="trend-scan",
                          request_id=f"trend-{lead.key}-{at:%Y%m%dT%H%M}"[:200])
        opened = await open_escalation(self.client, req, self.task_queue, self.prefix)
        result.opened.append(opened.escalation_id)
        self.ledger.put_spike(lead.key, opened.escalation_id, True, at, lead.count)
        for e in f.evidence:  # the same cases: this escalation speaks for them too
            if (seen := self.ledger.spike(e.key)) is None or not self._open(seen[0]):
                self.ledger.put_spike(e.key, opened.escalation_id, False, at, e.count)

    async def _subject(self, s: Spike) -> Subject:
        """What the escalation is about: the cluster's first seller, the shop, or (for a policy,
        category or queue) the first example case's subject."""
        if s.dimension is Dimension.CLUSTER:
            return Subject(kind=SubjectKind.SELLER, id=s.value)
        if s.dimension is Dimension.SHOP:
            return Subject(kind=SubjectKind.SHOP, id=s.value)
        row = await asyncio.to_thread(self.ledger.case, s.cases[0])
        assert row is not None  # counted from the ledger's rows
        return row.subject

    def _open(self, escalation_id: str) -> bool:
        row = self.ledger.case(escalation_id)
        return row is None or row.state not in ESCALATION.final

    def all(self) -> list[object]:
        return [self.scan_trends]

