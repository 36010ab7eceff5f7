"""Admin writes that other open pages must hear about: run the unit, then announce the change.

PostgreSQL: the NOTIFY is queued inside the transaction, so it is sent only if the change commits and
reaches every app instance. SQLite: the change is delivered in this process right after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from potrack.db.engine import Database
from potrack.live import feed

T = TypeVar('T')
MASTERS = 'masters'  # departments, work centers and their links changed: kiosks and admin tables reload
USERS = 'users'  # user accounts changed: admin tables reload
ORDERS = 'orders'  # the order book changed (added, edited, closed, imported): orders pages reload
SETTINGS = 'settings'  # a site setting changed: the admin Settings tab reloads
CORRECTIONS = 'corrections'  # a movement was reversed: the admin Corrections and Audit tabs reload


def queue_in_transaction(db: Database, session: Session, kind: str) -> None:
    """PostgreSQL: NOTIFY a change of `kind` inside the unit's transaction (sent only if it commits)."""
    if db.is_postgres:
        feed.notify_in_transaction(session, feed.Change(0, '', kind))


def deliver_after_commit(db: Database, kind: str) -> None:
    """SQLite: hand a change of `kind` to this process's subscribers; call only after the commit."""
    if not db.is_postgres:
        feed.deliver(feed.Change(0, '', kind))


def write_announced(db: Database, unit: Callable[[Session], T], kind: str) -> T:
    """`db.write(unit)`, followed by a live change of `kind` once the transaction has committed."""

    def announced(session: Session) -> T:
        result = unit(session)
        queue_in_transaction(db, session, kind)
        return result

    result = db.write(announced)
    deliver_after_commit(db, kind)
    return result
