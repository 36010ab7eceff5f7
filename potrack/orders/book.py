"""What admins do to the order book by hand: add an order, edit it, close, cancel or reopen it (with a
reason), and choose the site's policy for orders that are not in the book. Every change is audited in
its own transaction and announced so open pages follow it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from potrack.common import audit, site_settings
from potrack.common.actors import Actor, require_admin
from potrack.common.validation import clean_reason, normalize_order_number
from potrack.db.engine import Database, database
from potrack.db.models import ORDER_CANCELLED, ORDER_CLOSED, ORDER_OPEN
from potrack.errors import Conflict, InvalidInput, NotFound
from potrack.live.announce import ORDERS, write_announced
from potrack.orders.fields import OrderFields
from potrack.orders.route_checks import check_route
from potrack.orders.saving import UPDATABLE, SaveReport, existing_orders, save_orders

STATUS_ACTIONS = {ORDER_CLOSED: 'order.close', ORDER_CANCELLED: 'order.cancel', ORDER_OPEN: 'order.reopen'}


def add_order(actor: Actor, fields: OrderFields, db: Database | None = None) -> str:
    """An admin types a new order into the book (source 'typed'); without a route it gets the default one.

    Raises Conflict when it is there already, InvalidInput (a route code that is no work center).
    """
    db = db or database()

    def unit(session: Session) -> str:
        user = require_admin(session, actor)
        if existing_orders(session, [fields.order_number]):
            number = fields.order_number
            raise Conflict(f'{number} is already in the order book; edit it instead.', field='order_number')
        if fields.route:
            check_route(session, fields.route)
        save_orders(session, actor_id=user.id, orders=[fields], source='typed')
        return fields.order_number

    return write_announced(db, unit, ORDERS)


def edit_order(actor: Actor, fields: OrderFields, db: Database | None = None) -> str:
    """An admin changes an order's product, plan, due date, route or notes (any status).

    Raises NotFound, InvalidInput (a route code that is no work center).
    """
    db = db or database()

    def unit(session: Session) -> str:
        user = require_admin(session, actor)
        row = existing_orders(session, [fields.order_number]).get(fields.order_number)
        if row is None:
            raise NotFound(f'{fields.order_number} is not in the order book.', field='order_number')
        if fields.route:
            check_route(session, fields.route)
        before = {name: getattr(row, name) for name in UPDATABLE}
        for name in UPDATABLE:
            value = getattr(fields, name)
            if value is not None:
                setattr(row, name, value)
        after = {name: getattr(row, name) for name in UPDATABLE}
        row.updated_by_id = user.id
        session.add(row)
        audit.record_changes(
            session,
            actor_id=user.id,
            action='order.update',
            entity='order',
            entity_id=row.order_number,
            before=before,
            after=after,
        )
        return row.order_number

    return write_announced(db, unit, ORDERS)


def set_status(actor: Actor, order_number: Any, status: str, reason: Any, db: Database | None = None) -> str:
    """Close, cancel or reopen an order, with a reason. Raises InvalidInput, NotFound, Conflict (no change)."""
    number = normalize_order_number(order_number)
    if status not in STATUS_ACTIONS:
        raise InvalidInput('Choose open, closed or cancelled.', field='status')
    why = clean_reason(reason)
    db = db or database()

    def unit(session: Session) -> str:
        user = require_admin(session, actor)
        row = existing_orders(session, [number]).get(number)
        if row is None:
            raise NotFound(f'{number} is not in the order book.', field='order_number')
        if row.status == status:
            raise Conflict(f'{number} is already {status}.', field='status')
        before = row.status
        row.status, row.updated_by_id = status, user.id
        session.add(row)
        audit.record(
            session,
            actor_id=user.id,
            action=STATUS_ACTIONS[status],
            entity='order',
            entity_id=number,
            before={'status': before},
            after={'status': status, 'reason': why},
        )
        return status

    return write_announced(db, unit, ORDERS)


def set_unknown_order_policy(actor: Actor, policy: str, db: Database | None = None) -> str:
    """An admin chooses what happens to an order number not in the book: refuse, confirm or allow (audited)."""
    return site_settings.change(actor, key=site_settings.UNKNOWN_ORDERS, value=policy, db=db)


def unknown_order_policy(actor: Actor, db: Database | None = None) -> str:
    """The site's unknown-order policy, for an admin's settings page. Raises NotAllowed, SignedOut."""
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        return site_settings.get(session, site_settings.UNKNOWN_ORDERS)


def save_from_api(actor: Actor, orders: list[OrderFields], db: Database | None = None) -> SaveReport:
    """The ERP puts orders into the book over the API (source 'api'), all or nothing. Raises NotAllowed."""
    db = db or database()

    def unit(session: Session) -> SaveReport:
        user = require_admin(session, actor)
        return save_orders(session, actor_id=user.id, orders=orders, source='api')

    return write_announced(db, unit, ORDERS)
