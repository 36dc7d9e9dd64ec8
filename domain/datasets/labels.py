"""A decision's final word: the first decision, then a QA adjudication and an appeal's verdict
in the order they came, each step kept as provenance. A decision whose review case has not
closed (its appeal window or an appeal still open) or whose QA check is still open is
provisional: its word may yet change."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from domain.core import Model, SubjectKind
from domain.outcomes import Seen
from domain.review.models import photos


class StepKind(StrEnum):
    DECISION = "decision"
    QA = "qa"  # a QA reviewer's blind verdict: it decides nothing by itself
    ADJUDICATION = "adjudication"
    APPEAL = "appeal"


class Step(Model):
    """One word on the decision: who spoke as a kind (never a person), its label, when;
    `rank`: how final the word is (an appeal's over a first adjudication's, a QA check of
    the appeal's verdict over both)."""

    step: StepKind
    rank: int = 0
    label: str
    at: AwareDatetime
    automated: bool = False
    outcome: str | None = None  # an appeal's (upheld, overturned, modified)


class Check(Model):
    """A QA check of the decision (or of the appeal's verdict on it), as the ledger keeps
    it."""

    of_appeal: bool = False
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
    """A review case's decision with what it was made on and every later word on it. What it
    was made on stays as the ledger's JSON until its row is written (a set of 100,000 holds
    only what choosing and splitting need: the subject, the policies, what could leak)."""

    case_uid: str
    state: str | None  # its case's; None for history brought in without its case: settled
    label: str
    automated: bool
    decided_at: AwareDatetime
    seen_json: str
    subject: str
    considered: list[str]
    links: list[str]  # seller, shop, photos and words it shares with near-duplicates
    checks: list[Check] = Field(default_factory=list)
    appeals: list[Verdict] = Field(default_factory=list)

    @classmethod
    def of(cls, seen_json: str, **fields: Any) -> Labelled:
        seen = Seen.model_validate_json(seen_json)
        return cls(seen_json=seen_json, subject=f"{seen.subject_kind.value}:{seen.subject_id}",
                   considered=seen.considered, links=_links(seen), **fields)

    def seen(self) -> Seen:
        return Seen.model_validate_json(self.seen_json)

    def steps(self) -> list[Step]:
        """The decision, then every later word in the order it came."""
        later: list[Step] = []
        for c in self.checks:
            if c.label is not None and c.checked_at is not None:
                later.append(Step(step=StepKind.QA, label=c.label, at=c.checked_at))
            if c.adjudicated and c.final_label is not None and c.closed_at is not None:
                later.append(Step(step=StepKind.ADJUDICATION, label=c.final_label,
                                  at=c.closed_at, rank=3 if c.of_appeal else 1))
        later += [Step(step=StepKind.APPEAL, label=a.label, at=a.decided_at, outcome=a.outcome,
                       rank=2) for a in self.appeals]
        first = Step(step=StepKind.DECISION, label=self.label, at=self.decided_at,
                     automated=self.automated)
        return [first, *sorted(later, key=lambda s: (s.at, s.step.value))]

    def final_label(self) -> str:
        """The word that decides: an appeal's over the first decision's adjudication, a QA
        adjudication of the appeal's verdict over both; the latest of the most final kind."""
        words = [s for s in self.steps() if s.step is not StepKind.QA]
        return max(words, key=lambda s: (s.rank, s.at)).label

    def provisional(self, final_states: frozenset[str]) -> bool:
        open_case = self.state is not None and self.state not in final_states
        return open_case or any(c.closed_at is None for c in self.checks)


def owners(seen: Seen) -> tuple[str | None, str | None]:
    """The seller and the shop of what was decided."""
    f, kind = seen.facts, seen.subject_kind
    if f is not None:
        return f.seller_id, f.shop_id
    return (seen.subject_id if kind is SubjectKind.SELLER else None,
            seen.subject_id if kind is SubjectKind.SHOP else None)


def words(text: str) -> str:
    """Text as near-duplicates share it: case, compatibility forms, punctuation and spacing
    gone."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))


def _links(seen: Seen) -> list[str]:
    seller, shop = owners(seen)
    f = seen.facts
    found = [f"seller:{seller}" if seller else "", f"shop:{shop}" if shop else ""]
    if f is not None:
        found += [f"image:{h}" for h in photos(f.image_hashes)]
        for name, text in (("text", words(f"{f.title} {f.description}")),
                           ("title", words(f.title))):
            if text:
                found.append(f"{name}:" + hashlib.sha256(text.encode()).hexdigest()[:24])
    return [x for x in found if x]
