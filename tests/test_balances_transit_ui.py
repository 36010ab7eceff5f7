"""The balances page shows the pieces in transit to each work center, live, and marks transit that has
waited long with words and an icon."""

from __future__ import annotations

from datetime import timedelta

from nicegui.testing import User
from sqlalchemy import update

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import OrderTransit
from potrack.db.types import utcnow
from potrack.ledger.writer import record_movement
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from tests.test_balances_ui import open_balances, text_of, totals
from tests.ui_helpers import eventually_equal, gone, see


def send(admin: Actor, wc, order: str, route: str, qty: int, received: int = 100) -> None:  # type: ignore[no-untyped-def]
    """Book `order` with `route`, receive at its first step and send `qty` on to the second."""
    first = route.split('>')[0]
    book.add_order(admin, parse_order_fields(order_number=order, planned_quantity=100, route=route))
    record_movement(admin, work_center_id=wc(first), order_number=order, quantity=received, movement_type='IN')
    record_movement(admin, work_center_id=wc(first), order_number=order, quantity=qty, movement_type='OUT')


def transit_of(user: User) -> dict[str, tuple[object, object, object]]:
    return {code: (row['transit'], row['transit_orders'], row['transit_old']) for code, row in totals(user).items()}


async def test_in_transit_per_work_center_of_mine_only(
    user: User, sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    send(admin, wc, 'PO-1', 'WC001>WC002>WC003', 40)
    send(admin, wc, 'PO-2', 'WC001>WC002', 6)
    send(admin, wc, 'PO-QC', 'WC004>WC005', 9)  # to Quality Control's WC005: not Production's to see
    await open_balances(user, make_user)
    assert transit_of(user) == {
        'WC001': (0, '', ''),
        'WC002': (46, '2 orders', ''),
        'WC003': (0, '', ''),
        'WC004': (0, '', ''),
    }
    assert text_of(user, 'transit-summary') == 'In transit to your work centers: 46 pieces (2 orders).'
    await user.should_not_see(marker='transit-old')


async def test_transit_changes_live_when_pieces_are_sent_and_received(
    user: User, sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    await open_balances(user, make_user)
    assert text_of(user, 'transit-summary') == 'Nothing is in transit between your work centers.'
    send(admin, wc, 'PO-1', 'WC001>WC002>WC003', 40)
    await eventually_equal(lambda: transit_of(user)['WC002'], (40, '1 order', ''), what='the pieces sent to WC002')
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-1', quantity=36, movement_type='IN')
    await eventually_equal(lambda: transit_of(user)['WC002'], (4, '1 order', ''), what='the 4 not yet received')
    assert text_of(user, 'transit-summary') == 'In transit to your work centers: 4 pieces (1 order).'


async def test_transit_waiting_long_is_marked_in_words(
    user: User, sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    send(admin, wc, 'PO-1', 'WC001>WC002', 40)
    send(admin, wc, 'PO-2', 'WC001>WC002', 5)
    sent_at = utcnow().replace(microsecond=0) - timedelta(hours=30)
    with sqlite_db.engine.begin() as conn:
        conn.execute(update(OrderTransit).where(OrderTransit.order_number == 'PO-1').values(pending_since=sent_at))
    await open_balances(user, make_user)
    count, orders, old = transit_of(user)['WC002']
    assert (count, orders) == (45, '2 orders')
    assert isinstance(old, str) and old.startswith('1 order waiting long, since ') and old.endswith(' IST')
    await see(user, marker='transit-old')
    assert text_of(user, 'transit-old').startswith('1 order waiting long to be received, the oldest since ')

    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-1', quantity=40, movement_type='IN')
    await eventually_equal(lambda: transit_of(user)['WC002'], (5, '1 order', ''), what='the old transit received')
    await gone(user, marker='transit-old')
