"""The marketplace casework acts on, as an interface with two adapters (sandbox, HTTP).

Adapters raise only the errors below. A final one proves the request was not applied and never
will be as it stands, so retrying is pointless; `MarketplaceUnavailable` covers everything
ambiguous (no answer, an unreadable one, a redirect, a server error): the request may or may not
have landed, and retrying it with the same idempotency key is safe.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Protocol

from pydantic import BaseModel, Field

from domain.core import (
    Action,
    Subject,
    SubjectFacts,
)


class ApplyResult(BaseModel):
    """`applied` is False when this idempotency key had already acted: nothing happened twice."""

    applied: bool
    target: Subject
    detail: str


class ListingPage(BaseModel):
    """One page of a shop's listings, in id order; `next_after` is the cursor for the next page
    (None on the last)."""

    listings: list[SubjectFacts]
    next_after: str | None = None


MAX_IMAGE = 5_000_000


class ImageFile(BaseModel):
    """A listing's photo as the marketplace serves it (one of the types a browser shows safely;
    never SVG, whose scripts would run)."""

    media_type: Literal["image/png", "image/jpeg", "image/webp", "image/gif"]
    data: bytes = Field(max_length=MAX_IMAGE)


class MarketplaceError(Exception):
    final: ClassVar[bool] = False


class SubjectNotFound(MarketplaceError, LookupError):
    """The marketplace itself says it has no such listing, shop or seller."""

    final = True


class ActionRefused(MarketplaceError):
    """The marketplace's validation refused the request (e.g. an action on the wrong kind)."""

    final = True


class MarketplaceUnavailable(MarketplaceError):
    """No usable answer: the request may or may not have landed. Retry with the same key."""


class Marketplace(Protocol):
    def facts(self, subject: Subject) -> SubjectFacts: ...

    def resolve(self, subject: Subject, action: Action) -> Subject:
        """The subject an action on `subject` lands on (a listing's seller for suspend_seller)."""
        ...

    def apply(self, target: Subject, action: Action, idempotency_key: str, reason: str
              ) -> ApplyResult: ...

    def reverse(self, target: Subject, action: Action, idempotency_key: str, reason: str
                ) -> ApplyResult:
        """Undo `action` on `target` (reinstate, lift a suspension), once per key."""
        ...

    def seller_contact(self, seller_id: str) -> str: ...

    def image(self, image_hash: str) -> ImageFile:
        """The photo a listing's `image_hashes` names (SubjectNotFound when none has it)."""
        ...

    def shop_listings(self, shop_id: str, after: str | None, limit: int) -> ListingPage:
        """The shop's listings after the cursor `after`, at most `limit` of them."""
        ...
