"""Listings' photos through the client: fetched on threads of their own, a few at a time and
each within a deadline, so a slow marketplace never stalls the console's ledger reads."""

from __future__ import annotations

import asyncio
import time

import pytest

import client.reads
from client.casework import CaseworkClient
from domain.errors import Unavailable
from marketplace.base import ImageFile


class SlowMarketplace:
    def image(self, image_hash: str) -> ImageFile:
        time.sleep(1.0)
        return ImageFile(media_type="image/png", data=b"\x89PNG")


async def test_a_slow_marketplace_holds_only_the_photo_threads(
        dev: CaseworkClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(dev.__dict__, "marketplace", SlowMarketplace())
    fetches = [asyncio.create_task(dev.image(f"{i:016x}"))
               for i in range(client.reads.PHOTO_FETCHES)]
    await asyncio.sleep(0.1)
    with pytest.raises(Unavailable, match="too many photos"):  # refused at once, not queued
        await dev.image("ffffffffffffffff")
    started = time.monotonic()
    await asyncio.gather(*(dev.row("case-listing-nothing") for _ in range(20)))
    assert time.monotonic() - started < 0.5  # the ledger's reads still answer
    assert all(p.data == b"\x89PNG" for p in await asyncio.gather(*fetches))
    monkeypatch.setattr(client.reads, "PHOTO_WITHIN", 0.2)
    with pytest.raises(Unavailable, match="did not send photo"):
        await dev.image("0123456789abcdef")
