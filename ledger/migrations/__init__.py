"""The ledger's schema as Alembic revisions: `versions/NNNN_slug.py` is revision NNNN, each
chained to the one before (`down_revision`); `ledger.schema.create_schema` runs them when a
ledger opens."""
