"""Statements of reasons (DSA Art. 17, 24(5)) in the Transparency Database API's own shape.

`StatementOfReasons` validates the API's enumerations and conditional rules, so a statement
that would be refused by the API cannot be built. `build_statement` derives one from a
decision and the policy it cites (as pinned when it was decided); it is pure and runs inside
an activity.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain import dsa
from domain.core import (
    Action,
    PolicyRef,
    Source,
    SubjectFacts,
    SubjectKind,
)
from domain.review.models import StatementRequest

_VISIBILITY = {
    Action.REMOVE: "DECISION_VISIBILITY_CONTENT_REMOVED",
    Action.DISABLE: "DECISION_VISIBILITY_CONTENT_DISABLED",
    Action.DEMOTE: "DECISION_VISIBILITY_CONTENT_DEMOTED",
    Action.LABEL: "DECISION_VISIBILITY_CONTENT_LABELLED",
}
_PROVISION = {
    Action.RESTRICT_SALES: "DECISION_PROVISION_PARTIAL_SUSPENSION",
    Action.SUSPEND_SHOP: "DECISION_PROVISION_TOTAL_SUSPENSION",
    Action.TERMINATE_SELLER: "DECISION_PROVISION_TOTAL_TERMINATION",
}
_ACCOUNT = {
    Action.SUSPEND_SELLER: "DECISION_ACCOUNT_SUSPENDED",
    Action.TERMINATE_SELLER: "DECISION_ACCOUNT_TERMINATED",
}
_SOURCE_TYPE = {
    Source.USER_REPORT: "SOURCE_ARTICLE_16",
    Source.RIGHTS_OWNER: "SOURCE_ARTICLE_16",
    Source.TRUSTED_FLAGGER: "SOURCE_TRUSTED_FLAGGER",
    Source.LAW_ENFORCEMENT: "SOURCE_TYPE_OTHER_NOTIFICATION",
    Source.CLASSIFIER: "SOURCE_VOLUNTARY",
    Source.INTERNAL: "SOURCE_VOLUNTARY",
}
_NAMED_SOURCES = {Source.TRUSTED_FLAGGER, Source.RIGHTS_OWNER, Source.LAW_ENFORCEMENT}
_CONTENT_TYPE = {
    SubjectKind.LISTING: (["CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_TEXT"], None),
    SubjectKind.SHOP: (["CONTENT_TYPE_OTHER"], "online shop on a marketplace"),
    SubjectKind.SELLER: (["CONTENT_TYPE_OTHER"], "seller account on a marketplace"),
}
_PUID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
YesNo = Literal["Yes", "No"]


class StatementOfReasons(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_visibility: list[str] | None = None
    decision_visibility_other: str | None = None
    decision_monetary: str | None = None
    decision_monetary_other: str | None = None
    decision_provision: str | None = None
    decision_account: str | None = None
    account_type: str | None = None
    decision_ground: str
    decision_ground_reference_url: str | None = None
    illegal_content_legal_ground: str | None = None
    illegal_content_explanation: str | None = None
    incompatible_content_ground: str | None = None
    incompatible_content_explanation: str | None = None
    incompatible_content_illegal: YesNo | None = None
    category: str
    category_specification: list[str] | None = None
    content_type: list[str] = Field(min_length=1)
    content_type_other: str | None = None
    content_date: str
    application_date: str
    territorial_scope: list[str] | None = None
    decision_facts: str = Field(min_length=1, max_length=5000)
    source_type: str
    source_identity: str | None = None
    automated_detection: YesNo
    automated_decision: str
    puid: str

    @field_validator("content_date", "application_date")
    @classmethod
    def _iso_date(cls, v: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError("dates are YYYY-MM-DD")
        date.fromisoformat(v)
        return v

    @field_validator("puid")
    @classmethod
    def _puid(cls, v: str) -> str:
        if not _PUID.match(v):
            raise ValueError("puid is 1-500 letters, digits, '-' or '_'")
        return v

    @model_validator(mode="after")
    def _api_rules(self) -> StatementOfReasons:
        for field, values in (
            ("decision_visibility", self.decision_visibility or []),
            ("decision_monetary", [self.decision_monetary] if self.decision_monetary else []),
            ("decision_provision", [self.decision_provision] if self.decision_provision else []),
            ("decision_account", [self.decision_account] if self.decision_account else []),
            ("account_type", [self.account_type] if self.account_type else []),
            ("decision_ground", [self.decision_ground]),
            ("category", [self.category]),
            ("category_specification", self.category_specification or []),
            ("content_type", self.content_type),
            ("territorial_scope", self.territorial_scope or []),
            ("source_type", [self.source_type]),
            ("automated_decision", [self.automated_decision]),
        ):
            for v in values:
                dsa.require(field, v)
        if not (self.decision_visibility or self.decision_monetary or self.decision_provision
                or self.decision_account):
            raise ValueError("at least one of decision_visibility, decision_monetary, "
                             "decision_provision, decision_account is required")
        _other("decision_visibility", "DECISION_VISIBILITY_OTHER" in (self.decision_visibility or []),
               self.decision_visibility_other)
        _other("decision_monetary", self.decision_monetary == "DECISION_MONETARY_OTHER",
               self.decision_monetary_other)
        _other("content_type", "CONTENT_TYPE_OTHER" in self.content_type, self.content_type_other)
        if self.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT":
            if not (self.illegal_content_legal_ground and self.illegal_content_explanation):
                raise ValueError("illegal content needs illegal_content_legal_ground and "
                                 "illegal_content_explanation")
            if self.incompatible_content_ground or self.incompatible_content_explanation:
                raise ValueError("incompatible_content_* fields belong to the other ground")
        else:
            if not (self.incompatible_content_ground and self.incompatible_content_explanation):
                raise ValueError("incompatible content needs incompatible_content_ground and "
                                 "incompatible_content_explanation")
            if self.illegal_content_legal_ground or self.illegal_content_explanation:
                raise ValueError("illegal_content_* fields belong to the other ground")
        if self.source_type == "SOURCE_VOLUNTARY" and self.source_identity:
            raise ValueError("source_identity is only given for notices")
        if self.application_date < self.content_date:
            raise ValueError("application_date precedes content_date")
        return self


def _other(field: str, chosen: bool, text: str | None) -> None:
    if chosen and not text:
        raise ValueError(f"{field}_other is required when the OTHER value is chosen")
    if not chosen and text:
        raise ValueError(f"{field}_other is only given with the OTHER value")


def puid_for(case_id: str, run_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{case_id}-{run_key}")[:500]


def build_statement(req: StatementRequest, policy: PolicyRef, facts: SubjectFacts,
                    applied_on: date) -> StatementOfReasons:
    """The statement for the restrictions that landed, citing the decision's first policy.

    Raises ValueError when the API would refuse it (or nothing restrictive landed)."""
    decision = req.decision
    actions = [e.action for e in req.enforcement if e.action.restricts]
    if not actions:
        raise ValueError("no restriction landed: there is nothing to state")
    if not policy.citable:
        raise ValueError(f"policy {policy.id} lacks its category, ground or legal reference")
    visibility = [_VISIBILITY[a] for a in actions if a in _VISIBILITY]
    provision = next((_PROVISION[a] for a in actions if a in _PROVISION), None)
    account = next((_ACCOUNT[a] for a in actions if a in _ACCOUNT), None)
    content_types, content_other = _CONTENT_TYPE[req.subject.kind]
    opener = req.opener
    illegal = policy.ground == "DECISION_GROUND_ILLEGAL_CONTENT"
    detected_automatically = opener.source.is_automated or (decision.automated and req.had_hits)
    if decision.automated:
        automated_decision = "AUTOMATED_DECISION_FULLY"
    elif req.had_hits:
        automated_decision = "AUTOMATED_DECISION_PARTIALLY"  # a person decided on rule hits
    else:
        automated_decision = "AUTOMATED_DECISION_NOT_AUTOMATED"
    source_type = _SOURCE_TYPE[opener.source]
    facts_text = (
        f"{policy.title}: {decision.reason} "
        f"(subject {req.subject}, actions {', '.join(a.value for a in actions)})"
    )
    return StatementOfReasons(
        decision_visibility=visibility or None,
        decision_provision=provision,
        decision_account=account,
        account_type="ACCOUNT_TYPE_BUSINESS" if facts.seller_is_trader else "ACCOUNT_TYPE_PRIVATE",
        decision_ground=policy.ground,
        illegal_content_legal_ground=policy.legal_reference if illegal else None,
        illegal_content_explanation=policy.explanation if illegal else None,
        incompatible_content_ground=None if illegal else policy.legal_reference,
        incompatible_content_explanation=None if illegal else policy.explanation,
        incompatible_content_illegal=None if illegal else "No",
        category=policy.category,
        category_specification=list(policy.category_specification) or None,
        content_type=content_types,
        content_type_other=content_other,
        content_date=min(facts.created_on, applied_on).isoformat(),
        application_date=applied_on.isoformat(),
        decision_facts=facts_text[:5000],
        source_type=source_type,
        # Organisations are named; a private person who reported is not (GDPR, Art. 17(3)(b)).
        source_identity=opener.reporter if opener.source in _NAMED_SOURCES else None,
        automated_detection="Yes" if detected_automatically else "No",
        automated_decision=automated_decision,
        puid=req.puid,
    )
