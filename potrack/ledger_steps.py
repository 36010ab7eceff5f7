"""The ledger's SQL steps, as single Core statements: the write path is the floor's hot path.

Each step is one round trip and builds no ORM objects, which keeps a recorded movement close to the
cost of the raw locked transaction (see bench/record.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from potrack.actors import SIGNED_OUT_MESSAGE, Actor, session_is_live
from potrack.db.models import Department, OrderBalance, ProductionOrder, User, UserSession, WorkCenter
from potrack.db.models import WorkCenterDepartment as Link
from potrack.errors import NotAllowed, NotFound, SignedOut

USERS: Table = User.__table__  # type: ignore[attr-defined]
SESSIONS: Table = UserSession.__table__  # type: ignore[attr-defined]
CENTERS: Table = WorkCenter.__table__  # type: ignore[attr-defined]
LINKS: Table = Link.__table__  # type: ignore[attr-defined]
DEPARTMENTS: Table = Department.__table__  # type: ignore[attr-defined]
BALANCES: Table = OrderBalance.__table__  # type: ignore[attr-defined]
MOVEMENTS: Table = ProductionOrder.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EntryContext:
    """The acting user and the work center of an entry, both checked."""

    user_id: int
    work_center_id: int
    work_center_code: str


def _entry_query() -> Any:
    linked = exists().where(
        LINKS.c.work_center_id == CENTERS.c.id,
        LINKS.c.department_id == USERS.c.department_id,
        DEPARTMENTS.c.id == LINKS.c.department_id,
        DEPARTMENTS.c.is_active,
    )
    return (
        select(
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
            linked.label('linked'),
        )
        .select_from(
            USERS.outerjoin(SESSIONS, SESSIONS.c.id == bindparam('session_id')).outerjoin(
                CENTERS, CENTERS.c.id == bindparam('work_center_id')
            )
        )
        .where(USERS.c.id == bindparam('user_id'))
    )


# Built once: constructing SQLAlchemy statements per call cost more client CPU than running them.
ENTRY_QUERY = _entry_query()
BALANCE_UPDATE = (
    update(BALANCES)
    .where(BALANCES.c.work_center_id == bindparam('wc'), BALANCES.c.order_number == bindparam('order'))
    .values(
        qty_in=BALANCES.c.qty_in + bindparam('d_in'),
        qty_out=BALANCES.c.qty_out + bindparam('d_out'),
        last_movement_at=bindparam('at', type_=BALANCES.c.last_movement_at.type),
        last_user_id=bindparam('uid'),
    )
)


def _lock_statement(insert: Any) -> Any:
    # The no-op DO UPDATE takes the row lock on an existing row and hands back its current numbers.
    return (
        insert(BALANCES)
        .values(work_center_id=bindparam('wc'), order_number=bindparam('order'), qty_in=0, qty_out=0)
        .on_conflict_do_update(index_elements=['work_center_id', 'order_number'], set_={'qty_in': BALANCES.c.qty_in})
        .returning(BALANCES.c.qty_in, BALANCES.c.qty_out)
    )


def _insert_statement(insert: Any) -> Any:
    return insert(MOVEMENTS).on_conflict_do_nothing(index_elements=['request_id']).returning(MOVEMENTS.c.id)


LOCK = {True: _lock_statement(pg_insert), False: _lock_statement(sqlite_insert)}
INSERT = {True: _insert_statement(pg_insert), False: _insert_statement(sqlite_insert)}


def entry_context(session: Session, actor: Actor, work_center_id: int) -> EntryContext:
    """One query: the user (active, session live), the work center (exists, active, in the user's scope)."""
    # '' is never a session id: one statement whether or not the actor has a session.
    params = {'session_id': actor.session_id or '', 'work_center_id': work_center_id, 'user_id': actor.user_id}
    row = session.connection().execute(ENTRY_QUERY, params).first()
    if row is None or not row.user_active:
        raise SignedOut(SIGNED_OUT_MESSAGE)
    if actor.session_id is not None and not session_is_live(
        actor.user_id, row.is_admin, row.session_user_id, row.ended_at, row.expires_at, row.last_seen_at
    ):
        raise SignedOut(SIGNED_OUT_MESSAGE)
    if row.wc_id is None:
        raise NotFound('That work center does not exist.', field='work_center')
    if not (row.is_admin or row.linked):
        raise NotAllowed(
            f"{row.code} {row.name} is not one of your department's work centers; nothing was recorded.",
            field='work_center',
        )
    if not row.wc_active:
        raise NotAllowed(f'{row.code} {row.name} is deactivated; nothing was recorded.', field='work_center')
    return EntryContext(actor.user_id, row.wc_id, row.code)


def lock_balance(session: Session, postgres: bool, wc_id: int, order: str) -> tuple[int, int]:
    """Create the balance row if missing and lock it, in one statement; returns (qty_in, qty_out).

    Row locks only serialize rows that exist, so the row is inserted first (never two first rows).
    """
    qty_in, qty_out = session.connection().execute(LOCK[postgres], {'wc': wc_id, 'order': order}).one()
    return int(qty_in), int(qty_out)


def insert_movement(session: Session, postgres: bool, values: dict[str, Any]) -> int | None:
    """Insert a movement; None when its request id is already taken (the caller replays the first one)."""
    return session.connection().execute(INSERT[postgres], values).scalar_one_or_none()


def apply_to_balance(
    session: Session, wc_id: int, order: str, d_in: int, d_out: int, at: datetime, user_id: int
) -> None:
    session.connection().execute(
        BALANCE_UPDATE, {'wc': wc_id, 'order': order, 'd_in': d_in, 'd_out': d_out, 'at': at, 'uid': user_id}
    )


def find_request(session: Session, request_id: str) -> ProductionOrder | None:
    return session.scalars(select(ProductionOrder).where(MOVEMENTS.c.request_id == request_id)).first()
