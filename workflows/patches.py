"""Every `workflow.patched` id, listed once: when it came, what older runs did, and the day it may
be retired.

A patch may go (Temporal's patching pattern: `workflow.deprecate_patch`, then the id removed)
once no run started before it can still be running and the recorded histories that replay the
older behaviour have been re-recorded. A review case lives at most its SLA, six months of appeal
window and its appeal: `RETIRE_AFTER` past the day a patch was deployed. None is due yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

RETIRE_AFTER = timedelta(days=214)  # seven months: the appeal window and the appeal after it


@dataclass(frozen=True)
class Patch:
    added: date
    older: str  # what runs from before it do

    @property
    def retire_on(self) -> date:
        return self.added + RETIRE_AFTER


_NOV25, _NOV26, _DEC03, _DEC04 = (date(2026, 11, 25), date(2026, 11, 26), date(2026, 12, 3),
                                  date(2026, 12, 4))

PATCHES: dict[str, Patch] = {
    "trusted-flagger-join-raises-priority": Patch(
        _NOV25, "a trusted flagger's report joining a case left its priority"),
    "intake-attributes-set-at-start": Patch(
        _NOV25, "upserted the intake search attributes in the first workflow task"),
    "late-reports-open-follow-ups": Patch(_NOV26, "kept a late report on the decided case"),
    "join-recomputes-priority": Patch(_NOV26, "recomputed no priority on a join"),
    "reports-capped": Patch(_NOV26, "kept every report in the case"),
    "one-outcome-per-reporter": Patch(_NOV26, "sent one outcome per report"),
    "upsert-changed-attributes": Patch(_NOV26, "upserted every search attribute at each commit"),
    "report-identity-by-source-and-reporter": Patch(_NOV26, "matched reports on their id alone"),
    "staff-messages-in-background": Patch(_NOV26, "waited for staff messages"),
    "second-breach-escalates": Patch(_NOV26, "a second SLA breach opened no escalation"),
    "severe-actions-need-approval": Patch(_NOV26, "severe actions executed at once"),
    "overturn-strikes": Patch(_NOV26, "an overturned decision kept its strike"),
    "reversal-recorded-on-cases": Patch(_NOV26, "a job's reversal was not noted on its cases"),
    "strike-as-local-activity": Patch(_NOV26, "counted strikes in a regular activity"),
    "strikes-start-shop-reviews": Patch(_NOV26, "strikes started no shop review"),
    "signals-sealed": Patch(_DEC03, "took plaintext signals"),
    "signals-bound": Patch(_DEC03, "took an ops note sealed for any record"),
    "starts-sealed": Patch(_DEC03, "started from any input"),
    "four-eyes-jobs": Patch(
        _DEC03, "jobs waited only above the size, never for an order or a shop's decision"),
    "shop-review-requester-checked": Patch(_DEC03, "shop reviews started whoever asked"),
    "appeal-four-eyes": Patch(_DEC03, "appeal verdicts never waited for a second person"),
    "escalator-not-approver": Patch(_DEC03, "whoever escalated a case could approve its outcome"),
    "reports-join-awaiting-approval": Patch(
        _DEC03, "a report about a case awaiting approval opened a follow-up case"),
    "qa-sampling": Patch(_DEC03, "no decision was drawn for a QA check"),
    "qa-appeal-sampling": Patch(_DEC03, "no appeal verdict was drawn for a QA check"),
    # A review case on it takes every review patch above as given, without their markers (and
    # their TemporalChangeVersion upserts), and costs its history less (`Journal`).
    "lean-case-path": Patch(
        _DEC04, "a review case upserted at every commit, wrote each commit by itself, started a "
        "timer at every wait and recorded a marker per patch"),
}
