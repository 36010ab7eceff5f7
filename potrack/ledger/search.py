"""Searching the ledger: filtered, scoped, newest first, paged, with totals for the whole filtered set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import TIMESTAMP, Interval, Select, and_, case, cast, func, literal, literal_column
from sqlmodel import Session, select

from potrack.common.actors import Actor, load_user, scoped_work_center_ids
from potrack.common.paging import check_paging
from potrack.common.work_center_codes import all_work_center_ids
from potrack.db.engine import Database, database
from potrack.db.models import ACTIVITY_STEP, IN, OUT
from potrack.db.tables import ACTIVITY, BALANCES, USERS
from potrack.db.tables import CENTERS as WC
from potrack.db.tables import DEPARTMENTS as DEPTS
from potrack.db.tables import MOVEMENTS as PO
from potrack.errors import InvalidInput
from potrack.ledger.balances import order_filter, order_needle
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


class MovementRow(NamedTuple):
    """One movement as searches and exports show it. A NamedTuple: built 7× faster than a frozen
    dataclass, which was a millisecond of every 500-row page and seconds of a million-row export."""

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
    'created_at': PO.c.created_at,
    'order_number': PO.c.order_number,
    'work_center': WC.c.code,
    'quantity': PO.c.quantity,
    'movement_type': PO.c.movement_type,
    'user': USERS.c.username,
}


def _conditions(session: Session, actor: Actor, flt: MovementFilter) -> list[Any] | None:
    """WHERE conditions for the filter within the actor's scope; None when nothing can match."""
    selection = _selection(session, actor, flt)
    return None if selection is None else selection.where


@dataclass(frozen=True)
class _Selection:
    """What a filter selects within the actor's scope, as WHERE conditions on ProductionOrder."""

    ids: set[int]  # the work centers in scope
    others: list[Any]  # every condition but the order number's, the work center scope first
    order: Any | None  # the order-number condition, if any

    @property
    def where(self) -> list[Any]:
        return self.others if self.order is None else [self.others[0], self.order, *self.others[1:]]


def _selection(session: Session, actor: Actor, flt: MovementFilter) -> _Selection | None:
    """The filter's conditions within the actor's scope; None when nothing can match."""
    user = load_user(session, actor)
    ids = scoped_work_center_ids(session, user, list(flt.work_center_ids) or None)
    if not ids:
        return None
    others: list[Any] = [PO.c.work_center_id.in_(ids)]
    order = order_filter(PO.c.order_number, flt.order, flt.match) if flt.order.strip() else None
    start, end = day_range_utc(flt.date_from, flt.date_to)
    if start is not None:
        others.append(PO.c.created_at >= start)
    if end is not None:
        others.append(PO.c.created_at < end)
    if flt.movement_type:
        if flt.movement_type not in (IN, OUT):
            raise InvalidInput('Choose IN, OUT or both.', field='movement_type')
        others.append(PO.c.movement_type == flt.movement_type)
    if flt.user_id is not None:
        others.append(PO.c.user_id == flt.user_id)
    return _Selection(ids, others, order)


def movement_conditions(session: Session, actor: Actor, flt: MovementFilter) -> list[Any] | None:
    """WHERE conditions on ProductionOrder for `flt` within the actor's scope; None when nothing can match.

    For read services that aggregate or stream the same selection their own way (charts, Excel export).
    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput.
    """
    return _conditions(session, actor, flt)


# The columns of a MovementRow, in its order: selecting columns rather than ProductionOrder entities
# spares building 500 ORM objects per page (most of a search's time in Python at a million rows).
_ROW_COLUMNS = (
    PO.c.id,
    PO.c.created_at,
    PO.c.order_number,
    PO.c.work_center_id,
    WC.c.code,
    WC.c.name,
    PO.c.movement_type,
    PO.c.quantity,
    PO.c.user_id,
    USERS.c.username,
    USERS.c.full_name,
    DEPTS.c.name,
    PO.c.reverses_id,
    PO.c.reason,
)


_ROWS_FROM = select(*_ROW_COLUMNS).select_from(
    PO.join(WC, WC.c.id == PO.c.work_center_id)
    .join(USERS, USERS.c.id == PO.c.user_id)
    .outerjoin(DEPTS, DEPTS.c.id == USERS.c.department_id)
)


def _rows_query(where: list[Any], sort: str, descending: bool) -> Select[Any]:
    if sort not in MOVEMENT_SORTS:
        raise InvalidInput(f'Cannot sort movements by {sort!r}.', field='sort')
    key = MOVEMENT_SORTS[sort]
    tiebreak = PO.c.id.desc() if descending else PO.c.id.asc()
    return _ROWS_FROM.where(*where).order_by(key.desc() if descending else key.asc(), tiebreak)


def _row(values: Any) -> MovementRow:
    return MovementRow(*values)


# Slack added to the newest movement time of the orders a prefix selects (see _newest_first_bound): a
# clock stepped back between two movements of an order must not hide the earlier one; and order_activity
# lags by up to ACTIVITY_STEP.
BOUND_SLACK = timedelta(minutes=15) + ACTIVITY_STEP
# How many of the newest movements _newest_first_bound looks at to see whether a prefix is common there.
RECENT_PROBE_ROWS = 2000


