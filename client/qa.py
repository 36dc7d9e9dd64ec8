"""QA checks through the client: the QA queue and one check as its readers may see it (blind
until the QA verdict is in, whoever asks)."""

from __future__ import annotations

import asyncio

from client.base import ClientBase
from domain.core import QueueEntry, Subject
from domain.qa.config import QA_QUEUE
from domain.qa.lifecycle import BLIND, QA
from domain.qa.models import QaView
from workflows.qa import QaWorkflow


class QaChecks(ClientBase):
    async def qa_check(self, qa_id: str) -> QaView:
        state = await self.ask(qa_id, QaWorkflow.snapshot)
        return state.view(BLIND)  # type: ignore[no-any-return]

    async def blind_to(self, person_id: str, subject: Subject) -> bool:
        """Whether the person holds a QA check of a decision on `subject` and has not given
        its verdict: the decision's own case is closed to them until they have."""
        return await asyncio.to_thread(self.ledger.holds, person_id, QA.name, subject,
                                       tuple(sorted(QA.held)))

    async def qa_queue(self, limit: int = 50, offset: int = 0) -> list[QueueEntry]:
        """Checks waiting for a QA reviewer or a senior, the most urgent first."""
        return await asyncio.to_thread(self.ledger.queue, QA_QUEUE,
                                       states=tuple(sorted(QA.queued | QA.held)),
                                       limit=limit, offset=offset)
