"""Escalations on the real servers: the acknowledgement SLA, leadership updates on schedule,
P0 paging, owner-only commands, hand-back to the review case, hand-off, the CLI."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from client.casework import CaseworkClient
from client.ops import Ops
from config import search_attributes
from config.settings import ROOT, Settings
from domain.core import Action, HandBack, Priority, Subject
from domain.engine import Lifecycle
from domain.errors import InvalidInput, Refused
from domain.escalation.lifecycle import ESCALATION
from domain.escalation.models import RESOLVE_ESCALATION, EscalationState, ResolveRequest
from domain.policy import PolicyPack
from tests.helpers import eventually, signed_in
from tests.test_e2e_cli import cli_env, cli_json, people, run_cli


async def _messages(c: CaseworkClient, escalation_id: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in c.ledger.messages(escalation_id) if m["kind"] == kind]


def _sent(c: CaseworkClient, escalation_id: str, kind: str, n: int) -> Any:
    return eventually(lambda: _messages(c, escalation_id, kind), lambda ms: len(ms) >= n)


async def test_an_escalation_never_acknowledged_breaches_its_sla(
        ts: CaseworkClient, ts_env: WorkflowEnvironment) -> None:
    opened = await ts.open_escalation("seller:U-07", "press", "Journalist asks about fake "
                                      "medicines sold by this seller", "P2", opened_by="comms-1")
    assert (opened.state, opened.severity) == ("open", Priority.P2)
    esc = await eventually(lambda: ts.show_escalation(opened.escalation_id),
                           lambda e: e.sla_deadline is not None)
    assert esc.sla_deadline - esc.opened_at == timedelta(hours=1)

    await ts_env.sleep(timedelta(minutes=59))
    assert not (await ts.show_escalation(opened.escalation_id)).sla_breached
    await ts_env.sleep(timedelta(minutes=2))
    esc = await eventually(lambda: ts.show_escalation(opened.escalation_id),
                           lambda e: e.sla_breached)
    assert (esc.state, esc.priority, esc.breaches) == ("open", Priority.P1, 1)
    assert any(e.event == "sla_breached" for e in esc.timeline)
    told = await _sent(ts, esc.case_id, "sla_breach", 2)
    assert sorted(m["recipient"] for m in told) == ["lead-escalations@casework.example",
                                                    "leadership@casework.example"]
    desc = await ts.temporal.get_workflow_handle(esc.case_id).describe()
    attrs = desc.typed_search_attributes
    assert attrs.get(search_attributes.SLA_BREACHED) is True
    assert (attrs.get(search_attributes.STATE), attrs.get(search_attributes.QUEUE),
            attrs.get(search_attributes.PRIORITY)) == ("open", "escalations", "P1")
    # Acknowledged late, it is owned and says so.
    acked = await ts.acknowledge_escalation(esc.case_id, "olga")
    assert (acked.state, acked.owner, acked.sla_breached) == ("acknowledged", "olga", True)


async def test_an_escalation_open_13h_has_sent_exactly_3_leadership_updates(
        ts: CaseworkClient, ts_env: WorkflowEnvironment) -> None:
    opened = await ts.open_escalation("shop:S-03", "regulator", "Market surveillance authority "
                                      "asks about recalled toys", "P1")
    await ts.acknowledge_escalation(opened.escalation_id, "olga")
    await ts.note_escalation(opened.escalation_id, "olga", "Asked legal for the recall list")
    await ts_env.sleep(timedelta(hours=13))
    updates = await _sent(ts, opened.escalation_id, "leadership_update", 3)
    esc = await ts.show_escalation(opened.escalation_id)
    assert len(updates) == 3 and esc.updates_sent == 3
    assert {m["recipient"] for m in updates} == {"leadership@casework.example"}
    last = updates[-1]["body"]
    for part in ("State investigating", "owner olga", "open 12h00m", "severity P1",
                 "Asked legal for the recall list"):
        assert part in last, last
    assert not esc.sla_breached and esc.state == "investigating"


async def test_a_p0_pages_the_on_call_owner_at_once(dev: CaseworkClient) -> None:
    opened = await dev.open_escalation("seller:U-11", "law_enforcement", "Police request: "
                                       "credible threat in listings", Priority.P0)
    [page] = await _sent(dev, opened.escalation_id, "on_call", 1)
    assert page["recipient"] == "oncall-escalations@casework.example"
    assert "P0 escalation" in page["body"] and "credible threat" in page["body"]
    # Raised to P0 by its owner, another escalation pages too; once.
    other = await dev.open_escalation("seller:U-12", "legal", "Cease and desist", "P2")
    await dev.acknowledge_escalation(other.escalation_id, "olga")
    raised = await dev.set_escalation_severity(other.escalation_id, "olga", "P0", "court order")
    assert raised.severity is Priority.P0
    await _sent(dev, other.escalation_id, "on_call", 1)
    with pytest.raises(Refused, match="P0 already"):
        await dev.set_escalation_severity(other.escalation_id, "olga", "P0", "again")


async def test_a_non_owner_is_refused_with_the_reason_and_nothing_changes(
        dev: CaseworkClient) -> None:
    opened = await dev.open_escalation("seller:U-05", "legal", "Trademark owner threatens "
                                       "suit", "P2", owner="olga")
    before = await eventually(lambda: dev.show_escalation(opened.escalation_id),  # settled
                              lambda e: e.sla_deadline is not None and e.committed == e.revision)
    with pytest.raises(Refused, match=r"only the owner \(olga\) may act on this escalation, "
                                      "not mallory"):
        await dev.acknowledge_escalation(opened.escalation_id, "mallory")
    with pytest.raises(Refused, match="cannot resolve an escalation in state 'open'"):
        await dev.resolve_escalation(opened.escalation_id, "olga", "too early")
    assert (await dev.show_escalation(opened.escalation_id)) == before

    await dev.acknowledge_escalation(opened.escalation_id, "olga")
    acked = await dev.show_escalation(opened.escalation_id)
    refusals = [
        dev.acknowledge_escalation(opened.escalation_id, "mallory"),
        dev.note_escalation(opened.escalation_id, "mallory", "mine now"),
        dev.set_escalation_severity(opened.escalation_id, "mallory", "P3", "not serious"),
        dev.resolve_escalation(opened.escalation_id, "mallory", "closing it"),
        dev.hand_off_escalation(opened.escalation_id, "mallory", "legal", "theirs"),
    ]
    for attempt in refusals:
        with pytest.raises(Refused) as refused:
            await attempt
        assert "olga" in str(refused.value) or "state 'acknowledged'" in str(refused.value)
    assert (await dev.show_escalation(opened.escalation_id)) == acked
    # Without a review case there is nothing to carry actions out.
    with pytest.raises(Refused, match="no review case"):
        await dev.resolve_escalation(opened.escalation_id, "olga", "remove it", ["remove"],
                                     ["counterfeit"])
    with pytest.raises(InvalidInput, match="unknown hand-off"):
        await dev.hand_off_escalation(opened.escalation_id, "olga", "the press", "x")
    # Its severity is its owner's call (paging on P0), not an ops bump.
    with pytest.raises(Refused, match="its owner's call"):
        await Ops(dev).repair("bump", opened.escalation_id, "ops-1", "urgent", priority="P0")
    assert (await dev.show_escalation(opened.escalation_id)).priority is Priority.P2


@workflow.defn(sandboxed=False)
class ReviewCaseStandIn:
    """Test-only: a review case that takes a hand-back (the review workflow's own
    `resolve_escalation` Update is built elsewhere)."""

    def __init__(self) -> None:
        self.handed: list[HandBack] = []
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update(name=RESOLVE_ESCALATION)
    def resolve_escalation(self, hand_back: HandBack) -> str:
        self.handed.append(hand_back)
        self.done = True
        return "queued"

    @workflow.query
    def handed_back(self) -> list[HandBack]:
        return self.handed


async def test_resolve_hands_the_decision_back_to_its_review_case(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings) -> None:
    queue, case_id = f"stand-in-{uuid.uuid4().hex[:8]}", f"{settings.case_prefix}-stand-in"
    async with Worker(dev_env.client, task_queue=queue, workflows=[ReviewCaseStandIn]):
        case = await dev_env.client.start_workflow(ReviewCaseStandIn.run, id=case_id,
                                                   task_queue=queue)
        opened = await dev.open_escalation("listing:L-0001", "reviewer", "Brand owner's "
                                           "lawyer is on the phone", "P1", opened_by="alice",
                                           review_case_id=case_id)
        assert opened.review_case_id == case_id
        await dev.acknowledge_escalation(opened.escalation_id, "olga")
        resolved = await dev.resolve_escalation(opened.escalation_id, "olga",
                                                "Counterfeit confirmed by the brand",
                                                ["remove"], ["counterfeit"])
        assert resolved.state in ("resolved", "closed")
        await case.result()
        [handed] = await case.query(ReviewCaseStandIn.handed_back)
        assert handed == HandBack(escalation_id=opened.escalation_id, resolved_by="olga",
                                  policy_ids=["counterfeit"], actions=[Action.REMOVE],
                                  reason="Counterfeit confirmed by the brand")
    esc = await eventually(lambda: dev.show_escalation(opened.escalation_id),
                           lambda e: e.state == "closed")
    assert [e.event for e in esc.timeline][-3:] == ["resolved", "handed_back", "closed"]


async def test_a_hand_back_the_case_cannot_take_is_told_to_the_lead(dev: CaseworkClient) -> None:
    """A review case that is not waiting for it (never escalated, or ended) refuses for good."""
    ref = await dev.open_case("listing:L-0015", "user_report", reporter="buyer-5")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    args = ("listing:L-0015", "reviewer", "Seller threatens staff", "P1")
    opened = await dev.open_escalation(*args, opened_by="alice", review_case_id=ref.case_id)
    assert (opened.review_case_id, opened.source, opened.subject) == (
        ref.case_id, "reviewer", Subject.parse("listing:L-0015"))
    assert (await dev.open_escalation(*args, opened_by="alice", review_case_id=ref.case_id)
            ).escalation_id == opened.escalation_id
    await dev.acknowledge_escalation(opened.escalation_id, "olga")
    await dev.resolve_escalation(opened.escalation_id, "olga", "Back to the reviewer")
    esc = await eventually(lambda: dev.show_escalation(opened.escalation_id),
                           lambda e: e.state == "closed")
    assert [e.event for e in esc.timeline][-3:] == ["resolved", "hand_back_refused", "closed"]
    [told] = await _sent(dev, opened.escalation_id, "needs_attention", 1)
    assert told["recipient"] == "lead-escalations@casework.example"
    assert ref.case_id in told["body"]


async def test_hand_off_closes_it_and_the_same_request_opens_it_once(
        dev: CaseworkClient) -> None:
    args = ("seller:U-20", "law_enforcement", "Europol request about a fraud ring", "P1")
    opened = await dev.open_escalation(*args)
    assert (await dev.open_escalation(*args)).escalation_id == opened.escalation_id
    assert opened.escalation_id.startswith(f"esc-{dev.settings.case_prefix}-seller-U-20-")
    await dev.acknowledge_escalation(opened.escalation_id, "olga")
    await dev.hand_off_escalation(opened.escalation_id, "olga", "law_enforcement",
                                  "Europol takes it over")
    esc = await eventually(lambda: dev.show_escalation(opened.escalation_id),
                           lambda e: e.state == "closed")
    assert esc.handed_off_to == "law_enforcement" and esc.closed_at is not None
    # The same request after it closed answers the closed escalation; it does not reopen.
    again = await eventually(lambda: dev.open_escalation(*args), lambda e: e.state == "closed")
    assert again.escalation_id == opened.escalation_id
    [row] = [r for r in dev.ledger.dump()["cases"] if r["case_id"] == opened.escalation_id]
    assert (row["lifecycle"], row["queue"], row["state"]) == ("escalation", "escalations",
                                                              "closed")


async def test_cli_open_show_ack_note_resolve(dev: CaseworkClient, dev_env: WorkflowEnvironment,
                                              settings: Settings, api_url: str) -> None:
    env = cli_env(dev_env, settings)
    olga, mallory = people(env, api_url, dev, "olga", "mallory")
    comms = signed_in(env, api_url, dev.ledger, "comms-1", ["escalate"])
    receipt = await cli_json(comms, "escalation", "open", "--subject", "seller:U-09", "--source",
                             "press", "--reason", "Newspaper story on counterfeit perfume",
                             "--severity", "P2")
    esc_id = receipt["escalation_id"]
    assert set(receipt) == {"escalation_id"}  # a service learns nothing of its state or owner
    again = await cli_json(olga, "escalation", "open", "--subject", "seller:U-09", "--source",
                           "press", "--reason", "Newspaper story on counterfeit perfume",
                           "--severity", "P2")  # the same request: the same escalation
    assert (again["escalation_id"], again["state"], again["owner"]) == (esc_id, "open", None)
    acked = await cli_json(olga, "escalation", "ack", esc_id)
    assert (acked["escalation_id"], acked["state"], acked["owner"]) == (esc_id, "acknowledged",
                                                                        "olga")
    noted = await cli_json(olga, "escalation", "note", esc_id, "--text",
                           "Statement drafted with legal")
    assert noted["state"] == "investigating"
    raised = await cli_json(olga, "escalation", "severity", esc_id, "--severity", "P1",
                            "--reason", "TV picked it up")
    assert raised["severity"] == "P1"
    refused = await run_cli(mallory, "escalation", "note", esc_id, "--text", "x", ok=False)
    assert refused.returncode == 3 and "only the owner (olga)" in refused.stderr
    resolved = await cli_json(olga, "escalation", "resolve", esc_id,
                              "--reason", "Statement published")
    assert resolved["state"] in ("resolved", "closed")
    shown = await eventually(lambda: cli_json(olga, "escalation", "show", esc_id),
                             lambda e: e["state"] == "closed")
    assert shown["escalation_id"] == esc_id and shown["opened_by"] == "comms-1"
    assert [n["text"] for n in shown["notes"]] == ["Statement drafted with legal"]
    assert shown["resolution"]["reason"] == "Statement published"
    human = (await run_cli(olga, "escalation", "show", esc_id)).stdout
    assert "Statement drafted with legal" in human and "closed" in human
    bad = await run_cli(comms, "escalation", "open", "--subject", "seller:U-09", "--source",
                        "gossip", "--reason", "x", "--severity", "P1", ok=False)
    assert bad.returncode == 2 and "unknown source" in bad.stderr
    bad = await run_cli(comms, "escalation", "open", "--subject", "seller:U-09", "--source",
                        "reviewer", "--reason", "x", "--severity", "P1", ok=False)
    assert bad.returncode == 2 and "opened from its review case" in bad.stderr
    lifecycle = await run_cli(env, "lifecycle", "escalation", "--format", "mermaid")
    assert "open --> acknowledged: acknowledge [acknowledge_allowed]" in lifecycle.stdout


def _escalation(**kw: Any) -> EscalationState:
    from datetime import UTC, datetime

    return EscalationState(escalation_id="esc-1", case_uid="u", subject=Subject.parse("seller:U-1"),
                           source="press", state="acknowledged", severity=Priority.P2,
                           owner="olga", reason="r", opened_by="comms",
                           opened_at=datetime(2026, 11, 26, tzinfo=UTC), **kw)


def test_the_declaration_settles_only_what_is_owned() -> None:
    lc = Lifecycle(ESCALATION, _escalation())
    with pytest.raises(Refused, match="only the owner"):
        lc.check("resolve", ResolveRequest(owner="bob", reason="x"))
    assert lc.fire("resolve", ResolveRequest(owner="olga", reason="x")) == "resolved"
    with pytest.raises(Refused, match="cannot hand off an escalation in state 'resolved'"):
        lc.check("hand_off")
    assert lc.fire("close") == "closed"


def test_the_pack_configures_escalations_with_defaults() -> None:
    text = (ROOT / "policies" / "pack.toml").read_text()
    setup = PolicyPack.from_toml(text).escalation_setup()
    assert (setup.policy.ack_sla_hours, setup.policy.update_every_hours) == (1, 4)
    start, end = text.index("[escalation]"), text.index("# Notices from these sources")
    default = PolicyPack.from_toml(text[:start] + text[end:]).escalation_setup()
    assert default.policy == setup.policy
    with pytest.raises(InvalidInput, match="ack_sla_hours"):
        PolicyPack.from_toml(text.replace("ack_sla_hours = 1", "ack_sla_hours = 0"))
