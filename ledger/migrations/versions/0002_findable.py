"""Cases findable by what they are about: the seller, the shop, the title and a search text
(title, description and the reports' words, lowercased), with indexes for the seller's and the
shop's history. Rows written before this revision get them at their next write, or at once
with `casework ledger rebuild` (from the workflows Temporal still keeps)."""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    for column in ("seller_id TEXT", "shop_id TEXT", "title TEXT", "search_text TEXT"):
        op.execute(f"ALTER TABLE cases ADD COLUMN {column}")
    op.execute("CREATE INDEX IF NOT EXISTS cases_seller_idx ON cases (seller_id, opened_at)")
    op.execute("CREATE INDEX IF NOT EXISTS cases_shop_idx ON cases (shop_id, opened_at)")
    # search's word match walks the rows newest first and stops at its limit
    op.execute("CREATE INDEX IF NOT EXISTS cases_opened_idx ON cases (opened_at)")
