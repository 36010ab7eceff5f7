"""What admins do to user accounts: create, edit, activate/deactivate, reset passwords, clear sign-in delays.

Deactivating a user, resetting their password or changing their department or role ends their
sessions in the same transaction, so a page they still have open is refused at its next action. The
system never loses its last active admin: it cannot be deactivated or demoted, and no admin can
deactivate or demote themselves. Every change is an audit event in the same transaction and is
announced to open admin pages. Listing: user_list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from potrack.accounts import security, throttle
from potrack.accounts.authlog import auth_event, known
from potrack.accounts.tokens import forget_checked_tokens, revoke_user_tokens
from potrack.accounts.users import UserInfo, end_sessions, insert_user, normalize_email, normalize_username, user_info
from potrack.common import audit
from potrack.common.actors import Actor, require_admin
from potrack.common.field_checks import check_fields
from potrack.common.validation import clean_text
from potrack.db.engine import Database, database
from potrack.db.models import Department, User
from potrack.errors import Conflict, InvalidInput, NotAllowed, NotFound
from potrack.live.announce import USERS, write_announced

FULL_NAME_MAX_LEN = 100


def _target(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound('That user does not exist.')
    return user


def active_admin_count(session: Session) -> int:
    return len(locked_active_admins(session))


def locked_active_admins(session: Session) -> set[int]:
    """Ids of the active admins, row-locked so two admins demoting each other at once cannot both succeed."""
    query = select(User.id).where(User.is_admin, User.is_active).with_for_update()
    return {user_id for user_id in session.exec(query).all() if user_id is not None}


def _check_keeps_an_admin(session: Session, admin: User, user: User, verb: str) -> None:
    """Refuse taking `user` out of the active admins when that is the acting admin or the last one."""
    field = 'role' if verb == 'demoted' else None
    admins = locked_active_admins(session)
    if admin.id not in admins:
        raise NotAllowed('Only an administrator can do this.')
    if user.id == admin.id:
        what = 'deactivate your own account' if verb == 'deactivated' else 'remove your own administrator role'
        raise Conflict(f'You cannot {what}; ask another administrator.', field=field)
    if user.is_active and user.is_admin and len(admins) <= 1:
        raise Conflict(f'{user.username} is the last active administrator and cannot be {verb}.', field=field)


def set_user_active(actor: Actor, *, user_id: int, active: bool, db: Database | None = None) -> UserInfo:
    """Activate or deactivate a user; deactivation ends their sessions at once.

    Raises NotAllowed (not an admin), NotFound, Conflict (yourself, or the last active admin).
    """
    db = db or database()

    def unit(session: Session) -> UserInfo:
        admin = require_admin(session, actor)
        user = _target(session, user_id)
        if not active:
            _check_keeps_an_admin(session, admin, user, 'deactivated')
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

    info = write_announced(db, unit, USERS)
    auth_event('user_activated' if active else 'user_deactivated', **known(info.id, info.username), by=actor.user_id)
    return info


def reset_password(
    actor: Actor, *, user_id: int, password: Any = None, revoke_tokens: bool = True, db: Database | None = None
) -> tuple[UserInfo, str]:
    """Give a user a new password (typed, or generated when None) that they must change at sign-in.

    Ends the user's sessions and, with `revoke_tokens`, revokes their API tokens in the same transaction
    (a reset after a leak must not leave the API open). Returns the user and the password to hand over
    (shown once). Raises NotAllowed, NotFound, InvalidInput (a typed password breaking the rules).
    """
    db = db or database()
    new = security.generate_password() if password in (None, '') else password

    def unit(session: Session) -> tuple[UserInfo, str, int]:
        admin = require_admin(session, actor)
        user = _target(session, user_id)
        security.check_new_password(new, username=user.username)
        user.password_hash = security.hash_password(new)
        user.must_change_password = True
        session.add(user)
        throttle.clear_account(session, user_id)  # the new password works at once
        end_sessions(session, user_id, 'password reset')
        revoked = (
            revoke_user_tokens(session, user, by=admin.id, context={'via': 'password reset'}) if revoke_tokens else 0
        )
        audit.record(
            session,
            actor_id=admin.id,
            action='user.reset_password',
            entity='user',
            entity_id=user_id,
            after={'api_tokens_revoked': revoked},
        )
        return user_info(session, user), new, revoked

    info, handed_over, revoked = write_announced(db, unit, USERS)  # other instances' token caches empty too
    if revoked:
        forget_checked_tokens()  # this instance's at once, whether or not its live listener runs
    auth_event('password_reset', **known(info.id, info.username), by=actor.user_id, tokens_revoked=revoked)
    return info, handed_over


def clear_signin_delay(actor: Actor, *, user_id: int, db: Database | None = None) -> UserInfo:
    """Forget a user's recent failed sign-ins, so their next attempts are not slowed down.

    For a person who mistyped their way into the delay; a stranger still guessing brings it back.
    Raises NotAllowed, NotFound.
    """
    db = db or database()

    def unit(session: Session) -> UserInfo:
        admin = require_admin(session, actor)
        user = _target(session, user_id)
        cleared = throttle.clear_account(session, user_id)
        audit.record(
            session,
            actor_id=admin.id,
            action='user.clear_signin_delay',
            entity='user',
            entity_id=user_id,
            before={'failed_signins': cleared},
            after={'failed_signins': 0},
        )
        return user_info(session, user)

    info = write_announced(db, unit, USERS)
    auth_event('signin_delay_cleared', **known(info.id, info.username), by=actor.user_id)
    return info


def _clean_full_name(raw: Any) -> str:
    return clean_text(raw, field='full_name', label='The full name', max_len=FULL_NAME_MAX_LEN)


def _department_for(session: Session, department_id: int | None, is_admin: bool, current: int | None) -> str | None:
    """The name of the department a user is given; operators need an active one to see work centers."""
    if department_id is None:
        if not is_admin:
            raise InvalidInput('Choose the department whose work centers this operator uses.', field='department')
        return None
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound('That department does not exist.', field='department')
    if not dept.is_active and department_id != current:
        raise InvalidInput(f'The department {dept.name} is deactivated; choose an active one.', field='department')
    return dept.name


def create_account(
    actor: Actor,
    *,
    username: Any,
    full_name: Any,
    email: Any = None,
    department_id: int | None = None,
    is_admin: bool = False,
    password: Any = None,
    db: Database | None = None,
) -> tuple[UserInfo, str]:
    """Admin only: a new user who must change the password at first sign-in.

    The password is the one typed, or a generated one when empty; it is returned to be shown once.
    Raises NotAllowed, SignedOut, InvalidInput / NotFound (with the field), Conflict (user name taken).
    """
    new = security.generate_password() if password in (None, '') else password
    typed_name = username.strip().lower() if isinstance(username, str) else ''
    clean = check_fields(
        {
            'username': lambda: normalize_username(username),
            'full_name': lambda: _clean_full_name(full_name),
            'email': lambda: normalize_email(email),
            'password': lambda: security.check_new_password(new, username=typed_name),
        }
    )
    name, full, mail = clean['username'], clean['full_name'], clean['email']
    db = db or database()

    def unit(session: Session) -> tuple[UserInfo, str]:
        admin = require_admin(session, actor)
        _department_for(session, department_id, is_admin, None)
        user = insert_user(
            session,
            username=name,
            password=new,
            full_name=full,
            email=mail,
            is_admin=bool(is_admin),
            department_id=department_id,
            must_change_password=True,
            actor_id=admin.id,
        )
        return user_info(session, user), new

    try:
        info, handed_over = write_announced(db, unit, USERS)
    except IntegrityError:  # another admin created the same user name a moment earlier
        raise Conflict(f'The user name "{name}" is already taken.', field='username') from None
    auth_event('user_created', **known(info.id, info.username), by=actor.user_id)
    return info, handed_over


def _snapshot(user: User, department_name: str | None) -> dict[str, Any]:
    return {
        'full_name': user.full_name,
        'email': user.email,
        'department': department_name,
        'role': 'admin' if user.is_admin else 'operator',
    }


def signs_out(old_department_id: int | None, old_is_admin: bool, department_id: int | None, is_admin: bool) -> bool:
    """Whether an edit ends the user's sessions: what they may see follows their department and role."""
    return old_department_id != department_id or old_is_admin != bool(is_admin)


