"""Closing an order by itself once it is done, when the site says so (site setting AUTO_CLOSE).

Done: every planned piece finished (sent on from the route's last step) or scrapped, with nothing left
in work in progress or in transit. Checked after an OUT has committed, in a transaction of its own that
locks the order's row first (an admin's change of it waits, or this close does not happen).
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from potrack.common import audit, site_settings
from potrack.common.routes import route_codes
from potrack.db.engine import Database
from potrack.db.models import ORDER_CLOSED, ORDER_OPEN
from potrack.db.tables import BALANCES, CENTERS, ORDERS, TRANSIT
from potrack.db.types import utcnow
from potrack.errors import PotrackError
from potrack.live import announce

log = logging.getLogger(__name__)
AUTO_CLOSE_REASON = 'finished: every planned piece finished or scrapped'


def close_if_done(db: Database, order: str, user_id: int) -> bool:
    """Close `order` if the site closes finished orders and this one is done; True when it did.

    Best effort, after the movement has committed: a failure here is logged and never reaches the person,
    whose entry is saved. The order's row is taken NOWAIT (PostgreSQL): the kiosk that sent the last pieces
    does not wait behind an admin editing the order; the next OUT looks again.
    """
    try:
        return _close_if_done(db, order, user_id)
    except (PotrackError, DBAPIError) as exc:
        log.warning('order %s: not closed by itself this time (%s)', order, exc)
        return False


def _close_if_done(db: Database, order: str, user_id: int) -> bool:

    def unit(session: Session) -> bool:
        if site_settings.get(session, site_settings.AUTO_CLOSE) != site_settings.ON:
            return False
        conn = session.connection()
        header = conn.execute(
            select(ORDERS.c.status, ORDERS.c.route, ORDERS.c.planned_quantity)
            .where(ORDERS.c.order_number == order)
            .with_for_update(nowait=True)
        ).first()
        if header is None or header.status != ORDER_OPEN or not header.planned_quantity or not header.route:
            return False
        if not _done(session, order, route_codes(header.route), int(header.planned_quantity)):
            return False
        now = utcnow()
        conn.execute(
            ORDERS.update()
            .where(ORDERS.c.order_number == order)
            .values(status=ORDER_CLOSED, updated_at=now, updated_by_id=user_id)
        )
        audit.record(
            session,
            actor_id=user_id,
            action='order.close',
            entity='order',
            entity_id=order,
            before={'status': ORDER_OPEN},
            after={'status': ORDER_CLOSED, 'reason': AUTO_CLOSE_REASON},
        )
        announce.queue_in_transaction(db, session, announce.ORDERS)
        return True

    closed = db.write(unit, attempts=1)
    if closed:
        announce.deliver_after_commit(db, announce.ORDERS)
        log.info('order %s closed by itself: finished', order)
    return closed


def _done(session: Session, order: str, steps: list[str], planned: int) -> bool:
    conn = session.connection()
    rows = conn.execute(
        select(CENTERS.c.code, BALANCES.c.qty_in, BALANCES.c.qty_out, BALANCES.c.qty_scrap, BALANCES.c.qty_rework)
        .join(CENTERS, CENTERS.c.id == BALANCES.c.work_center_id)
        .where(BALANCES.c.order_number == order)
    ).all()
    in_transit = conn.execute(
        select(func.coalesce(func.sum(TRANSIT.c.qty_sent - TRANSIT.c.qty_received), 0)).where(
            TRANSIT.c.order_number == order
        )
    ).scalar_one()
    if in_transit or any(r.qty_in != r.qty_out for r in rows):
        return False
    finished = sum(r.qty_out - r.qty_scrap - r.qty_rework for r in rows if r.code == steps[-1])
    return finished + sum(r.qty_scrap for r in rows) >= planned
