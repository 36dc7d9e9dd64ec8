"""Cross-case reads from the ledger for the API and the console, each off the event loop: the
routes ask the client, never the ledger (its calls block)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from client.base import ClientBase
from domain.core import Mention, QueueEntry, TakedownItem
from domain.errors import NotFound, Unavailable
from domain.people import Person
from marketplace.base import ImageFile, Marketplace, MarketplaceError
from marketplace.configured import build_marketplace

PHOTO_FETCHES, PHOTO_WITHIN = 4, 15.0
_PHOTOS = ThreadPoolExecutor(PHOTO_FETCHES, thread_name_prefix="casework-photos")


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

    async def strikes(self, seller_id: str, queues: Sequence[str]) -> tuple[int, list[str]]:
        """How many upheld violations the seller has within the pack's strike window (an
        overturned one no longer counts), and those of them in `queues` (the ones the asker may
        open), oldest first."""
        window = timedelta(days=self.pack().shop_reviews.strike_window_days)
        found = await asyncio.to_thread(self.ledger.strikes_in, seller_id,
                                        datetime.now(UTC) - window)
        return len(found), [case_id for case_id, queue in found if queue in queues]

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
    def _photo_slots(self) -> asyncio.Semaphore:
        return asyncio.Semaphore(PHOTO_FETCHES)

    async def image(self, image_hash: str) -> ImageFile:
        """A listing's photo from the marketplace, for the console to show from its own origin
        (the reviewer's browser never calls the marketplace). Photos are fetched on threads of
        their own, PHOTO_FETCHES at a time, each within PHOTO_WITHIN seconds: a slow
        marketplace never holds the threads the ledger's reads run on."""
        if self._photo_slots.locked():
            raise Unavailable("too many photos are being fetched now: try again in a moment")
        async with self._photo_slots:
            try:
                return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                    _PHOTOS, self._image, image_hash), PHOTO_WITHIN)
            except TimeoutError:
                raise Unavailable(f"the marketplace did not send photo {image_hash} within "
                                  f"{PHOTO_WITHIN:g}s") from None

    def _image(self, image_hash: str) -> ImageFile:
        try:
            return self.marketplace.image(image_hash)
        except MarketplaceError as e:
            raise (NotFound if e.final else Unavailable)(str(e)) from None
        except ValueError as e:  # the marketplace's settings (this process needs them too)
            raise Unavailable(f"photos: {e}") from None

    @cached_property
    def marketplace(self) -> Marketplace:
        return build_marketplace(self.settings)
