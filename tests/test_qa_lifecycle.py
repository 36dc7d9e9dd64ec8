"""The QA lifecycle, pure: who may check a decision, agreement counted on actions and policy
each, a disagreement adjudicated by a senior who is neither party, and the QA reviewer's view
holding no trace of the first verdict or its author."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.authority import ClaimRequest
from domain.core import Action, Decision, PolicyRef, Priority, Subject
from domain.engine import Lifecycle
from domain.errors import Refused
from domain.qa.lifecycle import QA
from domain.qa.models import AdjudicateRequest, QaDecideRequest, QaState, Seen, Verdict

NOW = datetime(2026, 12, 3, tzinfo=UTC)
REF = PolicyRef(id="counterfeit", title="Counterfeit", queue="ip", priority=Priority.P1,
                category="STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
                ground="DECISION_GROUND_ILLEGAL_CONTENT", legal_reference="Reg. 2017/1001",
                explanation="a replica")


def _check(**first: object) -> QaState:
    decision = Decision(decided_by="alice", policy_ids=["counterfeit"], actions=[Action.REMOVE],
                        reason="the decider's secret words", decided_at=NOW, automated=False)
    return QaState(case_id="qa-1", case_uid="u-1", subject=Subject.parse("listing:L-1"),
                   state="queued", opened_at=NOW, review_case_id="case-listing-L-1",
                   review_case_uid="u-0", first=decision.model_copy(update=first),
                   first_approver="sam", seen=Seen(policies=[REF]),
                   why_sampled="every decision: rate 0.05")


def _verdict(actions: list[Action], policies: list[str] | None = None) -> QaDecideRequest:
    return QaDecideRequest(reviewer="quinn", actions=actions,
                           policy_ids=["counterfeit"] if policies is None else policies,
                           reason="as I see it")


def test_the_decider_and_the_approver_never_check_their_own_decision() -> None:
    lc = Lifecycle(QA, _check())
    for who in ("alice", "sam"):
        with pytest.raises(Refused, match=f"{who} (made|approved) the decision under check"):
            lc.check("claim", ClaimRequest(reviewer=who))
    lc.check("claim", ClaimRequest(reviewer="quinn"))


@pytest.mark.parametrize(("actions", "policies", "state"), [
    ([Action.REMOVE], ["counterfeit"], "agreed"),
    ([Action.WARN], ["counterfeit"], "disagreed"),  # same policy, other action
    ([Action.NO_ACTION], [], "disagreed"),
])
def test_agreement_is_the_same_actions_and_the_same_policy(
        actions: list[Action], policies: list[str], state: str) -> None:
    qa = _check(state="in_review")
    qa.state, qa.assignee = "in_review", "quinn"
    Lifecycle(QA, qa).fire("decide", _verdict(actions, policies))
    assert qa.state == state


def test_a_disagreement_goes_to_a_senior_who_is_neither_party() -> None:
    qa = _check()
    qa.state, qa.assignee = "in_review", "quinn"
    lc = Lifecycle(QA, qa)
    lc.fire("decide", _verdict([Action.WARN]))
    qa.verdict = Verdict(by="quinn", policy_ids=["counterfeit"], actions=[Action.WARN],
                         reason="a warning is enough", at=NOW)
    lc.fire("adjudicate_next")
    for party in ("alice", "sam", "quinn"):
        with pytest.raises(Refused, match=f"{party} took part"):
            lc.check("adjudicate", AdjudicateRequest(senior=party, actions=[Action.REMOVE],
                                                     policy_ids=["counterfeit"], reason="x"))
    lc.fire("adjudicate", AdjudicateRequest(senior="sara", actions=[Action.WARN],
                                            policy_ids=["counterfeit"], reason="warn instead"))
    assert qa.state == "correcting"  # the senior's word differs from what was enforced


def test_a_verdict_names_known_policies_and_no_action_alone() -> None:
    qa = _check()
    qa.state, qa.assignee = "in_review", "quinn"
    lc = Lifecycle(QA, qa)
    with pytest.raises(Refused, match="unknown policy id"):
        lc.check("decide", _verdict([Action.REMOVE], ["made-up"]))
    with pytest.raises(Refused, match="no_action stands alone"):
        lc.check("decide", _verdict([Action.NO_ACTION, Action.WARN]))
    with pytest.raises(Refused, match="cite the policy"):
        lc.check("decide", _verdict([Action.WARN], []))
    with pytest.raises(Refused, match="only the assignee"):
        lc.check("decide", _verdict([Action.REMOVE]).model_copy(update={"reviewer": "olga"}))


def test_the_qa_reviewers_view_holds_no_trace_of_the_first_verdict() -> None:
    shown = _check().blind().model_dump_json()
    for trace in ("alice", "sam", "the decider's secret words", "case-listing-L-1", "u-0",
                  "remove"):
        assert trace not in shown, trace


def test_a_verdict_names_actions_that_apply_to_the_subject_once() -> None:
    qa = _check()
    qa.state, qa.assignee = "in_review", "quinn"
    qa.subject = Subject.parse("seller:U-1")
    lc = Lifecycle(QA, qa)
    with pytest.raises(Refused, match="remove acts on listings; this case is about a seller"):
        lc.check("decide", _verdict([Action.REMOVE]))
    with pytest.raises(Refused, match="once"):
        lc.check("decide", _verdict([Action.REMOVE, Action.REMOVE]))
