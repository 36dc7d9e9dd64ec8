"""Bulk work: takedown jobs and authority orders (started by seniors and leads, approved by a
second person when the engine's rule says so, steered by their requester) and shop reviews."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from api.deps import AsPerson, Caller, Client, In, Limit, Offset, Page, RequestId, page, reads
from api.roles import of_kind
from domain.core import Action
from domain.shop_review.models import ShopReviewSummary
from domain.takedown.models import TAKEDOWN_QUEUE, AuthorityOrder, JobSummary

router = APIRouter(prefix="/api", tags=["jobs"])


class TakedownIn(In):
    lines: list[str] = Field(max_length=100_000)  # KIND:ID each
    action: Action
    reason: str
    policy_ids: list[str] = Field(default_factory=list)
    order: AuthorityOrder | None = None  # an authority's order (DSA Art. 9), entered by staff


class ShopIn(In):
    shop_id: str
    reason: str | None = None



@router.get("/takedowns")
async def takedowns(c: Client, who: Caller, offset: Offset = 0, limit: Limit = 50) -> Page:
    """Takedown jobs and shop reviews, newest first."""
    reads(who, TAKEDOWN_QUEUE)
    return page(await c.recent(("takedown", "shop_review"), limit + 1, offset), offset, limit)


@router.get("/takedowns/{job_id}")
async def takedown(job_id: str, c: Client, who: Caller) -> JobSummary:
    reads(who, TAKEDOWN_QUEUE)
    await of_kind(c, job_id, "takedown")
    return await c.takedown_status(job_id)


@router.get("/takedowns/{job_id}/items")
async def takedown_items(job_id: str, c: Client, who: Caller, offset: Offset = 0,
                         limit: Limit = 200) -> Page:
    """Each item's outcome (done, failed with its error, skipped, reversed), in order."""
    reads(who, TAKEDOWN_QUEUE)
    await of_kind(c, job_id, "takedown")
    items = await c.job_items(job_id, after=offset, until=offset + limit + 1)
    return page(items, offset, limit)


@router.post("/takedowns", status_code=201)
async def start_takedown(body: TakedownIn, c: Client, who: AsPerson,
                         request_id: RequestId) -> JobSummary:
    return await c.takedown(body.lines, body.action, body.reason, who.id, body.policy_ids,
                            body.order, again=getattr(request_id, "again", False))




@router.get("/shop-reviews/{review_id}")
async def shop_review(review_id: str, c: Client, who: Caller) -> ShopReviewSummary:
    reads(who, TAKEDOWN_QUEUE)
    await of_kind(c, review_id, "shop_review")
    return await c.shop_status(review_id)


@router.post("/shop-reviews", status_code=201)
async def start_shop_review(body: ShopIn, c: Client, who: AsPerson,
                            request_id: RequestId) -> ShopReviewSummary:
    return await c.shop_review(body.shop_id, who.id, body.reason,
                               again=getattr(request_id, "again", False))
