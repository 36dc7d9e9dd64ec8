"""The lifecycle engine: one generic machine for every lifecycle, driven by its declaration.

A `Declaration` (states, triggers with `transitions`' source/dest/conditions, the guards model
and the guards that explain a refusal) is the single source of truth for a lifecycle: its
workflow asks it whether a step is allowed (`Lifecycle.check`, in Update validators) and moves
with it (`Lifecycle.fire`); the CLI and the docs draw it (`mermaid`). The machine stays a pure
legality check: side effects (activities, timers) live in workflow code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine, MachineError

from domain.errors import Refused


class Guards:
    """A machine's model: the state, and guards reading the record (the workflow's state) it is
    bound to. A `why_not_<trigger>` returns the reason a step is refused, or None; the boolean
    guard a declaration names is derived from it, so explanation and rule cannot drift."""

    def __init__(self, record: Any) -> None:
        self.record = record
        self.state = record.state


@dataclass(frozen=True)
class Declaration:
    name: str
    states: list[str]
    transitions: list[dict[str, Any]]
    guards: type[Guards] = Guards
    # trigger -> the guard that says why it is refused (its boolean twin is in `transitions`)
    reasons: dict[str, Callable[..., str | None]] = field(default_factory=dict)
    noun: str = "case"  # what the refusals call the record: "cannot claim a case in …"

    @property
    def final_states(self) -> list[str]:
        """States no transition leaves: the record's life is over there."""
        sources: set[str] = set()
        for t in self.transitions:
            src = t["source"]
            sources.update([src] if isinstance(src, str) else src)
        return [s for s in self.states if s not in sources]

    @property
    def a_noun(self) -> str:
        """The noun with its article: "a case", "an escalation"."""
        return f"{'an' if self.noun[:1] in 'aeiou' else 'a'} {self.noun}"

    def machine(self, model: object, machine_cls: type[Machine] = Machine,
                **kw: Any) -> Machine:
        return machine_cls(model=model, states=self.states, transitions=self.transitions,
                           initial=getattr(model, "state", self.states[0]),
                           auto_transitions=False, model_attribute="state", **kw)


class Lifecycle:
    """A record's lifecycle: refuses what its declaration does not allow, with a reason."""

    def __init__(self, declaration: Declaration, record: Any) -> None:
        self.declaration = declaration
        self.model = declaration.guards(record)
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
        state = declaration.states[0]

    model = _Model()
    declaration.machine(model, GraphMachine, graph_engine="mermaid", show_conditions=True,
                        title=declaration.name)
    text = model.get_graph().draw(None)  # type: ignore[attr-defined]
    # Drop the colouring of the "current" state: a diagram of the declaration has none.
    return "\n".join(ln for ln in text.splitlines()
                     if not ln.strip().startswith(("Class ", "classDef")))
