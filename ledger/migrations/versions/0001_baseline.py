"""The ledger as casework made it before numbered revisions.

Safe on a ledger an older casework made (it has no `casework_schema_version` table): the tables and
indexes are made where they are missing and the columns added since the first release where a
table lacks them, so such a ledger upgrades in place and keeps its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations.baseline import ADDED_COLUMNS, SCHEMA

revision = "0001"
down_revision = None


def upgrade() -> None:
    for stmt in SCHEMA:
        op.execute(stmt)
    bind = op.get_bind()
    for table, added in ADDED_COLUMNS.items():
        have = {c["name"] for c in sa.inspect(bind).get_columns(table)}
        for name, column in added.items():
            if name not in have:
                op.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
