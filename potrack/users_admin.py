"""What admins do to user accounts: activate/deactivate, reset passwords, unlock.

Deactivating a user or resetting their password ends their sessions in the same transaction, so a
page they still have open is refused at its next action. The system never loses its last active admin.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from potrack import audit, security
from potrack.accounts import UserInfo, end_sessions, user_info
from potrack.actors import Actor, require_admin
from potrack.authlog import auth_event
from potrack.db.engine import Database, database
from potrack.db.models import User
from potrack.errors import Conflict, NotFound


def _target(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound('That user does not exist.')
    return user


def active_admin_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(User).where(User.is_admin, User.is_active)).one())


def set_user_active(actor: Actor, *, user_id: int, active: bool, db: Database | None = None) -> UserInfo:
    """Activate or deactivate a user; deactivation ends their sessions at once.

    Raises NotAllowed (not an admin), NotFound, Conflict (yourself, or the last active admin).
    """
    db = db or database()

    def unit(session: Session) -> UserInfo:
        admin = require_admin(session, actor)
        user = _target(session, user_id)
        if not active and user.id == admin.id:
            raise Conflict('You cannot deactivate your own account.')
        if not active and user.is_admin and user.is_active and active_admin_count(session) <= 1:
            raise Conflict(f'{user.username} is the last active administrator and cannot be deactivated.')
        before = user.is_active
        user.is_active = active
        session.add(user)
        if not active:
            end_sessions(session, user_id, 'deactivated')
        audit.record(
            session,
            actor_id=admin.id,
            action='user.activate' if active else 'user.deactivate',
            entity='user',
            entity_id=user_id,
            before={'is_active': before},
            after={'is_active': active},
        )
        return user_info(session, user)

    info = db.write(unit)
    auth_event('user_activated' if active else 'user_deactivated', user=info.username, by=actor.user_id)
    return info


def reset_password(
    actor: Actor, *, user_id: int, password: Any = None, db: Database | None = None
) -> tuple[UserInfo, str]:
    """Give a user a new password (typed, or generated when None) that they must change at sign-in.

    Ends the user's sessions. Returns the user and the password to hand over (shown once).
    Raises NotAllowed, NotFound, InvalidInput (a typed password breaking the rules).
    """
    db = db or database()
    new = security.generate_password() if password in (None, '') else password

    def unit(session: Session) -> tuple[UserInfo, str]:
        admin = require_admin(session, actor)
        user = _target(session, user_id)
        security.check_new_password(new, username=user.username)
        user.password_hash = security.hash_password(new)
        user.must_change_password = True
        user.failed_signins, user.locked_until = 0, None
        session.add(user)
        end_sessions(session, user_id, 'password reset')
        audit.record(session, actor_id=admin.id, action='user.reset_password', entity='user', entity_id=user_id)
        return user_info(session, user), new

    info, handed_over = db.write(unit)
    auth_event('password_reset', user=info.username, by=actor.user_id)
    return info, handed_over


def unlock_user(actor: Actor, *, user_id: int, db: Database | None = None) -> UserInfo:
    """Lift a lockout after failed sign-ins. Raises NotAllowed, NotFound."""
    db = db or database()

    def unit(session: Session) -> UserInfo:
        admin = require_admin(session, actor)
        user = _target(session, user_id)
        before = {'locked_until': user.locked_until, 'failed_signins': user.failed_signins}
        user.failed_signins, user.locked_until = 0, None
        session.add(user)
        audit.record(
            session,
            actor_id=admin.id,
            action='user.unlock',
            entity='user',
            entity_id=user_id,
            before=before,
            after={'locked_until': None},
        )
        return user_info(session, user)

    info = db.write(unit)
    auth_event('user_unlocked', user=info.username, by=actor.user_id)
    return info
