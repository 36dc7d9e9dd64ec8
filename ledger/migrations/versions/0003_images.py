"""The photos a case's subject shows, by hash (one row each), so a case page finds the other
cases about the same photo (a replica sold under many listings and sellers). Rows written
before this revision get theirs at their next write, or at once with `casework ledger rebuild`."""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("""CREATE TABLE IF NOT EXISTS case_images (
        case_uid TEXT NOT NULL,
        image_hash TEXT NOT NULL,
        PRIMARY KEY (case_uid, image_hash)
    )""")
    op.execute("CREATE INDEX IF NOT EXISTS case_images_hash_idx ON case_images (image_hash)")
