"""The pure domain: subjects, the lifecycle's refusals, the policy engine, statements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from config.settings import ROOT
from domain.core import (
    Action,
    Decision,
    EnforcementResult,
    Priority,
    Report,
    Source,
    Subject,
    SubjectFacts,
    SubjectKind,
)
from domain.engine import Lifecycle, mermaid
from domain.errors import InvalidInput, Refused
from domain.lifecycles import LIFECYCLES
from domain.policy import PolicyPack, reprioritise
from domain.review.lifecycle import REVIEW
from domain.review.models import CaseState, DecideRequest
from domain.sla import appeal_deadline
from domain.statement import StatementOfReasons, build_statement

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PACK = PolicyPack.from_toml((ROOT / "policies" / "pack.toml").read_text())


def report(source: Source = Source.USER_REPORT, hint: str | None = None) -> Report:
    return Report(report_id="r1", source=source, reporter="someone", text="",
                  policy_hint=hint, received_at=NOW)


def facts(title: str, description: str = "", price: float = 50.0, category: str = "misc",
          hashes: list[str] | None = None, prior: int = 0) -> SubjectFacts:
    return SubjectFacts(kind=SubjectKind.LISTING, id="L-1", title=title,
                        description=description, category=category, price=price,
                        image_hashes=hashes or [], seller_id="U-1", shop_id="S-1",
                        seller_prior_violations=prior, created_on=date(2026, 5, 1))


def case(state: str = "in_review", assignee: str | None = "alice") -> CaseState:
    return CaseState(case_id="case-listing-L-1", case_uid="uid-1",
                     subject=Subject(kind=SubjectKind.LISTING, id="L-1"), state=state,
                     assignee=assignee, reports=[report()], opened_at=NOW,
                     policies=[p.ref() for p in PACK.policies])


@pytest.mark.parametrize("text", ["listing", "listing:", "item:L-1", "shop:bad id", ":x"])
def test_malformed_subjects_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="malformed subject"):
        Subject.parse(text)


def test_subject_round_trip() -> None:
    assert str(Subject.parse("seller:U-01")) == "seller:U-01"


def test_priority_rises_one_step_and_stops_at_p0() -> None:
    assert Priority.P2.raised() is Priority.P1 and Priority.P0.raised() is Priority.P0


def test_lifecycle_refuses_steps_the_declaration_does_not_allow() -> None:
    lc = Lifecycle(REVIEW, case(state="queued", assignee=None))
    req = DecideRequest(reviewer="alice", policy_ids=["counterfeit"], actions=[Action.REMOVE],
                        reason="r")
    with pytest.raises(Refused, match="cannot decide a case in state 'queued'"):
        lc.check("decide", req)
    lc.fire("claim")
    assert lc.state == "in_review"
    with pytest.raises(Refused, match="cannot claim"):
        lc.check("claim")
    closed = Lifecycle(REVIEW, case(state="closed"))
    with pytest.raises(Refused):
        closed.check("add_report")


@pytest.mark.parametrize(("req", "why"), [
    ({"reviewer": "bob", "policy_ids": ["counterfeit"], "actions": ["remove"]}, "only the assignee"),
    ({"reviewer": "alice", "policy_ids": ["nope"], "actions": ["remove"]}, "unknown policy"),
    ({"reviewer": "alice", "policy_ids": [], "actions": ["remove"]}, "must cite"),
    ({"reviewer": "alice", "policy_ids": ["counterfeit"], "actions": ["remove", "no_action"]},
     "cannot be combined"),
    ({"reviewer": "alice", "policy_ids": ["counterfeit"], "actions": ["remove", "remove"]},
     "named once"),
])
def test_decide_guards_explain_refusals(req: dict, why: str) -> None:
    lc = Lifecycle(REVIEW, case())
    with pytest.raises(Refused, match=why):
        lc.check("decide", DecideRequest(reason="r", **req))
    assert lc.state == "in_review"


def test_listing_actions_do_not_apply_to_a_seller_case() -> None:
    c = case()
    c.subject = Subject(kind=SubjectKind.SELLER, id="U-1")
    with pytest.raises(Refused, match="acts on listings"):
        Lifecycle(REVIEW, c).check("decide", DecideRequest(reviewer="alice", policy_ids=["counterfeit"],
                                                   actions=[Action.REMOVE], reason="r"))


def test_no_violation_closes_after_notifying_and_restrictions_open_the_appeal_window() -> None:
    lc = Lifecycle(REVIEW, case())
    lc.fire("decide", DecideRequest(reviewer="alice", actions=[Action.NO_ACTION], reason="ok"))
    lc.model.case.decision = Decision(decided_by="alice", policy_ids=[], reason="ok",
                                      actions=[Action.NO_ACTION], decided_at=NOW, automated=False)
    with pytest.raises(Refused):
        lc.check("enforce")
    lc.fire("notify")
    with pytest.raises(Refused):
        lc.check("open_appeal_window")
    assert lc.fire("close") == "closed"


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_every_lifecycle_is_drawn_from_its_declaration_and_shown_in_the_docs(name: str) -> None:
    declaration = LIFECYCLES[name]
    text = mermaid(declaration)
    assert all(f'state "{s}"' in text for s in declaration.states)
    assert text in (ROOT / "docs" / "architecture.md").read_text(), (
        f"docs/architecture.md does not show the {name} lifecycle as declared: paste "
        f"`casework lifecycle {name} --format mermaid`")


def test_pack_has_realistic_policies_mapped_to_dsa() -> None:
    assert len(PACK.policies) >= 8
    assert {"counterfeit", "weapons", "drugs", "recalled-products", "wildlife", "adult-content",
            "hate-symbols", "price-scam"} <= set(PACK.by_id)


def test_pack_refuses_unknown_dsa_category() -> None:
    text = (ROOT / "policies" / "pack.toml").read_text().replace(
        "STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_MADE_UP")
    with pytest.raises(InvalidInput, match="not an accepted category"):
        PolicyPack.from_toml(text)


def test_screening_routes_by_the_most_urgent_hit() -> None:
    s = PACK.screen(facts("Rolex Submariner replica", "1:1 copy", price=150), [report()])
    assert s.queue == "ip" and s.priority is Priority.P1 and s.auto is None
    assert {h.rule for h in s.hits} >= {"keywords", "regex", "price_anomaly"}


def test_known_bad_image_auto_enforces() -> None:
    s = PACK.screen(facts("Designer bag", hashes=["a3f1c9e2b7d04e18"]), [report()])
    assert s.auto is not None and s.auto.policy_id == "counterfeit"
    assert s.auto.actions == [Action.REMOVE]


def test_clean_listing_from_a_person_still_goes_to_a_person() -> None:
    s = PACK.screen(facts("Hand-thrown stoneware mug"), [report()])
    assert (s.queue, s.priority, s.auto, s.hits) == ("general", Priority.P3, None, [])


def test_sources_set_floors_and_trusted_flaggers_go_one_step_higher() -> None:
    clean = facts("Hand-thrown stoneware mug")
    assert PACK.screen(clean, [report(Source.RIGHTS_OWNER)]).priority is Priority.P1
    assert PACK.screen(clean, [report(Source.LAW_ENFORCEMENT)]).priority is Priority.P0
    tf = PACK.screen(clean, [report(Source.TRUSTED_FLAGGER)])
    assert tf.priority is Priority.P2
    hinted = PACK.screen(clean, [report(hint="wildlife")])
    assert (hinted.queue, hinted.priority) == ("wildlife", Priority.P2)


def test_seller_history_strengthens_a_hit() -> None:
    s = PACK.screen(facts("Gucci belt dupe", prior=3), [report()])
    assert any(h.rule == "seller_history" for h in s.hits)


def _decided_case(actions: list[Action], automated: bool = False,
                  applied: bool = True) -> CaseState:
    c = case(state="notifying")
    c.decision = Decision(decided_by="alice", policy_ids=["counterfeit"], actions=actions,
                          reason="replica", decided_at=NOW, automated=automated)
    if applied:
        c.enforcement = [EnforcementResult(action=a, target=c.subject, applied=True, detail="",
                                           applied_at=NOW) for a in actions]
    return c


def test_a_restriction_that_did_not_land_opens_no_appeal_window() -> None:
    failed = Lifecycle(REVIEW, _decided_case([Action.REMOVE], applied=False))
    with pytest.raises(Refused):
        failed.check("open_appeal_window")
    assert failed.fire("close") == "closed"
    landed = Lifecycle(REVIEW, _decided_case([Action.REMOVE]))
    assert landed.fire("open_appeal_window") == "appealable"


def test_statement_states_only_the_actions_that_landed() -> None:
    c = _decided_case([Action.REMOVE, Action.SUSPEND_SELLER])
    c.enforcement = c.enforcement[:1]  # suspending the seller failed
    sor = build_statement(c.statement_request("p"), PACK.get("counterfeit").ref(), facts("x"),
                          date(2026, 11, 25))
    assert sor.decision_visibility == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert sor.decision_account is None


def test_statement_follows_the_api_rules() -> None:
    c = _decided_case([Action.REMOVE, Action.SUSPEND_SELLER])
    sor = build_statement(c.statement_request("case-1_a"), PACK.get("counterfeit").ref(),
                          facts("x"), date(2026, 11, 25))
    body = sor.model_dump(mode="json", exclude_none=True)
    assert body["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert body["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert body["illegal_content_legal_ground"].startswith("Regulation (EU) 2017/1001")
    assert "incompatible_content_ground" not in body
    assert body["content_date"] == "2026-05-01" and body["application_date"] == "2026-11-25"
    assert body["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"  # no hits here
    assert "source_identity" not in body  # a private reporter is not named


def test_statement_of_an_automated_decision_says_so() -> None:
    c = _decided_case([Action.REMOVE], automated=True)
    c.hits = PACK.screen(facts("replica"), [report()]).hits
    sor = build_statement(c.statement_request("p"), PACK.get("counterfeit").ref(), facts("x"),
                          date(2026, 11, 25))
    assert sor.automated_decision == "AUTOMATED_DECISION_FULLY"
    assert sor.automated_detection == "Yes"


def test_terms_of_service_ground_uses_the_incompatible_fields() -> None:
    c = _decided_case([Action.DISABLE])
    sor = build_statement(c.statement_request("p"), PACK.get("price-scam").ref(), facts("x"),
                          date(2026, 11, 25))
    assert sor.incompatible_content_ground and sor.illegal_content_legal_ground is None
    assert sor.decision_visibility == ["DECISION_VISIBILITY_CONTENT_DISABLED"]


@pytest.mark.parametrize(("change", "why"), [
    ({"puid": "has space"}, "puid"),
    ({"application_date": "25/11/2026"}, "YYYY-MM-DD"),
    ({"category": "STATEMENT_CATEGORY_NOPE"}, "not an accepted category"),
    ({"decision_visibility": None}, "at least one of"),
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other"),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other"),
    ({"illegal_content_explanation": None}, "illegal content needs"),
    ({"source_type": "SOURCE_VOLUNTARY", "source_identity": "x"}, "source_identity"),
])
def test_statement_rules_refuse_what_the_api_refuses(change: dict, why: str) -> None:
    c = _decided_case([Action.REMOVE])
    good = build_statement(c.statement_request("p"), PACK.get("counterfeit").ref(), facts("x"),
                           date(2026, 11, 25)).model_dump()
    with pytest.raises(ValueError, match=why):
        StatementOfReasons.model_validate({**good, **change})


@pytest.mark.parametrize(("delivered", "ends"), [
    (datetime(2026, 1, 15, 10, 0, tzinfo=UTC), datetime(2026, 7, 16, tzinfo=UTC)),
    (datetime(2026, 8, 31, 23, 59, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)),  # 28 Feb
    (datetime(2027, 8, 31, 9, 0, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC)),  # 29 Feb
    (datetime(2026, 12, 31, 0, 0, tzinfo=UTC), datetime(2027, 7, 1, tzinfo=UTC)),
    (datetime(2026, 3, 31, 12, 0, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)),
])
def test_the_appeal_window_is_six_calendar_months(delivered: datetime, ends: datetime) -> None:
    end = appeal_deadline(delivered)
    assert end == ends
    assert timedelta(days=181) <= end - delivered.replace(hour=0, minute=0) <= timedelta(days=185)


def test_every_join_counts_source_floors_and_the_first_trusted_flagger() -> None:
    floors = PACK.floors
    le, tf = report(Source.LAW_ENFORCEMENT), report(Source.TRUSTED_FLAGGER)
    assert reprioritise(Priority.P3, [le], floors, any_trusted_before=False) is Priority.P0
    assert reprioritise(Priority.P3, [tf], floors, any_trusted_before=False) is Priority.P2
    assert reprioritise(Priority.P3, [tf], floors, any_trusted_before=True) is Priority.P3
    assert reprioritise(Priority.P1, [report()], floors, any_trusted_before=False) is Priority.P1


@pytest.mark.parametrize("text", ["listing:L-0003\n", "listing:L-0003 ", "listing:L\u202e1"])
def test_subject_ids_match_as_a_whole(text: str) -> None:
    with pytest.raises(InvalidInput, match="malformed subject"):
        Subject.parse(text)
