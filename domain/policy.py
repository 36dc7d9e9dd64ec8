"""The policy pack (one reviewed file) and the pure policy engine that screens a subject."""

from __future__ import annotations

import hashlib
import re
import tomllib
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain import dsa
from domain.calibration import CalibrationConfig
from domain.core import (
    Action,
    PolicyRef,
    Priority,
    Report,
    Source,
    SubjectFacts,
)
from domain.errors import InvalidInput, first_problem
from domain.escalation.models import EscalationPolicy, EscalationSetup
from domain.qa.config import QA_QUEUE, QaConfig, TargetsConfig
from domain.review.models import (
    AutoEnforcement,
    PolicyHit,
    Screening,
)
from domain.sla import DEFAULT_SLA_HOURS
from domain.trend_models import TrendsConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rules(_Strict):
    keywords: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    image_hashes: list[str] = Field(default_factory=list)
    # A price below `price_ratio_below` x the reference price of a matching brand keyword.
    reference_prices: dict[str, float] = Field(default_factory=dict)
    price_ratio_below: float | None = None
    seller_prior_violations_at_least: int | None = None


class Policy(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    category: str
    category_specification: list[str] = Field(default_factory=list)
    ground: str  # DSA decision_ground
    legal_reference: str
    explanation: str
    severity: str = Field(pattern="^(low|medium|high|critical)$")
    default_actions: list[Action]
    reason_templates: list[str] = Field(  # the console offers them, editable before sending
        default_factory=list, max_length=9)
    auto_enforce_threshold: float | None = Field(default=None, gt=0, le=1)
    queue: str
    priority: Priority
    rules: Rules

    @model_validator(mode="after")
    def _dsa_values(self) -> Policy:
        dsa.require("category", self.category)
        dsa.require("decision_ground", self.ground)
        for spec in self.category_specification:
            dsa.require("category_specification", spec)
        return self

    def ref(self) -> PolicyRef:
        return PolicyRef(
            id=self.id, title=self.title, queue=self.queue, priority=self.priority,
            category=self.category, category_specification=list(self.category_specification),
            ground=self.ground, legal_reference=self.legal_reference,
            explanation=self.explanation)


class QueueConfig(_Strict):
    lead: str
    sla_hours: dict[Priority, float] = Field(default_factory=dict)

    def sla(self, priority: Priority) -> float:
        return self.sla_hours.get(priority, DEFAULT_SLA_HOURS[priority])


class TakedownConfig(_Strict):
    """Bulk takedowns: above `approval_above` items a second person approves (within
    `approval_sla_hours`); the marketplace is acted on at most `rate_per_s` times a second, in
    batches; a finished job stays reversible for `reversible_days`."""

    approval_above: int = Field(default=100, ge=0)
    approval_sla_hours: float = Field(default=4, gt=0)
    rate_per_s: float = Field(default=50, gt=0)
    batch_size: int = Field(default=500, ge=1, le=5_000)
    reversible_days: float = Field(default=184, gt=0)
    queue: str = "takedowns"
    # a requester's jobs within these hours count together against `approval_above`
    split_window_hours: float = Field(default=24, gt=0)


class ShopReviewConfig(_Strict):
    """Shop reviews: listings screened `page_size` at a time; the senior's decision due within
    `decision_sla_hours` in `queue`; a seller with `strike_threshold` upheld violations within
    `strike_window_days` gets a shop review by itself."""

    page_size: int = Field(default=100, ge=1, le=1_000)
    decision_sla_hours: float = Field(default=24, gt=0)
    queue: str = "takedowns"
    strike_threshold: int = Field(default=3, ge=1)
    strike_window_days: float = Field(default=90, gt=0)


class OpsConfig(_Strict):
    """When ops call a record stuck: longer than `state_hours` in a working state (states not
    named are looked after by their own SLA or are meant to rest), a claim held longer than
    `claim_hours`, a job paused longer than `paused_hours`, an activity past `retry_attempts`
    (a takedown's batch: the job stalls). `grace_minutes` lets a lapsed lease or a deadline's
    own timer act first; a working record quiet for `idle_minutes` is asked about its
    activities. Short values make drills quick."""

    # `<lifecycle>.<state>` (or a bare state, for every lifecycle that has it)
    state_hours: dict[str, float] = Field(default_factory=lambda: {
        "review.screening": 1, "review.decided": 1, "review.enforcing": 1,
        "review.notifying": 1, "review.on_hold": 48, "appeal.filed": 1, "appeal.upheld": 1,
        "appeal.overturned": 1, "appeal.modified": 1, "appeal.notified": 1,
        "escalation.resolved": 1, "takedown.planned": 1, "takedown.reversing": 2,
        "shop_review.screening": 24})
    claim_hours: float = Field(default=8, gt=0)
    paused_hours: float = Field(default=24, gt=0)
    retry_attempts: int = Field(default=3, ge=1)
    grace_minutes: float = Field(default=5, ge=0)
    idle_minutes: float = Field(default=2, ge=0)  # a working record this quiet is described


class SourceDefault(_Strict):
    queue: str
    priority: Priority


class EscalationConfig(EscalationPolicy):
    """The pack's `[escalation]` table: checked as strictly as the rest of the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyPack(_Strict):
    version: str
    policies: list[Policy]
    queues: dict[str, QueueConfig]
    sources: dict[Source, SourceDefault]
    default_queue: str = "general"
    # A dependency (the marketplace, the ledger, the webhook) failing this long alerts the lead.
    dependency_alert_minutes: float = Field(default=10, gt=0)
    # A severe decision waits this long for its second person before the lead is told.
    approval_sla_hours: float = Field(default=4, gt=0)
    # A case on hold longer than this is brought to the lead.
    max_hold_hours: float = Field(default=48, gt=0)
    appeals_queue: str = "appeals"
    takedowns: TakedownConfig = Field(default_factory=TakedownConfig)
    shop_reviews: ShopReviewConfig = Field(default_factory=ShopReviewConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    dispute_settlement: str = "a certified out-of-court dispute settlement body (DSA Art. 21)"
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    # authorities (id: name) whose orders (DSA Art. 9) execute at once; others wait for a
    # second person
    authorities: dict[str, str] = Field(default_factory=dict)
    qa: QaConfig = Field(default_factory=QaConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    trends: TrendsConfig = Field(default_factory=TrendsConfig)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyPack:
        ids = [p.id for p in self.policies]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate policy ids")
        queues = ({p.queue for p in self.policies} | {s.queue for s in self.sources.values()}
                  | {self.takedowns.queue, self.shop_reviews.queue})
        if missing := sorted((queues | {self.default_queue}) - set(self.queues)):
            raise ValueError(f"queues without configuration: {', '.join(missing)}")
        for where, named, known in (("qa.queues", self.qa.queues, self.queues),
                                    ("qa.policies", self.qa.policies, ids),
                                    ("targets.queues", self.targets.queues, self.queues)):
            if unknown := sorted(set(named) - set(known)):
                raise ValueError(f"{where} names what the pack does not have: "
                                 f"{', '.join(unknown)}")
        if self.qa.on and QA_QUEUE not in self.queues:
            raise ValueError(f"[qa] sets rates: configure its queue too ([queues.{QA_QUEUE}]: "
                             "its lead hears of missed deadlines)")
        return self

    @classmethod
    def from_toml(cls, text: str) -> PolicyPack:
        try:
            data = tomllib.loads(text)
            data.setdefault("version", hashlib.sha256(text.encode()).hexdigest()[:12])
            return cls.model_validate(data)
        except (tomllib.TOMLDecodeError, ValueError) as e:
            problem = first_problem(e) if isinstance(e, ValidationError) else str(e)
            raise InvalidInput(f"invalid policy pack: {problem}") from None

    @cached_property
    def by_id(self) -> dict[str, Policy]:
        return {p.id: p for p in self.policies}

    def get(self, policy_id: str) -> Policy:
        try:
            return self.by_id[policy_id]
        except KeyError:
            raise InvalidInput(f"unknown policy id {policy_id!r}") from None

    def screen(self, facts: SubjectFacts | None, reports: list[Report],
               queue: str | None = None) -> Screening:
        """Run every rule of every policy; route and prioritise the case from the hits.

        `facts` is None when the marketplace does not know the subject: the reports are then
        routed by their hints and sources alone, for a person to look at. `queue` routes it
        there, for a person, whatever the hits (a calibration case).
        """
        hits = [h for p in self.policies for h in _match(p, facts)] if facts else []
        best = _best_per_policy(hits)
        routed = queue
        auto = None if routed else self._auto_enforcement(best, reports)
        ranked = sorted(best.values(), key=lambda h: (self.get(h.policy_id).priority.rank, -h.score))
        hinted = [self.by_id[r.policy_hint] for r in reports if r.policy_hint in self.by_id]
        if ranked:
            lead = self.get(ranked[0].policy_id)
            queue, priority = lead.queue, lead.priority
        elif hinted:
            queue, priority = hinted[0].queue, hinted[0].priority
        else:
            queue, priority = self.default_queue, Priority.P3
        floors = self.floors
        noticed = [d for r in reports if (d := self.sources.get(r.source))
                   and d.priority.rank < priority.rank]
        if noticed and not ranked and not hinted:  # the most urgent notice routes the case
            queue = min(noticed, key=lambda d: d.priority.rank).queue
        priority = reprioritise(priority, reports, floors, any_trusted_before=False)
        queue = routed or queue
        cfg = self.queues[queue]
        return Screening(
            hits=sorted(hits, key=lambda h: (-h.score, h.policy_id, h.rule)),
            queue=queue,
            priority=priority,
            sla_hours={p: cfg.sla(p) for p in Priority},
            queue_lead=cfg.lead,
            policies=[p.ref() for p in self.policies],
            pack_version=self.version,
            auto=auto,
            subject_found=facts is not None,
            facts=facts,
            source_floors=floors,
            dependency_alert_minutes=self.dependency_alert_minutes,
            approval_sla_hours=self.approval_sla_hours,
            max_hold_hours=self.max_hold_hours,
            qa=self.qa,
        )

    def escalation_setup(self) -> EscalationSetup:
        return EscalationSetup(policy=self.escalation,
                               dependency_alert_minutes=self.dependency_alert_minutes)

    @cached_property
    def floors(self) -> dict[Source, Priority]:
        return {source: d.priority for source, d in self.sources.items()}

    def _auto_enforcement(
        self, best: dict[str, PolicyHit], reports: list[Report]
    ) -> AutoEnforcement | None:
        for hit in sorted(best.values(), key=lambda h: -h.score):
            policy = self.get(hit.policy_id)
            threshold = policy.auto_enforce_threshold
            if threshold is not None and hit.score >= threshold:
                return AutoEnforcement(
                    policy_id=policy.id,
                    actions=list(policy.default_actions),
                    reason=f"automatic: rule {hit.rule} matched ({hit.evidence}), "
                    f"score {hit.score:.2f} >= threshold {threshold:.2f}",
                )
        return None


def reprioritise(priority: Priority, reports: list[Report], floors: dict[Source, Priority],
                 any_trusted_before: bool) -> Priority:
    """The priority a case has once `reports` are in it: no less urgent than any report's
    source floor (rights owners, law enforcement), and one step up for the first trusted
    flagger (DSA Art. 22). Screening and every later join use this one rule."""
    for r in reports:
        if (floor := floors.get(r.source)) and floor.rank < priority.rank:
            priority = floor
    if not any_trusted_before and any(r.source is Source.TRUSTED_FLAGGER for r in reports):
        priority = priority.raised()
    return priority


def _best_per_policy(hits: list[PolicyHit]) -> dict[str, PolicyHit]:
    best: dict[str, PolicyHit] = {}
    for h in hits:
        if h.policy_id not in best or h.score > best[h.policy_id].score:
            best[h.policy_id] = h
    return best


def _match(policy: Policy, facts: SubjectFacts) -> list[PolicyHit]:
    rules = policy.rules
    text = f"{facts.title}\n{facts.description}".lower()
    hits: list[PolicyHit] = []

    def hit(rule: str, score: float, evidence: str) -> None:
        hits.append(PolicyHit(policy_id=policy.id, rule=rule, score=score, evidence=evidence))

    if found := [k for k in rules.keywords if re.search(rf"\b{re.escape(k.lower())}\b", text)]:
        hit("keywords", min(0.5 + 0.2 * len(found), 0.9), "keywords: " + ", ".join(found))
    for pattern in rules.regex:
        if m := re.search(pattern, text, re.IGNORECASE):
            hit("regex", 0.85, f"pattern {pattern!r} matched {m.group(0)!r}")
    if facts.category and facts.category in rules.categories:
        hit("category", 0.8, f"category {facts.category!r} is denied")
    if bad := sorted(set(facts.image_hashes) & set(rules.image_hashes)):
        hit("image_hash", 0.99, "known-bad image hash " + ", ".join(bad))
    if rules.price_ratio_below is not None and facts.price is not None:
        for brand, reference in rules.reference_prices.items():
            ratio = facts.price / reference
            if brand.lower() in text and ratio < rules.price_ratio_below:
                hit("price_anomaly", 0.75,
                    f"{brand} at {facts.price:.2f}, {ratio:.0%} of reference {reference:.2f}")
    at_least = rules.seller_prior_violations_at_least
    if hits and at_least is not None and facts.seller_prior_violations >= at_least:
        hit("seller_history", 0.9,
            f"seller has {facts.seller_prior_violations} prior violations and a new hit")
    return hits
