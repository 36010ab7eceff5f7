"""The flow between two work centers in Chromium: pieces sent on at WC001 appear live on WC002's kiosk as
"sent to you", one tap fills the IN, and a receipt above what was sent is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import User
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from tests.browser.pilot import click, field, see, shot, sign_in, type_into, wait_for
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser
ORDER = 'PO-FLOW-1'


def book_with_route(url: str, route: str) -> None:
    """The office books the order with its route (as the orders page would)."""
    reset_settings()
    db = Database(url)
    with db.read() as s:
        boss = s.exec(select(User).where(User.username == 'boss')).one()
    book.add_order(
        Actor(boss.id or 0), parse_order_fields(order_number=ORDER, planned_quantity=100, route=route), db=db
    )
    db.dispose()


def value_of(driver: WebDriver, label: str) -> str:
    return str(field(driver, label).get_attribute('value'))


def test_sent_on_then_received_from_the_list(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    for name, admin in (('anita', False), ('ravi', False), ('boss', True)):
        add_operator(url, name, is_admin=admin)
    book_with_route(url, 'WC001>WC002>WC003')

    receiver = browser('receiver')
    sign_in(receiver, server.url, 'ravi', TEST_PASSWORD)
    click(receiver, 'WC002\nMachining')
    see(receiver, 'Nothing is on its way here.')

    sender = browser('sender')
    sign_in(sender, server.url, 'anita', TEST_PASSWORD)
    click(sender, 'WC001\nAssembly')
    type_into(sender, 'Order number', ORDER, enter=True)
    type_into(sender, 'Quantity (pieces)', '100')
    click(sender, 'IN')
    see(sender, f'Saved: 100 of {ORDER} received at WC001. Balance here now: 100.')
    type_into(sender, 'Order number', ORDER, enter=True)
    type_into(sender, 'Quantity (pieces)', '40')
    click(sender, 'OUT')  # "Sent on" is chosen already: the common case is one tap
    see(sender, f'Sent 40 on to WC002 ({ORDER}). Balance here now: 60.')
    shot(sender, 'flow-1-sent-on')
    click(sender, 'Scrap')
    see(sender, 'Why are they scrapped?')
    shot(sender, 'flow-1b-scrap-asks-why')

    see(receiver, '1 order, 40 pieces on their way here.')  # live, without a reload
    see(receiver, 'from WC001, sent ')
    shot(receiver, 'flow-2-sent-to-you')
    click(receiver, ORDER)
    wait_for(lambda: value_of(receiver, 'Quantity (pieces)') == '40', what='the tap to fill the quantity')
    assert value_of(receiver, 'Order number') == ORDER
    type_into(receiver, 'Quantity (pieces)', '36')
    click(receiver, 'IN')
    see(receiver, f'Saved: 36 of {ORDER} received at WC002. Balance here now: 36.')
    see(receiver, '1 order, 4 pieces on their way here.')
    shot(receiver, 'flow-3-received-36')

    type_into(receiver, 'Order number', ORDER, enter=True)
    type_into(receiver, 'Quantity (pieces)', '40')
    click(receiver, 'IN')
    see(
        receiver,
        f'Only 4 more pieces of {ORDER} are on their way to WC002 (from WC001): 40 sent, 36 received; '
        'you tried to receive 40.',
    )
    shot(receiver, 'flow-4-beyond-transit')
