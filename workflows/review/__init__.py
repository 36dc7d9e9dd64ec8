"""The review workflow, by concern: `workflow` (the case's run loop and the commands of its
table), `intake` (reports joining and follow-ups), `escalation` (to an owner and back),
`chain` (enforcement and the restriction chain: statement, notices, appeal window)."""

from workflows.review.workflow import ReviewWorkflow

__all__ = ["ReviewWorkflow"]
