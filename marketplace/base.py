"""The marketplace casework acts on, as an interface with two adapters (sandbox, HTTP)."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from domain.models import Action, Subject
from domain.policy import SubjectFacts


class ApplyResult(BaseModel):
    """`applied` is False when this idempotency key had already acted: nothing happened twice."""

    applied: bool
    target: Subject
    detail: str


class SubjectNotFound(LookupError):
    """The marketplace has no such listing, shop or seller."""


class Marketplace(Protocol):
    def facts(self, subject: Subject) -> SubjectFacts: ...

    def resolve(self, subject: Subject, action: Action) -> Subject:
        """The subject an action on `subject` lands on (a listing's seller for suspend_seller)."""
        ...

    def apply(self, target: Subject, action: Action, idempotency_key: str, reason: str
              ) -> ApplyResult: ...

    def seller_contact(self, seller_id: str) -> str: ...
