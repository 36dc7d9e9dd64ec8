"""Shop reviews: a shop's listings screened page by page, its hits filed on review cases, one
shop-level decision by a senior carried out by takedown jobs; the strikes start one by
themselves."""

from __future__ import annotations

import concurrent.futures
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config.settings import Settings
from domain.core import Action, Subject
from domain.errors import Closed, InvalidInput, NotFound, Refused
from domain.people import ALL_QUEUES, Person, Role
from domain.shop_review.models import STRIKES, shop_review_id
from marketplace.demo import VIOLATIONS
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, own_pack_worker, removed


@pytest.fixture
async def small_pages(dev_env: WorkflowEnvironment, settings: Settings,
                      executor: concurrent.futures.ThreadPoolExecutor
                      ) -> AsyncIterator[CaseworkClient]:
    """A worker whose pack screens shops 3 listings a page."""
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[shop_reviews]\npage_size = 3\n") as cw:
        yield cw


def _violations(sandbox: SandboxMarketplace, shop_id: str) -> set[str]:
    """The demo shop's listings made from the demo's known violations."""
    titles = {v[0] for v in VIOLATIONS}
    return {row["subject"] for row in sandbox.list(limit=10_000)
            if row.get("shop_id") == shop_id and row["title"] in titles}


async def test_a_shop_review_finds_exactly_the_known_violations_and_queues_one_decision(
        small_pages: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    cw = small_pages
    known = _violations(sandbox, "S-07")
    assert len(known) == 3  # the demo data as generated: 3 of the shop's 10 listings
    review = await cw.shop_review("S-07", "ops-1", "seller complaints")
    assert (review.review_id, review.seller_id) == (shop_review_id("S-07", cw.settings.case_prefix),
                                                    "U-07")
    review = await eventually(lambda: cw.shop_status(review.review_id),
                              lambda r: r.state == "awaiting_decision", timeout=60)
    assert (review.pages, review.screened, review.hits) == (4, 10, 3)  # pages of 3
    assert {str(f.subject) for f in review.findings} == known
    assert review.history is not None and review.history.seller_id == "U-07"
    for f in review.findings:  # each hit is on its review case, opened by the review
        case = await eventually(lambda f=f: cw.show(f.case_id), lambda c: c.state == "queued")
        assert [r.source.value for r in case.reports] == ["internal"]
        assert review.review_id in case.reports[0].text
    again = await cw.shop_review("S-07", "ops-1")  # asked again: the same single review
    assert again.review_id == review.review_id
    timeline = [e.event for e in await cw.timeline(review.review_id)]
    assert timeline.count("queued") == 1 and timeline.count("screened") == 1

    with pytest.raises(Refused, match="lacks the senior role"):
        await cw.decide_shop(review.review_id, "alice", "remove_hits", "counterfeits")
    with pytest.raises(InvalidInput, match="unknown outcome"):
        await cw.decide_shop(review.review_id, "sam", "nuke", "counterfeits")
    decided = await cw.decide_shop(review.review_id, "sam", "remove_hits", "three breaches")
    assert decided.state == "enforcing" and decided.decision is not None
    done = await eventually(lambda: cw.shop_status(review.review_id),
                            lambda r: r.state == "enforced", timeout=60)
    assert sum(j.done for j in done.jobs) == 3 and len(done.jobs) == len(done.job_ids)
    for subject in known:
        assert sandbox.enforcement_count(Subject.parse(subject), Action.REMOVE) == 1
    for job_id in done.job_ids:  # each job's statements cite the policy its listings broke
        job = await cw.takedown_status(job_id)
        assert (job.requester, job.approved_by) == ("sam", None)
    with pytest.raises(Closed, match="is closed"):
        await cw.decide_shop(review.review_id, "senior-sam", "clear", "again")


async def test_the_requester_cannot_decide_and_an_unknown_shop_is_refused(
        dev: CaseworkClient) -> None:
    cw = dev
    cw.ledger.put_person(Person(id="olive", name="Olive", roles=[Role.OPS, Role.SENIOR],
                                queues=[ALL_QUEUES]))
    with pytest.raises(NotFound, match="no shop 'S-99'"):
        await cw.shop_review("S-99", "ops-1")
    with pytest.raises(Refused, match="lacks the ops role"):
        await cw.shop_review("S-03", "alice")
    review = await cw.shop_review("S-03", "olive")
    await eventually(lambda: cw.shop_status(review.review_id),
                     lambda r: r.state == "awaiting_decision", timeout=60)
    with pytest.raises(Refused, match="a second person, who neither decided"):
        await cw.decide_shop(review.review_id, "olive", "suspend_shop", "mine")
    cleared = await cw.decide_shop(review.review_id, "sam", "clear", "one-off mistake")
    assert cleared.state == "cleared" and not cleared.job_ids


async def test_the_strike_threshold_starts_a_shop_review_by_itself(dev: CaseworkClient) -> None:
    cw = dev
    review_id = shop_review_id("S-04", cw.settings.case_prefix)
    for n, listing in enumerate(("listing:L-0037", "listing:L-0038"), start=1):
        case_id = await removed(cw, listing)
        events = await eventually(lambda c=case_id: cw.timeline(c),
                                  lambda t: any(e.event == "strike" for e in t))
        assert f"{n} upheld violation(s), threshold 3" in events[-2].detail + events[-1].detail
    with pytest.raises(NotFound):
        await cw.shop_status(review_id)  # two strikes: no review yet
    await removed(cw, "listing:L-0039")
    review = await eventually(lambda: cw.shop_status(review_id),
                              lambda r: r.state == "awaiting_decision", timeout=60)
    assert review.requester == STRIKES
    assert review.history is not None and review.history.strikes == 3
    assert review.hits == 0  # the three listings are removed already: nothing left to find
