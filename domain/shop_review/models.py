"""The shop review lifecycle's requests and results: every listing of one shop screened by the
policy pack, review cases opened or joined for the hits, the seller's history gathered, and one
shop-level decision by a senior, carried out through a takedown job.

Strikes are the seller's upheld violations: a review case's restriction adds one, an appeal that
overturns it takes it back; a seller reaching the pack's threshold within its window gets a shop
review by itself.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from domain.authority import Command
from domain.core import Action, Model, Sealable, Subject
from domain.record import Tracked
from domain.text import Ident, PolicyIds, Reason

MAX_FINDINGS_SHOWN = 200  # findings kept in full for the senior; every hit is kept as a subject


def shop_review_id(shop_id: str, prefix: str = "case") -> str:
    """One open review per shop: ops asking again, or the strikes, join it. `shopreview` is no
    subject kind, so no case id (`<prefix>-<kind>-<id>`) is ever a review's."""
    return f"{prefix}-shopreview-{shop_id}"


STRIKES = "strike-threshold"  # the requester of a review the strikes started


class ShopOutcome(StrEnum):
    CLEAR = "clear"
    WARN = "warn"
    REMOVE_HITS = "remove_hits"
    SUSPEND_SHOP = "suspend_shop"

    @property
    def action(self) -> Action | None:
        return {ShopOutcome.WARN: Action.WARN, ShopOutcome.REMOVE_HITS: Action.REMOVE,
                ShopOutcome.SUSPEND_SHOP: Action.SUSPEND_SHOP}.get(self)


class ShopReviewRequest(Command):
    PERSON = "requester"
    shop_id: Ident
    requester: Ident  # an ops person, or `strikes` when the threshold started it
    reason: Reason | None = None
    issued_at: AwareDatetime | None = None  # when it was asked for: a much later start is a copy


class ShopReviewSettings(Model):
    """What one activity reads once: the pack's shop review table and the shop itself."""

    found: bool = True
    seller_id: str = ""
    shop_name: str = ""
    page_size: int = 100
    decision_sla_hours: float = 24
    queue: str = "takedowns"
    queue_lead: str = ""
    strike_window_days: float = 90
    dependency_alert_minutes: float = 10


class Finding(Model):
    """A listing the pack hit, its strongest hit, and the review case it was filed on."""

    subject: Subject
    policy_id: str
    rule: str
    score: float
    evidence: str
    case_id: str


class ScreenPage(Model):
    review_id: str
    review_uid: str
    shop_id: str
    after: str | None = None
    limit: int = 100


class PageResult(Model):
    screened: int
    findings: list[Finding] = Field(default_factory=list)
    next_after: str | None = None  # None: the shop has no more listings


class HistoryRequest(Model):
    seller_id: str
    window_days: float = 90


class SellerHistory(Model):
    """The seller's record as the senior sees it beside the findings."""

    seller_id: str
    prior_violations: int = 0  # as the marketplace counts them
    strikes: int = 0  # upheld violations within the window
    window_days: float = 90
    recent_cases: list[str] = Field(default_factory=list)


class ShopProgress(Model):
    pages: int = 0
    screened: int = 0
    hits: int = 0


class ShopDecision(Command):
    """`policy_ids` cite what a warning or suspension is for; by default the hits' policies."""

    PERSON = "decider"

    decider: Ident
    outcome: ShopOutcome
    reason: Reason = Field(description="the decision's reason, told to the seller")
    policy_ids: PolicyIds = Field(default_factory=list,
                                  description="what a warning or suspension cites")


class ShopEnforcement(Model):
    """The decision as takedown jobs: the hits removed one job per policy (each statement
    cites the policy its listing broke), or the shop warned or suspended in a job of one."""

    review_id: str
    review_uid: str
    shop: Subject
    outcome: ShopOutcome
    hits: dict[str, list[Subject]] = Field(default_factory=dict)
    policy_ids: list[str] = Field(default_factory=list)
    reason: str
    decider: str
    requester: str = ""  # who asked for the review: neither they nor the decider approves


class EnforcementDone(Sealable):
    """What a shop review hears from its takedown job when the job finishes."""

    job_id: str
    state: str
    done: int = 0
    failed: int = 0
    skipped: int = 0


class ShopReviewState(Tracked):
    lifecycle: str = "shop_review"
    request: ShopReviewRequest
    settings: ShopReviewSettings | None = None
    progress: ShopProgress = Field(default_factory=ShopProgress)
    cursor: str | None = None
    findings: list[Finding] = Field(default_factory=list)  # the first MAX_FINDINGS_SHOWN
    hits: dict[str, list[Subject]] = Field(default_factory=dict)  # every hit, by its policy
    history: SellerHistory | None = None
    decision: ShopDecision | None = None
    decided_at: AwareDatetime | None = None
    job_ids: list[str] = Field(default_factory=list)
    jobs: list[EnforcementDone] = Field(default_factory=list)
    refusal: str | None = None  # why it did not start (who asked may not)

    @property
    def policy_ids(self) -> list[str]:
        return sorted(self.hits)


class ShopReviewInput(Sealable):
    review_id: str
    subject: Subject  # the shop
    request: ShopReviewRequest
    carried: ShopReviewState | None = None


class ShopReviewSummary(Model):
    review_id: str
    state: str
    shop_id: str
    seller_id: str = ""
    requester: str
    pages: int = 0
    screened: int
    hits: int
    findings: list[Finding] = Field(default_factory=list)
    history: SellerHistory | None = None
    decision: ShopDecision | None = None
    job_ids: list[str] = Field(default_factory=list)
    jobs: list[EnforcementDone] = Field(default_factory=list)
    refusal: str | None = None


def review_summary(state: ShopReviewState) -> ShopReviewSummary:
    return ShopReviewSummary(
        review_id=state.case_id, state=state.state, shop_id=state.request.shop_id,
        seller_id=state.settings.seller_id if state.settings else "",
        requester=state.request.requester, pages=state.progress.pages,
        screened=state.progress.screened,
        hits=state.progress.hits, findings=state.findings, history=state.history,
        decision=state.decision, job_ids=state.job_ids, jobs=state.jobs,
        refusal=state.refusal)


class Strike(Model):
    """An upheld violation of a seller's, from the review case that restricted it."""

    case_id: str
    case_uid: str
    seller_id: str
    shop_id: str | None = None
    policy_ids: list[str] = Field(default_factory=list)


class StrikeResult(Model):
    strikes: int  # upheld violations within the window, this one counted
    threshold: int
    review_id: str | None = None  # the shop review the threshold started (or joined)


ShopReviewInput.model_rebuild()
