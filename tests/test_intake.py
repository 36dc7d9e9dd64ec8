"""Reports joining an open case."""

from __future__ import annotations

from datetime import timedelta

from client.casework import CaseworkClient
from config import search_attributes
from domain.core import Priority
from tests.helpers import eventually


async def test_a_trusted_flagger_joining_raises_priority_once(dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0049", "user_report", reporter="buyer-1")
    assert (ref.queue, ref.priority) == ("wildlife", Priority.P2)
    joined = await dev.open_case("listing:L-0049", "trusted_flagger", reporter="tf-wwf",
                                 text="CITES Appendix I")
    assert (joined.outcome, joined.priority) == ("joined", Priority.P1)
    case = await dev.show(ref.case_id)
    # The P1 SLA (4 h) counts from the notice's arrival: the deadline moved up from 24 h.
    joined_at = case.timeline[-2].at
    assert case.timeline[-2].event == "report_joined"
    assert case.sla_deadline == joined_at + timedelta(hours=4)
    assert case.timeline[-1].event == "reprioritised"
    again = await dev.open_case("listing:L-0049", "trusted_flagger", reporter="tf-other",
                                text="also ivory")
    assert again.priority == Priority.P1  # a second flagger does not raise it again
    desc = await eventually(
        lambda: dev.temporal.get_workflow_handle(ref.case_id).describe(),
        lambda d: d.typed_search_attributes.get(search_attributes.PRIORITY) == "P1")
    assert desc.typed_search_attributes.get(search_attributes.PRIORITY) == "P1"
    [entry] = dev.queue("wildlife")
    assert entry.priority == Priority.P1
