"""The console in a real browser (Debian's Chromium driven by Playwright): sign in, claim and
decide with the keyboard alone, hostile report text shown as text, roles that close pages,
sign-out that ends the session, hold/resume/escalate from a case page, a shop review decided by
a senior, and a queue page paged 50 rows at a time."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from client.casework import CaseworkClient
from client.credentials import Credentials
from domain.core import Action, Priority, Subject
from domain.record import LedgerRecord
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually
from tests.test_api import api  # noqa: F401 - the server fixture

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None,
                                reason="Debian's chromium is not installed (.ci/run installs it)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        await b.close()


async def _sign_in(page: Page, base: str, who: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", who)
    await page.fill("#password", password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/")


async def test_a_reviewer_signs_in_claims_and_decides_with_the_keyboard(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser,  # noqa: F811
        sandbox: SandboxMarketplace) -> None:
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    creds.set_password("alice", "alice-password-1")
    creds.set_password("bob", "bob-password-123")
    ref = await dev.open_case("listing:L-0002", "user_report", reporter="buyer-1", text=HOSTILE)
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")

    page = await browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await page.goto(f"{base}/")
    assert page.url == f"{base}/login"  # signed out: the console sends you to sign in
    await page.fill("#username", "alice")
    await page.fill("#password", "wrong-password-x")
    await page.keyboard.press("Enter")
    assert "Wrong name or password" in await (await page.wait_for_selector(".error")).inner_text()
    await _sign_in(page, base, "alice", "alice-password-1")

    await page.keyboard.press("c")  # claim the most urgent case of alice's queues
    await page.wait_for_url(f"{base}/cases/{ref.case_id}")
    assert await page.inner_text(".report-text") == HOSTILE  # shown as text
    assert await page.evaluate("window.pwned") is None and not dialogs
    assert await page.locator("mark").count() > 0  # the evidence highlighted
    await page.keyboard.press("r")
    await page.keyboard.type("Replica bag, counterfeit")
    await page.keyboard.press("Escape")  # leaves the reason: the keys pick policies again
    await page.keyboard.press("1")  # the first policy: counterfeit
    await page.keyboard.press("Control+Enter")
    await page.wait_for_url(f"{base}/?empty=ip&decided={ref.case_id}")  # ip is empty now

    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    assert case.decision is not None and case.decision.decided_by == "alice"
    assert sandbox.enforcement_count(Subject.parse("listing:L-0002"), Action.REMOVE) == 1
    await page.goto(f"{base}/cases/{ref.case_id}")
    assert "alice decided" in await page.inner_text("#timeline")
    assert "remove on listing:L-0002: done" in await page.inner_text("#enforcement")

    cookie = next(c["value"] for c in await page.context.cookies() if c["name"] == "cw_session")
    await page.click("#logout")
    await page.wait_for_url(f"{base}/login")
    await page.goto(f"{base}/cases/{ref.case_id}")
    assert page.url == f"{base}/login"  # the session has ended
    replayed = await api.get("/", headers={"Cookie": f"cw_session={cookie}"})
    assert replayed.status_code == 303  # on the server too, not only in this browser

    other = await browser.new_page()
    await _sign_in(other, base, "bob", "bob-password-123")
    response = await other.goto(f"{base}/appeals")
    assert response is not None and response.status == 403
    assert "appeals role" in await other.inner_text("main")


async def test_forms_without_their_csrf_token_are_refused(api: httpx.AsyncClient,  # noqa: F811
                                                          dev: CaseworkClient,
                                                          browser: Browser) -> None:
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("carol", "carol-password-1")
    page = await browser.new_page()
    await _sign_in(page, base, "carol", "carol-password-1")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    r = await api.post("/queues/ip/claim-next", data={"csrf": "forged"},
                       headers={"Cookie": f"cw_session={cookies['cw_session']}"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert "Content-Security-Policy" in (await api.get("/login")).headers


async def test_an_appeal_decided_by_a_second_person_and_a_job_approved_in_the_browser(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser,  # noqa: F811
        sandbox: SandboxMarketplace) -> None:
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    for who in ("max", "sam", "ops-1"):
        creds.set_password(who, f"{who}-password-123")
    ref = await dev.open_case("listing:L-0062", "user_report", reporter="buyer-2")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "pangolin")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    appeal = await dev.file_appeal(ref.case_id, "It is resin, not pangolin")
    await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "queued")

    page = await browser.new_page()
    await _sign_in(page, base, "max", "max-password-123")
    await page.goto(f"{base}/appeals")
    await page.click(f"a[href='/appeals/{appeal.appeal_id}']")
    await page.click("#claim-appeal")
    await page.check("input[value=overturned]")
    await page.fill("#appeal-reason", "Resin replica, documented")
    await page.click("#decide-appeal")
    done = await eventually(lambda: dev.appeal(appeal.appeal_id),
                            lambda a: a.verdict is not None)
    assert done.verdict is not None and done.verdict.decided_by == "max"
    await eventually(lambda: _restored(sandbox), bool)  # the listing back on the marketplace

    job = await dev.takedown([f"listing:L-{n:04d}" for n in range(241, 343)], "disable",
                             "recall", "lena", ["recalled-products"])
    approver = await browser.new_page()
    await _sign_in(approver, base, "sam", "sam-password-123")
    await approver.goto(f"{base}/takedowns/{job.job_id}")
    await approver.click("#approve")
    await eventually(lambda: dev.takedown_status(job.job_id), lambda j: j.approved_by == "sam")
    assert (await approver.goto(f"{base}/ops")).status == 403  # noqa: PLR2004 - sam is no ops
    ops = await browser.new_page()
    await _sign_in(ops, base, "ops-1", "ops-1-password-123")
    await ops.goto(f"{base}/ops")
    assert "Backlog" in await ops.inner_text("main")


async def _restored(sandbox: SandboxMarketplace) -> bool:
    return sandbox.show(Subject.parse("listing:L-0062"))["status"] == "active"


async def test_an_escalation_owner_acknowledges_and_notes_in_the_browser(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    creds.set_password("olga", "olga-password-12")
    creds.set_password("alice", "alice-password-1")
    esc = await dev.open_escalation("seller:U-07", "press", "Journalist asks about fakes", "P1")
    page = await browser.new_page()
    await _sign_in(page, base, "olga", "olga-password-12")
    await page.goto(f"{base}/escalations")
    await page.click(f"a[href='/escalations/{esc.escalation_id}']")
    await page.click("#ack")
    await page.fill("#note-text", HOSTILE)
    await page.click("#add-note")
    await page.wait_for_selector("#notes li strong")
    assert HOSTILE in await page.inner_text("#notes")  # as text
    assert await page.evaluate("window.pwned") is None
    state = await eventually(lambda: dev.show_escalation(esc.escalation_id),
                             lambda e: e.notes)
    assert (state.assignee, state.notes[0].by) == ("olga", "olga")
    # a leadership update as the workflow lands it (every few hours: tests/test_escalation.py)
    dev.ledger.put_message(f"{esc.escalation_id}-update-1", esc.escalation_id, "email",
                           "leadership@casework.example", "leadership_update",
                           "State investigating, owner olga " + HOSTILE)
    await page.reload()
    assert "owner olga " + HOSTILE in await page.inner_text("#updates")
    assert await page.evaluate("window.pwned") is None
    reviewer = await browser.new_page()
    await _sign_in(reviewer, base, "alice", "alice-password-1")
    assert (await reviewer.goto(f"{base}/escalations")).status == 403  # noqa: PLR2004


async def test_a_reviewer_holds_resumes_and_escalates_from_the_case_page(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("alice", "alice-password-1")
    ref = await dev.open_case("listing:L-0002", "user_report", reporter="buyer-3",
                              text="Looks like a replica bag")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")

    page = await browser.new_page()
    await _sign_in(page, base, "alice", "alice-password-1")
    await page.goto(f"{base}/cases/{ref.case_id}")
    await expect(page.locator("#state")).to_have_attribute("data-state", "queued")
    await page.click("#claim")
    await expect(page.locator("#state")).to_have_attribute("data-state", "in_review")
    assert "claimed by alice" in await page.inner_text("main")

    await page.click("summary:has-text('Hold or escalate')")
    await page.fill("#hold-text", "Waiting for the rights owner's certificate")
    await page.click("#hold")
    await expect(page.locator("#state")).to_have_attribute("data-state", "on_hold")
    hold = await page.inner_text("#hold-note")
    assert "On hold by alice" in hold and "the rights owner's certificate" in hold, hold
    assert await page.locator("#decide-form").count() == 0  # no deciding a held case

    await page.click("#resume")
    await expect(page.locator("#state")).to_have_attribute("data-state", "in_review")
    assert await page.locator("#hold-note").count() == 0  # the note is gone

    await page.click("summary:has-text('Hold or escalate')")
    await page.fill("#escalate-text", "A journalist is asking about this seller")
    await page.select_option("#escalate-severity", "P2")
    await page.click("#escalate")
    await page.wait_for_url(f"{base}/cases/{ref.case_id}")  # alice owns no escalations
    await expect(page.locator("#state")).to_have_attribute("data-state", "escalated")
    case = await dev.show(ref.case_id)
    assert case.state == "escalated" and case.escalation_id
    assert case.escalation_id in await page.inner_text("#escalation")  # named, not a link to a 403
    esc = await dev.show_escalation(case.escalation_id)
    assert esc.priority.value == "P2", esc

    by_alice = [e.event for e in case.timeline if e.actor == "alice"]
    assert [e for e in by_alice if e in {"claimed", "held", "resumed", "escalated"}] == [
        "claimed", "held", "resumed", "escalated"], [(e.actor, e.event) for e in case.timeline]
    held = next(e for e in case.timeline if e.event == "held")
    assert "the rights owner's certificate" in held.detail
    shown = await page.locator("#timeline li").all_inner_texts()
    assert any("alice held" in li for li in shown) and any("alice escalated" in li
                                                            for li in shown), shown


async def test_a_senior_decides_a_shop_review_in_the_browser(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    creds.set_password("sam", "sam-password-123")
    creds.set_password("ops-1", "ops-1-password-123")
    review = await dev.shop_review("S-07", "ops-1", "drill")
    review = await eventually(lambda: dev.shop_status(review.review_id),
                              lambda r: r.state == "awaiting_decision", timeout=60)
    assert review.hits == 3  # noqa: PLR2004 - the demo shop's three known violations
    href = f"/shop-reviews/{review.review_id}"

    requester = await browser.new_page()  # ops reads every queue: the page, not the form
    await _sign_in(requester, base, "ops-1", "ops-1-password-123")
    response = await requester.goto(f"{base}{href}")
    assert response is not None and response.status == 200  # noqa: PLR2004
    await expect(requester.locator("#state")).to_have_attribute("data-state", "awaiting_decision")
    assert await requester.locator("#shop-form").count() == 0
    assert "A senior other than ops-1 decides" in await requester.inner_text("main")

    async def listed() -> list[str]:  # the ledger's row, which the jobs page lists
        return [e.case_id for e in dev.ledger.recent(("shop_review",))]

    await eventually(listed, lambda ids: review.review_id in ids)
    page = await browser.new_page()
    await _sign_in(page, base, "sam", "sam-password-123")
    await page.goto(f"{base}/jobs")
    await page.click(f"#jobs a[href='{href}']")
    await page.wait_for_url(f"{base}{href}")
    await expect(page.locator("#findings tbody tr")).to_have_count(3)
    listings = set(await page.locator("#findings tbody tr td:first-child").all_inner_texts())
    assert listings == {f.subject.id for f in review.findings}
    await page.check("#shop-form input[name=outcome][value=remove_hits]")
    await page.fill("#shop-reason", "Three counterfeit listings")
    await page.click("#decide-shop")
    await expect(page.locator("#decision")).to_contain_text("sam")
    decision = await page.inner_text("#decision")
    assert "remove_hits" in decision and "sam" in decision, decision
    assert "Three counterfeit listings" in decision

    done = await eventually(lambda: dev.shop_status(review.review_id),
                            lambda r: r.state == "enforced", timeout=60)
    assert done.decision is not None and done.decision.decider == "sam"
    assert sum(j.done for j in done.jobs) == 3  # noqa: PLR2004
    # the page refreshes itself while the review enforces
    await expect(page.locator("#state")).to_have_attribute("data-state", "enforced", timeout=15_000)
    assert await page.locator("#shop-form").count() == 0


async def test_a_queue_page_pages_through_its_open_cases(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("dana", "dana-password-1")
    queue, prefix, total = "hate", f"{dev.settings.case_prefix}-page", 62
    now = datetime.now(UTC)
    ids = [f"{prefix}-{i:03d}" for i in range(total)]  # most urgent first: the nearest SLA
    for i, case_id in enumerate(ids):  # queue rows only (no workflows behind them)
        dev.ledger.record_case(LedgerRecord(
            case_id=case_id, case_uid=f"{case_id}-uid", subject=Subject.parse(
                f"listing:PAGE-{i:03d}"), state="queued", queue=queue, priority=Priority.P2,
            sla_deadline=now + timedelta(hours=10, minutes=i), revision=1, policy_ids=[],
            opened_at=now - timedelta(minutes=i), timeline=[]))
    try:
        page = await browser.new_page()
        await _sign_in(page, base, "dana", "dana-password-1")
        section = page.locator(f"#queue-{queue}")
        assert (await section.locator(".count").inner_text()).startswith(f"{total} open")
        await expect(section.locator("tbody tr")).to_have_count(10)  # the head of the queue
        await section.locator(f"a:has-text('All {total} in {queue}')").click()
        await page.wait_for_url(f"{base}/queues/{queue}")

        rows = page.locator(f"#queue-{queue} tbody tr td:first-child a")
        await expect(rows).to_have_count(50)
        first = await rows.all_inner_texts()
        assert first == ids[:50]
        assert await page.locator("#previous").count() == 0
        assert f"{total} open" in await page.inner_text(f"#queue-{queue} .count")

        await page.click("#next")
        await page.wait_for_url(f"{base}/queues/{queue}?offset=50")
        await expect(rows).to_have_count(total - 50)
        assert await rows.all_inner_texts() == ids[50:]
        assert await page.locator("#next").count() == 0
        await page.click("#previous")
        await page.wait_for_url(f"{base}/queues/{queue}?offset=0")
        await expect(rows).to_have_count(50)
        assert await rows.all_inner_texts() == ids[:50]
    finally:  # the ledger is this test's own; leave no rows without workflows all the same
        dev.ledger._write("DELETE FROM cases WHERE case_id LIKE ?", (f"{prefix}-%",))  # noqa: SLF001
