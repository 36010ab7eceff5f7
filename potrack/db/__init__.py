"""Tables, engine and session factory, migrations, first-start provisioning."""

from potrack.db.engine import Database, database, use_database

__all__ = ['Database', 'database', 'use_database']
