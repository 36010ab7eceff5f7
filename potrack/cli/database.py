"""The database a command works on: reachable, migrated and provisioned, or one line saying why not."""

from __future__ import annotations

from potrack.config import settings


def open_database(migrate: bool = True, provision: bool = True):  # type: ignore[no-untyped-def]
    """The configured database, migrated and provisioned; exits with one line when it cannot be reached."""
    from potrack.db import Database, use_database
    from potrack.ops.provision import provision as provision_db
    from potrack.ops.upgrade import upgrade

    try:
        db = Database()
    except OSError as exc:  # an SQLite file whose folder cannot be created
        raise SystemExit(
            f'potrack: cannot reach the database {settings().database_label()} ({exc.strerror or exc})'
        ) from None
    if not db.ping():
        raise SystemExit(f'potrack: cannot reach the database {settings().database_label()}')
    use_database(db)
    if migrate:
        upgrade(db)
    if provision:
        provision_db(db)
    return db
