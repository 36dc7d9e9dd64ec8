"""The lifecycle engine: one generic machine for every lifecycle, driven by its declaration.

A `Declaration` (its states as an enum, the sets of them everyone else reads, triggers with
`transitions`' source/dest/conditions, the guards model and the guards that explain a refusal)
is the single source of truth for a lifecycle: its workflow asks it whether a step is allowed
(`Lifecycle.check`, in Update validators), moves with it (`Lifecycle.fire`) and lets it choose
the next step (`Lifecycle.advance`); the ledger, ops, the client and the console read its state
sets; the CLI and the docs draw it (`mermaid`). The machine stays a pure legality check: side
effects (activities, timers) live in workflow code.

A trigger with a reason (`reasons`: a `why_not_<…>` guard that says why it is refused) gets its
yes/no condition from that reason, so explanation and rule cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from transitions import Machine, MachineError

from domain.errors import Refused

ALLOWED = "_allowed"  # the condition name a reason's trigger gets: `<trigger>_allowed`


class Guards:
    """A machine's model: the state, and guards reading the record (the workflow's state) it is
    bound to. A `why_not_<…>` returns the reason a step is refused, or None; the condition
    `<trigger>_allowed` is derived from it (see `Declaration.reasons`)."""

    reasons: dict[str, Callable[..., str | None]] = {}

    def __init__(self, record: Any) -> None:
        self.record = record
        self.state = record.state

    def __getattr__(self, name: str) -> Any:
        trigger = name.removesuffix(ALLOWED)
        if name.endswith(ALLOWED) and trigger in self.reasons:
            why_not = self.reasons[trigger]
            return lambda *args: why_not(self, *args) is None
        raise AttributeError(name)


def states(*names: Iterable[str]) -> frozenset[str]:
    """A set of a lifecycle's states (`StrEnum` members or their values)."""
    return frozenset(str(s) for group in names for s in group)


@dataclass(frozen=True)
class Declaration:
    """A lifecycle. Its states are an enum (the first is the initial one); the named sets are
    what other layers ask about a record without naming a state: `waiting` (the run loop waits
    there for a command or a timer), `queued` (in a queue, nobody holds it), `held` (a person
    holds it), `awaiting` (a second person's approval), `working` (the engine carries out steps
    by itself: a record idle there is stuck). `final` is derived: the states no transition
    leaves."""

    name: str
    state_enum: type[StrEnum]
    transitions: list[dict[str, Any]]
    guards: type[Guards] = Guards
    # trigger -> the guard that says why it is refused; its condition is derived from it
    reasons: dict[str, Callable[..., str | None]] = field(default_factory=dict)
    noun: str = "case"  # what the refusals call the record: "cannot claim a case in …"
    waiting: frozenset[str] = frozenset()
    queued: frozenset[str] = frozenset()
    held: frozenset[str] = frozenset()
    awaiting: frozenset[str] = frozenset()
    working: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        named = self.waiting | self.queued | self.held | self.awaiting | self.working
        unknown = named - set(self.states)
        assert not unknown, f"{self.name}: unknown state(s) {sorted(unknown)}"

    @property
    def states(self) -> list[str]:
        return [s.value for s in self.state_enum]

    def sources(self, *triggers: str) -> frozenset[str]:
        """The states any of `triggers` may fire from."""
        found: set[str] = set()
        for t in self.transitions:
            if t["trigger"] in triggers:
                found.update([t["source"]] if isinstance(t["source"], str) else t["source"])
        return frozenset(found)

    @property
    def initial(self) -> str:
        return self.states[0]

    @property
    def final(self) -> frozenset[str]:
        """States no transition leaves (an internal step, such as a late report handed on,
        stays): the record's life is over there."""
        left: set[str] = set()
        for t in self.transitions:
            src = [t["source"]] if isinstance(t["source"], str) else t["source"]
            left.update(s for s in src if t["dest"] not in (None, s))
        return frozenset(s for s in self.states if s not in left)

    def rules(self) -> list[dict[str, Any]]:
        """The transitions as the machine takes them: a trigger with a reason is conditioned
        on it (`<trigger>_allowed`) before whatever else it declares."""
        out = []
        for t in self.transitions:
            if t["trigger"] in self.reasons:
                declared = t.get("conditions", [])
                declared = [declared] if isinstance(declared, str) else list(declared)
                t = {**t, "conditions": [t["trigger"] + ALLOWED, *declared]}
            out.append(t)
        return out

    @property
    def a_noun(self) -> str:
        """The noun with its article: "a case", "an escalation"."""
        return f"{'an' if self.noun[:1] in 'aeiou' else 'a'} {self.noun}"

    def machine(self, model: object, machine_cls: type[Machine] = Machine,
                **kw: Any) -> Machine:
        return machine_cls(model=model, states=self.states, transitions=self.rules(),
                           initial=getattr(model, "state", self.initial),
                           auto_transitions=False, model_attribute="state", **kw)


