"""A decision's final word: the first decision, then a QA adjudication and an appeal's verdict
in the order they came, each step kept as provenance. A decision whose review case has not
closed (its appeal window or an appeal still open) or whose QA check is still open is
provisional: its word may yet change."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from domain.core import Model
from domain.outcomes import Seen


class StepKind(StrEnum):
    DECISION = "decision"
    QA = "qa"  # a QA reviewer's blind verdict: it decides nothing by itself
    ADJUDICATION = "adjudication"
    APPEAL = "appeal"


class Step(Model):
    """One word on the decision: who spoke as a kind (never a person), its label, when."""

    step: StepKind
    label: str
    at: AwareDatetime
    automated: bool = False
    outcome: str | None = None  # an appeal's (upheld, overturned, modified)


class Check(Model):
    """A QA check of the decision, as the ledger keeps it."""

    label: str | None = None
    checked_at: AwareDatetime | None = None
    final_label: str | None = None
    adjudicated: bool = False
    closed_at: AwareDatetime | None = None


class Verdict(Model):
    """An appeal's verdict on the decision."""

    outcome: str
    label: str
    decided_at: AwareDatetime


class Labelled(Model):
    """A review case's decision with what it was made on and every later word on it."""

    case_uid: str
    state: str | None  # its case's; None for history brought in without its case: settled
    label: str
    automated: bool
    decided_at: AwareDatetime
    seen: Seen
    checks: list[Check] = Field(default_factory=list)
    appeals: list[Verdict] = Field(default_factory=list)

    def steps(self) -> list[Step]:
        """The decision, then every later word in the order it came."""
        later: list[Step] = []
        for c in self.checks:
            if c.label is not None and c.checked_at is not None:
                later.append(Step(step=StepKind.QA, label=c.label, at=c.checked_at))
            if c.adjudicated and c.final_label is not None and c.closed_at is not None:
                later.append(Step(step=StepKind.ADJUDICATION, label=c.final_label,
                                  at=c.closed_at))
        later += [Step(step=StepKind.APPEAL, label=a.label, at=a.decided_at, outcome=a.outcome)
                  for a in self.appeals]
        first = Step(step=StepKind.DECISION, label=self.label, at=self.decided_at,
                     automated=self.automated)
        return [first, *sorted(later, key=lambda s: (s.at, s.step.value))]

    def final_label(self) -> str:
        """The last word that decides: the decision's, an adjudication's or an appeal's."""
        return [s for s in self.steps() if s.step is not StepKind.QA][-1].label

    def provisional(self, final_states: frozenset[str]) -> bool:
        open_case = self.state is not None and self.state not in final_states
        return open_case or any(c.closed_at is None for c in self.checks)
