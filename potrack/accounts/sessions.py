"""Browser sessions kept in the database, so they survive restarts and work across app instances.

The browser holds a random token in an HttpOnly cookie; the table keeps only its SHA-256. A session
ends at sign-out, after the idle timeout (shorter for shared kiosks than for admins), at its absolute
lifetime, or at once when the user is deactivated or their password is reset.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from potrack.accounts.device_view import DeviceView, live_device, view_of
from potrack.accounts.security import token_digest
from potrack.accounts.users import UserInfo, user_info
from potrack.common.actors import Actor, idle_timeout_s, load_user
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import User, UserSession
from potrack.db.types import utcnow
from potrack.errors import SignedOut

# Writing last_seen_at on every click would turn every read into a write; a little slack is enough.
TOUCH_EVERY_S = 15


@dataclass(frozen=True)
class SessionUser:
    """The signed-in user as a page needs them: who, the actor to pass to services, the idle limit."""

    actor: Actor
    user: UserInfo
    idle_timeout_s: int
    expires_at: datetime
    device: DeviceView | None = None  # the kiosk device this session was opened on by badge or PIN

    @property
    def must_change_password(self) -> bool:
        # A badge or PIN session never used the password: it is changed where the password is used.
        return self.user.must_change_password and self.device is None


def create_session(session: Session, user: User, source: str, *, device_id: int | None = None) -> str:
    """Start a new session for `user` inside the caller's transaction; returns the browser's token.

    `device_id`: the kiosk device it is opened on by badge or PIN; the session ends with the device.
    """
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            id=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=settings().session_lifetime_s),
            source=source[:64],
            device_id=device_id,
        )
    )
    return token


def validate_session(token: str | None, *, touch: bool = True, db: Database | None = None) -> SessionUser:
    """The user of a browser token; raises SignedOut when the session is unknown, ended, idle or expired.

    With `touch`, counts as activity (resets the idle timer, at most every TOUCH_EVERY_S seconds).
    """
    if not token:
        raise SignedOut('Please sign in.')
    db = db or database()
    actor_probe = Actor(user_id=0, session_id=token_digest(token))

    def check(session: Session) -> SessionUser:
        row = session.get(UserSession, actor_probe.session_id)
        if row is None:
            raise SignedOut('Please sign in.')
        actor = Actor(user_id=row.user_id, session_id=row.id)
        user = load_user(session, actor)  # checks active, ended, expired and idle
        device = live_device(session, row.device_id)
        if row.device_id is not None and device is None:
            raise SignedOut('This kiosk device was revoked.')
        now = utcnow()
        if touch and (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY_S:
            row.last_seen_at = now
            session.add(row)
        seat = view_of(session, device) if device is not None else None
        return SessionUser(actor, user_info(session, user), idle_timeout_s(user), row.expires_at, seat)

    if touch:
        return db.write(check)
    with db.read() as session:
        return check(session)


def end_session(token: str | None, reason: str = 'signed out', *, db: Database | None = None) -> int | None:
    """End the session of a browser token (sign-out); returns its user id, or None if there was none."""
    if not token:
        return None
    db = db or database()

    def unit(session: Session) -> int | None:
        row = session.get(UserSession, token_digest(token))
        if row is None:
            return None
        if row.ended_at is None:
            row.ended_at, row.end_reason = utcnow(), reason[:40]
            session.add(row)
        return row.user_id

    return db.write(unit)
