"""Tables, engine and session factory, migrations. Imports nothing above it (only config and errors)."""

from potrack.db.engine import Database, database, use_database

__all__ = ['Database', 'database', 'use_database']
