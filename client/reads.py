"""Cross-case reads from the ledger for the API and the console, each off the event loop: the
routes ask the client, never the ledger (its calls block)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from client.base import ClientBase
from domain.core import Mention, QueueEntry, TakedownItem
from domain.errors import NotFound, Unavailable
from domain.people import Person
from marketplace.base import ImageFile, Marketplace, MarketplaceError
from marketplace.configured import build_marketplace


class LedgerReads(ClientBase):
    async def row(self, record_id: str) -> QueueEntry | None:
        """The record's ledger row (None before its first commit)."""
        return await asyncio.to_thread(self.ledger.case, record_id)

    async def queue_page(self, queue: str, **page: Any) -> list[QueueEntry]:
        """A queue's open records, most urgent first (`states`, `limit`, `offset`)."""
        return await asyncio.to_thread(self.ledger.queue, queue, **page)

    async def queue_heads(self, queues: Sequence[str], per: int, **states: Any
                          ) -> dict[str, list[QueueEntry]]:
        return await asyncio.to_thread(self.ledger.queue_heads, queues, per, **states)

    async def search(self, text: str, queues: Sequence[str], limit: int = 50
                     ) -> list[QueueEntry]:
        return await asyncio.to_thread(self.ledger.search, text, queues, limit)

    async def about(self, seller_id: str | None, shop_id: str | None, queues: Sequence[str],
                    limit: int = 20, image_hashes: Sequence[str] = ()) -> list[QueueEntry]:
        return await asyncio.to_thread(self.ledger.about, seller_id, shop_id, queues, limit,
                                       image_hashes)

    async def strikes(self, seller_id: str) -> list[str]:
        """The review cases of the seller's upheld violations within the pack's strike window
        (an overturned one no longer counts), oldest first."""
        window = timedelta(days=self.pack().shop_reviews.strike_window_days)
        return await asyncio.to_thread(self.ledger.strikes, seller_id, datetime.now(UTC) - window)

    async def mentions(self, person_id: str, queues: Sequence[str], limit: int = 50
                       ) -> list[Mention]:
        return await asyncio.to_thread(self.ledger.mentions, person_id, queues, limit)

    async def queue_counts(self, **states: Any) -> dict[str, tuple[int, int]]:
        return await asyncio.to_thread(self.ledger.queue_counts, **states)

    async def recent(self, lifecycles: Sequence[str], limit: int, offset: int = 0
                     ) -> list[QueueEntry]:
        return await asyncio.to_thread(self.ledger.recent, lifecycles, limit, offset)

    async def statements_page(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.ledger.statements, limit=limit, offset=offset)

    async def job_items(self, job_id: str, after: int, until: int) -> list[TakedownItem]:
        return await asyncio.to_thread(self.ledger.takedown_items, job_id, after=after,
                                       until=until)

    async def job_counts(self, job_id: str) -> dict[str, int]:
        """The job's items by status, as each is acted on (the workflow's progress moves per
        batch)."""
        return await asyncio.to_thread(self.ledger.takedown_counts, job_id)

    async def messages(self, record_id: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.ledger.messages, record_id)

    async def person(self, person_id: str) -> Person | None:
        return await asyncio.to_thread(self.ledger.person, person_id)

    @cached_property
    def marketplace(self) -> Marketplace:
        return build_marketplace(self.settings)

    async def image(self, image_hash: str) -> ImageFile:
        """A listing's photo from the marketplace, for the console to show from its own origin
        (the reviewer's browser never calls the marketplace)."""
        try:
            return await asyncio.to_thread(self.marketplace.image, image_hash)
        except MarketplaceError as e:
            raise (NotFound if e.final else Unavailable)(str(e)) from None
