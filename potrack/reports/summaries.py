"""Reports: what the filters pick, summed per work center and per local calendar day, within the actor's scope.

The movement selection itself (filters, scope, paging, streaming) lives in `ledger.search`; this module adds
the aggregates the reports page and the Excel export show beside it. Dates are local calendar days
(IST unless POTRACK_TIMEZONE says otherwise); stored times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, and_, case, cast, func
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from potrack.common.actors import Actor, load_user, scoped_work_center_ids
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import IN, REWORK, SCRAP, OrderBalance, ProductionOrder, User, WorkCenter
from potrack.db.tables import TRANSIT
from potrack.ledger.balances import order_filter
from potrack.ledger.search import MovementFilter, movement_conditions

MAX_CHART_DAYS = 400  # a wider range is cut to the days that hold data, so a chart stays readable
QUARTER_S = 900  # every zone's UTC offset is a multiple of 15 minutes, so local days are unions of quarters


@dataclass(frozen=True)
class WorkCenterSummary:
    """One work center: the selected movements summed, and the balance there now of the orders asked for."""

    work_center_id: int
    code: str
    name: str
    is_active: bool
    movements: int
    qty_in: int  # net of reversals, within the selection
    qty_out: int
    balance: int  # pieces there now (order filter applies; dates, type and user do not)
    open_orders: int
    last_movement_at: datetime | None
    last_username: str | None
    last_user_name: str | None
    qty_scrap: int = 0  # of qty_out: scrapped here, net of reversals, within the selection
    qty_rework: int = 0  # of qty_out: sent back to an earlier step for rework
    in_transit: int = 0  # pieces on their way to this work center now (as `balance`, the order filter applies)

    @property
    def net(self) -> int:
        return self.qty_in - self.qty_out


def work_center_summary(actor: Actor, flt: MovementFilter, *, db: Database | None = None) -> list[WorkCenterSummary]:
    """Per work center in scope (by code): movements, IN, OUT of the selection; balance and open orders now.

    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput.
    """
    db = db or database()
    with db.read() as session:
        return summary_in(session, actor, flt)


def summary_in(session: Session, actor: Actor, flt: MovementFilter) -> list[WorkCenterSummary]:
    """`work_center_summary` inside the caller's session (the export reads everything in one snapshot)."""
    user = load_user(session, actor)
    ids = scoped_work_center_ids(session, user, list(flt.work_center_ids) or None)
    where = movement_conditions(session, actor, flt)
    if not ids or where is None:
        return []
    moved = _moved(session, where)
    held = _held(session, ids, flt)
    coming = _coming(session, ids, flt)
    centers = session.exec(select(WorkCenter).where(col(WorkCenter.id).in_(ids)).order_by(WorkCenter.code)).all()
    rows = []
    for wc in centers:
        count, q_in, q_out, scrap, rework = moved.get(wc.id or 0, (0, 0, 0, 0, 0))
        balance, open_orders, last_at, uname, full = held.get(wc.id or 0, (0, 0, None, None, None))
        rows.append(
            WorkCenterSummary(
                wc.id or 0,
                wc.code,
                wc.name,
                wc.is_active,
                count,
                q_in,
                q_out,
                balance,
                open_orders,
                last_at,
                uname,
                full,
                scrap,
                rework,
                coming.get(wc.id or 0, 0),
            )
        )
    return rows


def _moved(session: Session, where: list[Any]) -> dict[int, tuple[int, int, int, int, int]]:
    """Per work center: movements, IN, OUT, scrapped and reworked of the selection (one pass, net of reversals:
    a reversal repeats its original's disposition with the quantity negated)."""
    qty = col(ProductionOrder.quantity)
    kind = col(ProductionOrder.movement_type)
    disposition = col(ProductionOrder.disposition)
    query = (
        columns(
            col(ProductionOrder.work_center_id),
            func.count(),
            func.coalesce(func.sum(case((kind == IN, qty), else_=0)), 0),
            func.coalesce(func.sum(case((kind == IN, 0), else_=qty)), 0),
            func.coalesce(func.sum(case((disposition == SCRAP, qty), else_=0)), 0),
            func.coalesce(func.sum(case((disposition == REWORK, qty), else_=0)), 0),
        )
        .where(*where)
        .group_by(col(ProductionOrder.work_center_id))
    )
    return {
        wc: (int(n), int(q_in), int(q_out), int(scrap), int(rework))
        for wc, n, q_in, q_out, scrap, rework in session.execute(query).all()
    }


def _coming(session: Session, ids: set[int], flt: MovementFilter) -> dict[int, int]:
    """Pieces in transit to each work center now, of the orders asked for (only rows with pieces on the way)."""
    where: list[Any] = [TRANSIT.c.work_center_id.in_(ids), TRANSIT.c.pending_since.is_not(None)]
    if flt.order.strip():
        where.append(order_filter(TRANSIT.c.order_number, flt.order, flt.match))
    on_the_way = func.sum(TRANSIT.c.qty_sent - TRANSIT.c.qty_received)
    query = select(TRANSIT.c.work_center_id, on_the_way).where(*where).group_by(TRANSIT.c.work_center_id)
    return {wc: int(qty or 0) for wc, qty in session.connection().execute(query).all()}