class Lifecycle:
    """A record's lifecycle: refuses what its declaration does not allow, with a reason."""

    def __init__(self, declaration: Declaration, record: Any) -> None:
        self.declaration = declaration
        self.model = declaration.guards(record)
        self.model.reasons = declaration.reasons
        self.machine = declaration.machine(self.model)

    @property
    def state(self) -> str:
        return str(self.model.state)

    def allowed_from(self, trigger: str) -> list[str]:
        """The states `trigger` may fire from (none: the lifecycle does not declare it)."""
        event = self.machine.events.get(trigger)
        return sorted(event.transitions) if event else []

    def check(self, trigger: str, *args: Any) -> None:
        """Raise Refused unless `trigger` may fire now with these arguments."""
        noun = self.declaration.a_noun
        if trigger not in self.machine.events:
            raise Refused(f"unknown step {trigger!r}")
        if self.state not in self.machine.events[trigger].transitions:
            allowed = ", ".join(self.allowed_from(trigger))
            raise Refused(f"cannot {trigger.replace('_', ' ')} {noun} in state "
                          f"{self.state!r} (allowed from: {allowed})")
        why_not = self.declaration.reasons.get(trigger)
        if why_not and (reason := why_not(self.model, *args)):
            raise Refused(reason)
        if not getattr(self.model, f"may_{trigger}")(*args):
            raise Refused(f"cannot {trigger.replace('_', ' ')} {noun} in state "
                          f"{self.state!r} now")

    def may(self, trigger: str, *args: Any) -> bool:
        """Whether `trigger` may fire now (from this state, its conditions hold)."""
        return (self.state in self.allowed_from(trigger)
                and bool(getattr(self.model, f"may_{trigger}")(*args)))

    def advance(self, *triggers: str) -> str:
        """The step the record takes by itself: the first of `triggers` allowed now fires;
        returns the trigger taken."""
        for trigger in triggers:
            if self.may(trigger):
                self.fire(trigger)
                return trigger
        raise Refused(f"none of {', '.join(triggers)} may fire from state {self.state!r}")

    def fire(self, trigger: str, *args: Any) -> str:
        """Check, then move; returns the new state and keeps the record's `state` in step."""
        self.check(trigger, *args)
        try:
            getattr(self.model, trigger)(*args)
        except MachineError as e:  # pragma: no cover - check() above makes this unreachable
            raise Refused(str(e.value)) from None
        self.model.record.state = self.model.state
        return self.state


def mermaid(declaration: Declaration) -> str:
    """A lifecycle as a Mermaid state diagram, drawn from its declaration."""
    from transitions.extensions import GraphMachine

    class _Model:  # guards are not evaluated when drawing
        state = declaration.initial

    model = _Model()
    declaration.machine(model, GraphMachine, graph_engine="mermaid", show_conditions=True,
                        title=declaration.name)
    text = model.get_graph().draw(None)  # type: ignore[attr-defined]
    # Drop the colouring of the "current" state: a diagram of the declaration has none.
    return "\n".join(ln for ln in text.splitlines()
                     if not ln.strip().startswith(("Class ", "classDef")))
