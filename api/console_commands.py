"""The console's commands on a record, by the name its form posts: each calls the casework
client as the signed-in person (the client and the workflow decide whether they may)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from client.casework import CaseworkClient
from client.credentials import Session
from domain.authority import APPROVERS
from domain.commands import CommandSpec
from domain.errors import NotFound
from domain.people import Person, Role
from domain.review.commands import REVIEW_COMMANDS
from domain.review.lifecycle import REVIEW
from domain.review.models import CaseState
from domain.takedown.commands import TAKEDOWN_COMMANDS as JOB_COMMANDS
from domain.takedown.lifecycle import TAKEDOWN
from domain.takedown.models import JobSummary

# command -> call(client, record id, the signed-in person, the form's text, the form's choice)
Command = Callable[[CaseworkClient, str, str, str, str], Awaitable[Any]]


def table_command(spec: CommandSpec) -> Command:
    """A command of the lifecycle's table: the form's text is its reason or its text, if it
    takes one."""
    field = next((f for f in ("reason", "text") if f in spec.body), None)

    def run(cw: CaseworkClient, record: str, who: str, text: str, choice: str) -> Awaitable[Any]:
        return cw.run(spec, record, who, {field: text} if field else {})
    return run


CASE_COMMANDS: dict[str, Command] = {
    "claim": lambda cw, i, who, text, choice: cw.claim(i, who, kinds=("review",)),
    "escalate": lambda cw, i, who, text, choice: cw.escalate(i, who, text, choice),
    **{name: table_command(spec) for name, spec in REVIEW_COMMANDS.items()},
}
ESCALATION_COMMANDS: dict[str, Command] = {
    "ack": lambda cw, i, who, text, choice: cw.acknowledge_escalation(i, who),
    "note": lambda cw, i, who, text, choice: cw.note_escalation(i, who, text),
    "resolve": lambda cw, i, who, text, choice: resolve(cw, i, who, text, choice),
    "severity": lambda cw, i, who, text, choice: cw.set_escalation_severity(i, who, choice,
                                                                             text),
    "hand-off": lambda cw, i, who, text, choice: cw.hand_off_escalation(i, who, choice, text),
}

TAKEDOWN_COMMANDS: dict[str, Command] = {
    name: table_command(spec) for name, spec in JOB_COMMANDS.items()}


def job_commands(job: JobSummary, person: Person) -> list[str]:
    """The buttons a job's page offers this person now: what its state allows (the
    declaration's sources), approval to a senior who did not ask for it, steering to its
    requester (the workflow decides again)."""
    return [name for name, spec in JOB_COMMANDS.items()
            if job.state in TAKEDOWN.sources(spec.trigger)
            and (job.requester == person.id if spec.person == "requester"
                 else bool(APPROVERS & set(person.roles)) and job.requester != person.id)]


def resolve(cw: CaseworkClient, escalation_id: str, who: str, reason: str,
             policy: str) -> Awaitable[Any]:
    """Resolve, handing the review case a decision under `policy` with its default actions
    (none: the case goes back to its queue)."""
    if not policy or policy == "none":
        return cw.resolve_escalation(escalation_id, who, reason)
    actions = cw.pack().get(policy).default_actions
    return cw.resolve_escalation(escalation_id, who, reason, actions, [policy])


async def run(commands: dict[str, Command], noun: str, command: str, *args: Any) -> Any:
    if command not in commands:
        raise NotFound(f"no {noun} command {command!r}")
    return await commands[command](*args)


def may_approve(s: Session, case: CaseState) -> bool:
    """Whether to offer the approval a severe decision waits for (the workflow decides)."""
    decided_by = case.decision.decided_by if case.decision else None
    return (case.state in REVIEW.awaiting and Role.SENIOR in s.person.roles
            and decided_by != s.person.id and s.person.works(case.queue))
