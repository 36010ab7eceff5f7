"""Searching the ledger: filtered, scoped, newest first, paged, with totals for the whole filtered set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, func
from sqlmodel import Session, col, select

from potrack.actors import Actor, load_user, scoped_work_center_ids
from potrack.balances import check_paging, order_filter
from potrack.db.engine import Database, database
from potrack.db.models import IN, OUT, Department, ProductionOrder, User, WorkCenter
from potrack.errors import InvalidInput
from potrack.timeutil import day_range_utc


@dataclass(frozen=True)
class MovementFilter:
    order: str = ''
    match: str = 'prefix'  # prefix | contains | exact
    work_center_ids: tuple[int, ...] = ()
    date_from: date | None = None  # local calendar days, both included
    date_to: date | None = None
    movement_type: str | None = None  # IN, OUT or None for both
    user_id: int | None = None


@dataclass(frozen=True)
class MovementRow:
    id: int
    created_at: datetime
    order_number: str
    work_center_id: int
    work_center_code: str
    work_center_name: str
    movement_type: str
    quantity: int
    user_id: int
    username: str
    user_full_name: str
    department_name: str | None
    reverses_id: int | None
    reason: str | None


@dataclass(frozen=True)
class MovementTotals:
    count: int = 0
    qty_in: int = 0
    qty_out: int = 0

    @property
    def net(self) -> int:
        return self.qty_in - self.qty_out


@dataclass(frozen=True)
class MovementPage:
    rows: list[MovementRow]
    offset: int
    limit: int
    totals: MovementTotals = field(default_factory=MovementTotals)


MOVEMENT_SORTS = {
    'created_at': col(ProductionOrder.created_at),
    'order_number': col(ProductionOrder.order_number),
    'work_center': col(WorkCenter.code),
    'quantity': col(ProductionOrder.quantity),
    'movement_type': col(ProductionOrder.movement_type),
    'user': col(User.username),
}


def _conditions(session: Session, actor: Actor, flt: MovementFilter) -> list[Any] | None:
    """WHERE conditions for the filter within the actor's scope; None when nothing can match."""
    user = load_user(session, actor)
    ids = scoped_work_center_ids(session, user, list(flt.work_center_ids) or None)
    if not ids:
        return None
    where: list[Any] = [col(ProductionOrder.work_center_id).in_(ids)]
    if flt.order.strip():
        where.append(order_filter(col(ProductionOrder.order_number), flt.order, flt.match))
    start, end = day_range_utc(flt.date_from, flt.date_to)
    if start is not None:
        where.append(col(ProductionOrder.created_at) >= start)
    if end is not None:
        where.append(col(ProductionOrder.created_at) < end)
    if flt.movement_type:
        if flt.movement_type not in (IN, OUT):
            raise InvalidInput('Choose IN, OUT or both.', field='movement_type')
        where.append(col(ProductionOrder.movement_type) == flt.movement_type)
    if flt.user_id is not None:
        where.append(col(ProductionOrder.user_id) == flt.user_id)
    return where


def movement_conditions(session: Session, actor: Actor, flt: MovementFilter) -> list[Any] | None:
    """WHERE conditions on ProductionOrder for `flt` within the actor's scope; None when nothing can match.

    For read services that aggregate or stream the same selection their own way (charts, Excel export).
    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput.
    """
    return _conditions(session, actor, flt)


def _rows_query(where: list[Any], sort: str, descending: bool) -> Select[Any]:
    if sort not in MOVEMENT_SORTS:
        raise InvalidInput(f'Cannot sort movements by {sort!r}.', field='sort')
    key = MOVEMENT_SORTS[sort]
    tiebreak = col(ProductionOrder.id).desc() if descending else col(ProductionOrder.id).asc()
    return (
        select(ProductionOrder, WorkCenter.code, WorkCenter.name, User.username, User.full_name, Department.name)
        .join(WorkCenter, WorkCenter.id == ProductionOrder.work_center_id)
        .join(User, User.id == ProductionOrder.user_id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(*where)
        .order_by(key.desc() if descending else key.asc(), tiebreak)
    )


def _row(m: ProductionOrder, code: str, name: str, username: str, full: str, dept: str | None) -> MovementRow:
    return MovementRow(
        m.id or 0,
        m.created_at,
        m.order_number,
        m.work_center_id,
        code,
        name,
        m.movement_type,
        m.quantity,
        m.user_id,
        username,
        full,
        dept,
        m.reverses_id,
        m.reason,
    )


def _totals(session: Session, where: list[Any]) -> MovementTotals:
    qty = col(ProductionOrder.quantity)
    kind = col(ProductionOrder.movement_type)
    count, q_in, q_out = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(case((kind == IN, qty), else_=0)), 0),
            func.coalesce(func.sum(case((kind == OUT, qty), else_=0)), 0),
        ).where(*where)
    ).one()
    return MovementTotals(int(count), int(q_in), int(q_out))


def search_movements(
    actor: Actor,
    flt: MovementFilter,
    *,
    sort: str = 'created_at',
    descending: bool = True,
    offset: int = 0,
    limit: int = 100,
    with_totals: bool = True,
    db: Database | None = None,
) -> MovementPage:
    """One page of the movements the filter selects within the actor's scope, plus totals for all of them.

    Totals are net of reversals (a reversal is stored with a negative quantity). Raises SignedOut,
    NotAllowed (a work center asked for is not visible), InvalidInput (dates, paging, sort).
    """
    check_paging(offset, limit)
    db = db or database()
    with db.read() as session:
        where = _conditions(session, actor, flt)
        if where is None:
            return MovementPage([], offset, limit)
        query = _rows_query(where, sort, descending).offset(offset).limit(limit)
        rows = [_row(*r) for r in session.exec(query).all()]
        totals = _totals(session, where) if with_totals else MovementTotals(len(rows))
        return MovementPage(rows, offset, limit, totals)


def iter_movements(
    actor: Actor, flt: MovementFilter, *, batch: int = 2000, db: Database | None = None
) -> Iterator[MovementRow]:
    """Every movement the filter selects, newest first, streamed with a server-side cursor (for exports)."""
    db = db or database()
    with db.read() as session:
        where = _conditions(session, actor, flt)
        if where is None:
            return
        query = _rows_query(where, 'created_at', True).execution_options(yield_per=batch)
        for r in session.exec(query):
            yield _row(*r)
