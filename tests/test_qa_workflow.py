"""A QA check on the real server (issue 17, in progress): claimed and decided blind by a QA
reviewer who neither made nor approved the decision, agreement closing it, a disagreement
adjudicated by a senior who is neither party; the check's reads and timeline hold no trace of
the first verdict or its author before that."""

from __future__ import annotations

import concurrent.futures
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from client.ops import Ops
from config.settings import Settings
from domain.core import Action, Decision, Report, Source, Subject
from domain.errors import Refused
from domain.qa.commands import QA_COMMANDS as QA
from domain.qa.models import BlindCheck, QaInput, QaState, Seen
from domain.review.models import CaseState
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, own_pack_worker, removed, serving, signed_in
from tests.test_e2e_cli import cli_env, cli_json, run_cli
from workflows.qa import QaWorkflow
from workflows.review.qa import qa_id_for

SECRET = "the decider's own words, never shown blind"
QA_ON = '\n[queues.qa]\nlead = "lead-qa@casework.example"\n[qa]\nrate = 1.0\n'


async def _check(dev: CaseworkClient, sla_hours: float = 48) -> str:
    """A check of sam's removal of L-0002 (approved by ada; both seniors), queued."""
    pack = dev.pack()
    decision = Decision(decided_by="sam", policy_ids=["counterfeit"], actions=[Action.REMOVE],
                        reason=SECRET, decided_at=datetime.now(UTC), automated=False)
    seen = Seen(reports=[Report(report_id="r-1", source=Source.USER_REPORT, reporter="buyer-1",
                                text="a dupe", received_at=datetime.now(UTC))],
                policies=[p.ref() for p in pack.policies], review_queue="ip")
    qa_id = f"qa-{uuid.uuid4().hex[:8]}"
    await dev.temporal.start_workflow(
        QaWorkflow.run, QaInput(review_case_id="case-listing-L-0002", review_case_uid="uid-0",
                                subject=Subject.parse("listing:L-0002"), first=decision,
                                first_approver="ada", seen=seen,
                                why_sampled="action remove: rate 1", sla_hours=sla_hours),
        id=qa_id, task_queue=dev.settings.task_queue)
    await eventually(lambda: dev.row(qa_id), lambda r: r is not None and r.state == "queued")
    return qa_id


async def _blind(dev: CaseworkClient, qa_id: str) -> str:
    handle = dev.temporal.get_workflow_handle(qa_id)
    shown = await handle.query(QaWorkflow.blind, result_type=BlindCheck)
    events = await handle.query(QaWorkflow.timeline)
    return shown.model_dump_json() + " ".join(f"{e.actor} {e.detail}" for e in events)


async def test_a_check_is_blind_until_its_verdict_and_agreement_closes_it(
        dev: CaseworkClient) -> None:
    qa_id = await _check(dev)
    for party in ("sam", "ada"):  # the decider and the approver
        with pytest.raises(Refused, match=f"{party} (made|approved) the decision"):
            await dev.run(QA["claim"], qa_id, party)
    with pytest.raises(Refused, match="lacks the qa or senior role"):
        await dev.run(QA["claim"], qa_id, "bob")
    await dev.run(QA["claim"], qa_id, "quinn")
    shown = await _blind(dev, qa_id)
    for trace in ("sam", "ada", SECRET, "case-listing-L-0002", "uid-0", "rate 1"):
        assert trace not in shown, trace
    await dev.run(QA["decide"], qa_id, "quinn", {
        "policy_ids": ["counterfeit"], "actions": ["remove"], "reason": "a replica"})
    done = await eventually(lambda: dev.row(qa_id), lambda r: r is not None and r.state == "closed")
    assert done.assignee == "quinn"
    qa = await dev.temporal.get_workflow_handle(qa_id, result_type=QaState).result()
    assert qa.agreement is not None and qa.agreement.agreed