def update_user(
    actor: Actor,
    *,
    user_id: int,
    full_name: Any,
    email: Any,
    department_id: int | None,
    is_admin: bool,
    db: Database | None = None,
) -> UserInfo:
    """Admin only: change a user's full name, e-mail, department and role (the user name stays).

    A new department or role ends the user's sessions (an admin editing themselves keeps this one).
    Raises NotAllowed, SignedOut, NotFound, InvalidInput (with the field), Conflict (demoting yourself
    or the last active admin).
    """
    clean = check_fields({'full_name': lambda: _clean_full_name(full_name), 'email': lambda: normalize_email(email)})
    full, mail = clean['full_name'], clean['email']
    db = db or database()

    def unit(session: Session) -> UserInfo:
        admin = require_admin(session, actor)
        user = _target(session, user_id)
        old_dept = session.get(Department, user.department_id) if user.department_id else None
        new_dept = _department_for(session, department_id, is_admin, user.department_id)
        if user.is_admin and not is_admin:
            _check_keeps_an_admin(session, admin, user, 'demoted')
        before = _snapshot(user, old_dept.name if old_dept else None)
        if signs_out(user.department_id, user.is_admin, department_id, is_admin):
            keep = actor.session_id if user_id == actor.user_id else None
            end_sessions(session, user_id, 'department or role changed', keep=keep)
        user.full_name, user.email, user.department_id, user.is_admin = full, mail, department_id, bool(is_admin)
        session.add(user)
        after = _snapshot(user, new_dept)
        audit.record_changes(
            session,
            actor_id=admin.id,
            action='user.update',
            entity='user',
            entity_id=user_id,
            before=before,
            after=after,
        )
        return user_info(session, user)

    info = write_announced(db, unit, USERS)
    auth_event('user_updated', **known(info.id, info.username), by=actor.user_id)
    return info
