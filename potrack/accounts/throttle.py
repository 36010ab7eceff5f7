"""Sign-in throttling kept in the database: a progressive delay per account name and per address.

The rule this module exists for: failed sign-ins slow guessing down, and nobody can lock anyone out.
After ACCOUNT_FREE_FAILURES failures against one name, each further attempt on that name must come
a delay after the previous one: signin_slowdown_ms, doubled with each failure, capped at
signin_max_delay_ms (30 s). An attempt that comes earlier is refused without its password being
looked at, so guessing runs at one try per delay whatever the number of browsers; the right password
still opens the account once the (capped) delay has passed, whoever failed before.

Names are keyed `user:<id>` for an existing user and by a keyed hash of what was typed for a name
that matches nobody, so the two are throttled alike and a typed name is never stored.

An address is slowed down after SOURCE_FREE_FAILURES failures, its attempts held back (pages wait
with asyncio.sleep, sign_in sleeps what they did not). Its failures are counted per name it tried,
so that a success there forgives only the failures against that name: a colleague's successful
sign-in at a kiosk does not wipe a stranger's failures against other names from the same kiosk.

Counts live in two tables, shared by every app instance and kept over a restart; each window is
fixed (it starts with its first failure, and failures older than signin_window_s stop counting). An
account name's row is changed under its row lock, an address's with one atomic upsert.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from potrack.config import settings
from potrack.db.engine import Database
from potrack.db.models import SigninAccount, SigninSource
from potrack.db.types import utcnow

ACCOUNT_FREE_FAILURES = 5  # failures against one name before each further attempt must wait its turn
SOURCE_FREE_FAILURES = 4  # failures from one address before each further attempt from there is held back
SOURCE_MAX_DELAY_S = 8.0  # an address is held back at most this long (or signin_max_delay_ms, if shorter)
FAILURES_MAX = 10_000  # counters stop here; the delays reach their cap long before
PRUNE_EVERY_S = 60.0  # how often this process deletes rows whose window has passed
_NAME_KEY_CONTEXT = b'potrack sign-in throttle: typed user name\x00'  # apart from the secret's other uses
_pruned_at = 0.0


@dataclass(frozen=True)
class Turn:
    """What the throttle said to one sign-in attempt on an account name."""

    key: str
    admitted: bool  # False: it came before the name's delay was over and was refused unseen
    failures: int  # failures counted against the name, this attempt included when admitted


def user_key(user_id: int) -> str:
    return f'user:{user_id}'


def name_key(typed: str) -> str:
    """The key of a typed name that matches no user: an HMAC of it, keyed with the session secret."""
    secret = settings().session_secret.encode()
    digest = hmac.new(secret, _NAME_KEY_CONTEXT + typed.encode('utf-8', 'replace'), hashlib.sha256)
    return f'name:{digest.hexdigest()}'


def _max_delay_s() -> float:
    return settings().signin_max_delay_ms / 1000


def _delay_s(failures: int, free: int, cap_s: float) -> float:
    if failures < free:
        return 0.0
    base_s = settings().signin_slowdown_ms / 1000
    return min(base_s * 2 ** min(failures - free, 64), cap_s)


def account_delay_s(failures: int) -> float:
    """After `failures` recent failures against a name, how long its next attempt must wait."""
    return _delay_s(failures, ACCOUNT_FREE_FAILURES, _max_delay_s())


def source_delay_for(failures: int) -> float:
    """After `failures` recent failures from an address, how long its next attempt is held back."""
    return _delay_s(failures, SOURCE_FREE_FAILURES, min(SOURCE_MAX_DELAY_S, _max_delay_s()))


def _window_start(now: datetime) -> datetime:
    """Failures counted in a window that started at or before this have stopped counting."""
    return now - timedelta(seconds=settings().signin_window_s)


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == 'postgresql' else sqlite_insert


def take_turn(session: Session, key: str, user_id: int | None) -> Turn:
    """Let an attempt on `key` go ahead, or refuse it when it comes before the name's delay is over.

    An attempt that goes ahead counts as a failure at once and moves the name's next turn by the delay
    that failure earns; a success clears the name again (`succeeded`). So attempts arriving together
    cannot share one turn: the second finds the first one's delay already set.
    """
    now = utcnow()
    fresh = {'account_key': key, 'user_id': user_id, 'failures': 0, 'window_started_at': now, 'next_attempt_at': now}
    session.execute(
        _insert(session)(SigninAccount).values(fresh).on_conflict_do_nothing(index_elements=['account_key'])
    )
    # Locked until the commit (SQLite: the write transaction holds the database already).
    query = select(SigninAccount).where(col(SigninAccount.account_key) == key).with_for_update()
    row = session.exec(query.execution_options(populate_existing=True)).one()
    now = utcnow()  # after the wait for the lock: the turn is judged at the time it is taken
    if row.window_started_at <= _window_start(now):  # a new window: the old failures and delay are over
        row.failures, row.window_started_at, row.next_attempt_at = 0, now, now
    if now < row.next_attempt_at:
        return Turn(key, False, row.failures)
    row.failures = min(row.failures + 1, FAILURES_MAX)
    row.next_attempt_at = now + timedelta(seconds=account_delay_s(row.failures))
    session.add(row)
    return Turn(key, True, row.failures)


def failed_from(session: Session, source: str, key: str, now: datetime) -> None:
    """Count a failed attempt from `source` against `key`, in one atomic upsert."""
    # In ON CONFLICT DO UPDATE the table's columns are the row already there.
    failures, started = col(SigninSource.failures), col(SigninSource.window_started_at)
    expired = started <= _window_start(now)
    statement = _insert(session)(SigninSource).values(source=source, account_key=key, failures=1, window_started_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=['source', 'account_key'],
            set_={
                'failures': case((expired, 1), (failures >= FAILURES_MAX, FAILURES_MAX), else_=failures + 1),
                'window_started_at': case((expired, now), else_=started),
            },
        )
    )


def succeeded(session: Session, key: str, source: str) -> None:
    """The right password for `key`: its count starts again, and so do this address's failures against it.

    Nothing else is forgiven: other addresses' failures against it, or this address's against other names.
    """
    session.execute(delete(SigninAccount).where(col(SigninAccount.account_key) == key))
    session.execute(
        delete(SigninSource).where(col(SigninSource.source) == source, col(SigninSource.account_key) == key)
    )


def clear_account(session: Session, user_id: int) -> int:
    """Forget the recent failures against a user (an admin's clearing, a password reset); returns them."""
    failures = recent_failures(session, user_id)
    session.execute(delete(SigninAccount).where(col(SigninAccount.account_key) == user_key(user_id)))
    return failures


def recent_failures(session: Session, user_id: int) -> int:
    """Failures against a user in the current window (0 once it has passed)."""
    query = select(recent_failures_column()).where(col(SigninAccount.account_key) == user_key(user_id))
    return int(session.exec(query).first() or 0)


def recent_failures_column() -> Any:
    """A column expression of SigninAccount: its failures while its window lasts, else 0 (for lists)."""
    current = col(SigninAccount.window_started_at) > _window_start(utcnow())  # NULL (no row) is not current
    return case((current, col(SigninAccount.failures)), else_=0)


def source_failures(session: Session, source: str, now: datetime) -> int:
    """Failures from `source`, against any name, whose window has not passed."""
    query = select(func.coalesce(func.sum(col(SigninSource.failures)), 0)).where(
        col(SigninSource.source) == source, col(SigninSource.window_started_at) > _window_start(now)
    )
    return int(session.exec(query).one())


def source_delay_s(db: Database, source: str) -> float:
    """How long the next attempt from `source` is held back, after its recent failures."""
    with db.read() as session:
        return source_delay_for(source_failures(session, source, utcnow()))


def prune_now_and_then(db: Database) -> None:
    """Delete rows whose window has passed; they count for nothing. At most every PRUNE_EVERY_S per process.

    Its own transaction, after the failure's: in the failure's, two failures could wait on each other's rows.
    """
    global _pruned_at
    if time.monotonic() - _pruned_at < PRUNE_EVERY_S:
        return
    _pruned_at = time.monotonic()

    def unit(session: Session) -> None:
        start = _window_start(utcnow())
        session.execute(delete(SigninSource).where(col(SigninSource.window_started_at) <= start))
        session.execute(delete(SigninAccount).where(col(SigninAccount.window_started_at) <= start))

    db.write(unit)
