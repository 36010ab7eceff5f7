"""Bring a database's schema up to the models, with Alembic, from code (no alembic.ini needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from potrack.db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / 'migrations'


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option('script_location', str(MIGRATIONS_DIR))
    return cfg


def upgrade(db: Database, then: Callable[[Connection], None] | None = None) -> None:
    """Apply every migration not yet applied; a database already at head is left alone.

    `then(conn)` runs after the migrations in the same transaction, under the same lock and without
    the statement timeout: derived data that must be brought up to date with the schema (the ledger's
    catch-up, called by ops.upgrade; db imports nothing above it).
    """
    cfg = alembic_config()
    with db.engine.begin() as conn:
        if db.is_postgres:
            # Two app instances starting at once must not both run the same migration.
            conn.exec_driver_sql('SELECT pg_advisory_xact_lock(74218301)')
            # A migration or the catch-up over a ledger of tens of millions may outlast a request's limit.
            conn.exec_driver_sql('SET LOCAL statement_timeout = 0')
        cfg.attributes['connection'] = conn
        command.upgrade(cfg, 'head')
        if then is not None:
            then(conn)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
