"""Typed search attributes every case carries, so ops find cases without reading histories."""

from __future__ import annotations

from typing import Any

from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

from domain.core import Subject
from domain.record import LedgerRecord
from domain.review.lifecycle import REVIEW

CASE_ID = SearchAttributeKey.for_keyword("CaseId")
STATE = SearchAttributeKey.for_keyword("CaseState")
QUEUE = SearchAttributeKey.for_keyword("CaseQueue")
PRIORITY = SearchAttributeKey.for_keyword("CasePriority")
SUBJECT_KIND = SearchAttributeKey.for_keyword("CaseSubjectKind")
SUBJECT_ID = SearchAttributeKey.for_keyword("CaseSubjectId")
ASSIGNEE = SearchAttributeKey.for_keyword("CaseAssignee")
SLA_DEADLINE = SearchAttributeKey.for_datetime("CaseSlaDeadline")
SLA_BREACHED = SearchAttributeKey.for_bool("CaseSlaBreached")
POLICY_IDS = SearchAttributeKey.for_keyword_list("CasePolicyIds")

ALL: list[SearchAttributeKey] = [  # type: ignore[type-arg]
    CASE_ID, STATE, QUEUE, PRIORITY, SUBJECT_KIND, SUBJECT_ID, ASSIGNEE, SLA_DEADLINE,
    SLA_BREACHED, POLICY_IDS,
]



def type_name(value_type: int) -> str:
    """A search attribute type as Temporal's CLIs spell it: `Keyword`, `KeywordList`, …"""
    name = SearchAttributeIndexedValueType(value_type).name
    return "".join(word.capitalize() for word in name.split("_"))


def named_types() -> list[str]:
    """`Name=Type` for each attribute: what `temporal server start-dev --search-attribute` and
    `tcld namespace search-attributes add --search-attribute` take. (`casework setup` registers
    them through the operator service: `config.connection.register`.)"""
    return [f"{key.name}={type_name(key.indexed_value_type)}" for key in ALL]


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`: registered when it
    makes its database, ignored on a database it made before (where `register` adds them)."""
    return [word for pair in named_types() for word in ("--search-attribute", pair)]


def _values(case: LedgerRecord) -> list[tuple[SearchAttributeKey, Any]]:  # type: ignore[type-arg]
    """Each attribute's value for the record (its ledger row, whatever its lifecycle); None
    means unset."""
    return [
        (CASE_ID, case.case_id),
        (STATE, case.state),
        (QUEUE, case.queue),
        (PRIORITY, case.priority.value),
        (SUBJECT_KIND, case.subject.kind.value),
        (SUBJECT_ID, case.subject.id),
        (SLA_BREACHED, case.sla_breached),
        (POLICY_IDS, case.policy_ids),
        (ASSIGNEE, case.assignee or None),
        (SLA_DEADLINE, case.sla_deadline),
    ]


def _update(key: SearchAttributeKey, value: Any) -> SearchAttributeUpdate:  # type: ignore[type-arg]
    return key.value_unset() if value is None else key.value_set(value)


def updates(case: LedgerRecord) -> list[SearchAttributeUpdate]:  # type: ignore[type-arg]
    """Every attribute, as runs from before `upsert-changed-attributes` upserted them."""
    return [_update(k, v) for k, v in _values(case)]


def changes(current: TypedSearchAttributes, case: LedgerRecord
            ) -> list[SearchAttributeUpdate]:  # type: ignore[type-arg]
    """Only the attributes whose value differs from what the workflow carries now."""
    return [_update(k, v) for k, v in _values(case) if current.get(k) != v]


def at_intake(case_id: str, subject: Subject) -> TypedSearchAttributes:
    """What a case is searchable by from the moment it starts, set by the client on start."""
    return TypedSearchAttributes([
        SearchAttributePair(CASE_ID, case_id),
        SearchAttributePair(STATE, REVIEW.initial),
        SearchAttributePair(SUBJECT_KIND, subject.kind.value),
        SearchAttributePair(SUBJECT_ID, subject.id),
        SearchAttributePair(SLA_BREACHED, False),
    ])
