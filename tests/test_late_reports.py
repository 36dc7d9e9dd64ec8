"""No report is absorbed: late reports get their own review, every reporter hears once, priority
follows every join, and report identity is scoped by source and reporter."""

from __future__ import annotations

from datetime import timedelta

from client.casework import CaseworkClient
from domain.core import (
    Action,
    Priority,
    Subject,
)
from domain.review.models import MAX_REPORTS_PER_CASE
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, removed


async def test_a_report_after_the_decision_opens_a_follow_up_case(dev: CaseworkClient) -> None:
    case_id = await removed(dev, "listing:L-0001")
    late = await dev.open_case("listing:L-0001", "user_report", reporter="buyer-2",
                               text="still see it in search")
    assert (late.outcome, late.case_id, late.followup_of) == (
        "followup", f"{case_id}~2", case_id)
    again = await dev.open_case("listing:L-0001", "user_report", reporter="buyer-2",
                                text="still see it in search")
    assert again.case_id == late.case_id and again.outcome in ("followup", "duplicate")

    base = await dev.show(case_id)
    assert base.followups == [late.case_id] and len(base.reports) == 1
    assert [e.event for e in base.timeline].count("report_forwarded") == 1
    follow = await eventually(lambda: dev.show(late.case_id), lambda c: c.state == "queued")
    assert follow.followup_of == case_id and follow.generation == 2
    assert [r.reporter for r in follow.reports] == ["buyer-2"]

    await dev.claim(late.case_id, "bob")
    await dev.decide(late.case_id, "bob", [], ["no_action"], "already removed under the case")
    await eventually(lambda: dev.show(late.case_id), lambda c: c.state == "closed")
    outcomes = [m for m in dev.ledger.messages() if m["kind"] == "outcome"]
    assert sorted(m["recipient"] for m in outcomes) == ["reporter:buyer-1", "reporter:buyer-2"]
    told = next(m["body"] for m in outcomes if m["case_id"] == late.case_id)
    assert "Already in force: remove." in told and "No further action" in told


async def test_a_follow_up_never_applies_an_action_twice(dev: CaseworkClient,
                                                         sandbox: SandboxMarketplace) -> None:
    case_id = await removed(dev, "listing:L-0001")
    late = await dev.open_case("listing:L-0001", "trusted_flagger", reporter="tf-9", text="fake")
    await eventually(lambda: dev.show(late.case_id), lambda c: c.state == "queued")
    await dev.claim(late.case_id, "bob")
    await dev.decide(late.case_id, "bob", ["counterfeit"], ["remove"], "still a replica")
    follow = await eventually(lambda: dev.show(late.case_id), lambda c: c.state == "closed")
    assert [e.action for e in follow.in_force] == [Action.REMOVE]
    assert follow.enforcement == [] and follow.statement_puid is None  # the first case's stand
    assert "already_in_force" in [e.event for e in follow.timeline]
    assert sandbox.enforcement_count(Subject.parse("listing:L-0001"), Action.REMOVE) == 1
    assert len(dev.statements()) == 1
    sellers = [m for m in dev.ledger.messages() if m["kind"] == "statement_of_reasons"]
    assert [m["case_id"] for m in sellers] == [case_id]


async def test_each_reporter_hears_the_outcome_once(dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0054", "user_report", reporter="buyer-7", text="a")
    await dev.open_case("listing:L-0054", "user_report", reporter="buyer-7", text="again")
    await dev.open_case("listing:L-0054", "user_report", reporter="buyer-8", text="b")
    await dev.open_case("listing:L-0054", "classifier", text="model 0.7")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "tortoiseshell")
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    assert len(case.reports) == 4
    outcomes = [m for m in dev.ledger.messages(ref.case_id) if m["kind"] == "outcome"]
    assert sorted(m["recipient"] for m in outcomes) == ["reporter:buyer-7", "reporter:buyer-8"]
    assert all("Carried out: remove." in m["body"] for m in outcomes)


async def test_report_ids_are_scoped_by_source_and_reporter(dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-1",
                              report_id="42")
    other = await dev.open_case("listing:L-0100", "rights_owner", reporter="brand-x",
                                report_id="42")
    same = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-1",
                               report_id="42", text="resent")
    # The same report again gets the same answer (its key is the Update id) and adds nothing.
    assert (other.outcome, same.outcome) == ("joined", ref.outcome)
    case = await dev.show(ref.case_id)
    assert [(r.source.value, r.reporter) for r in case.reports] == [
        ("user_report", "buyer-1"), ("rights_owner", "brand-x")]


async def test_a_law_enforcement_notice_joining_raises_priority_and_sla(
        dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-1",
                              text="wrong colour")
    queued = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    assert (queued.queue, queued.priority) == ("general", Priority.P3)
    joined = await dev.open_case("listing:L-0100", "law_enforcement", reporter="police-nl",
                                 text="order 2026/117")
    assert joined.priority == Priority.P0
    case = await dev.show(ref.case_id)
    joined_at = next(e.at for e in case.timeline if e.event == "report_joined")
    assert case.sla_deadline == joined_at + timedelta(hours=case.sla_hours[Priority.P0])
    assert case.timeline[-1].event == "reprioritised"
    [entry] = dev.queue("general")
    assert entry.priority == Priority.P0


async def test_reports_beyond_the_cap_are_kept_in_the_ledger_and_told(
        dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0033", "user_report", reporter="r-0", text="0")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    extra = 3
    for i in range(1, MAX_REPORTS_PER_CASE + extra):
        out = await dev.open_case("listing:L-0033", "user_report", reporter=f"r-{i}",
                                  text=str(i))
        assert out.outcome == "joined"
    case = await dev.show(ref.case_id)
    assert (len(case.reports), case.reports_overflow) == (MAX_REPORTS_PER_CASE, extra)
    await dev.open_case("listing:L-0033", "user_report", reporter=f"r-{MAX_REPORTS_PER_CASE}",
                        text=str(MAX_REPORTS_PER_CASE))  # sent again: nothing more is kept
    assert (await dev.show(ref.case_id)).reports_overflow == extra
    assert len(dev.ledger.overflow_reporters(case.case_uid)) == extra

    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", [], ["no_action"], "legal item")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "closed")
    told = {m["recipient"] for m in dev.ledger.messages(ref.case_id) if m["kind"] == "outcome"}
    assert told == {f"reporter:r-{i}" for i in range(MAX_REPORTS_PER_CASE + extra)}
