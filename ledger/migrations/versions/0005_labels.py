"""What each review case's decision was made on (the subject as screened, the policies it was
considered under, the pack's version, the detector's score), one row per case, for the
validation sets (`casework dataset export`). Decisions settled before this revision get theirs
with `casework ledger rebuild`."""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("""CREATE TABLE IF NOT EXISTS labels (
        case_uid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        seen TEXT NOT NULL
    )""")
    op.execute("CREATE INDEX IF NOT EXISTS labels_decided_idx ON labels (decided_at)")