def _held(session: Session, ids: set[int], flt: MovementFilter) -> dict[int, tuple[Any, ...]]:
    """Balance, open orders and the latest movement (time, user) per work center, from the balance rows."""
    where: list[Any] = [col(OrderBalance.work_center_id).in_(ids)]
    if flt.order.strip():
        where.append(order_filter(col(OrderBalance.order_number), flt.order, flt.match))
    q_in, q_out = col(OrderBalance.qty_in), col(OrderBalance.qty_out)
    sums = (
        select(
            OrderBalance.work_center_id,
            func.sum(q_in - q_out).label('balance'),
            func.sum(case((q_in > q_out, 1), else_=0)).label('open_orders'),
            func.max(OrderBalance.last_movement_at).label('last_at'),
        )
        .where(*where)
        .group_by(col(OrderBalance.work_center_id))
        .subquery()
    )
    latest = (
        select(OrderBalance.work_center_id, User.username, User.full_name)
        .join(
            sums,
            and_(
                sums.c.work_center_id == col(OrderBalance.work_center_id),
                sums.c.last_at == col(OrderBalance.last_movement_at),
            ),
        )
        .join(User, col(User.id) == col(OrderBalance.last_user_id))
        .where(*where)
    )
    who = {wc: (name, full) for wc, name, full in session.exec(latest).all()}
    held: dict[int, tuple[Any, ...]] = {}
    for wc, balance, open_orders, last_at in session.exec(
        select(sums.c.work_center_id, sums.c.balance, sums.c.open_orders, sums.c.last_at)
    ).all():
        name, full = who.get(wc, (None, None))
        held[wc] = (int(balance or 0), int(open_orders or 0), _aware(last_at), name, full)
    return held


def _aware(moment: datetime | None) -> datetime | None:
    # MAX() over a column loses the column type on SQLite, so the value comes back naive (still UTC).
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class WorkCenterFlow:
    code: str
    name: str
    qty_in: list[int]  # one per day of DailyFlow.days, net of reversals
    qty_out: list[int]


@dataclass(frozen=True)
class DailyFlow:
    days: list[date]
    work_centers: list[WorkCenterFlow]

    @property
    def empty(self) -> bool:
        return not self.work_centers


def daily_flow(actor: Actor, flt: MovementFilter, *, db: Database | None = None) -> DailyFlow:
    """Pieces IN and OUT per local calendar day per work center over the selection, every day of the range.

    Work centers without movements in the selection are left out. Raises SignedOut, NotAllowed, InvalidInput.
    """
    db = db or database()
    with db.read() as session:
        where = movement_conditions(session, actor, flt)
        if where is None:
            return DailyFlow([], [])
        sums = _day_sums(session, where)
        names = {
            wc.id: (wc.code, wc.name)
            for wc in session.exec(select(WorkCenter).where(col(WorkCenter.id).in_({k[1] for k in sums}))).all()
        }
    if not sums:
        return DailyFlow([], [])
    days = _chart_days(flt, {k[0] for k in sums})
    index = {day: i for i, day in enumerate(days)}
    flows: dict[int, WorkCenterFlow] = {}
    for (day, wc_id, kind), qty in sums.items():
        if day not in index:
            continue
        flow = flows.setdefault(wc_id, WorkCenterFlow(*names[wc_id], [0] * len(days), [0] * len(days)))
        (flow.qty_in if kind == IN else flow.qty_out)[index[day]] += qty
    return DailyFlow(days, sorted(flows.values(), key=lambda f: f.code))


def _day_sums(session: Session, where: list[Any]) -> dict[tuple[date, int, str], int]:
    """Quantities per (local day, work center, type). PostgreSQL converts zones itself; SQLite has no
    zones, so it sums per UTC quarter hour and Python puts each quarter on its local day (DST-proof)."""
    tz = settings().tz
    created = col(ProductionOrder.created_at)
    postgres = session.get_bind().dialect.name == 'postgresql'
    bucket = (
        cast(func.timezone(settings().timezone, created), Date)
        if postgres
        else cast(func.strftime('%s', created), Integer) // QUARTER_S
    ).label('bucket')
    query = (
        select(
            bucket, ProductionOrder.work_center_id, ProductionOrder.movement_type, func.sum(ProductionOrder.quantity)
        )
        .where(*where)
        .group_by(bucket, col(ProductionOrder.work_center_id), col(ProductionOrder.movement_type))
    )
    sums: dict[tuple[date, int, str], int] = {}
    local_days: dict[int, date] = {}
    for key, wc_id, kind, qty in session.execute(query).all():
        if isinstance(key, date):
            day = key
        else:
            day = local_days.get(key) or datetime.fromtimestamp(key * QUARTER_S, UTC).astimezone(tz).date()
            local_days[key] = day
        sums[day, wc_id, kind] = sums.get((day, wc_id, kind), 0) + int(qty)
    return sums


def _chart_days(flt: MovementFilter, data_days: set[date]) -> list[date]:
    first = flt.date_from or min(data_days)
    last = flt.date_to or max(data_days)
    if (last - first).days >= MAX_CHART_DAYS:
        first, last = max(first, min(data_days)), min(last, max(data_days))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