async def test_a_disagreement_is_adjudicated_by_a_senior_who_is_neither_party(
        dev: CaseworkClient) -> None:
    qa_id = await _check(dev)
    await dev.run(QA["claim"], qa_id, "quinn")
    await dev.run(QA["decide"], qa_id, "quinn", {
        "policy_ids": ["counterfeit"], "actions": ["warn"], "reason": "a warning is enough"})
    await eventually(lambda: dev.row(qa_id),
                     lambda r: r is not None and r.state == "adjudicating")
    adjudication = {"policy_ids": ["counterfeit"], "actions": ["warn"], "reason": "warn"}
    for party in ("sam", "ada"):  # the decider, the approver
        with pytest.raises(Refused, match=f"{party} took part"):
            await dev.run(QA["adjudicate"], qa_id, party, adjudication)
    with pytest.raises(Refused, match="lacks the senior role"):
        await dev.run(QA["adjudicate"], qa_id, "quinn", adjudication)
    await dev.run(QA["adjudicate"], qa_id, "emma", adjudication)
    qa = await dev.temporal.get_workflow_handle(qa_id, result_type=QaState).result()
    assert qa.state == "corrected" and qa.final_agreement is not None
    assert (qa.final_agreement.same_policy, qa.final_agreement.same_actions) == (True, False)
    events = [e.event for e in qa.timeline]
    assert events[-1] == "corrected" and {"qa_decided", "adjudicated"} <= set(events)


async def _decided(cw: CaseworkClient, subject: str, actions: list[str],
                   policies: list[str], reason: str) -> CaseState:
    """bob's decision on `subject`, carried out and told (the case past its draw)."""
    case_id = (await cw.open_case(subject, "user_report", reporter="buyer-1",
                                  text="a dupe")).case_id
    await eventually(lambda: cw.row(case_id), lambda r: r is not None and r.state == "queued")
    await cw.claim(case_id, "bob")
    await cw.decide(case_id, "bob", policies, actions, reason)
    return await eventually(lambda: cw.show(case_id),
                            lambda c: c.state in ("appealable", "closed"))


async def test_decisions_are_drawn_for_checks_at_the_packs_rates(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """With `[qa] rate = 1` every human decision gets a check (once, keyed by its case) seeing
    what the decider saw; auto-actions at their own rate (0 here) get none."""
    async with own_pack_worker(dev_env.client, settings, executor,
                               QA_ON) as cw:
        case = await _decided(cw, "listing:L-0002", ["warn"], ["counterfeit"],
                              "a first dupe: a warning")
        assert case.state == "closed"
        qa_id = qa_id_for(case.case_uid)
        assert any(e.event == "qa_sampled" and qa_id in e.detail for e in case.timeline)
        check = await eventually(lambda: cw.row(qa_id),
                                 lambda r: r is not None and r.state == "queued")
        assert (check.lifecycle, check.queue, check.subject) == ("qa", "qa", case.subject)
        shown = await cw.temporal.get_workflow_handle(qa_id).query(QaWorkflow.blind,
                                                                   result_type=BlindCheck)
        assert shown.seen.facts == case.facts and shown.seen.reports == case.reports
        assert "bob" not in shown.model_dump_json()
        bag = (await cw.open_case("listing:L-0003", "user_report", reporter="buyer-1")).case_id
        auto = await eventually(lambda: cw.show(bag), lambda c: c.state == "appealable")
        assert not any(e.event == "qa_sampled" for e in auto.timeline)  # automated = 0


async def _checked(cw: CaseworkClient, subject: str, actions: list[str], policies: list[str],
                   then: list[str], then_policies: list[str]) -> tuple[str, str]:
    """bob decides `subject`; quinn's blind verdict and then emma's adjudication say `then`."""
    case = await _decided(cw, subject, actions, policies, "bob's reason")
    case_id = case.case_id
    qa_id = qa_id_for(case.case_uid)
    await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "queued")
    await cw.run(QA["claim"], qa_id, "quinn")
    verdict = {"policy_ids": then_policies, "actions": then, "reason": "not what I see"}
    await cw.run(QA["decide"], qa_id, "quinn", verdict)
    await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "adjudicating")
    await cw.run(QA["adjudicate"], qa_id, "emma", {**verdict, "reason": "the senior's word"})
    await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "corrected")
    return case_id, qa_id


