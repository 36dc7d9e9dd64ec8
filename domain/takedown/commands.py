"""A job's commands, one line each (see `domain.commands`): its second person's approval, and
its requester's steering."""

from __future__ import annotations

from functools import partial

from domain.authority import APPROVERS, JOB_STARTERS
from domain.commands import CommandSpec, table
from domain.takedown.models import ApproveJob, JobCommand, JobSummary

_job = partial(CommandSpec, any_queue=True, answer=JobSummary)

TAKEDOWN_COMMANDS = table(
    "takedown",
    _job("approve", ApproveJob, "approve", APPROVERS,
         "approve a job that waits (a senior who took no part)", "approval",
         update="approve_job"),
    *(_job(c, JobCommand, c, JOB_STARTERS, f"{c} a job you asked for", c, update=f"{c}_job")
      for c in ("pause", "resume", "cancel", "reverse")),
)