def _newest_first_bound(
    session: Session, db: Database, flt: MovementFilter, selection: _Selection, wanted: int
) -> Any | None:
    """For a newest-first search by order-number prefix: `created_at <= t`, t at the newest match, or None.

    Order numbers are given out in sequence, so a prefix selects a block of orders from the same days.
    Sorting by created_at with a LIMIT, PostgreSQL walks the created_at index from now backwards and
    filters, expecting matches spread evenly over time; for a block a few weeks old it reads most of
    the ledger before the first match (0.25–0.6 s at a million movements). The newest movement of those
    orders is in order_activity (one row per order) and order_balance (one per work center and order),
    written in the same transaction as each movement and found through their order-number indexes
    (_newest_balance); starting the walk there reads about as many rows as it returns. The condition
    only removes rows newer than every match, so results are unchanged; without such a row it is left out.

    Reading those rows costs time in proportion to the orders the prefix selects, so it is
    skipped when the walk's first RECENT_PROBE_ROWS rows (the filter without the order number) already
    hold the `wanted` matches: then the walk stops within them anyway (a broad prefix such as "PO-").
    """
    if flt.match != 'prefix' or selection.order is None:
        return None
    postgres = session.connection().dialect.name == 'postgresql'
    probe = _recent_hits(flt, selection) if wanted <= RECENT_PROBE_ROWS else None
    newest = _newest_balance(flt, selection, postgres, all_work_center_ids(db))
    if postgres:
        # One statement with the rows: both subqueries run once, before the walk (InitPlans), and the
        # balance rows are read only when the probe falls short. Two round trips fewer per search.
        infinity = cast(literal_column("'infinity'"), TIMESTAMP(timezone=True))
        bound = func.coalesce(newest.scalar_subquery() + literal(BOUND_SLACK, Interval()), infinity)
        if probe is not None:
            bound = case((probe.scalar_subquery() >= wanted, infinity), else_=bound)
        return PO.c.created_at <= bound
    if probe is not None and session.connection().execute(probe).scalar_one() >= wanted:
        return None
    newest_at = session.connection().execute(newest).scalar_one()
    return None if newest_at is None else PO.c.created_at <= newest_at + BOUND_SLACK


def _recent_hits(flt: MovementFilter, selection: _Selection) -> Select[Any]:
    """How many of the RECENT_PROBE_ROWS newest movements of the filter match the order number."""
    recent = (
        select(PO.c.order_number)
        .where(*selection.others)
        .order_by(PO.c.created_at.desc())
        .limit(RECENT_PROBE_ROWS)
        .subquery()
    )
    return select(func.count()).select_from(recent).where(order_filter(recent.c.order_number, flt.order, flt.match))


def _newest_balance(
    flt: MovementFilter, selection: _Selection, postgres: bool, every_wc: frozenset[int]
) -> Select[Any]:
    """The newest movement time (ACTIVITY_STEP early at most) among the orders the prefix selects in scope.

    A scope of every work center (`every_wc`, possibly a moment old) reads order_activity: one index entry
    per order, where order_balance has one per (work center, order): 10,000 entries against 50,000 for a
    10,000-order prefix (6–9 ms → 1.5 ms). Its time lags by up to ACTIVITY_STEP (in the bound's slack).
    Should a work center created a moment ago be counted in, the bound can only come out later, which
    costs time, never a match. A narrower scope reads the balance rows of its own work centers: an order's
    newest movement elsewhere could be days later than in this scope, and the walk would start there.
    """
    if every_wc and selection.ids >= every_wc:
        activity = _prefix_range(ACTIVITY.c.order_number, flt.order, postgres)
        return select(func.max(ACTIVITY.c.last_movement_at)).where(activity)
    return select(func.max(BALANCES.c.last_movement_at)).where(
        _prefix_range(BALANCES.c.order_number, flt.order, postgres), BALANCES.c.work_center_id.in_(selection.ids)
    )


def _prefix_range(column: Any, text: str, postgres: bool) -> Any:
    """The order-number prefix as a range of the text_pattern_ops index on PostgreSQL: the same rows as
    LIKE 'prefix%', without LIKE re-checked on each of them (a fifth of the bound's time at 50,000 rows)."""
    needle = order_needle(text)
    last = ord(needle[-1]) if needle else 0
    if not postgres or not needle or last >= 0xD7FF:  # past there the next code point may not be a character
        return order_filter(column, text, 'prefix')
    # Byte order of UTF-8 is code point order, so every text starting with the needle lies in between.
    return and_(column.op('~>=~')(needle), column.op('~<~')(needle[:-1] + chr(last + 1)))


def _totals(session: Session, where: list[Any]) -> MovementTotals:
    qty = PO.c.quantity
    kind = PO.c.movement_type
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
        selection = _selection(session, actor, flt)
        if selection is None:
            return MovementPage([], offset, limit)
        where = rows_where = selection.where
        if sort == 'created_at' and descending:
            bound = _newest_first_bound(session, db, flt, selection, offset + limit)
            rows_where = where if bound is None else [*where, bound]
        query = _rows_query(rows_where, sort, descending).offset(offset).limit(limit)
        # Core, not the ORM's execute: no ORM loading machinery for 500 plain rows (a few ms a page).
        rows = [_row(r) for r in session.connection().execute(query)]
        totals = _totals(session, where) if with_totals else MovementTotals(len(rows))
        return MovementPage(rows, offset, limit, totals)


def movement_totals(actor: Actor, flt: MovementFilter, *, db: Database | None = None) -> MovementTotals:
    """Count, IN and OUT of every movement the filter selects within the actor's scope (net of reversals).

    Apart from the rows because it reads every match (150 ms at a million), where a page of rows reads
    about a page: the Reports page shows the rows first and the totals when they are counted.
    Raises SignedOut, NotAllowed, InvalidInput.
    """
    db = db or database()
    with db.read() as session:
        selection = _selection(session, actor, flt)
        return MovementTotals() if selection is None else _totals(session, selection.where)


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
            yield _row(r)
