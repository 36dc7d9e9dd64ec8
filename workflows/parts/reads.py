"""What every lifecycle workflow answers the same way: its summary and timeline queries, and
the wait before it ends or continues as new."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.core import CaseSummary, TimelineEvent
    from workflows.parts.journal import Journal
    from workflows.parts.outbound import Outbound


class Reads:
    journal: Journal
    out: Outbound

    @workflow.query
    def summary(self) -> CaseSummary:
        """The record's small view (an escalation answers its own)."""
        return self.journal.record.summary()  # type: ignore[no-any-return]

    @workflow.query
    def row(self) -> CaseSummary:
        """The record as its ledger row names it (every lifecycle alike): kind, queue, uid."""
        record = self.journal.record
        return record.ledger_record(record.revision)  # type: ignore[no-any-return]

    @workflow.query
    def timeline(self) -> list[TimelineEvent]:
        return self.journal.record.timeline  # type: ignore[no-any-return]

    async def _settled(self) -> None:
        """No handler and no staff message in flight: the run may end or continue as new."""
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self.out.idle())

