"""Which decisions get a blind second review: a deterministic draw per decision, pure, so a
workflow makes it in its own code and makes it again on replay."""

from __future__ import annotations

import hmac

from domain.core import Action, Model
from domain.qa.config import QaConfig


class Decided(Model):
    """What the draw knows of a decision. `nth`: the decider's how-manieth decision this is
    (from the ledger, 1 for the first); `agreement`: the decider's share of agreed QA checks
    over the pack's drift window, None while they have fewer."""

    case_uid: str
    queue: str
    policy_ids: list[str]
    actions: list[Action]
    automated: bool = False
    nth: int = 1
    agreement: float | None = None
    appeal: bool = False


def rate_for(d: Decided, qa: QaConfig) -> tuple[float, str]:
    """The highest rate that applies to the decision, and why."""
    if d.appeal:
        return qa.appeals, "appeal verdict"
    found = [(qa.automated if d.automated else qa.rate,
              "auto-actioned" if d.automated else "every decision")]
    found += [(qa.queues[d.queue], f"queue {d.queue}")] if d.queue in qa.queues else []
    found += [(qa.policies[p], f"policy {p}") for p in d.policy_ids if p in qa.policies]
    found += [(qa.actions[a], f"action {a.value}") for a in d.actions if a in qa.actions]
    if not d.automated:
        if d.nth <= qa.new_reviewer_decisions:
            found.append((qa.new_reviewer_rate, f"the reviewer's first "
                                                f"{qa.new_reviewer_decisions} decisions"))
        if d.agreement is not None and d.agreement < qa.drift_agreement:
            found.append((qa.drift_rate, f"the reviewer's agreement {d.agreement:.0%} is under "
                                         f"{qa.drift_agreement:.0%}"))
    return max(found, key=lambda rw: rw[0])


def may_sample(d: Decided, qa: QaConfig) -> bool:
    """Whether any rate could draw this decision, whoever made it (none: nothing to ask,
    nothing to draw)."""
    return rate_for(d.model_copy(update={"nth": 1, "agreement": 0.0}), qa)[0] > 0


def draw(case_uid: str, key: bytes) -> float:
    """A number in [0, 1) fixed by the case and a key only casework's workers hold (HMAC), so
    nobody who reads a case can tell before deciding whether it will be checked."""
    digest = hmac.new(key, f"qa-draw:{case_uid}".encode(), "sha256").digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53


def sampled(d: Decided, qa: QaConfig, drawn: float) -> str | None:
    """Why the decision is sampled at its `drawn` number, or None when it is not."""
    rate, why = rate_for(d, qa)
    return f"{why}: rate {rate:g}" if drawn < rate else None
