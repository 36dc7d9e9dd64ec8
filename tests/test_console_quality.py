"""The quality pages in Chromium on the real servers (issue 17): the QA queue and a check's page,
blind for its QA reviewer (no trace of the decision checked or its decider in the HTML) until
their verdict; after a disagreement a senior sees both verdicts side by side and gives the final
word. The dashboard: a lead sees the weekly charts with their target lines and everyone's rows;
a reviewer sees only their own row; each section downloads as CSV."""

from __future__ import annotations

import concurrent.futures
import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from config.settings import Settings
from domain.core import Action, Priority, Subject
from domain.outcomes import CalibrationOutcome, DecisionOutcome, QaOutcome
from domain.record import LedgerRecord
from domain.reports import COLUMNS, ReportKind, Section
from ledger.store import Ledger
from tests.helpers import eventually, own_pack_worker, serving
from tests.test_api import api  # noqa: F401 - the server fixture
from tests.test_console import _sign_in, browser, pytestmark  # noqa: F401 - fixture, skip rule
from tests.test_qa_workflow import QA_ON, _decided
from workflows.review.qa import qa_id_for

REASON = "bob-only words: a first dupe, a warning will do"


def traces(html: str, *words: str) -> list[str]:
    """Which of `words` the page holds as whole words."""
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", html)]


async def test_a_check_is_blind_until_its_verdict_then_a_senior_adjudicates(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor, browser: Browser) -> None:  # noqa: F811
    async with own_pack_worker(dev_env.client, settings, executor, QA_ON) as cw, \
            serving(cw) as base:
        creds = Credentials(cw.ledger)
        for who in ("quinn", "emma"):
            creds.set_password(who, f"{who}-password-123")
        case = await _decided(cw, "listing:L-0002", ["warn"], ["counterfeit"], REASON)
        qa_id = qa_id_for(case.case_uid)
        await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "queued")

        quinn = await browser.new_page()
        await _sign_in(quinn, base, "quinn", "quinn-password-123")
        await quinn.click("nav a[href='/qa']")  # a QA reviewer finds the queue from any page
        await quinn.wait_for_url(f"{base}/qa")
        await quinn.click(f"#qa-queue a[href='/qa/{qa_id}']")
        await quinn.wait_for_url(f"{base}/qa/{qa_id}")
        await quinn.click("#claim")
        await expect(quinn.locator("#state")).to_have_attribute("data-state", "in_review")
        html = await quinn.content()
        assert not traces(html, "bob", REASON, case.case_id, case.case_uid), traces(
            html, "bob", REASON, case.case_id, case.case_uid)
        assert await quinn.locator("#verdicts").count() == 0
        assert "Gucci belt dupe" in await quinn.inner_text("#title")  # what the decider saw
        assert await quinn.locator("#blind").count() == 1
        assert await quinn.locator("#adjudicate").count() == 0  # not a senior

        await quinn.check("#decide-form input[name=policy][value=counterfeit]")
        await quinn.check("#decide-form input[name=actions][value=remove]")
        await quinn.fill("#decide-reason", "a replica: it goes")
        await quinn.click("#decide")
        await expect(quinn.locator("#verdicts")).to_be_visible()  # revealed once it is in
        assert "bob" in await quinn.inner_text("#first-by")
        await eventually(lambda: cw.row(qa_id),
                         lambda r: r is not None and r.state == "adjudicating")

        emma = await browser.new_page()
        await _sign_in(emma, base, "emma", "emma-password-123")
        await emma.goto(f"{base}/qa")
        await emma.click(f"#qa-queue a[href='/qa/{qa_id}']")
        assert "bob" in await emma.inner_text("#first-by")
        assert REASON in await emma.inner_text("#first-reason")
        assert "quinn" in await emma.inner_text("#second-by")
        assert "a replica: it goes" in await emma.inner_text("#second-reason")
        agreement = await emma.inner_text("#agreement")
        assert "same actions no" in agreement and "same policy yes" in agreement, agreement
        await emma.check("#adjudicate-form input[name=policy][value=counterfeit]")
        await emma.check("#adjudicate-form input[name=actions][value=warn]")
        await emma.fill("#adjudicate-reason", "a first dupe: the warning stands")
        await emma.click("#adjudicate")
        await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "closed")
        await emma.reload()
        assert "emma" in await emma.inner_text("#final-by")
        assert "upholds what was enforced" in await emma.inner_text("#agreement")
        assert await emma.locator("#adjudicate").count() == 0


