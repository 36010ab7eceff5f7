"""Pieces in transit, as people ask about them: what was sent to my work center and not yet received, and
how much is on its way to each work center. Read from order_transit (kept by the ledger's write path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from potrack.common import site_settings
from potrack.common.actors import Actor, load_user, visible_work_center_ids
from potrack.common.routes import route_codes
from potrack.db.engine import Database, database
from potrack.db.tables import CENTERS, ORDERS, TRANSIT
from potrack.db.types import utcnow
from potrack.errors import NotFound
from potrack.i18n import N_

INCOMING_LIMIT = 50


@dataclass(frozen=True)
class Incoming:
    """An order's pieces sent to a work center and not yet received there."""

    order_number: str
    quantity: int
    from_code: str | None  # the work center that sent the latest of them
    since: datetime  # when the transit last rose above nothing (UTC)
    is_old: bool  # in transit longer than the site's TRANSIT_OLD_HOURS
    is_rework: bool = False  # its latest sender comes after this work center on the route: sent back for rework


@dataclass(frozen=True)
class IncomingList:
    rows: list[Incoming]  # oldest first, at most the limit asked
    total: int  # how many orders are on their way to the work center
    quantity: int  # how many pieces, all of them


@dataclass(frozen=True)
class TransitTotal:
    """What is on its way to one work center."""

    quantity: int
    orders: int
    old_orders: int
    oldest_since: datetime | None


def old_after(session: Session) -> timedelta:
    return timedelta(hours=int(site_settings.get(session, site_settings.TRANSIT_OLD_HOURS)))


def incoming(
    actor: Actor, work_center_id: int, *, limit: int = INCOMING_LIMIT, db: Database | None = None
) -> IncomingList:
    """Orders in transit to a work center the actor may see, oldest first. Raises SignedOut, NotFound."""
    db = db or database()
    sender = aliased(CENTERS)
    pending = (TRANSIT.c.work_center_id == work_center_id) & TRANSIT.c.pending_since.is_not(None)
    in_transit = TRANSIT.c.qty_sent - TRANSIT.c.qty_received
    with db.read() as session:
        user = load_user(session, actor)
        if work_center_id not in visible_work_center_ids(session, user):
            raise NotFound(
                N_('That work center does not exist or is not one of yours.'), field='work_center', params={}
            )
        cutoff = utcnow() - old_after(session)
        conn = session.connection()
        here = conn.execute(select(CENTERS.c.code).where(CENTERS.c.id == work_center_id)).scalar_one()
        query = (
            select(TRANSIT.c.order_number, in_transit, sender.c.code, TRANSIT.c.pending_since, ORDERS.c.route)
            .select_from(
                TRANSIT.outerjoin(sender, sender.c.id == TRANSIT.c.last_from_id).outerjoin(
                    ORDERS, ORDERS.c.order_number == TRANSIT.c.order_number
                )
            )
            .where(pending)
            .order_by(TRANSIT.c.pending_since, TRANSIT.c.order_number)
            .limit(max(1, min(limit, 500)))
        )
        rows = [
            Incoming(o, int(q), code, since, since < cutoff, _comes_back(route, code, here))
            for o, q, code, since, route in conn.execute(query)
        ]
        counted = select(func.count(), func.coalesce(func.sum(in_transit), 0)).where(pending)
        total, quantity = conn.execute(counted).one()
    return IncomingList(rows, int(total), int(quantity))


def _comes_back(route: str | None, sender: str | None, here: str) -> bool:
    steps = route_codes(route)
    return sender in steps and here in steps and steps.index(sender) > steps.index(here)


def transit_by_work_center(actor: Actor, db: Database | None = None) -> dict[int, TransitTotal]:
    """What is on its way to each work center the actor may see (only those with something)."""
    db = db or database()
    in_transit = TRANSIT.c.qty_sent - TRANSIT.c.qty_received
    with db.read() as session:
        user = load_user(session, actor)
        visible = visible_work_center_ids(session, user)
        cutoff = utcnow() - old_after(session)
        query = (
            select(
                TRANSIT.c.work_center_id,
                func.sum(in_transit),
                func.count(),
                func.count().filter(TRANSIT.c.pending_since < cutoff),
                func.min(TRANSIT.c.pending_since),
            )
            .where(TRANSIT.c.pending_since.is_not(None))
            .group_by(TRANSIT.c.work_center_id)
        )
        rows = session.connection().execute(query).all()
    return {
        wc: TransitTotal(int(quantity), int(orders), int(old), oldest)
        for wc, quantity, orders, old, oldest in rows
        if wc in visible
    }
