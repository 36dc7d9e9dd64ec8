"""What the reports add up: each decision (who, its label, claim to decision, within SLA), each
QA check's verdicts, each appeal's outcome (rows keyed by the record they come from, written
with its ledger row), and calibration sets with the answers they were given. Rows for work
settled before this revision come with `casework ledger rebuild`."""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"

TABLES = [
    """CREATE TABLE IF NOT EXISTS decisions (
        case_uid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        queue TEXT NOT NULL,
        decider TEXT NOT NULL,
        automated INTEGER NOT NULL,
        label TEXT NOT NULL,
        actions TEXT NOT NULL,
        claimed_at TEXT,
        decided_at TEXT NOT NULL,
        handling_s REAL,
        breached INTEGER NOT NULL
    )""",
    # covers a report's walk of a period's decisions (no table reads)
    "CREATE INDEX IF NOT EXISTS decisions_report_idx ON decisions "
    "(decided_at, automated, decider, queue, breached, handling_s)",
    "CREATE INDEX IF NOT EXISTS decisions_decider_idx ON decisions (decider, decided_at)",
    "CREATE INDEX IF NOT EXISTS decisions_queue_idx ON decisions (queue, decided_at)",
    """CREATE TABLE IF NOT EXISTS qa_results (
        case_uid TEXT PRIMARY KEY,
        review_case_uid TEXT NOT NULL,
        checker TEXT,
        label TEXT,
        actions TEXT NOT NULL,
        same_actions INTEGER,
        same_policy INTEGER,
        checked_at TEXT,
        adjudicator TEXT,
        final_label TEXT,
        final_actions TEXT NOT NULL,
        final_agrees INTEGER,
        closed_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS qa_results_review_idx ON qa_results (review_case_uid)",
    """CREATE TABLE IF NOT EXISTS appeal_results (
        case_uid TEXT PRIMARY KEY,
        review_case_uid TEXT NOT NULL,
        outcome TEXT NOT NULL,
        label TEXT NOT NULL,
        decided_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS appeal_results_review_idx ON appeal_results (review_case_uid)",
    """CREATE TABLE IF NOT EXISTS calibration_items (
        set_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        queue TEXT NOT NULL,
        body TEXT NOT NULL,
        loaded_by TEXT NOT NULL,
        loaded_at TEXT NOT NULL,
        PRIMARY KEY (set_id, item_id)
    )""",
    "CREATE INDEX IF NOT EXISTS calibration_items_queue_idx ON calibration_items (queue)",
    """CREATE TABLE IF NOT EXISTS calibration_cases (
        case_id TEXT PRIMARY KEY,
        set_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        queue TEXT NOT NULL,
        given_at TEXT NOT NULL,
        label TEXT,
        actions TEXT,
        correct INTEGER,
        same_policy INTEGER,
        same_actions INTEGER,
        decided_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS calibration_cases_reviewer_idx ON calibration_cases "
    "(reviewer, decided_at)",
]


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)