async def test_a_correction_goes_through_the_appeals_path_once(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """Adjudicated against a removal: the listing is restored exactly once, the strike taken
    back, the seller told. Adjudicated against no action: the removal applies with its
    statement of reasons and the seller's notice."""
    async with own_pack_worker(dev_env.client, settings, executor,
                               QA_ON) as cw:
        sandbox = SandboxMarketplace(cw.settings.sandbox_db)
        belt = Subject.parse("listing:L-0002")
        _, qa_id = await _checked(cw, str(belt), ["remove"], ["counterfeit"], ["no_action"], [])
        assert sandbox.show(belt)["status"] == "active"
        assert sandbox.enforcement_count(belt, Action.REMOVE, reversals=True) == 1
        assert await cw.strikes("U-01", ["ip"]) == (0, [])  # taken back
        told = [m for m in cw.ledger.messages(qa_id) if m["kind"] == "decision_corrected"]
        assert len(told) == 1 and "reversed remove" in told[0]["body"], told
        events = [e.event for e in await cw.temporal.get_workflow_handle(qa_id).query(
            QaWorkflow.timeline)]
        assert events[-3:] == ["reversed", "seller_notified", "corrected"], events

        perfume = Subject.parse("listing:L-0004")
        _, qa_id = await _checked(cw, str(perfume), ["no_action"], [], ["remove"],
                                  ["counterfeit"])
        assert sandbox.show(perfume)["status"] == "removed"
        assert sandbox.enforcement_count(perfume, Action.REMOVE) == 1
        qa = await cw.temporal.get_workflow_handle(qa_id, result_type=QaState).result()
        assert qa.statement_puid and qa.statement is not None
        assert qa.statement["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
        assert any(m["kind"] == "statement_of_reasons" for m in cw.ledger.messages(qa_id))


async def test_a_check_past_its_deadline_breaches_and_still_takes_its_verdicts(
        ts: CaseworkClient, ts_env: WorkflowEnvironment) -> None:
    """Missed: marked, one priority step up, a new deadline; then claimed, decided and
    adjudicated as ever (the audit found it jammed on the raised priority's SLA)."""
    qa_id = await _check(ts, sla_hours=2)
    await ts_env.sleep(timedelta(hours=3))
    row = await eventually(lambda: ts.row(qa_id), lambda r: r is not None and r.sla_breached)
    assert (row.state, row.priority.value) == ("queued", "P2")
    await ts.run(QA["claim"], qa_id, "quinn")
    await ts.run(QA["decide"], qa_id, "quinn", {
        "policy_ids": ["counterfeit"], "actions": ["warn"], "reason": "a warning is enough"})
    await eventually(lambda: ts.row(qa_id), lambda r: r is not None and r.state == "adjudicating")


async def test_ops_hand_a_check_only_to_who_may_check_it(dev: CaseworkClient) -> None:
    qa_id = await _check(dev)
    ops = Ops(dev)
    with pytest.raises(Refused, match="lacks the qa or senior role"):
        await ops.repair("reassign", qa_id, "ops-1", "bob is free", to="bob")
    with pytest.raises(Refused, match="sam made the decision"):
        await ops.repair("reassign", qa_id, "ops-1", "sam is free", to="sam")
    await ops.repair("reassign", qa_id, "ops-1", "quinn is free", to="quinn")
    assert (await eventually(lambda: dev.row(qa_id),
                             lambda r: r is not None and r.assignee == "quinn")).state == "in_review"


async def test_a_check_through_the_cli_and_the_api_is_blind_until_its_verdict(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        api_url: str) -> None:
    qa_id = await _check(dev)
    base = cli_env(dev_env, settings)
    quinn, emma, bob = (signed_in(base, api_url, dev.ledger, w) for w in ("quinn", "emma", "bob"))
    assert qa_id in [r["case_id"] for r in (await cli_json(quinn, "qa", "list"))["items"]]
    await run_cli(quinn, "qa", "claim", qa_id)
    shown = ((await run_cli(quinn, "qa", "show", qa_id)).stdout
             + json.dumps(await cli_json(quinn, "qa", "show", qa_id)))
    for trace in ("sam", "ada", SECRET, "case-listing-L-0002", "uid-0", "rate 1"):
        assert not re.search(rf"\b{re.escape(trace)}\b", shown), trace
    assert "blind" in shown
    refused = await run_cli(bob, "qa", "show", qa_id, ok=False)
    assert refused.returncode != 0 and "may not read QA checks" in refused.stderr
    await run_cli(quinn, "qa", "decide", qa_id, "--action", "warn", "--policy", "counterfeit",
                  "--reason", "a warning is enough")
    refused = await run_cli(quinn, "qa", "adjudicate", qa_id, "--action", "warn", "--policy",
                            "counterfeit", "--reason", "mine", ok=False)
    assert refused.returncode != 0 and "lacks the senior role" in refused.stderr
    await run_cli(emma, "qa", "adjudicate", qa_id, "--action", "warn", "--policy",
                  "counterfeit", "--reason", "a warning is enough")
    revealed = await cli_json(emma, "qa", "show", qa_id)
    assert revealed["revealed"] and revealed["first"]["decided_by"] == "sam"
    assert revealed["check"]["state"] in ("correcting", "corrected")


async def test_a_qa_reviewer_does_not_open_the_case_of_the_check_they_hold(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """emma (a senior who reads every queue) holds a check of bob's decision: the case (API
    and console) is closed to her until her verdict is in."""
    async with own_pack_worker(dev_env.client, settings, executor, QA_ON) as cw, \
            serving(cw) as url:
        case = await _decided(cw, "listing:L-0002", ["warn"], ["counterfeit"], "bob's reason")
        assert case.state == "closed"
        case_id = case.case_id
        qa_id = qa_id_for(case.case_uid)
        await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "queued")
        await cw.run(QA["claim"], qa_id, "emma")
        _, token = Credentials(cw.ledger).create_token("emma")
        async with httpx.AsyncClient(base_url=url, headers={
                "Authorization": f"Bearer {token}"}) as http:
            for path in (f"/api/cases/{case_id}", f"/api/cases/{case_id}/timeline"):
                closed = await http.get(path)
                assert closed.status_code == 403 and "blind QA check" in closed.text
                assert "bob" not in closed.text
            await cw.run(QA["decide"], qa_id, "emma", {
                "policy_ids": ["counterfeit"], "actions": ["warn"], "reason": "agreed"})
            await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "closed")
            assert (await http.get(f"/api/cases/{case_id}")).status_code == 200


async def test_an_appeal_verdict_is_drawn_and_a_senior_corrects_it(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """`[qa] appeals = 1`: emma's overturn of alice's removal gets a blind check (the review
    decision itself none: its rate is 0); quinn disagrees, sam (neither party) restores the
    removal: applied again once with its statement of reasons; the reports count the verdict
    as emma's decision, checked and not agreed."""
    extra = '\n[queues.qa]\nlead = "lead-qa@casework.example"\n[qa]\nappeals = 1.0\n'
    async with own_pack_worker(dev_env.client, settings, executor, extra) as cw:
        sandbox = SandboxMarketplace(cw.settings.sandbox_db)
        watch = Subject.parse("listing:L-0007")
        case_id = await removed(cw, watch)
        case = await cw.show(case_id)
        assert not any(e.event == "qa_sampled" for e in case.timeline)
        appeal = await cw.file_appeal(case_id, "genuine, invoice attached")
        await eventually(lambda: cw.appeal(appeal.appeal_id), lambda a: a.state == "queued")
        await cw.claim(appeal.appeal_id, "emma")  # appeals and senior
        await cw.decide_appeal(appeal.appeal_id, "emma", "overturned", [], [], "invoice ok")
        done = await eventually(lambda: cw.appeal(appeal.appeal_id),
                                lambda a: a.state == "closed")
        qa_id = qa_id_for(done.case_uid)
        assert any(e.event == "qa_sampled" and qa_id in e.detail for e in done.timeline)
        assert sandbox.show(watch)["status"] == "active"
        await eventually(lambda: cw.row(qa_id), lambda r: r is not None and r.state == "queued")
        shown = (await cw.temporal.get_workflow_handle(qa_id).query(
            QaWorkflow.blind, result_type=BlindCheck)).model_dump_json()
        assert "emma" not in shown and "invoice ok" not in shown
        with pytest.raises(Refused, match="emma made the decision"):
            await cw.run(QA["claim"], qa_id, "emma")
        await cw.run(QA["claim"], qa_id, "quinn")
        verdict = {"policy_ids": ["counterfeit"], "actions": ["remove"], "reason": "a replica"}
        await cw.run(QA["decide"], qa_id, "quinn", verdict)
        await eventually(lambda: cw.row(qa_id),
                         lambda r: r is not None and r.state == "adjudicating")
        await cw.run(QA["adjudicate"], qa_id, "sam", {**verdict, "reason": "the serial is fake"})
        qa = await cw.temporal.get_workflow_handle(qa_id, result_type=QaState).result()
        assert qa.state == "corrected" and [e.action for e in qa.applied] == [Action.REMOVE]
        assert sandbox.show(watch)["status"] == "removed"
        assert sandbox.enforcement_count(watch, Action.REMOVE) == 2  # alice's, then sam's
        assert qa.statement_puid and any(m["kind"] == "statement_of_reasons"
                                         for m in cw.ledger.messages(qa_id))
        rows = {r["case_uid"]: r for r in cw.ledger.dump()["decisions"]}
        assert (rows[done.case_uid]["decider"], rows[done.case_uid]["queue"]) == (
            "emma", "appeals")
        [result] = [r for r in cw.ledger.dump()["qa_results"] if r["case_uid"] == qa.case_uid]
        assert (result["review_case_uid"], result["final_agrees"]) == (done.case_uid, 0)
