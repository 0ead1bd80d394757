"""Alembic environment: run by shared.db.migrate on its connection, inside the prefix's schema."""

from __future__ import annotations

from alembic import context

from shared.comments.tables import Base

config = context.config
connection = config.attributes["connection"]
# The connection's search_path is the prefix's schema; the version table lives there too, so every prefix
# carries its own migration state.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema=config.attributes["schema"],
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
