"""The demo's orders in the order book: each order the plan releases, with its planned pieces, a product,
a due date a week after its release and the line as its route, put in the book before its movements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from potrack.db.tables import ORDERS
from potrack.db.types import utcnow
from potrack.ops.demo.orders import Line, Plan
from potrack.orders.progress import done_condition
from potrack.timeutil import to_local

PRODUCTS = (
    ('BRK-220', 'Brake bracket, zinc plated'),
    ('SHF-118', 'Drive shaft 18 mm'),
    ('HSG-450', 'Gearbox housing, cast'),
    ('FLG-075', 'Flange DN75'),
    ('PIN-030', 'Hinge pin 30 mm'),
    ('PLT-610', 'Base plate 600×100'),
    ('SPR-012', 'Spacer ring 12 mm'),
    ('CVR-300', 'Cover, powder coated'),
)
DUE_AFTER = timedelta(days=7)


def book_released(conn: Connection, plan: Plan, line: Line, released: list[tuple[int, int, float]]) -> None:
    """Insert the released orders (then forget them), source 'imported' as an ERP's would be."""
    if not released:
        return
    offset = plan.end_at - plan.t_end * plan.scale
    now = utcnow()
    route = '>'.join(line.codes)
    rows = []
    for order, planned, t in released:
        code, description = PRODUCTS[order % len(PRODUCTS)]
        released_at = datetime.fromtimestamp(offset + t * plan.scale, UTC)
        rows.append(
            {
                'order_number': plan.order_number(order),
                'product_code': code,
                'product_description': description,
                'planned_quantity': planned,
                'due_date': to_local(released_at + DUE_AFTER).date(),
                'route': route,
                'status': 'open',
                'source': 'imported',
                'notes': '',
                'created_at': now,
                'updated_at': now,
            }
        )
    insert = pg_insert if conn.dialect.name == 'postgresql' else sqlite_insert
    conn.execute(insert(ORDERS).on_conflict_do_nothing(index_elements=['order_number']), rows)
    released.clear()


def close_finished(conn: Connection) -> int:
    """Close the demo's open orders whose planned pieces are all sent on from the line, as the office would:
    the orders page then opens on the orders still under way (and "late only" means late). Returns how many."""
    done = update(ORDERS).where(ORDERS.c.status == 'open', done_condition(ORDERS)).values(status='closed')
    return conn.execute(done).rowcount or 0
