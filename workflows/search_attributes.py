"""Typed search attributes every case carries, so ops find cases without reading histories."""

from __future__ import annotations

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

from domain.models import CaseState, Subject

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

_CLI_TYPES = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "BOOL": "Bool",
              "KEYWORD_LIST": "KeywordList"}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return flags


def updates(case: CaseState) -> list[SearchAttributeUpdate]:  # type: ignore[type-arg]
    return [
        CASE_ID.value_set(case.case_id),
        STATE.value_set(case.state),
        QUEUE.value_set(case.queue),
        PRIORITY.value_set(case.priority.value),
        SUBJECT_KIND.value_set(case.subject.kind.value),
        SUBJECT_ID.value_set(case.subject.id),
        SLA_BREACHED.value_set(case.sla_breached),
        POLICY_IDS.value_set(case.policy_ids),
        ASSIGNEE.value_set(case.assignee) if case.assignee else ASSIGNEE.value_unset(),
        SLA_DEADLINE.value_set(case.sla_deadline) if case.sla_deadline
        else SLA_DEADLINE.value_unset(),
    ]


def at_intake(case_id: str, subject: Subject) -> TypedSearchAttributes:
    """What a case is searchable by from the moment it starts, set by the client on start."""
    return TypedSearchAttributes([
        SearchAttributePair(CASE_ID, case_id),
        SearchAttributePair(STATE, "screening"),
        SearchAttributePair(SUBJECT_KIND, subject.kind.value),
        SearchAttributePair(SUBJECT_ID, subject.id),
        SearchAttributePair(SLA_BREACHED, False),
    ])
