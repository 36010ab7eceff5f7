"""Signing in and changing passwords: bcrypt, lockout after repeated failures, slowdown per source.

All of it is blocking (bcrypt, the database, the deliberate slowdown): pages run sign_in on the
low-priority password threads (password_work) and change_password via run.io_bound.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from potrack.accounts import security
from potrack.accounts.authlog import auth_event, known, unknown
from potrack.accounts.sessions import create_session
from potrack.accounts.users import UserInfo, end_sessions, user_info
from potrack.common import audit, metrics
from potrack.common.actors import Actor, load_user
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import User
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, PotrackError

LOCKOUT_AFTER_FAILURES = 5
LOCKOUT_S = 15 * 60
SOURCE_WINDOW_S = 15 * 60
SOURCE_FREE_FAILURES = 3  # failures from one address before each further attempt is slowed down
SOURCE_MAX_DELAY_S = 8.0
WRONG_CREDENTIALS = 'Wrong user name or password.'


class SignInFailed(PotrackError):
    """The credentials were not accepted; the message says what a person may know."""


@dataclass(frozen=True)
class SignInResult:
    token: str
    user: UserInfo


class SourceThrottle:
    """Remembers recent failures per source address and says how long the next attempt must wait."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, source: str, now: float) -> deque[float]:
        q = self._failures.setdefault(source, deque())
        while q and now - q[0] > SOURCE_WINDOW_S:
            q.popleft()
        return q

    def delay_s(self, source: str) -> float:
        with self._lock:
            excess = len(self._recent(source, time.monotonic())) - SOURCE_FREE_FAILURES
        if excess <= 0:
            return 0.0
        return min(settings().signin_slowdown_ms / 1000 * 2 ** (excess - 1), SOURCE_MAX_DELAY_S)

    def failed(self, source: str) -> None:
        with self._lock:
            now = time.monotonic()
            q = self._recent(source, now)
            q.append(now)
            if len(self._failures) > 10_000:  # forget idle sources so memory stays bounded
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, source: str) -> None:
        with self._lock:
            self._failures.pop(source, None)


throttle = SourceThrottle()


def signin_delay_s(source: str) -> float:
    """How long the next sign-in attempt from `source` is held back (after repeated failures from there)."""
    return throttle.delay_s(source)


def sign_in(
    username: Any, password: Any, *, source: str, waited_s: float = 0.0, db: Database | None = None
) -> SignInResult:
    """Check credentials and start a new session. Raises SignInFailed with a message to show.

    An attempt from an address with recent failures is held back first; a caller that already waited
    (a page, with asyncio.sleep, so no thread is held) says how long in `waited_s`.
    """
    db = db or database()
    name = username.strip().lower() if isinstance(username, str) else ''
    secret = password if isinstance(password, str) else ''
    delay = throttle.delay_s(source) - waited_s
    if delay > 0:
        time.sleep(delay)
    if not name or not secret:
        raise SignInFailed('Enter your user name and password.')

    with db.read() as session:
        user = session.exec(select(User).where(func.lower(User.username) == name)).first()
        password_hash = user.password_hash if user else None
    # Always one bcrypt check, also for unknown users, so timing does not tell which names exist.
    ok = security.verify_password(secret, password_hash)

    def unit(session: Session) -> SignInResult:
        row = session.exec(select(User).where(func.lower(User.username) == name)).first()
        now = utcnow()
        if row is None:
            # What was typed may be a password typed into the wrong field: it never reaches the log.
            raise _failed('signin_failed', unknown(name), source, 'unknown_user', WRONG_CREDENTIALS)
        who = known(row.id, row.username)
        if row.locked_until and row.locked_until > now:
            minutes = max(1, round((row.locked_until - now).total_seconds() / 60))
            raise _failed(
                'signin_refused',
                who,
                source,
                'locked',
                f'This account is locked after too many failed sign-ins. Try again in {minutes} minutes '
                'or ask an administrator to unlock it.',
            )
        if not ok:
            row.failed_signins += 1
            message = WRONG_CREDENTIALS
            if row.failed_signins >= LOCKOUT_AFTER_FAILURES:
                row.locked_until = now + timedelta(seconds=LOCKOUT_S)
                row.failed_signins = 0
                message = (
                    f'Too many failed sign-ins: the account is locked for {LOCKOUT_S // 60} minutes. '
                    'An administrator can unlock it.'
                )
                auth_event('lockout', **who, source=source)
            session.add(row)
            session.commit()  # the failure count must persist although we raise
            raise _failed('signin_failed', who, source, 'wrong_password', message)
        if not row.is_active:
            raise _failed(
                'signin_refused', who, source, 'inactive', 'This account is deactivated. Ask an administrator.'
            )
        row.failed_signins, row.locked_until, row.last_signin_at = 0, None, now
        session.add(row)
        token = create_session(session, row, source)
        return SignInResult(token, user_info(session, row))

    try:
        result = db.write(unit)
    except SignInFailed:
        throttle.failed(source)
        metrics.signin('failed')
        raise
    throttle.succeeded(source)
    metrics.signin('succeeded')
    auth_event('signin', **known(result.user.id, result.user.username), source=source, role=result.user.role)
    return result


def _failed(event: str, who: dict[str, object], source: str, reason: str, message: str) -> SignInFailed:
    auth_event(event, **who, source=source, reason=reason)
    return SignInFailed(message)


def change_password(actor: Actor, *, current: Any, new: Any, repeat: Any, db: Database | None = None) -> UserInfo:
    """The signed-in user replaces their password. Raises InvalidInput (field-specific), SignedOut."""
    db = db or database()
    if not isinstance(new, str) or new != repeat:
        raise InvalidInput('The two new passwords differ.', field='repeat')
    with db.read() as session:
        user = load_user(session, actor)
        username, old_hash = user.username, user.password_hash
    if not security.verify_password(current if isinstance(current, str) else '', old_hash):
        raise InvalidInput('The current password is not right.', field='current')
    security.check_new_password(new, username=username)
    if security.verify_password(new, old_hash):
        raise InvalidInput('The new password must differ from the current one.', field='password')
    new_hash = security.hash_password(new)

    def unit(session: Session) -> UserInfo:
        row = load_user(session, actor)
        row.password_hash, row.must_change_password = new_hash, False
        session.add(row)
        assert row.id is not None
        # Other browsers signed in as this user lose their sessions; this one stays signed in.
        end_sessions(session, row.id, 'password changed', keep=actor.session_id)
        audit.record(session, actor_id=row.id, action='user.change_password', entity='user', entity_id=row.id)
        return user_info(session, row)

    info = db.write(unit)
    auth_event('password_changed', **known(info.id, info.username))
    return info
