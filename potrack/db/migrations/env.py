"""Alembic environment: runs on the connection potrack hands it (see potrack.db.migrate)."""

from alembic import context
from sqlmodel import SQLModel

import potrack.db.models  # noqa: F401  (registers the tables on the metadata)

config = context.config
connection = config.attributes['connection']
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == 'sqlite',  # SQLite can only ALTER by copying tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
