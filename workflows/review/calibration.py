"""A calibration case's two ends: scored at its decision, or closed unanswered when given back.
Nothing acts and nobody hears either way."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calibration import CalibrationScore
    from domain.core import Actor, Event


class ReviewCalibration:
    case: Any
    lc: Any
    journal: Any

    async def _withdraw(self) -> None:
        """A calibration case given back (released, its claim lapsed, cancelled by ops) closes
        unanswered: it counts nowhere and no one else gets it."""
        self.lc.fire("withdraw")
        self.case.sla_deadline, self.case.closed_at = None, workflow.now()
        self.journal.event(Actor.SLA_CLOCK, Event.CLOSED,
                           "a calibration case given back unanswered: not scored")
        await self.journal.commit()

    async def _score(self, score: CalibrationScore) -> None:
        """A calibration case ends at its decision: nothing acts, nobody hears; the reviewer
        reads the key and why."""
        self.lc.fire("score")
        self.case.sla_deadline, self.case.closed_at = None, workflow.now()
        expected = ", ".join([*score.expected_policy_ids,
                              *(a.value for a in score.expected_actions)])
        self.journal.event(Actor.SLA_CLOCK, Event.CLOSED,
                           f"a calibration case: {'matches' if score.correct else 'differs from'}"
                           f" the key ({expected}): {score.explanation}")
        await self.journal.commit()
