"""The review lifecycle, declared once with `transitions`.

The declaration (states, triggers, guards) is the single source of truth: the workflow asks it
whether a step is allowed (`Lifecycle.check`) and moves with it (`Lifecycle.fire`); the CLI draws
it (`casework lifecycle review --format mermaid`). The machine stays a pure legality check: side
effects (activities, timers) live in workflow code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transitions import Machine, MachineError

from domain.errors import Refused
from domain.models import Action, CaseState, DecideRequest, RetryRequest, SubjectKind

REVIEW_STATES = [
    "screening",
    "auto_actioned",
    "queued",
    "in_review",
    "decided",
    "enforcing",
    "notifying",
    "needs_attention",
    "appealable",
    "closed",
]
# A report joins the case while it is still to be decided; later it opens a follow-up case.
JOINABLE = ["screening", "queued", "in_review"]

REVIEW_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "auto_action", "source": "screening", "dest": "auto_actioned"},
    {"trigger": "enqueue", "source": "screening", "dest": "queued"},
    {"trigger": "claim", "source": "queued", "dest": "in_review"},
    {"trigger": "expire_lease", "source": "in_review", "dest": "queued"},
    {"trigger": "decide", "source": "in_review", "dest": "decided", "conditions": "decision_ok"},
    {"trigger": "enforce", "source": ["auto_actioned", "decided"], "dest": "enforcing",
     "conditions": "has_actions"},
    {"trigger": "notify", "source": "enforcing", "dest": "notifying"},
    {"trigger": "notify", "source": "decided", "dest": "notifying", "unless": "has_actions"},
    {"trigger": "open_appeal_window", "source": "notifying", "dest": "appealable",
     "conditions": "restricts"},
    {"trigger": "close", "source": "notifying", "dest": "closed", "unless": "restricts"},
    {"trigger": "close", "source": "appealable", "dest": "closed"},
    # A step of the restriction chain that needs a person (a statement the DSA rules refuse,
    # a seller the marketplace cannot reach) parks the case; ops resume it once repaired.
    {"trigger": "need_attention", "source": "notifying", "dest": "needs_attention"},
    {"trigger": "retry", "source": "needs_attention", "dest": "notifying",
     "conditions": "retry_ok"},
    {"trigger": "add_report", "source": JOINABLE, "dest": None},
    {"trigger": "forward_report", "source": [s for s in REVIEW_STATES if s not in JOINABLE],
     "dest": None},
    {"trigger": "breach_sla", "source": ["queued", "in_review"], "dest": None},
]


class ReviewGuards:
    """The machine's model: holds the state and the guards, reading the case it is bound to.

    Each `why_not_*` returns the reason a step is refused, or None; the boolean guards the
    declaration names are derived from them, so the explanation and the rule cannot drift.
    """

    def __init__(self, case: CaseState) -> None:
        self.case = case
        self.state = case.state

    def why_not_decide(self, req: DecideRequest) -> str | None:
        case = self.case
        if req.reviewer != case.assignee:
            return f"only the assignee ({case.assignee}) may decide this case, not {req.reviewer}"
        known = {p.id for p in case.policies}
        if unknown := [p for p in req.policy_ids if p not in known]:
            return f"unknown policy id(s) {', '.join(unknown)}; the pack has {', '.join(sorted(known))}"
        if Action.NO_ACTION in req.actions and len(req.actions) > 1:
            return "no_action cannot be combined with other actions"
        if any(a.restricts or a is Action.WARN for a in req.actions) and not req.policy_ids:
            return "a decision that acts must cite at least one policy id"
        if len(set(req.actions)) != len(req.actions):
            return "each action may be named once"
        for a in req.actions:
            if a.targets is SubjectKind.LISTING and case.subject.kind is not SubjectKind.LISTING:
                return f"{a.value} acts on listings; this case is about a {case.subject.kind.value}"
            if a.targets is SubjectKind.SHOP and case.subject.kind is SubjectKind.SELLER:
                return f"{a.value} acts on a shop; this case is about a seller"
        return None

    def decision_ok(self, req: DecideRequest) -> bool:
        return self.why_not_decide(req) is None

    def why_not_retry(self, req: RetryRequest) -> str | None:
        if self.case.attention is None:
            return "the case is not waiting for a repair"
        return None

    def retry_ok(self, req: RetryRequest) -> bool:
        return self.why_not_retry(req) is None

    def has_actions(self) -> bool:
        decision = self.case.decision
        return decision is not None and decision.actions != [Action.NO_ACTION]

    def restricts(self) -> bool:
        """A restriction is in force: one was applied. A decided action that failed to land
        opens no appeal window and yields no statement of reasons."""
        return any(e.action.restricts for e in self.case.enforcement)


_GUARD_REASONS: dict[str, Callable[..., str | None]] = {
    "decide": ReviewGuards.why_not_decide, "retry": ReviewGuards.why_not_retry}


def build_machine(model: object, machine_cls: type[Machine] = Machine, **kw: Any) -> Machine:
    return machine_cls(
        model=model,
        states=REVIEW_STATES,
        transitions=REVIEW_TRANSITIONS,
        initial=getattr(model, "state", REVIEW_STATES[0]),
        auto_transitions=False,
        model_attribute="state",
        **kw,
    )


class Lifecycle:
    """A case's lifecycle: refuses what the declaration does not allow, with a reason."""

    def __init__(self, case: CaseState) -> None:
        self.model = ReviewGuards(case)
        self.machine = build_machine(self.model)

    @property
    def state(self) -> str:
        return self.model.state

    def allowed_from(self, trigger: str) -> list[str]:
        return sorted(self.machine.events[trigger].transitions)

    def check(self, trigger: str, *args: Any) -> None:
        """Raise Refused unless `trigger` may fire now with these arguments."""
        if trigger not in self.machine.events:
            raise Refused(f"unknown step {trigger!r}")
        if self.state not in self.machine.events[trigger].transitions:
            allowed = ", ".join(self.allowed_from(trigger))
            raise Refused(
                f"cannot {trigger.replace('_', ' ')} a case in state {self.state!r} "
                f"(allowed from: {allowed})"
            )
        if trigger in _GUARD_REASONS and (reason := _GUARD_REASONS[trigger](self.model, *args)):
            raise Refused(reason)
        if not getattr(self.model, f"may_{trigger}")(*args):
            raise Refused(f"cannot {trigger.replace('_', ' ')} a case in state {self.state!r} now")

    def fire(self, trigger: str, *args: Any) -> str:
        """Check, then move; returns the new state and keeps the case's `state` in step."""
        self.check(trigger, *args)
        try:
            getattr(self.model, trigger)(*args)
        except MachineError as e:  # pragma: no cover - check() above makes this unreachable
            raise Refused(str(e.value)) from None
        self.model.case.state = self.model.state
        return self.model.state


def mermaid() -> str:
    """The review lifecycle as a Mermaid state diagram, drawn from the declaration."""
    from transitions.extensions import GraphMachine

    class _Model:  # guards are not evaluated when drawing
        state = REVIEW_STATES[0]

    model = _Model()
    build_machine(model, GraphMachine, graph_engine="mermaid", show_conditions=True, title="review")
    text = model.get_graph().draw(None)  # type: ignore[attr-defined]
    # Drop the colouring of the "current" state: a diagram of the declaration has none.
    return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith(("Class ", "classDef")))
