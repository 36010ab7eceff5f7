"""Signing in and changing passwords: bcrypt, and the throttle that slows guessing down (throttle.py).

A failed sign-in says one thing, in the same time, whatever the reason: an unknown name, a wrong
password, or an attempt that came before the name's delay was over. Each of them runs the same
database steps and one bcrypt check, so neither the answer nor its timing tells a name exists or is
being slowed down. Only the right password earns a different answer (a deactivated account).

All of it is blocking (bcrypt, the database, the deliberate slowdown): pages run sign_in on the
low-priority password threads (password_work) and change_password via run.io_bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from potrack.accounts import security, throttle
from potrack.accounts.authlog import auth_event, known, unknown
from potrack.accounts.sessions import create_session
from potrack.accounts.users import UserInfo, end_sessions, user_info
from potrack.common import audit, metrics
from potrack.common.actors import Actor, load_user
from potrack.db.engine import Database, database
from potrack.db.models import User
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, PotrackError
from potrack.i18n import N_
from potrack.live.announce import USERS, deliver_after_commit, queue_in_transaction

WRONG_CREDENTIALS = N_('Wrong user name or password, or too many attempts: wait a moment and try again.')


class SignInFailed(PotrackError):
    """The credentials were not accepted; the message says what a person may know."""


@dataclass(frozen=True)
class SignInResult:
    token: str
    user: UserInfo


@dataclass(frozen=True)
class _Attempt:
    """One attempt as the database saw it before the password check."""

    typed: str  # normalized; only ever logged as its keyed tag
    user_id: int | None
    username: str
    password_hash: str | None
    turn: throttle.Turn

    def who(self) -> dict[str, object]:
        return known(self.user_id, self.username) if self.user_id is not None else unknown(self.typed)


def signin_delay_s(source: str, *, db: Database | None = None) -> float:
    """How long the next sign-in attempt from `source` is held back (after repeated failures from there).

    A database read: pages call it off the event loop."""
    return throttle.source_delay_s(db or database(), source)


def sign_in(
    username: Any, password: Any, *, source: str, waited_s: float = 0.0, db: Database | None = None
) -> SignInResult:
    """Check credentials and start a new session.

    An attempt from an address with recent failures is held back first; a caller that already waited
    (a page, with asyncio.sleep, so no thread is held) says how long in `waited_s`.
    Raises SignInFailed: WRONG_CREDENTIALS for an unknown name, a wrong password and an attempt before
    the name's delay is over alike; its own message for empty fields, and for a deactivated account
    once the password was right. Raises NotSaved when the database does not answer.
    """
    db = db or database()
    typed = username.strip().lower() if isinstance(username, str) else ''
    secret = password if isinstance(password, str) else ''
    hold_s = signin_delay_s(source, db=db) - waited_s
    if hold_s > 0:
        time.sleep(hold_s)
    if not typed or not secret:
        raise SignInFailed(N_('Enter your user name and password.'), params={})
    attempt = db.write(lambda session: _take_turn(session, typed))
    # One bcrypt check whatever the case, so that an unknown name or a refused turn costs what a wrong
    # password costs; a refused turn is checked against no hash, so its password is never tried.
    ok = security.verify_password(secret, attempt.password_hash if attempt.turn.admitted else None)
    result = _signed_in(db, attempt, source) if ok else None
    if result is None:
        raise _refused(db, attempt, source)
    metrics.signin('succeeded')
    auth_event('signin', **attempt.who(), source=source, role=result.user.role)
    return result


def _take_turn(session: Session, typed: str) -> _Attempt:
    user = session.exec(select(User).where(func.lower(User.username) == typed)).first()
    if user is None or user.id is None:
        turn = throttle.take_turn(session, throttle.name_key(typed), None)
        return _Attempt(typed, None, '', None, turn)
    turn = throttle.take_turn(session, throttle.user_key(user.id), user.id)
    return _Attempt(typed, user.id, user.username, user.password_hash, turn)


def _signed_in(db: Database, attempt: _Attempt, source: str) -> SignInResult | None:
    """The password was right: a new session; None when the password changed while it was checked."""

    def unit(session: Session) -> SignInResult | None:
        row = session.get(User, attempt.user_id)
        if row is None or row.password_hash != attempt.password_hash:
            return None  # reset a moment ago: the old password opens nothing
        if not row.is_active:
            auth_event('signin_refused', **attempt.who(), source=source, reason='inactive')
            raise SignInFailed(N_('This account is deactivated. Ask an administrator.'), params={})
        throttle.succeeded(session, attempt.turn.key, source)
        row.last_signin_at = utcnow()
        session.add(row)
        token = create_session(session, row, source)
        return SignInResult(token, user_info(session, row))

    try:
        return db.write(unit)
    except SignInFailed:
        metrics.signin('failed')
        raise


def _refused(db: Database, attempt: _Attempt, source: str) -> SignInFailed:
    """Count a failed attempt against its address, tell the admins when a name starts being slowed down."""
    turn = attempt.turn
    # The failure that makes a user's further attempts wait, once per window: worth an admin's look.
    crossed = attempt.user_id is not None and turn.admitted and turn.failures == throttle.ACCOUNT_FREE_FAILURES

    def unit(session: Session) -> None:
        throttle.failed_from(session, source, turn.key, utcnow())
        if crossed:
            audit.record(
                session,
                actor_id=None,
                action='user.signin_failures',
                entity='user',
                entity_id=attempt.user_id,
                after={'failed_signins': turn.failures, 'source': source},
            )
            queue_in_transaction(db, session, USERS)

    db.write(unit)
    if crossed:
        deliver_after_commit(db, USERS)
    throttle.prune_now_and_then(db)
    metrics.signin('failed')
    reason = 'unknown_user' if attempt.user_id is None else 'wrong_password'
    # What was typed may be a password typed into the wrong field: it never reaches the log (authlog).
    auth_event('signin_failed', **attempt.who(), source=source, reason=reason if turn.admitted else 'too_early')
    if crossed:
        auth_event('signin_slowed', **attempt.who(), source=source, failures=turn.failures)
    return SignInFailed(WRONG_CREDENTIALS, params={})


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
