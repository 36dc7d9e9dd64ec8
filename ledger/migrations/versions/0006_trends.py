"""What trend scans count: one row per review case (when it opened, its queue, policy,
category, seller and shop), covered by one index for a window's counts; what each seller shares
with others (hashed payout account, contact, photos) for the clusters; and each spike found
with the escalation it opened. Cases opened before this revision are counted after their next
write, or at once with `casework ledger rebuild`."""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS signals (
        case_uid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        queue TEXT NOT NULL,
        policy TEXT NOT NULL,
        category TEXT NOT NULL,
        seller_id TEXT,
        shop_id TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS signals_window_idx ON signals "
    "(opened_at, queue, policy, category, seller_id, shop_id, case_id)",
    """CREATE TABLE IF NOT EXISTS seller_links (
        seller_id TEXT NOT NULL,
        link TEXT NOT NULL,
        PRIMARY KEY (seller_id, link)
    )""",
    "CREATE INDEX IF NOT EXISTS seller_links_link_idx ON seller_links (link, seller_id)",
    """CREATE TABLE IF NOT EXISTS trend_spikes (
        spike_key TEXT PRIMARY KEY,
        escalation_id TEXT NOT NULL,
        leads INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_count INTEGER NOT NULL
    )""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
