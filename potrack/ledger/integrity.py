"""The ledger's invariants: every balance row equals the sums of its movements, none is negative, every
order's activity time (order_activity) is at most ACTIVITY_STEP behind its newest movement, every
order with movements is in the order book (order_header), the flow's (flow_check), and the tallies
search totals add up (tallies)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Interval, Select, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from potrack.db.engine import Database, database
from potrack.db.models import ACTIVITY_STEP
from potrack.db.tables import ACTIVITY, BALANCES, ORDERS
from potrack.db.types import utcnow
from potrack.ledger.flow_check import FlowMismatch, OverReceipt, TransitMismatch, flow_findings
from potrack.ledger.tallies import TallyMismatch, catch_up_tallies, tally_findings

FlowFinding = FlowMismatch | TransitMismatch | OverReceipt | TallyMismatch

# Full outer join emulated with a UNION so it runs on SQLite too.
MISMATCH_SQL = """
WITH sums AS (
    SELECT work_center_id, order_number,
           SUM(CASE WHEN movement_type = 'IN' THEN quantity ELSE 0 END) AS qty_in,
           SUM(CASE WHEN movement_type = 'OUT' THEN quantity ELSE 0 END) AS qty_out
    FROM production_order GROUP BY work_center_id, order_number
)
SELECT b.work_center_id, b.order_number, b.qty_in, b.qty_out, COALESCE(s.qty_in, 0), COALESCE(s.qty_out, 0)
FROM order_balance b LEFT JOIN sums s
  ON s.work_center_id = b.work_center_id AND s.order_number = b.order_number
WHERE b.qty_in <> COALESCE(s.qty_in, 0) OR b.qty_out <> COALESCE(s.qty_out, 0)
   OR b.qty_out < 0 OR b.qty_out > b.qty_in
UNION ALL
SELECT s.work_center_id, s.order_number, NULL, NULL, s.qty_in, s.qty_out
FROM sums s LEFT JOIN order_balance b
  ON s.work_center_id = b.work_center_id AND s.order_number = b.order_number
WHERE b.work_center_id IS NULL AND (s.qty_in <> 0 OR s.qty_out <> 0)
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Mismatch:
    work_center_id: int
    order_number: str
    balance_in: int | None
    balance_out: int | None
    ledger_in: int
    ledger_out: int

    def describe(self) -> str:
        stored = 'no balance row' if self.balance_in is None else f'balance IN {self.balance_in} OUT {self.balance_out}'
        return (
            f'work center {self.work_center_id} order {self.order_number}: {stored}, '
            f'movements IN {self.ledger_in} OUT {self.ledger_out}'
        )


def _activity_lags(postgres: bool, limit: int) -> Select[Any]:
    """Orders whose activity time is missing or more than ACTIVITY_STEP behind their newest movement: a
    newest-first search by prefix could start its walk after their movements (newest_first.newest_first_plan).
    Each balance row's last_movement_at is its pair's newest movement (the ledger writes both together)."""
    newest, stored = func.max(BALANCES.c.last_movement_at), func.max(ACTIVITY.c.last_movement_at)
    if postgres:
        behind = stored < newest - literal(ACTIVITY_STEP, Interval())
    else:  # SQLite keeps times as text: compare them as Julian days
        behind = func.julianday(stored) < func.julianday(newest) - ACTIVITY_STEP.total_seconds() / 86400
    return (
        select(BALANCES.c.order_number, newest, stored)
        .select_from(BALANCES.outerjoin(ACTIVITY, ACTIVITY.c.order_number == BALANCES.c.order_number))
        .where(BALANCES.c.last_movement_at.is_not(None))
        .group_by(BALANCES.c.order_number)
        .having(or_(stored.is_(None), behind))
        .order_by(BALANCES.c.order_number)
        .limit(limit)
    )


