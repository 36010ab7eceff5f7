"""Reading user accounts for the admin console: the filtered, paged user list and the user choices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from potrack.accounts.users import UserInfo, info_of
from potrack.common.actors import Actor, require_admin
from potrack.common.paging import Page, check_paging
from potrack.common.validation import search_text
from potrack.db.engine import Database, database
from potrack.db.models import Department, User
from potrack.db.types import utcnow
from potrack.errors import InvalidInput

ROLES = ('admin', 'operator')


def _user_conditions(
    search: str, department_id: int | None, role: str | None, active: bool | None, locked: bool | None
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
    if locked is not None:
        is_locked = col(User.locked_until) > utcnow()
        where.append(is_locked if locked else or_(col(User.locked_until).is_(None), ~is_locked))
    return where


def list_users(
    actor: Actor,
    *,
    search: str = '',
    department_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
    locked: bool | None = None,
    offset: int = 0,
    limit: int = 50,
    db: Database | None = None,
) -> Page[UserInfo]:
    """One page of users by user name: `search` in user name, full name or e-mail, and the filters.

    Raises NotAllowed (not an admin), SignedOut, InvalidInput (paging, role).
    """
    check_paging(offset, limit)
    where = _user_conditions(search, department_id, role, active, locked)
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        total = session.exec(select(func.count()).select_from(User).where(*where)).one()
        query = (
            select(User, Department.name)
            .outerjoin(Department, col(Department.id) == col(User.department_id))
            .where(*where)
            .order_by(col(User.username))
            .offset(offset)
            .limit(limit)
        )
        return Page([info_of(u, name) for u, name in session.exec(query).all()], int(total), offset, limit)


def user_choices(actor: Actor, *, db: Database | None = None) -> list[tuple[int, str]]:
    """Every user as (id, "username (Full Name)") for filter lists. Raises NotAllowed, SignedOut."""
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        rows = session.exec(select(User.id, User.username, User.full_name).order_by(col(User.username))).all()
        return [(uid or 0, f'{name} ({full})' if full else name) for uid, name, full in rows]
