"""The kiosk meets the order book: a typo that names no order is refused or started on purpose, and a
known order shows its product and plan as soon as it is entered."""

from __future__ import annotations

import json

from nicegui.testing import User
from sqlmodel import func, select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import AuditEvent, OrderHeader, ProductionOrder
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from tests.test_kiosk_ui import enter, open_kiosk, text_of
from tests.ui_helpers import eventually_equal, handled, see


def _movements(db: Database) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(ProductionOrder)).one()


async def _choose(user: User, code: str) -> None:
    async with handled():
        user.find(marker=f'wc-{code}').click()


async def test_refuse_records_nothing_and_the_operator_reads_why(
    user: User, sqlite_db: Database, admin: Actor, make_user
) -> None:
    book.set_unknown_order_policy(admin, 'refuse', db=sqlite_db)
    book.add_order(admin, parse_order_fields(order_number='PO-2026-000104', planned_quantity=40), db=sqlite_db)
    await open_kiosk(user, make_user)
    await _choose(user, 'WC001')
    # The scanner race: the quantity keyed a moment too early joined the order number.
    await enter(user, 'PO-2026-00010425', '25', 'in')
    refusal = 'PO-2026-00010425 is not in the order book — check the number or ask the office. Nothing was recorded.'
    assert text_of(user, 'status') == refusal
    await eventually_equal(
        lambda: text_of(user, 'order-book'),
        'PO-2026-00010425 is not in the order book — check the number or ask the office.',
        what='the order card',
    )
    assert _movements(sqlite_db) == 0
    await user.should_not_see(marker='start-order')  # the refusal is shown: no offer to start came with it


async def test_confirm_starts_the_order_with_one_more_tap_and_the_audit_shows_who(
    user: User, sqlite_db: Database, admin: Actor, make_user
) -> None:
    book.set_unknown_order_policy(admin, 'confirm', db=sqlite_db)
    operator = await open_kiosk(user, make_user)
    await _choose(user, 'WC001')
    await enter(user, 'PO-NEW-7', '12', 'in')
    assert text_of(user, 'status') == 'PO-NEW-7 is not in the order book. Start it here? Nothing was recorded yet.'
    assert _movements(sqlite_db) == 0
    await see(user, 'Start PO-NEW-7 and record IN')
    async with handled():
        user.find(marker='start-order').click()
    assert text_of(user, 'status') == 'Saved: 12 of PO-NEW-7 received at WC001. Balance here now: 12.'
    with sqlite_db.read() as s:
        header = s.exec(select(OrderHeader).where(OrderHeader.order_number == 'PO-NEW-7')).one()
        event = s.exec(select(AuditEvent).where(AuditEvent.action == 'order.create')).one()
    assert (header.source, header.created_by_id) == ('kiosk', operator.user_id)
    assert (event.actor_id, json.loads(event.after or '{}')['source']) == (operator.user_id, 'kiosk')
    assert _movements(sqlite_db) == 1


async def test_a_known_order_shows_its_product_and_plan_when_entered(
    user: User, sqlite_db: Database, admin: Actor, make_user
) -> None:
    fields = parse_order_fields(
        order_number='PO-2026-000104',
        product_code='BRK-220',
        product_description='Brake bracket',
        planned_quantity=40,
        due_date='2026-12-24',
    )
    book.add_order(admin, fields, db=sqlite_db)
    await open_kiosk(user, make_user)
    await _choose(user, 'WC001')
    async with handled():
        user.find(marker='order').type('po-2026-000104').trigger('keydown.enter')
    await eventually_equal(
        lambda: text_of(user, 'order-book'),
        'BRK-220 · Brake bracket · planned 40 · due 24 Dec 2026',
        what='the order card',
    )
