"""User accounts: creating users, checking passwords, the admin set-up from the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from potrack.accounts import security, throttle
from potrack.common import audit
from potrack.common.actors import Actor, require_admin
from potrack.common.validation import clean_text
from potrack.db.engine import Database, database
from potrack.db.models import Department, User, UserSession
from potrack.db.types import utcnow
from potrack.errors import Conflict, InvalidInput, NotFound

USERNAME_RE = re.compile(r'[a-z0-9][a-z0-9._-]{2,39}')


@dataclass(frozen=True)
class UserInfo:
    """A user as pages and reports show them (never the hash)."""

    id: int
    username: str
    full_name: str
    email: str | None
    is_admin: bool
    department_id: int | None
    department_name: str | None
    is_active: bool
    must_change_password: bool
    failed_signins: int  # recent failed sign-ins against the account (accounts/throttle)
    last_signin_at: datetime | None
    created_at: datetime
    language: str | None = None  # None: the kiosk device's language, else English
    has_badge: bool = False
    has_pin: bool = False

    @property
    def role(self) -> str:
        return 'admin' if self.is_admin else 'operator'

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


def normalize_username(raw: Any) -> str:
    text = raw.strip().lower() if isinstance(raw, str) else ''
    if not USERNAME_RE.fullmatch(text):
        raise InvalidInput(
            'A user name has 3 to 40 characters: letters, digits and . _ - , starting with a letter or digit.',
            field='username',
        )
    return text


def normalize_email(raw: Any) -> str | None:
    text = raw.strip() if isinstance(raw, str) else ''
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f'That e-mail address is not valid: {exc}', field='email') from None


def user_info(session: Session, user: User) -> UserInfo:
    dept = session.get(Department, user.department_id) if user.department_id else None
    assert user.id is not None
    return info_of(user, dept.name if dept else None, throttle.recent_failures(session, user.id))


def info_of(user: User, department_name: str | None, failed_signins: int = 0) -> UserInfo:
    """A user as pages show them, given their department's name and recent failed sign-ins (read by the caller)."""
    assert user.id is not None
    return UserInfo(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        is_admin=user.is_admin,
        department_id=user.department_id,
        department_name=department_name,
        is_active=user.is_active,
        must_change_password=user.must_change_password,
        failed_signins=failed_signins,
        last_signin_at=user.last_signin_at,
        created_at=user.created_at,
        language=user.language,
        has_badge=user.badge_hash is not None,
        has_pin=user.pin_hash is not None,
    )


def insert_user(
    session: Session,
    *,
    username: str,
    password: str,
    full_name: str = '',
    email: str | None = None,
    is_admin: bool = False,
    department_id: int | None = None,
    must_change_password: bool = True,
    actor_id: int | None = None,
    check_password: bool = True,
) -> User:
    """Insert a user inside the caller's transaction (provisioning, the CLI and the admin service)."""
    name = normalize_username(username)
    full = clean_text(full_name, field='full_name', label='The full name', max_len=100, required=False)
    mail = normalize_email(email)
    if check_password:
        security.check_new_password(password, username=name)
    if session.exec(select(User.id).where(func.lower(User.username) == name)).first() is not None:
        raise Conflict(f'The user name "{name}" is already taken.', field='username')
    if department_id is not None and session.get(Department, department_id) is None:
        raise NotFound('That department does not exist.', field='department')
    user = User(
        username=name,
        full_name=full,
        email=mail,
        password_hash=security.hash_password(password),
        is_admin=is_admin,
        department_id=department_id,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action='user.create',
        entity='user',
        entity_id=user.id,
        after={'username': name, 'is_admin': is_admin, 'department_id': department_id},
    )
    return user


def create_user(actor: Actor, *, db: Database | None = None, **fields: Any) -> UserInfo:
    """Admin only: create a user (must change the password at first sign-in unless told otherwise).

    Raises NotAllowed, InvalidInput (with the field), Conflict (user name taken), NotSaved.
    """
    db = db or database()

    def unit(session: Session) -> UserInfo:
        admin = require_admin(session, actor)
        return user_info(session, insert_user(session, actor_id=admin.id, **fields))

    return db.write(unit)


def end_sessions(session: Session, user_id: int, reason: str, *, keep: str | None = None) -> None:
    """End every open session of a user at once (deactivation, password reset), except `keep`."""
    query = update(UserSession).where(col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
    if keep is not None:
        query = query.where(col(UserSession.id) != keep)
    session.execute(query.values(ended_at=utcnow(), end_reason=reason))


def set_admin_from_cli(username: str, password: str, *, db: Database | None = None) -> tuple[UserInfo, bool]:
    """Create an admin, or make an existing user an active, unlocked admin with this password.

    Returns the user and whether it was created. Raises InvalidInput for a weak password or bad name.
    """
    db = db or database()
    name = normalize_username(username)
    security.check_new_password(password, username=name)

    def unit(session: Session) -> tuple[UserInfo, bool]:
        user = session.exec(select(User).where(func.lower(User.username) == name)).first()
        if user is None:
            created = insert_user(
                session,
                username=name,
                password=password,
                is_admin=True,
                must_change_password=False,
                full_name='Administrator',
            )
            return user_info(session, created), True
        before = {'is_admin': user.is_admin, 'is_active': user.is_active}
        user.password_hash = security.hash_password(password)
        user.is_admin, user.is_active, user.must_change_password = True, True, False
        session.add(user)
        assert user.id is not None
        throttle.clear_account(session, user.id)
        end_sessions(session, user.id, 'password reset')
        audit.record(
            session,
            actor_id=None,
            action='user.reset_admin',
            entity='user',
            entity_id=user.id,
            before=before,
            after={'is_admin': True, 'is_active': True},
        )
        return user_info(session, user), False

    return db.write(unit)
