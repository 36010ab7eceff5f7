"""Who is acting, and what they may see: every service starts here.

Pages pass an `Actor` (the user id and, for browsers, the session id). Services load the user again
inside their own transaction, so a deactivated user or an ended session is refused at the next
action, whatever the page still shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, exists, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from potrack.config import settings
from potrack.db.models import Department, User, UserSession, WorkCenter, WorkCenterDepartment
from potrack.db.tables import CENTERS, DEPARTMENTS, LINKS, SESSIONS, USERS
from potrack.db.types import utcnow
from potrack.errors import NotAllowed, SignedOut

SIGNED_OUT_MESSAGE = 'Your session has ended. Please sign in again.'


@dataclass(frozen=True)
class Actor:
    user_id: int
    session_id: str | None = None  # SHA-256 of the browser's token; None for the CLI and API tokens


def load_user(session: Session, actor: Actor) -> User:
    """The acting user, refused with SignedOut when inactive or when their session has ended."""
    user = session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise SignedOut(SIGNED_OUT_MESSAGE)
    if actor.session_id is not None:
        row = session.get(UserSession, actor.session_id)
        if row is None or not session_is_live(
            actor.user_id, user.is_admin, row.user_id, row.ended_at, row.expires_at, row.last_seen_at
        ):
            raise SignedOut(SIGNED_OUT_MESSAGE)
    return user


# The browser signs out at the idle limit itself (assets/idle.js) and tells the server of activity at most
# every 20 s, which writes it at most every sessions.TOUCH_EVERY_S: the server's clock may lag the browser's
# by up to ~35 s. Its own limit is later by this much, so it never ends a session the kiosk still shows.
IDLE_GRACE_S = 40


def session_is_live(
    user_id: int,
    is_admin: bool,
    session_user_id: int | None,
    ended_at: datetime | None,
    expires_at: datetime | None,
    last_seen_at: datetime | None,
) -> bool:
    """A browser session counts only while it is the user's, not ended, not expired and not idle."""
    now = utcnow()
    idle_s = settings().idle_timeout_admin_s if is_admin else settings().idle_timeout_user_s
    return (
        session_user_id == user_id
        and ended_at is None
        and expires_at is not None
        and expires_at > now
        and last_seen_at is not None
        and last_seen_at + timedelta(seconds=idle_s + IDLE_GRACE_S) > now
    )


def idle_timeout_s(user: User) -> int:
    """Seconds without activity after which a session ends: shorter for shared kiosks than for admins."""
    cfg = settings()
    return cfg.idle_timeout_admin_s if user.is_admin else cfg.idle_timeout_user_s


def require_admin(session: Session, actor: Actor) -> User:
    user = load_user(session, actor)
    if not user.is_admin:
        raise NotAllowed('Only an administrator can do this.')
    return user


def visible_work_center_ids(session: Session, user: User, *, active_only: bool = False) -> set[int]:
    """Work centers `user` may see: all for admins, else those linked to their active department."""
    query = select(WorkCenter.id)
    if active_only:
        query = query.where(WorkCenter.is_active)
    if not user.is_admin:
        if user.department_id is None:
            return set()
        query = (
            query.join(WorkCenterDepartment, col(WorkCenterDepartment.work_center_id) == col(WorkCenter.id))
            .join(Department, col(Department.id) == col(WorkCenterDepartment.department_id))
            .where(WorkCenterDepartment.department_id == user.department_id, Department.is_active)
        )
    return {wc_id for wc_id in session.exec(query).all() if wc_id is not None}


def scoped_work_center_ids(session: Session, user: User, requested: list[int] | None) -> set[int]:
    """The requested work centers cut down to those visible; refuses a request for one not visible."""
    visible = visible_work_center_ids(session, user)
    if not requested:
        return visible
    hidden = set(requested) - visible
    if hidden:
        raise NotAllowed('You may not see one of the work centers asked for.')
    return set(requested)


@dataclass(frozen=True)
class VisibleCenter:
    code: str
    name: str
    is_active: bool


def linked_to_department() -> Any:
    """EXISTS: the work center (CENTERS' row) is linked to the user's (USERS' row's) department, and that
    department is active: what a non-admin may see and record at."""
    return exists().where(
        LINKS.c.work_center_id == CENTERS.c.id,
        LINKS.c.department_id == USERS.c.department_id,
        DEPARTMENTS.c.id == LINKS.c.department_id,
        DEPARTMENTS.c.is_active,
    )


# What `session_is_live` and a work center's checks read, by the names both one-statement reads give them (the
# ledger's entry statement and SCOPE): the user, their session, the work center.
ACTOR_AND_CENTER_COLUMNS = (
    USERS.c.is_admin,
    USERS.c.is_active.label('user_active'),
    SESSIONS.c.user_id.label('session_user_id'),
    SESSIONS.c.ended_at,
    SESSIONS.c.expires_at,
    SESSIONS.c.last_seen_at,
    CENTERS.c.id.label('wc_id'),
    CENTERS.c.code,
    CENTERS.c.name,
    CENTERS.c.is_active.label('wc_active'),
)


def _scope_statement() -> Any:
    """The acting user, their session and every work center they may see (one row each; one row of NULLs for
    none): load_user and visible_work_center_ids in one round trip, without ORM objects, for reads that run on
    every live refresh (balances)."""
    users_sessions = USERS.outerjoin(SESSIONS, SESSIONS.c.id == bindparam('session_id'))
    return (
        core_select(*ACTOR_AND_CENTER_COLUMNS)
        .select_from(users_sessions.outerjoin(CENTERS, or_(USERS.c.is_admin, linked_to_department())))
        .where(USERS.c.id == bindparam('user_id'))
    )


SCOPE = _scope_statement()


def refuse_unless_live(actor: Actor, row: Any) -> None:
    """SignedOut unless `row` (ACTOR_AND_CENTER_COLUMNS, read with the actor's session) shows an active user
    and, for a browser, a live session: load_user's rule, for the one-statement reads."""
    if row is None or not row.user_active:
        raise SignedOut(SIGNED_OUT_MESSAGE)
    if actor.session_id is not None and not session_is_live(
        actor.user_id, row.is_admin, row.session_user_id, row.ended_at, row.expires_at, row.last_seen_at
    ):
        raise SignedOut(SIGNED_OUT_MESSAGE)


def visible_centers(conn: Connection, actor: Actor, requested: list[int] | None = None) -> dict[int, VisibleCenter]:
    """The work centers `actor` may see (all for admins, else those linked to their active department), cut down
    to `requested` if given, by id. Refuses, as load_user and scoped_work_center_ids do, an inactive user or a
    session no longer live (SignedOut) and a request for a work center not visible (NotAllowed)."""
    rows = conn.execute(SCOPE, {'user_id': actor.user_id, 'session_id': actor.session_id or ''}).all()
    refuse_unless_live(actor, rows[0] if rows else None)
    visible = {r.wc_id: VisibleCenter(r.code, r.name, r.wc_active) for r in rows if r.wc_id is not None}
    if not requested:
        return visible
    if set(requested) - visible.keys():
        raise NotAllowed('You may not see one of the work centers asked for.')
    return {wc_id: visible[wc_id] for wc_id in requested}