def catch_up_activity(conn: Connection) -> None:
    """Move every order's activity time forward to its newest movement where it is behind, never back.

    Run at each start after the migrations (migrate.upgrade): while instances are upgraded one at a time,
    those still on an older potrack record movements without order_activity; the last one to restart on
    this version catches the times up. A full pass over order_balance (0.3–0.5 s at a million movements
    here) that writes only the rows that are behind.
    """
    newest = (
        select(BALANCES.c.order_number, func.max(BALANCES.c.last_movement_at))
        .where(BALANCES.c.last_movement_at.is_not(None))  # SQLite needs a WHERE before ON CONFLICT
        .group_by(BALANCES.c.order_number)
    )
    insert = pg_insert if conn.dialect.name == 'postgresql' else sqlite_insert
    statement = insert(ACTIVITY).from_select(['order_number', 'last_movement_at'], newest)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=['order_number'],
            set_={'last_movement_at': statement.excluded.last_movement_at},
            where=ACTIVITY.c.last_movement_at < statement.excluded.last_movement_at,
        )
    )


@dataclass(frozen=True)
class ActivityLag:
    order_number: str
    newest_movement_at: datetime
    activity_at: datetime | None

    def describe(self) -> str:
        fmt = '%Y-%m-%d %H:%M:%S'
        stored = 'no activity time' if self.activity_at is None else f'activity time {self.activity_at:{fmt}}'
        return f'order {self.order_number}: {stored}, newest movement {self.newest_movement_at:{fmt}} UTC'


@dataclass(frozen=True)
class MissingOrder:
    order_number: str

    def describe(self) -> str:
        return f'order {self.order_number}: has movements but is not in the order book'


# Balance rows stand for the movements (one per pair that ever had one, checked above): far fewer to read.
_NOT_IN_BOOK = (
    select(BALANCES.c.order_number)
    .distinct()
    .where(~select(ORDERS.c.id).where(ORDERS.c.order_number == BALANCES.c.order_number).exists())
    .order_by(BALANCES.c.order_number)
)


def catch_up_order_book(conn: Connection) -> None:
    """Put every order the ledger has seen but the book lacks into the book (open, source 'history').

    Run at each start after the migrations, like catch_up_activity: an older potrack still running during
    a rolling upgrade records movements of orders it never puts in the book.
    """
    from_history = select(
        BALANCES.c.order_number,
        literal('open'),
        literal('history'),
        literal(utcnow(), ORDERS.c.created_at.type),
        literal(utcnow(), ORDERS.c.updated_at.type),
    ).where(BALANCES.c.order_number.in_(_NOT_IN_BOOK.order_by(None)))
    insert = pg_insert if conn.dialect.name == 'postgresql' else sqlite_insert
    columns = ['order_number', 'status', 'source', 'created_at', 'updated_at']
    conn.execute(insert(ORDERS).from_select(columns, from_history.distinct()).on_conflict_do_nothing())


def catch_up(conn: Connection) -> None:
    """Every derived record a start must find in place: activity times, the order book's entries, the tallies."""
    catch_up_tallies(conn)  # first: it may wait for the running writers, and must hold no row of theirs then
    catch_up_activity(conn)
    catch_up_order_book(conn)


@dataclass(frozen=True)
class CheckReport:
    balance_rows: int
    movements: int
    mismatches: list[Mismatch | ActivityLag | MissingOrder | FlowFinding]
    transit_rows: int = 0

    @property
    def consistent(self) -> bool:
        return not self.mismatches


def check_consistency(db: Database | None = None, *, limit: int = 20) -> CheckReport:
    """Compare every order_balance row with the sums of its movements; the first `limit` mismatches."""
    db = db or database()
    with db.read() as session:
        conn = session.connection()
        found: list[Mismatch | ActivityLag | MissingOrder | FlowFinding] = [
            Mismatch(*r) for r in conn.execute(text(MISMATCH_SQL + f' LIMIT {int(limit)}')).all()
        ]
        if len(found) < limit:
            lags = conn.execute(_activity_lags(conn.dialect.name == 'postgresql', limit - len(found))).all()
            found += [ActivityLag(*r) for r in lags]
        if len(found) < limit:
            found += [MissingOrder(r[0]) for r in conn.execute(_NOT_IN_BOOK.limit(limit - len(found)))]
        if len(found) < limit:
            found += flow_findings(conn, limit - len(found))
        if len(found) < limit:
            found += tally_findings(conn, limit - len(found))
        balance_rows = conn.execute(text('SELECT COUNT(*) FROM order_balance')).scalar_one()
        movements = conn.execute(text('SELECT COUNT(*) FROM production_order')).scalar_one()
        transit_rows = conn.execute(text('SELECT COUNT(*) FROM order_transit')).scalar_one()
    return CheckReport(int(balance_rows), int(movements), found, int(transit_rows))
