"""What a record tells the ledger about the work it settled, for the reports: a decision (who,
how long from claim, within SLA), a QA check's verdicts, an appeal's outcome, a calibration
answer's score. Each rides on the record's ledger row (`LedgerRecord.outcome`) and is written
in the same transaction, so a retried write or a rebuild from the workflows gives the same row.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from domain.core import Action, Detector, Model, SubjectFacts, SubjectKind

NONE = "none"  # the label of a decision that cites no policy (no_action)


def label(policy_ids: list[str], actions: list[Action]) -> str:
    """A decision as one label: the policy it enforces (of several, the first by name, whatever
    order they were cited in), or `none` for one that acts on nothing."""
    if not policy_ids or all(a is Action.NO_ACTION for a in actions):
        return NONE
    return min(policy_ids)


class Seen(Model):
    """What a review case's decision was made on, for the validation sets: the subject as
    screened (the snapshot the reviewer saw), the policies it was considered under (hits, hints
    and those cited), the pack's version and the detector's model and score at intake."""

    subject_kind: SubjectKind
    subject_id: str
    facts: SubjectFacts | None = None
    considered: list[str] = Field(default_factory=list)
    pack_version: str = ""
    detector: Detector | None = None


class DecisionOutcome(Model):
    """A review case's decision (the latest one, by a person or the policy engine)."""

    kind: Literal["decision"] = "decision"
    queue: str
    decider: str
    automated: bool
    label: str
    actions: list[Action]
    claimed_at: AwareDatetime | None = None  # the decider's last claim before deciding
    decided_at: AwareDatetime
    breached: bool
    seen: Seen | None = None  # a review case's (not an appeal verdict's)


class QaOutcome(Model):
    """A QA check of the decision on `review_case_uid`: the QA verdict and, after a
    disagreement, the senior's final word."""

    kind: Literal["qa"] = "qa"
    review_case_uid: str
    checker: str | None = None
    label: str | None = None
    actions: list[Action] = Field(default_factory=list)
    same_actions: bool | None = None
    same_policy: bool | None = None
    checked_at: AwareDatetime | None = None
    adjudicator: str | None = None
    final_label: str | None = None
    final_actions: list[Action] = Field(default_factory=list)
    final_agrees: bool | None = None  # the final word agrees with the decision checked
    closed_at: AwareDatetime | None = None


class AppealOutcome(Model):
    """An appeal's verdict: the final word on the review case's decision, and a decision of
    the appeals queue's reviewer (the ledger keeps both)."""

    kind: Literal["appeal"] = "appeal"
    review_case_uid: str
    outcome: str
    label: str  # the final word's label
    decided_at: AwareDatetime
    queue: str = "appeals"
    decider: str = ""
    actions: list[Action] = Field(default_factory=list)
    claimed_at: AwareDatetime | None = None
    breached: bool = False

    def decision(self) -> DecisionOutcome | None:
        if not self.decider:
            return None
        return DecisionOutcome(queue=self.queue, decider=self.decider, automated=False,
                               label=self.label, actions=self.actions,
                               claimed_at=self.claimed_at, decided_at=self.decided_at,
                               breached=self.breached)


class CalibrationOutcome(Model):
    """A reviewer's answer to a calibration case, scored against its key."""

    kind: Literal["calibration"] = "calibration"
    set_id: str
    item_id: str
    queue: str
    reviewer: str
    label: str
    actions: list[Action]
    same_policy: bool
    same_actions: bool
    decided_at: AwareDatetime

    @property
    def correct(self) -> bool:
        return self.same_policy and self.same_actions


Outcome = Annotated[DecisionOutcome | QaOutcome | AppealOutcome | CalibrationOutcome,
                    Field(discriminator="kind")]
