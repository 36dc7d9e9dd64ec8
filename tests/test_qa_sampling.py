"""QA sampling, pure: which decisions get a blind second review, drawn the same way every time
(a rerun, a replay), at the rates of the pack's `[qa]` table; and the pack refusing bad rates
and targets with one line each."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from domain.core import Action
from domain.errors import InvalidInput
from domain.policy import PolicyPack
from domain.qa.config import QaConfig
from domain.qa.sampling import Decided, draw, may_sample, rate_for
from domain.qa.sampling import sampled as sampled_at

ROOT = Path(__file__).resolve().parents[1]
KEY = b"k" * 32  # the workers' draw key (derived from the payload key in a deployment)


def sampled(d: Decided, qa: QaConfig, key: bytes = KEY) -> str | None:
    return sampled_at(d, qa, draw(d.case_uid, key))
PACK_TEXT = (ROOT / "policies" / "pack.toml").read_text()


def _decisions(n: int) -> list[Decided]:
    """n decisions by 5 seasoned reviewers over 4 policies, each their 100th-and-later."""
    policies = itertools.cycle(["counterfeit", "weapons", "drugs", "wildlife"])
    return [Decided(case_uid=f"uid-{i:05d}", queue="ip", policy_ids=[next(policies)],
                    actions=[Action.REMOVE], nth=100 + i // 5) for i in range(n)]


def test_the_same_decisions_are_sampled_every_time_at_the_rate_asked() -> None:
    qa = QaConfig(rate=0.1, new_reviewer_decisions=0)
    decisions = _decisions(500)
    first = [d.case_uid for d in decisions if sampled(d, qa)]
    again = [d.case_uid for d in _decisions(500) if sampled(d, qa)]
    assert first == again  # a rerun (and a replay: the draw is the workflow's own code)
    assert 0.07 <= len(first) / 500 <= 0.13, len(first)  # 10 % within 3 points (2.2 sigma)
    other_key = [d.case_uid for d in decisions if sampled(d, qa, b"another key")]
    assert other_key != first  # who lacks the key cannot tell which cases are checked


def test_per_policy_action_and_reviewer_rates_are_honoured() -> None:
    qa = QaConfig(rate=0.1, policies={"weapons": 0.5}, actions={Action.NO_ACTION: 0.3},
                  automated=0.0, new_reviewer_decisions=20, new_reviewer_rate=1.0,
                  drift_agreement=0.8, drift_rate=0.6)
    decisions = _decisions(2000)
    weapons = [d for d in decisions if d.policy_ids == ["weapons"]]
    others = [d for d in decisions if d.policy_ids != ["weapons"]]
    assert 0.44 <= sum(bool(sampled(d, qa)) for d in weapons) / len(weapons) <= 0.56
    assert 0.08 <= sum(bool(sampled(d, qa)) for d in others) / len(others) <= 0.12
    cleared = [d.model_copy(update={"actions": [Action.NO_ACTION], "policy_ids": []})
               for d in others]
    assert 0.26 <= sum(bool(sampled(d, qa)) for d in cleared) / len(cleared) <= 0.34
    new = [d.model_copy(update={"nth": 1 + i % 20}) for i, d in enumerate(others)]
    assert all(sampled(d, qa) for d in new)  # a new reviewer's first 20: every one
    drifting = [d.model_copy(update={"agreement": 0.7}) for d in others]
    assert 0.55 <= sum(bool(sampled(d, qa)) for d in drifting) / len(drifting) <= 0.65
    auto = [d.model_copy(update={"automated": True, "nth": 1}) for d in others]
    assert not any(sampled(d, qa) for d in auto)  # auto-actions at their own rate (0 here)
    assert rate_for(new[0], qa) == (1.0, "the reviewer's first 20 decisions")


def test_why_a_decision_was_sampled_is_said() -> None:
    qa = QaConfig(rate=1.0)
    d = _decisions(1)[0]
    assert sampled(d, qa) == "every decision: rate 1"
    assert sampled(d.model_copy(update={"appeal": True}), qa) is None  # appeals: 0 by default


@pytest.mark.parametrize(("table", "message"), [
    ("[qa]\nrate = 1.5\n", "qa.rate"),
    ("[qa]\nsla_hours = inf\n", "qa.sla_hours"),
    ("[qa]\nrate = -0.1\n", "qa.rate"),
    ('[qa]\nrate = "0.1"\n', "qa.rate"),
    ("[qa.policies]\nmade-up = 0.5\n", "qa.policies names what the pack does not have: made-up"),
    ("[qa.actions]\nobliterate = 0.5\n", "qa.actions.obliterate"),
    ('[targets.team]\nqa_agreement = "high"\n', "targets.team.qa_agreement"),
    ("[targets.queues.nowhere]\nsla_compliance = 0.9\n",
     "targets.queues names what the pack does not have: nowhere"),
    ("[qa]\nrate = 0.1\n", "configure its queue too ([queues.qa]"),
], ids=["rate-over-1", "sla-infinite", "rate-negative", "rate-string", "unknown-policy", "unknown-action",
        "target-not-a-number", "target-unknown-queue", "qa-without-its-queue"])
def test_bad_rates_and_targets_are_refused_in_one_line(table: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        PolicyPack.from_toml(PACK_TEXT + "\n" + table)
    assert message in str(refused.value) and "\n" not in str(refused.value), str(refused.value)


def test_targets_of_a_queue_fall_back_to_the_teams() -> None:
    pack = PolicyPack.from_toml(PACK_TEXT + "\n[targets.queues.ip]\nqa_agreement = 0.95\n")
    ip, fraud = pack.targets.of("ip"), pack.targets.of("fraud")
    assert ip.qa_agreement == 0.95 and ip.sla_compliance == fraud.sla_compliance == 0.95
    assert fraud.qa_agreement == 0.9


def test_a_draw_is_asked_for_only_where_a_rate_could_draw_it() -> None:
    d = _decisions(1)[0]
    assert not may_sample(d, QaConfig())  # QA off: no round trip
    assert may_sample(d, QaConfig(new_reviewer_rate=0.5))  # whoever decided: maybe new
    auto = d.model_copy(update={"automated": True})
    assert not may_sample(auto, QaConfig(new_reviewer_rate=0.5))
    assert may_sample(auto, QaConfig(policies={"counterfeit": 1.0}))  # a policy's rate
    assert 0 <= draw("uid", KEY) < 1
