"""Calibration (golden) cases: known-answer cases a lead loads from a file (JSON lines, one
item each: the subject as a reviewer sees it, the report, the expected decision and why). A
reviewer is given each item of their queue once, mixed into their claims at the pack's
`[calibration] rate`; the case looks like any other, acts on nothing, tells no one, and is
scored against its key, whose explanation the reviewer sees once they have decided."""

from __future__ import annotations

import hashlib
import json

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.core import Action, Decision, Model, Source, Subject, SubjectFacts
from domain.errors import INTAKE, InvalidInput, first_problem
from domain.outcomes import CalibrationOutcome, label
from domain.people import Role
from domain.qa.config import Rate
from domain.text import Ident, Reason

MAX_ITEMS = 1000  # a set
LOADERS = frozenset({Role.LEAD, Role.ADMIN})  # who loads calibration sets


class CalibrationConfig(BaseModel):
    """The pack's `[calibration]`: the share of a reviewer's claims that bring them an item
    they have not had yet (0: none)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    rate: Rate = 0


class Expected(BaseModel):
    """The key: what a sound decision cites and does (a decision's rules)."""

    model_config = ConfigDict(extra="forbid")
    policy_ids: list[Ident] = Field(default_factory=list, max_length=5)
    actions: list[Action] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _sound(self) -> Expected:
        if Action.NO_ACTION in self.actions and len(self.actions) > 1:
            raise ValueError("no_action stands alone")
        if Action.NO_ACTION not in self.actions and not self.policy_ids:
            raise ValueError("actions cite the policy they enforce")
        if len(set(self.actions)) != len(self.actions):
            raise ValueError("each action may be named once")
        return self


class LoadCalibration(BaseModel):
    """A lead's request: the set's name and the file's text."""

    set_id: Ident
    text: str = Field(max_length=8 * 2**20)


class CalibrationItem(BaseModel):
    """One line of a calibration file."""

    model_config = ConfigDict(extra="forbid")
    item_id: Ident
    queue: Ident
    subject: SubjectFacts
    report: Reason = "flagged for review"
    source: Source = Source.USER_REPORT
    expected: Expected
    explanation: Reason


class CalibrationKey(Model):
    """What a calibration case holds back until its reviewer has decided: never in its state
    (the workflow keeps it apart), never in a query's answer before the decision."""

    set_id: str
    item_id: str
    reviewer: str
    queue: str
    facts: SubjectFacts  # the subject as the file describes it (the marketplace is not asked)
    expected_policy_ids: list[str]
    expected_actions: list[Action]
    explanation: str
    lease_minutes: int = 30  # the claim its reviewer asked for, like any other claim's

    def score(self, d: Decision) -> CalibrationScore:
        return CalibrationScore(**self.model_dump(), given_policy_ids=d.policy_ids,
                                given_actions=d.actions,
                                same_policy=set(d.policy_ids) == set(self.expected_policy_ids),
                                same_actions=set(d.actions) == set(self.expected_actions),
                                decided_at=d.decided_at)


class CalibrationScore(CalibrationKey):
    """A calibration case once decided: the key, the answer and how it scored (shown to the
    reviewer with the explanation)."""

    given_policy_ids: list[str]
    given_actions: list[Action]
    same_policy: bool
    same_actions: bool
    decided_at: AwareDatetime

    @property
    def correct(self) -> bool:
        return self.same_policy and self.same_actions

    def outcome(self, d: Decision) -> CalibrationOutcome:
        return CalibrationOutcome(set_id=self.set_id, item_id=self.item_id, queue=self.queue,
                                  reviewer=self.reviewer, label=label(d.policy_ids, d.actions),
                                  actions=d.actions, same_policy=self.same_policy,
                                  same_actions=self.same_actions, decided_at=d.decided_at)


def parse(text: str, known_policies: set[str], known_queues: set[str]) -> list[CalibrationItem]:
    """The items of a calibration file, or InvalidInput naming every bad line by number."""
    items: list[CalibrationItem] = []
    problems: list[str] = []
    seen: set[str] = set()
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise InvalidInput("the calibration file has no items")
    if len(lines) > MAX_ITEMS:
        raise InvalidInput(f"the calibration file has {len(lines)} items; a set holds at most "
                           f"{MAX_ITEMS}")
    for n, line in lines:
        try:
            item = CalibrationItem.model_validate(json.loads(line, parse_constant=_no_constant),
                                                  context=INTAKE)
            Subject.model_validate({"kind": item.subject.kind, "id": f"{item.subject.id}-tag"},
                                   context=INTAKE)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: not JSON ({e.msg})")
            continue
        except RecursionError:
            problems.append(f"line {n}: not JSON (nested too deep)")
            continue
        except ValidationError as e:
            problems.append(f"line {n}: {first_problem(e)}")
            continue
        unknown = [p for p in item.expected.policy_ids if p not in known_policies]
        if unknown:
            problems.append(f"line {n}: unknown policy {', '.join(unknown)}")
        if item.queue not in known_queues:
            problems.append(f"line {n}: unknown queue {item.queue}")
        if item.item_id in seen:
            problems.append(f"line {n}: item {item.item_id} twice")
        seen.add(item.item_id)
        items.append(item)
    if problems:
        raise InvalidInput(f"nothing loaded: {'; '.join(problems[:20])}"
                           + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""))
    return items


def _no_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not a number", name, 0)


def subject_for(item: CalibrationItem, set_id: str, reviewer: str) -> Subject:
    """The subject of a reviewer's copy of an item: the item's, told apart per reviewer."""
    tag = hashlib.sha256(f"{set_id}\x1f{item.item_id}\x1f{reviewer}".encode()).hexdigest()[:6]
    return Subject(kind=item.subject.kind, id=f"{item.subject.id}-{tag}")

