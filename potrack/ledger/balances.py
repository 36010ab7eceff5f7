"""Balances: pieces at each work center, totals and per order, scoped to what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, true
from sqlalchemy import select as core_select
from sqlmodel import col, select

from potrack.common.actors import Actor, visible_centers
from potrack.common.paging import Page, check_paging
from potrack.common.validation import search_text
from potrack.db.engine import Database, database
from potrack.db.models import Department, OrderBalance, User, WorkCenter
from potrack.db.tables import BALANCES
from potrack.errors import InvalidInput


@dataclass(frozen=True)
class WorkCenterTotal:
    work_center_id: int
    code: str
    name: str
    is_active: bool
    qty_in: int
    qty_out: int
    open_orders: int

    @property
    def balance(self) -> int:
        return self.qty_in - self.qty_out


@dataclass(frozen=True)
class OrderBalanceRow:
    work_center_id: int
    work_center_code: str
    order_number: str
    qty_in: int
    qty_out: int
    last_movement_at: datetime | None
    last_username: str | None
    last_user_name: str | None
    last_user_department: str | None

    @property
    def balance(self) -> int:
        return self.qty_in - self.qty_out


def order_needle(text: str) -> str:
    """The order-number text as searched: control characters left out, upper case like stored numbers."""
    return search_text(text).upper()


def order_filter(column: Any, text: str, match: str) -> Any:
    """SQL condition for an order-number search; LIKE wildcards in the text are taken literally.

    Control characters are left out (see validation.search_text); a text of nothing else matches every order.
    """
    if match not in ('exact', 'contains', 'prefix'):
        raise InvalidInput('Search the order number by prefix, contains or exact.', field='match')
    needle = order_needle(text)
    if not needle:
        return true()
    if match == 'exact':
        return column == needle
    if match == 'contains':
        return column.contains(needle, autoescape=True)
    return column.startswith(needle, autoescape=True)


def work_center_totals(
    actor: Actor, *, work_center_ids: list[int] | None = None, db: Database | None = None
) -> list[WorkCenterTotal]:
    """IN, OUT, balance and open orders per visible work center (deactivated ones included), by code.

    Two statements, no ORM objects: the balances page reads this on every live refresh, and the user, scope
    and ORM rows around the sums cost more than the sums at 100,000 movements (bench/queries.py).
    Raises SignedOut, NotAllowed (a work center asked for is not visible).
    """
    db = db or database()
    with db.read() as session:
        conn = session.connection()
        centers = visible_centers(conn, actor, work_center_ids)
        if not centers:
            return []
        sums = {row.work_center_id: row for row in conn.execute(TOTALS, {'ids': list(centers)})}
    totals = []
    for wc_id, wc in centers.items():
        row = sums.get(wc_id)
        q_in, q_out, n = (row.qty_in, row.qty_out, row.open_orders) if row is not None else (0, 0, 0)
        totals.append(WorkCenterTotal(wc_id, wc.code, wc.name, wc.is_active, int(q_in), int(q_out), int(n)))
    return sorted(totals, key=lambda t: t.code)


TOTALS = (
    core_select(
        BALANCES.c.work_center_id,
        func.sum(BALANCES.c.qty_in).label('qty_in'),
        func.sum(BALANCES.c.qty_out).label('qty_out'),
        func.sum(case((BALANCES.c.qty_in > BALANCES.c.qty_out, 1), else_=0)).label('open_orders'),
    )
    .where(BALANCES.c.work_center_id.in_(bindparam('ids', expanding=True)))
    .group_by(BALANCES.c.work_center_id)
)


BALANCE_SORTS = {
    'last_movement_at': col(OrderBalance.last_movement_at),
    'order_number': col(OrderBalance.order_number),
    'work_center': col(WorkCenter.code),
    'balance': col(OrderBalance.qty_in) - col(OrderBalance.qty_out),
    'qty_in': col(OrderBalance.qty_in),
    'qty_out': col(OrderBalance.qty_out),
}


def order_balances(
    actor: Actor,
    *,
    work_center_ids: list[int] | None = None,
    order: str = '',
    match: str = 'prefix',
    open_only: bool = True,
    sort: str = 'last_movement_at',
    descending: bool = True,
    offset: int = 0,
    limit: int = 100,
    db: Database | None = None,
) -> Page[OrderBalanceRow]:
    """Balance rows per (work center, order) the actor may see, with the last movement's time and user.

    Raises SignedOut, NotAllowed, InvalidInput (paging, sort, match).
    """
    check_paging(offset, limit)
    if sort not in BALANCE_SORTS:
        raise InvalidInput(f'Cannot sort balances by {sort!r}.', field='sort')
    db = db or database()
    with db.read() as session:
        ids = set(visible_centers(session.connection(), actor, work_center_ids))
        if not ids:
            return Page([], 0, offset, limit)
        where = [col(OrderBalance.work_center_id).in_(ids)]
        if open_only:
            where.append(col(OrderBalance.qty_in) > col(OrderBalance.qty_out))
        if search_text(order):
            where.append(order_filter(col(OrderBalance.order_number), order, match))
        total = session.exec(select(func.count()).select_from(OrderBalance).where(*where)).one()
        key = BALANCE_SORTS[sort]
        query = (
            select(OrderBalance, WorkCenter.code, User.username, User.full_name, Department.name)
            .join(WorkCenter, WorkCenter.id == OrderBalance.work_center_id)
            .outerjoin(User, User.id == OrderBalance.last_user_id)
            .outerjoin(Department, Department.id == User.department_id)
            .where(*where)
            .order_by(key.desc() if descending else key.asc(), col(OrderBalance.order_number), WorkCenter.code)
            .offset(offset)
            .limit(limit)
        )
        rows = [
            OrderBalanceRow(
                b.work_center_id, code, b.order_number, b.qty_in, b.qty_out, b.last_movement_at, uname, full, dept
            )
            for b, code, uname, full, dept in session.exec(query).all()
        ]
        return Page(rows, int(total), offset, limit)