def _figures(ledger: Ledger, now: datetime) -> None:
    """Three weeks of work written straight into the ledger: bob fast (2 min a case) and
    agreed with by QA; carol slow (10 min) and disagreed with once; a calibration answer
    each (bob right, carol wrong)."""
    for who, handling, per_week in (("bob", 120, 5), ("carol", 600, 3)):
        for week in range(3):
            for n in range(per_week):
                at = now - timedelta(days=7 * week + 1, hours=n)
                uid = f"uid-{who}-{week}-{n}"
                ledger.record_case(LedgerRecord(
                    case_id=f"dash-{who}-{week}-{n}", case_uid=uid, subject=Subject.parse(
                        f"listing:D-{who}-{week}-{n}"), state="closed", queue="ip",
                    priority=Priority.P2, policy_ids=["counterfeit"], opened_at=at,
                    timeline=[], revision=1, outcome=DecisionOutcome(
                        queue="ip", decider=who, automated=False, label="counterfeit",
                        actions=[Action.REMOVE], claimed_at=at - timedelta(seconds=handling),
                        decided_at=at, breached=n == 0)))
                if n < 2:
                    agreed = who == "bob" or n == 1
                    ledger.record_case(LedgerRecord(
                        case_id=f"qa-{uid}", case_uid=f"qa-{uid}", lifecycle="qa",
                        subject=Subject.parse(f"listing:D-{who}-{week}-{n}"), state="closed",
                        queue="qa", priority=Priority.P3, policy_ids=[], opened_at=at,
                        timeline=[], revision=1, outcome=QaOutcome(
                            review_case_uid=uid, checker="quinn", label="counterfeit",
                            actions=[Action.REMOVE] if agreed else [Action.WARN],
                            same_actions=agreed, same_policy=True,
                            checked_at=at + timedelta(hours=1),
                            adjudicator=None if agreed else "emma",
                            final_label=None if agreed else "counterfeit",
                            final_actions=[] if agreed else [Action.WARN],
                            final_agrees=None if agreed else False)))
        case_id = f"cal-{who}"
        ledger.give_calibration(case_id, "set-1", f"item-{who}", who, "ip")
        ledger.record_case(LedgerRecord(
            case_id=case_id, case_uid=f"uid-{case_id}", subject=Subject.parse(
                f"listing:CAL-{who}"), state="closed", queue="ip", priority=Priority.P3,
            policy_ids=[], opened_at=now - timedelta(days=2), timeline=[], revision=1,
            outcome=CalibrationOutcome(set_id="set-1", item_id=f"item-{who}", queue="ip",
                                       reviewer=who, label="counterfeit",
                                       actions=[Action.REMOVE], same_policy=True,
                                       same_actions=who == "bob",
                                       decided_at=now - timedelta(days=2))))


async def _csv(page: Page, url: str) -> tuple[str, list[list[str]]]:
    """A download through the page's session: its content type and rows."""
    got = await page.request.get(url)
    assert got.status == 200, await got.text()
    return got.headers["content-type"], list(csv.reader(io.StringIO(await got.text())))


async def test_a_lead_sees_the_charts_and_a_reviewer_only_their_own_row(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    _figures(dev.ledger, datetime.now(UTC))
    creds = Credentials(dev.ledger)
    for who in ("lena", "bob"):
        creds.set_password(who, f"{who}-password-123")

    lead = await browser.new_page()
    await _sign_in(lead, base, "lena", "lena-password-123")
    await lead.click("nav a[href='/dashboard']")
    await lead.wait_for_url(f"{base}/dashboard")
    assert await lead.inner_text("nav a[href='/dashboard']") == "Dashboard"
    charts = lead.locator("svg.chart[role=img]")
    await expect(charts).to_have_count(4)
    for i in range(4):  # each says what it shows, and draws its target as a dashed line
        chart = charts.nth(i)
        assert await chart.locator("title").count() >= 1
        assert await chart.get_attribute("aria-labelledby")
        assert await chart.locator("line.target").count() == 1
        assert "target" in (await chart.locator("text.target-label").text_content() or "")
        assert await chart.locator("circle.point").count() >= (3 if i < 3 else 1)
    titles = [await charts.nth(i).locator("title").first.text_content() for i in range(4)]
    assert titles == ["Decisions per handling hour per week", "SLA compliance per week",
                      "QA agreement per week", "Calibration accuracy per week"], titles
    reviewers = await lead.inner_text("#reviewers")
    assert "bob" in reviewers and "carol" in reviewers
    bob_row = await lead.inner_text("#reviewer-bob")
    carol_row = await lead.inner_text("#reviewer-carol")
    assert "30.0 (met)" in bob_row and "100 % (met)" in bob_row, bob_row  # 2 min a case
    assert "6.0 (missed)" in carol_row and "50 % (missed)" in carol_row, carol_row
    assert "0 % (missed)" in carol_row.replace("50 %", ""), carol_row  # calibration
    assert "ip" in await lead.inner_text("#queues")
    assert "counterfeit" in await lead.inner_text("#policies")  # carol's adjudicated check
    assert await lead.locator("#weeks tbody tr").count() >= 4  # 28 days: 4 or 5 weeks

    kind, rows = await _csv(lead, f"{base}/dashboard.csv?kind=quality&section=reviewers")
    assert kind.startswith("text/csv")
    columns = COLUMNS[ReportKind.QUALITY][Section.REVIEWERS]
    assert rows[0][:len(columns)] == columns, rows[0]
    assert {r[0] for r in rows[1:]} >= {"bob", "carol"}
    _, weeks = await _csv(lead, f"{base}/dashboard.csv?kind=productivity&section=weeks")
    assert weeks[0][:4] == COLUMNS[ReportKind.PRODUCTIVITY][Section.WEEKS]

    refused = await lead.goto(f"{base}/dashboard?since=2026-03-01&until=2026-02-01")
    assert refused is not None and refused.status == 422
    assert "before it starts" in await lead.inner_text("main")  # one line, nothing shown

    reviewer = await browser.new_page()
    await _sign_in(reviewer, base, "bob", "bob-password-123")
    assert await reviewer.inner_text("nav a[href='/dashboard']") == "My figures"
    assert await reviewer.locator("nav a[href='/qa']").count() == 0
    await reviewer.goto(f"{base}/dashboard")
    await expect(reviewer.locator("#reviewers tbody tr")).to_have_count(1)
    assert await reviewer.locator("#reviewer-bob").count() == 1
    assert not traces(await reviewer.content(), "carol")
    _, own = await _csv(reviewer, f"{base}/dashboard.csv?kind=productivity&section=reviewers")
    assert [r[0] for r in own[1:]] == ["bob"], own
    assert (await reviewer.goto(f"{base}/qa")).status == 403  # QA checks are not his
