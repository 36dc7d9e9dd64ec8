"""Reports and calibration through the client: who may read whose figures (`domain.reports.
scope`), who loads calibration sets, and how a reviewer's claim brings them a calibration case
at the pack's rate."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from activities.intake import file_report
from client.base import ClientBase
from domain.calibration import LOADERS, CalibrationKey, LoadCalibration, parse, subject_for
from domain.core import CaseSummary, Report, case_id_for, report_id_for
from domain.errors import build
from domain.people import Role, why_not
from domain.reports import READ_ALL, ReportQuery, figures, scope
from domain.reports import Report as Figures
from domain.review.lifecycle import REVIEW
from workflows.review.workflow import ReviewWorkflow

_draw = random.SystemRandom()  # which claim brings a calibration case: nobody can tell
FRESH_S = 30.0  # a report is made again after this long (a dashboard's readers share it)


class Reports(ClientBase):
    @cached_property
    def _made(self) -> dict[str, tuple[float, Figures]]:
        """Reports made lately, by query: fresh for FRESH_S seconds."""
        return {}

    async def report(self, person_id: str, query: ReportQuery) -> Figures:
        """A productivity or quality report: everyone's for leads, seniors and admins, one's
        own for anyone else (asking for another's is refused)."""
        person = self.directory.require(person_id, frozenset(Role))
        query = query.model_copy(update={"reviewer": scope(person, query.reviewer)})
        self.known_queue(query.queue)
        key, now = query.model_dump_json(), time.monotonic()
        cache = self._made
        if (kept := cache.get(key)) and kept[0] > now:
            return kept[1]
        tallies = await asyncio.to_thread(self.ledger.tallies, query,
                                          tuple(sorted(REVIEW.queued | REVIEW.held)),
                                          datetime.now(UTC))
        made = await asyncio.to_thread(figures, query, tallies, self.pack().targets)
        for old in [k for k, (until, _) in cache.items() if until <= now]:
            del cache[old]
        cache[key] = (now + FRESH_S, made)
        return made

    # -- calibration ---------------------------------------------------------------------------
    async def load_calibration(self, person_id: str, set_id: str, text: str) -> dict[str, Any]:
        """Load a set of known-answer items (JSON lines), whole or not at all."""
        req = build(LoadCalibration, set_id=set_id, text=text)
        self.directory.require(person_id, LOADERS)
        pack = self.pack()
        items = parse(req.text, set(pack.by_id), set(pack.queues))
        n = await asyncio.to_thread(self.ledger.put_calibration_set, set_id, items, person_id)
        return {"set_id": set_id, "items": n, "queues": sorted({i.queue for i in items})}

    async def calibration_sets(self, person_id: str) -> list[dict[str, Any]]:
        self.directory.require(person_id, READ_ALL)  # everyone's figures
        return await asyncio.to_thread(self.ledger.calibration_sets)

    async def calibration_results(self, person_id: str, set_id: str | None = None,
                                  reviewer: str | None = None) -> list[dict[str, Any]]:
        """Each answered calibration case: a lead's or admin's, everyone's; anyone else's,
        their own (a senior who reads everyone's figures still gets copies of their own)."""
        person = self.directory.require(person_id, frozenset(Role))
        return await asyncio.to_thread(self.ledger.calibration_answers, set_id,
                                       scope(person, reviewer, LOADERS))

    async def hidden_from(self, person_id: str, case_id: str) -> bool:
        """A calibration copy is read by its reviewer and by leads and admins (who load the
        keys); to anyone else, seniors too (they get copies of their own), it does not exist."""
        reviewer = await asyncio.to_thread(self.ledger.calibration_reviewer, case_id)
        if reviewer is None or reviewer == person_id:
            return False
        person = await asyncio.to_thread(self.ledger.person, person_id)
        return person is None or why_not(person_id, person, LOADERS) is not None

    async def calibration_case(self, queue: str, reviewer: str, lease_minutes: int = 30
                               ) -> CaseSummary | None:
        """At the pack's rate, a calibration item of the queue the reviewer has not had,
        opened as a case already claimed by them for the lease they asked; None otherwise."""
        rate = self.pack().calibration.rate
        if rate <= 0 or _draw.random() >= rate:
            return None
        found = await asyncio.to_thread(self.ledger.next_calibration_item, queue, reviewer)
        if found is None:
            return None
        set_id, item = found
        subject = subject_for(item, set_id, reviewer)
        case_id = case_id_for(subject, self.settings.case_prefix)
        await asyncio.to_thread(self.ledger.give_calibration, case_id, set_id, item.item_id,
                                reviewer, queue)
        key = CalibrationKey(set_id=set_id, item_id=item.item_id, reviewer=reviewer,
                             queue=queue, facts=item.subject.model_copy(update={
                                 "id": subject.id}),
                             expected_policy_ids=item.expected.policy_ids,
                             expected_actions=item.expected.actions,
                             explanation=item.explanation, lease_minutes=lease_minutes)
        report = Report(report_id=report_id_for(subject, item.source, None, item.report, None),
                        source=item.source, text=item.report,
                        received_at=datetime.now(UTC))
        await self.guard(file_report(self.temporal, case_id, subject, report,
                                     self.settings.task_queue, calibration=key), case_id)
        return await self.ask(case_id, ReviewWorkflow.summary)  # type: ignore[no-any-return]
