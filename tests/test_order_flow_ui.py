"""The flow as the office sees it: an order's route diagram and yield, the orders page's progress bar and
"can be closed", the flow settings and products' default routes in Admin → Settings."""

from __future__ import annotations

from datetime import timedelta

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import update

from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.tables import TRANSIT
from potrack.db.types import utcnow
from potrack.orders.flow_settings import flow_settings
from potrack.orders.product_routes import list_product_routes
from tests.admin_ui_helpers import choose, click, column, element, fill, open_admin, row_where
from tests.conftest import TEST_PASSWORD
from tests.test_order_progress import add
from tests.test_order_progress import move as move  # a fixture
from tests.test_order_progress import po_p1 as po_p1  # a fixture
from tests.ui_helpers import eventually_equal, field_error, see, sign_in

OF_TEN = 'of 10 planned pieces finished'


def texts(user: User, marker: str) -> list[str]:
    """The words inside an element (a card, a column), in reading order."""
    return [e.text for e in element(user, marker).descendants() if isinstance(e, ui.label) and e.text]


def label(user: User, marker: str) -> str:
    return element(user, marker).text


async def test_the_detail_shows_the_route_as_cards_with_transit_between(
    user: User, sqlite_db: Database, admin: Actor, make_user, po_p1: None, wc
) -> None:
    site_settings.change(admin, key=site_settings.TRANSIT_OLD_HOURS, value='4')
    with sqlite_db.engine.begin() as conn:
        conn.execute(
            update(TRANSIT)
            .where(TRANSIT.c.order_number == 'PO-P1', TRANSIT.c.work_center_id == wc('WC002'))
            .values(pending_since=utcnow() - timedelta(hours=5))
        )
    make_user('boss', None, is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, '/orders/PO-P1')
    await eventually_equal(
        lambda: label(user, 'order-progress'),
        'Started 100 · in progress 55 · on the way 10 · scrapped 7 · finished 28 (28% of planned)',
    )
    assert label(user, 'order-yield') == 'Yield 28%: 28 finished of 100 started'
    assert label(user, 'order-closable') == ''
    assert texts(user, 'route-step-WC001') == [
        '1. WC001 Assembly',
        *('Received', '104', 'In progress here', '39', 'Scrapped', '5', 'Sent on', '60'),
    ]
    assert texts(user, 'route-step-WC002')[-4:] == ['Sent back for rework', '4', 'Sent on', '30']
    assert texts(user, 'route-step-WC003')[-2:] == ['Finished', '28']  # the last step's "sent on"
    transit = texts(user, 'route-transit-WC002')
    assert transit[1].startswith('10 on the way to WC002, since ')  # after the arrow
    assert element(user, 'route-transit-old-WC002').text == 'Old: waiting too long'  # said, not only coloured
    await user.should_not_see(marker='route-transit-WC003')  # nothing on the way there
    assert [r['in_transit'] for r in element(user, 'order-steps').rows] == [0, 10, 0]


async def test_an_order_finished_or_scrapped_says_it_can_be_closed(
    user: User, sqlite_db: Database, admin: Actor, make_user, move
) -> None:
    add(admin, 'PO-C1', 10, 'WC001>WC002')
    add(admin, 'PO-C2', 10, 'WC001>WC002')
    move('WC001', 'PO-C1', 10)
    move('WC001', 'PO-C1', 3, 'OUT', disposition='scrap', reason='DIM')
    move('WC001', 'PO-C1', 7, 'OUT')
    move('WC002', 'PO-C1', 7)
    move('WC002', 'PO-C1', 7, 'OUT')
    move('WC001', 'PO-C2', 10)
    move('WC001', 'PO-C2', 4, 'OUT')
    make_user('boss', None, is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, '/orders')
    await eventually_equal(lambda: len(element(user, 'orders-table').rows), 2, what='both orders')
    done, going = (row_where(user, 'orders-table', order=n) for n in ('PO-C1', 'PO-C2'))
    assert (done['closable'], done['percent'], done['progress_label']) == (True, 70, '7 of 10 planned pieces finished')
    assert (going['closable'], going['percent'], going['progress_label']) == (
        False,
        0,
        '0 of 10 planned pieces finished',
    )
    await user.open('/orders/PO-C1')
    await eventually_equal(
        lambda: label(user, 'order-closable'),
        'All 10 planned pieces are finished or scrapped: this order can be closed.',
    )
    await see(user, marker='order-closed')  # the existing action closes it


async def test_an_admin_sets_the_flow_and_a_wrong_value_is_shown_at_its_field(
    user: User, sqlite_db: Database, admin: Actor, make_user
) -> None:
    await open_admin(user, make_user, 'settings')
    await eventually_equal(lambda: element(user, 'setting-transit-old').value, '8', what='the current setting')
    fill(user, setting_over_receipt='150', setting_default_route='WC001>WC0X')
    await click(user, 'setting-flow-save')
    assert (
        field_error(user, 'setting-over-receipt') == 'Over-receipt tolerance (%): Enter a whole number from 0 to 100.'
    )
    assert field_error(user, 'setting-default-route') == (
        'Route of new orders without one: route "WC001>WC0X": WC0X is not a work center.'
    )
    fill(user, setting_over_receipt='5', setting_default_route='wc001 > wc002', setting_off_route='allow')
    await click(user, 'setting-flow-save')
    await user.should_see('Flow settings saved.')
    assert element(user, 'setting-default-route').value == 'WC001>WC002'
    saved = flow_settings(admin)
    assert (saved.over_receipt_pct, saved.off_route, saved.default_route) == ('5', 'allow', 'WC001>WC002')


async def test_an_admin_keeps_products_default_routes(user: User, sqlite_db: Database, admin: Actor, make_user) -> None:
    await open_admin(user, make_user, 'settings')
    await see(user, marker='product-routes-table')
    await click(user, 'product-route-new')
    fill(user, product_route_product='BRK-220', product_route_route='WC001>WC001')
    await click(user, 'product-route-dialog-save')
    assert field_error(user, 'product-route-route').startswith('route "WC001>WC001": WC001 comes twice')
    fill(user, product_route_route='WC001 > WC003')
    await click(user, 'product-route-dialog-save')
    await user.should_see('BRK-220: new orders get the route WC001 → WC003.')
    assert column(user, 'product-routes-table', 'shown') == ['WC001 → WC003']
    await choose(user, 'product-routes-table', id='BRK-220')
    await click(user, 'product-route-remove')
    await click(user, 'product-route-confirm-save')
    await eventually_equal(lambda: column(user, 'product-routes-table', 'id'), [], what='the emptied list')
    assert list_product_routes(admin).total == 0
