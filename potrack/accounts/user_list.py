"""Reading user accounts for the admin console: the filtered, paged user list and the user choices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from potrack.accounts.throttle import ACCOUNT_FREE_FAILURES, recent_failures_column
from potrack.accounts.users import UserInfo, info_of
from potrack.common.actors import Actor, require_admin
from potrack.common.paging import Page, check_paging
from potrack.common.validation import search_text
from potrack.db.engine import Database, database
from potrack.db.models import Department, SigninAccount, User
from potrack.errors import InvalidInput

ROLES = ('admin', 'operator')
_signin_of_user = col(SigninAccount.user_id) == col(User.id)


def _user_conditions(
    search: str, department_id: int | None, role: str | None, active: bool | None, slowed: bool | None
) -> list[Any]:
    where: list[Any] = []
    needle = search_text(search)
    if needle:
        where.append(
            or_(
                col(User.username).icontains(needle, autoescape=True),
                col(User.full_name).icontains(needle, autoescape=True),
                func.coalesce(col(User.email), '').icontains(needle, autoescape=True),
            )
        )
    if department_id is not None:
        where.append(col(User.department_id) == department_id)
    if role is not None:
        if role not in ROLES:
            raise InvalidInput('Choose the role admin or operator.', field='role')
        where.append(col(User.is_admin) == (role == 'admin'))
    if active is not None:
        where.append(col(User.is_active) == active)
    if slowed is not None:  # its further sign-in attempts must wait (accounts/throttle)
        is_slowed = recent_failures_column() >= ACCOUNT_FREE_FAILURES
        where.append(is_slowed if slowed else ~is_slowed)
    return where


def list_users(
    actor: Actor,
    *,
    search: str = '',
    department_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
    slowed: bool | None = None,
    offset: int = 0,
    limit: int = 50,
    db: Database | None = None,
) -> Page[UserInfo]:
    """One page of users by user name: `search` in user name, full name or e-mail, and the filters.

    Raises NotAllowed (not an admin), SignedOut, InvalidInput (paging, role).
    """
    check_paging(offset, limit)
    where = _user_conditions(search, department_id, role, active, slowed)
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        total = session.exec(
            select(func.count()).select_from(User).outerjoin(SigninAccount, _signin_of_user).where(*where)
        ).one()
        query = (
            select(User, Department.name, recent_failures_column())
            .outerjoin(Department, col(Department.id) == col(User.department_id))
            .outerjoin(SigninAccount, _signin_of_user)
            .where(*where)
            .order_by(col(User.username))
            .offset(offset)
            .limit(limit)
        )
        rows = session.exec(query).all()
        return Page([info_of(u, name, failures) for u, name, failures in rows], int(total), offset, limit)


def user_choices(actor: Actor, *, db: Database | None = None) -> list[tuple[int, str]]:
    """Every user as (id, "username (Full Name)") for filter lists. Raises NotAllowed, SignedOut."""
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        rows = session.exec(select(User.id, User.username, User.full_name).order_by(col(User.username))).all()
        return [(uid or 0, f'{name} ({full})' if full else name) for uid, name, full in rows]
