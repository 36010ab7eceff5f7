"""The orders page and an order's detail, used as the office uses them: search, page, add, close, reopen;
the site's unknown-order policy in Admin → Settings."""

from __future__ import annotations

import json
from urllib.parse import quote

from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import AuditEvent
from potrack.ledger.writer import record_movement
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from potrack.orders.listing import get_order
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually_equal, field_error, handled, see, sign_in


def _table(user: User, marker: str) -> ui.table:
    element = user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.table)
    return element


def _text(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().text  # type: ignore[attr-defined]


def _orders(user: User) -> list[str]:
    return [r['order'] for r in _table(user, 'orders-table').rows]


def _book(db: Database, admin: Actor, count: int) -> None:
    for n in range(1, count + 1):
        fields = parse_order_fields(
            order_number=f'PO-2026-{n:04d}',
            product_code='BRK-220',
            planned_quantity=100,
            due_date=f'2026-12-{n % 28 + 1:02d}',
        )
        book.add_order(admin, fields, db=db)


async def test_search_and_paging_follow_the_url(user: User, sqlite_db: Database, admin: Actor, make_user) -> None:
    _book(sqlite_db, admin, 60)
    make_user('boss', None, is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, quote('/orders?q=po-2026-00&page=2'))
    await eventually_equal(lambda: _text(user, 'orders-showing'), 'Showing 51–60 of 60', what='the second page')
    async with handled():
        user.find(marker='orders-prev').click()
    assert _text(user, 'orders-showing') == 'Showing 1–50 of 60'
    first = _orders(user)[0]
    assert first.startswith('PO-2026-')
    async with handled():
        user.find(marker='orders-search').clear().type('PO-2026-0007')
    await eventually_equal(lambda: _orders(user), ['PO-2026-0007'], what='the search result')


async def test_an_admin_adds_an_order_and_a_bad_quantity_is_shown_at_its_field(
    user: User, sqlite_db: Database, make_user
) -> None:
    make_user('boss', None, is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, '/orders')
    await see(user, marker='orders-add')
    async with handled():
        user.find(marker='orders-add').click()
    user.find(marker='order-number').type('po-2026-000104')
    user.find(marker='order-planned').type('-5')
    async with handled():
        user.find(marker='order-dialog-save').click()
    assert field_error(user, 'order-planned') == 'planned quantity "-5" is not a positive whole number.'
    user.find(marker='order-planned').clear().type('40')
    async with handled():
        user.find(marker='order-dialog-save').click()
    await eventually_equal(lambda: _orders(user), ['PO-2026-000104'], what='the new order in the list')
    assert _table(user, 'orders-table').rows[0]['planned'] == 40


async def test_closing_and_reopening_an_order_with_a_reason(
    user: User, sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    book.add_order(
        admin, parse_order_fields(order_number='PO-9', product_code='FLG-075', planned_quantity=10), db=sqlite_db
    )
    record_movement(make_user('anita'), work_center_id=wc('WC001'), order_number='PO-9', quantity=4, movement_type='IN')
    make_user('boss', None, is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, '/orders/PO-9')
    await eventually_equal(
        lambda: _text(user, 'order-progress'), 'Started 4 · in progress 4 · finished 0 (0% of planned)', what='progress'
    )
    assert [r['held'] for r in _table(user, 'order-steps').rows] == [4]
    async with handled():
        user.find(marker='order-closed').click()
    user.find(marker='order-status-reason').type('customer took 4')
    async with handled():
        user.find(marker='order-status-save').click()
    await eventually_equal(lambda: get_order(admin, 'PO-9', db=sqlite_db).status, 'closed', what='the stored status')
    await see(user, marker='order-open')
    with sqlite_db.read() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == 'order.close')).one()
    assert json.loads(event.after or '{}') == {'status': 'closed', 'reason': 'customer took 4'}
    await eventually_equal(
        lambda: [r['what'] for r in _table(user, 'order-changes').rows][:1], ['Order closed'], what='the change list'
    )


async def test_the_policy_is_chosen_in_admin_settings(user: User, sqlite_db: Database, make_user) -> None:
    make_user('boss', None, is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, '/admin?tab=settings')
    await eventually_equal(
        lambda: user.find(marker='setting-unknown-orders').elements.pop().value, 'allow', what='the current policy'
    )
    user.find(marker='setting-unknown-orders').elements.pop().value = 'refuse'
    async with handled():
        user.find(marker='setting-save').click()
    assert site_settings.read(site_settings.UNKNOWN_ORDERS, db=sqlite_db) == 'refuse'


async def test_an_operator_reads_orders_but_has_no_admin_actions(
    user: User, sqlite_db: Database, admin: Actor, make_user
) -> None:
    _book(sqlite_db, admin, 3)
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD, '/orders')
    await eventually_equal(lambda: len(_orders(user)), 3, what='the orders')
    await user.should_not_see(marker='orders-add')
