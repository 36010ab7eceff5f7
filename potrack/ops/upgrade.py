"""Bring a database up to date: the schema migrations, then the derived data they need."""

from __future__ import annotations

from potrack.db import migrate
from potrack.db.engine import Database
from potrack.ledger.integrity import catch_up


def upgrade(db: Database) -> None:
    """Migrate the schema to head, then catch up each order's activity time and the order book's entries
    in the same transaction.

    The catch-up runs at every start, not only after a migration: instances of an older potrack, still
    running during a rolling upgrade, record movements without it.
    """
    migrate.upgrade(db, then=catch_up)
