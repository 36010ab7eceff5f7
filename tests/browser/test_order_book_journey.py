"""The phantom order, in Chromium: a quantity keyed too early joins the order number. Under 'refuse'
nothing is recorded and the operator reads why; under 'confirm' one more tap starts the order, and the
audit trail shows who did."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import AuditEvent, OrderHeader, ProductionOrder, User
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from tests.browser.pilot import click, see, shot, sign_in, type_into, wait_for
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def _book_order(url: str, number: str) -> None:
    reset_settings()
    db = Database(url)
    with db.read() as s:
        boss = s.exec(select(User).where(User.username == 'boss')).one()
    book.add_order(Actor(boss.id or 0), parse_order_fields(order_number=number, planned_quantity=40), db=db)
    db.dispose()


def _stored(url: str) -> tuple[int, list[tuple[str, str]], list[int | None]]:
    db = Database(url)
    with db.read() as s:
        movements = s.exec(select(func.count()).select_from(ProductionOrder)).one()
        orders = [(h.order_number, h.source) for h in s.exec(select(OrderHeader).order_by(OrderHeader.id)).all()]
        who = [e.actor_id for e in s.exec(select(AuditEvent).where(AuditEvent.action == 'order.create')).all()]
    db.dispose()
    return movements, orders, who


def _scan_too_early(driver, number: str, qty: str) -> None:  # type: ignore[no-untyped-def]
    """The order number, the quantity keyed before the focus moved, Enter: as the issue saw it happen."""
    click(driver, 'WC001\nAssembly')
    type_into(driver, 'Order number', number + qty, enter=True)
    type_into(driver, 'Quantity (pieces)', qty)
    click(driver, 'IN')


def test_refuse_records_nothing_and_says_why(start_server, browser, tmp_path: Path) -> None:
    server = start_server(POTRACK_UNKNOWN_ORDERS='refuse')
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'anita')
    add_operator(url, 'boss', is_admin=True)
    _book_order(url, 'PO-2026-000104')
    driver = browser('refuse')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    _scan_too_early(driver, 'PO-2026-000104', '25')
    see(driver, 'PO-2026-00010425 is not in the order book — check the number or ask the office. Nothing was recorded.')
    shot(driver, 'order-book-refused')
    assert _stored(url)[0] == 0
    # The right number goes through.
    type_into(driver, 'Order number', 'PO-2026-000104', enter=True)
    type_into(driver, 'Quantity (pieces)', '25')
    click(driver, 'IN')
    see(driver, 'Saved: 25 of PO-2026-000104 received at WC001.')
    assert _stored(url)[0] == 1


def test_confirm_starts_the_order_with_one_more_tap(start_server, browser, tmp_path: Path) -> None:
    server = start_server(POTRACK_UNKNOWN_ORDERS='confirm')
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'anita')
    driver = browser('confirm')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    _scan_too_early(driver, 'PO-2026-000201', '7')
    see(driver, 'PO-2026-0002017 is not in the order book. Start it here?')
    shot(driver, 'order-book-confirm')
    assert _stored(url)[0] == 0
    click(driver, 'Start PO-2026-0002017 and record IN')
    see(driver, 'Saved: 7 of PO-2026-0002017 received at WC001.')
    movements, orders, who = _stored(url)
    assert movements == 1 and orders == [('PO-2026-0002017', 'kiosk')]
    db = Database(url)
    with db.read() as s:
        anita = s.exec(select(User).where(User.username == 'anita')).one().id
    db.dispose()
    wait_for(lambda: who == [anita], what='the audit event naming anita')
