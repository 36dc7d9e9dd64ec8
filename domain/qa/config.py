"""The pack's `[qa]` and `[targets]` tables: how many decisions get a blind second review, and
what each queue and the team are held to."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from domain.core import Action

QA_QUEUE = "qa"  # where checks wait (the pack configures its lead and SLA as any queue's)

# A share of decisions: a number from 0 to 1 (a string or a boolean is refused, not coerced).
Rate = Annotated[StrictFloat | StrictInt, Field(ge=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class QaConfig(_Strict):
    """A decision is sampled at the highest rate that applies to it: `rate` for any human
    decision, `queues`, `policies` and `actions` (`no_action` among them) by what it was,
    `automated` for auto-actioned cases, `new_reviewer_rate` for a reviewer's first
    `new_reviewer_decisions`, `drift_rate` for a reviewer whose agreement over their last
    `drift_window` checks fell under `drift_agreement`; appeal verdicts at `appeals`. Draws are
    an HMAC of the case under a key only the workers hold (derived from the payload key): the
    same cases on rerun and on replay, unpredictable to who decides. QA reviews wait in
    the `qa` queue, due within `sla_hours`. Every rate is 0 until the pack sets it: no checks."""

    rate: Rate = 0
    queues: dict[str, Rate] = Field(default_factory=dict)
    policies: dict[str, Rate] = Field(default_factory=dict)
    actions: dict[Action, Rate] = Field(default_factory=dict)
    automated: Rate = 0
    new_reviewer_decisions: StrictInt = Field(default=50, ge=0)
    new_reviewer_rate: Rate = 0
    drift_agreement: Rate = 0.85
    drift_window: StrictInt = Field(default=20, ge=1)
    drift_rate: Rate = 0
    appeals: Rate = 0.0
    sla_hours: StrictFloat | StrictInt = Field(default=48, gt=0, le=24 * 365)


    @property
    def on(self) -> bool:
        """Any rate above 0: decisions are drawn."""
        return max([self.rate, self.automated, self.new_reviewer_rate, self.drift_rate,
                    self.appeals, *self.queues.values(), *self.policies.values(),
                    *self.actions.values()]) > 0


class Target(_Strict):
    """What a queue (or the team) is held to; a figure left out is not a target there."""

    decisions_per_hour: StrictFloat | StrictInt | None = Field(default=None, gt=0, le=10_000)
    sla_compliance: Rate | None = None
    qa_agreement: Rate | None = None
    calibration_accuracy: Rate | None = None


class TargetsConfig(_Strict):
    team: Target = Target(decisions_per_hour=20, sla_compliance=0.95, qa_agreement=0.9,
                          calibration_accuracy=0.9)
    queues: dict[str, Target] = Field(default_factory=dict)

    def of(self, queue: str | None) -> Target:
        """The queue's targets, each figure it leaves out taken from the team's."""
        own = self.queues.get(queue or "")
        if own is None:
            return self.team
        return self.team.model_copy(update=own.model_dump(exclude_none=True))
