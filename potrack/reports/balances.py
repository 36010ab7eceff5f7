"""Balances per (work center, order) with their flow: the pieces there, on their way there, scrapped and
reworked there; for the reports page's per-order table and the export's Balances sheet (one query, so
they never disagree).

A work center that has been sent pieces of an order it has not received yet has no balance row for that
order, only a transit row: such orders are listed too (IN, OUT and balance 0), since "sent to you, not
yet received" is exactly what a manager looks for. "Open" means pieces are there or on their way there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, union_all
from sqlmodel import Session

from potrack.common import site_settings
from potrack.common.actors import Actor, load_user, scoped_work_center_ids
from potrack.common.paging import Page, check_paging
from potrack.common.validation import search_text
from potrack.db.engine import Database, database
from potrack.db.tables import BALANCES, CENTERS, DEPARTMENTS, TRANSIT, USERS
from potrack.db.types import utcnow
from potrack.errors import InvalidInput
from potrack.ledger.balances import order_filter

B, T = BALANCES, TRANSIT
ON_THE_WAY = T.c.qty_sent - T.c.qty_received


@dataclass(frozen=True)
class FlowBalanceRow:
    work_center_id: int
    work_center_code: str
    work_center_name: str
    order_number: str
    qty_in: int
    qty_out: int
    qty_scrap: int  # of qty_out
    qty_rework: int  # of qty_out
    in_transit: int  # on its way to this work center
    transit_since: datetime | None  # when the pieces on their way began to be
    last_movement_at: datetime | None  # None: nothing received here yet, only sent here
    last_username: str | None
    last_user_name: str | None
    last_user_department: str | None
    transit_old: bool = False  # in transit longer than the site's TRANSIT_OLD_HOURS

    @property
    def balance(self) -> int:
        return self.qty_in - self.qty_out


@dataclass(frozen=True)
class FlowBalancePage(Page[FlowBalanceRow]):
    old_after_hours: int = 0  # the site's TRANSIT_OLD_HOURS, which `transit_old` was decided by


JOINED = and_(T.c.order_number == B.c.order_number, T.c.work_center_id == B.c.work_center_id)


def _conditions(ids: set[int], order: str, match: str, open_only: bool) -> tuple[list[Any], list[Any]]:
    """The two halves of the rows asked for: balance rows (conditions on order_balance), and pending transit
    rows that no balance row of the first half stands for (on order_transit left-joined to order_balance).

    Open only: balance rows with pieces there, and from the transit side (its partial index) the rows with
    pieces on their way whose balance row holds none or is missing. So neither half joins every balance row.
    """
    there_where: list[Any] = [B.c.work_center_id.in_(ids)]
    # pending_since is set iff pieces are on their way (and it is the partial index's condition).
    waiting_where: list[Any] = [T.c.work_center_id.in_(ids), T.c.pending_since.is_not(None)]
    if search_text(order):
        there_where.append(order_filter(B.c.order_number, order, match))
        waiting_where.append(order_filter(T.c.order_number, order, match))
    if open_only:
        there_where.append(B.c.qty_in > B.c.qty_out)
        waiting_where.append(or_(B.c.work_center_id.is_(None), B.c.qty_in <= B.c.qty_out))
    else:
        waiting_where.append(B.c.work_center_id.is_(None))
    return there_where, waiting_where


def _flow_rows(ids: set[int], order: str, match: str, open_only: bool) -> Any:
    """Both halves (`_conditions`) as one subquery, with the transit of each balance row."""
    there_where, waiting_where = _conditions(ids, order, match, open_only)
    there = (
        select(
            B.c.work_center_id,
            B.c.order_number,
            B.c.qty_in,
            B.c.qty_out,
            B.c.qty_scrap,
            B.c.qty_rework,
            func.coalesce(ON_THE_WAY, 0).label('in_transit'),
            T.c.pending_since.label('transit_since'),
            B.c.last_movement_at,
            B.c.last_user_id,
        )
        .select_from(B.outerjoin(T, JOINED))
        .where(*there_where)
    )
    waiting = (
        select(
            T.c.work_center_id,
            T.c.order_number,
            *(func.coalesce(c, 0) for c in (B.c.qty_in, B.c.qty_out, B.c.qty_scrap, B.c.qty_rework)),
            ON_THE_WAY,
            T.c.pending_since,
            B.c.last_movement_at,
            B.c.last_user_id,
        )
        .select_from(T.outerjoin(B, JOINED))
        .where(*waiting_where)
    )
    return union_all(there, waiting).subquery('flow')


def flow_balance_query(ids: set[int], order: str = '', match: str = 'prefix', open_only: bool = True) -> Select[Any]:
    """Balance rows with their flow in the work centers `ids`, with the names a person reads: columns
    (work_center_id, code, work center name, order_number, qty_in, qty_out, qty_scrap, qty_rework, in_transit,
    transit_since, last_movement_at, username, full name, department). Unsorted."""
    f = _flow_rows(ids, order, match, open_only)
    return select(
        f.c.work_center_id,
        CENTERS.c.code,
        CENTERS.c.name,
        f.c.order_number,
        f.c.qty_in,
        f.c.qty_out,
        f.c.qty_scrap,
        f.c.qty_rework,
        f.c.in_transit,
        f.c.transit_since,
        f.c.last_movement_at,
        USERS.c.username,
        USERS.c.full_name,
        DEPARTMENTS.c.name.label('department'),
    ).select_from(
        f.join(CENTERS, CENTERS.c.id == f.c.work_center_id)
        .outerjoin(USERS, USERS.c.id == f.c.last_user_id)
        .outerjoin(DEPARTMENTS, DEPARTMENTS.c.id == USERS.c.department_id)
    )


def _sort_keys(query: Select[Any]) -> dict[str, Any]:
    c = query.selected_columns
    return {
        'last_movement_at': c.last_movement_at,
        'order_number': c.order_number,
        'work_center': c.code,
        'balance': c.qty_in - c.qty_out,
        'qty_in': c.qty_in,
        'qty_out': c.qty_out,
        'in_transit': c.in_transit,
        'transit_since': c.transit_since,
        'qty_scrap': c.qty_scrap,
        'qty_rework': c.qty_rework,
    }


def old_transit_hours(session: Session) -> int:
    """The site's TRANSIT_OLD_HOURS: pieces in transit longer than this are old."""
    return int(site_settings.get(session, site_settings.TRANSIT_OLD_HOURS))


