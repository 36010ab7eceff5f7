"""Admin writes that other open pages must hear about: run the unit, then announce the change.

PostgreSQL: the NOTIFY is queued inside the transaction, so it is sent only if the change commits and
reaches every app instance. SQLite: the change is delivered in this process right after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from potrack import live
from potrack.db.engine import Database

T = TypeVar('T')
MASTERS = 'masters'  # departments, work centers and their links changed: kiosks and admin tables reload
USERS = 'users'  # user accounts changed: admin tables reload


def write_announced(db: Database, unit: Callable[[Session], T], kind: str) -> T:
    """`db.write(unit)`, followed by a live change of `kind` once the transaction has committed."""
    change = live.Change(0, '', kind)

    def announced(session: Session) -> T:
        result = unit(session)
        if db.is_postgres:
            live.notify_in_transaction(session, change)
        return result

    result = db.write(announced)
    if not db.is_postgres:
        live.deliver(change)
    return result
