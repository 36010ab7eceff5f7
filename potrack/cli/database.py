"""The database a command works on: reachable, migrated and provisioned, or one line saying why not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from potrack.config import settings


def open_database(migrate: bool = True, provision: bool = True, create: bool = True):  # type: ignore[no-untyped-def]
    """The configured database, migrated and provisioned; exits with one line when it cannot be reached.

    `create=False`: an SQLite file that does not exist yet is left alone, not created by the check that
    the database answers (a restore creates it, and removes it again if it fails; a backup refuses).
    """
    from potrack.db import Database, use_database
    from potrack.ops.provision import provision as provision_db

    label = settings().database_label()
    try:
        db = Database()
    except OSError as exc:  # an SQLite file whose folder cannot be created
        raise SystemExit(f'potrack: cannot reach the database {label} ({exc.strerror or exc})') from None
    if create or db.is_postgres or _sqlite_file(db.url).exists():
        cause = db.unreachable_cause()
        if cause is not None:
            raise SystemExit(f'potrack: cannot reach the database {label} ({cause})')
    use_database(db)
    if migrate:
        _upgrade(db, label)
    if provision:
        provision_db(db)
    return db


def _sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or ':memory:')


def _upgrade(db, label: str) -> None:  # type: ignore[no-untyped-def]
    from alembic.util import CommandError

    from potrack import __version__
    from potrack.ops.upgrade import upgrade

    try:
        upgrade(db)
    except CommandError as exc:  # a revision this potrack does not know: a newer potrack wrote the database
        raise SystemExit(
            f'potrack: cannot upgrade the database {label} ({exc}); '
            f'it may come from a newer potrack than {__version__}, and nothing was changed'
        ) from None