def flow_balances(
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
) -> FlowBalancePage:
    """A page of balance rows per (work center, order) the actor may see, with in transit, scrapped and reworked.

    Rows without a movement (only sent to, never received) sort after the others by their last movement.
    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput (paging, sort, match).
    """
    check_paging(offset, limit)
    db = db or database()
    with db.read() as session:
        user = load_user(session, actor)
        ids = scoped_work_center_ids(session, user, work_center_ids)
        hours = old_transit_hours(session)
        if not ids:
            return FlowBalancePage([], 0, offset, limit, hours)
        query = flow_balance_query(ids, order, match, open_only)
        keys = _sort_keys(query)
        if sort not in keys:
            raise InvalidInput(f'Cannot sort balances by {sort!r}.', field='sort')
        key = keys[sort].desc() if descending else keys[sort].asc()
        c = query.selected_columns
        conn = session.connection()
        total = _count(conn, ids, order, match, open_only)
        page = query.order_by(key.nulls_last(), c.order_number, c.code).offset(offset).limit(limit)
        old_before = utcnow() - timedelta(hours=hours)
        rows = [_row(r, old_before) for r in conn.execute(page)]
        return FlowBalancePage(rows, int(total), offset, limit, hours)


def _row(r: Any, old_before: datetime) -> FlowBalanceRow:
    return FlowBalanceRow(
        r.work_center_id,
        r.code,
        r.name,
        r.order_number,
        r.qty_in,
        r.qty_out,
        r.qty_scrap,
        r.qty_rework,
        r.in_transit,
        r.transit_since,
        r.last_movement_at,
        r.username,
        r.full_name,
        r.department,
        is_old(r.in_transit, r.transit_since, old_before),
    )


def _count(conn: Connection, ids: set[int], order: str, match: str, open_only: bool) -> int:
    """The rows `flow_balance_query` selects, counted half by half: the balance half needs no transit."""
    there_where, waiting_where = _conditions(ids, order, match, open_only)
    there = conn.execute(select(func.count()).select_from(B).where(*there_where)).scalar_one()
    waiting = conn.execute(select(func.count()).select_from(T.outerjoin(B, JOINED)).where(*waiting_where)).scalar_one()
    return int(there) + int(waiting)


def is_old(in_transit: int, since: datetime | None, old_before: datetime) -> bool:
    """Pieces on their way since before `old_before`."""
    return in_transit > 0 and since is not None and since < old_before
