"""A decided restriction that cannot land is recorded, and no statement claims it did."""

from __future__ import annotations

from client.casework import CaseworkClient
from tests.helpers import eventually


async def test_unknown_subject_is_reviewed_and_a_failed_action_yields_no_statement(
        dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-9999", "user_report", reporter="buyer-1",
                              text="gone already?")
    assert (ref.state, ref.queue) == ("queued", "general")  # a person still looks at it
    case = await dev.show(ref.case_id)
    assert "does not know this subject" in case.timeline[1].detail
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica")
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "closed",
                            timeout=30)
    assert case.enforcement == [] and case.statement_puid is None
    failed = [e for e in case.timeline if e.event == "action_failed"]
    assert len(failed) == 1 and "remove" in failed[0].detail
    assert dev.statements() == []
    [outcome] = dev.ledger.messages(ref.case_id)
    assert outcome["kind"] == "outcome"
    assert "Decided but not carried out: remove." in outcome["body"]
    assert "Carried out" not in outcome["body"]  # a failed restriction is never claimed
