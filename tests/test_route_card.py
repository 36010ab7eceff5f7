"""Route cards: the cards' contents, the symbols read back by a real decoder, their routes and the page.

The symbols are decoded for real (tests/symbol_reader.py): each SVG as served is drawn into a bitmap and
read by zxing-cpp, the decoder behind many phone and kiosk scanners.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nicegui.testing import User
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import OrderHeader, WorkCenter
from potrack.errors import InvalidInput, NotFound, SignedOut
from potrack.orders.fields import OrderFields
from potrack.orders.route_card import (
    BLANK_STEPS,
    CARDS_PER_REQUEST_MAX,
    CODE128_QUIET_MODULES,
    CODE128_WIDTH_MAX_MM,
    RouteCard,
    RouteStep,
    barcode_svg,
    qr_svg,
    route_cards,
)
from potrack.orders.saving import save_orders
from potrack.pages.orders import route_card as route_card_page
from tests.conftest import TEST_PASSWORD
from tests.symbol_reader import code128_reads, qr_reads
from tests.ui_helpers import see, sign_in

EVERY_CHARACTER = 'A-Z_0/9.' + 'BCDEFGHIJKLMNOPQRSTUVWXY'  # every kind of allowed character
NUMBERS = [
    'PO-2026-0012',
    'A_B/C.D-E',
    EVERY_CHARACTER + '12345678',  # 40 characters, the maximum
    'X' * 40,
    '9' * 40,  # all digits: Code 128's compact set C from start to end
    '1',
    'WO/2026//07..1_',  # doubled separators survive the URL and the symbol
    'A1234B12345C1D',  # switching between the letter and the digit sets
    '9912345',  # python-barcode 0.16.1 on its own drops a leading 99 (its issue #251)
    '99',
]
ORDER_NUMBER = st.from_regex(r'[A-Z0-9][A-Z0-9\-_/.]{0,39}', fullmatch=True)


# --- the symbols -------------------------------------------------------------------------------------------


def test_every_allowed_character_and_the_longest_number_are_in_the_list() -> None:
    assert len(EVERY_CHARACTER + '12345678') == 40
    assert set('-_/.') <= set(''.join(NUMBERS))


@pytest.mark.parametrize('number', NUMBERS)
def test_the_barcode_reads_back_as_exactly_the_order_number(number: str) -> None:
    assert code128_reads(barcode_svg(number)) == number


@pytest.mark.parametrize('number', NUMBERS)
def test_the_qr_code_reads_back_as_exactly_the_order_number(number: str) -> None:
    assert qr_reads(qr_svg(number)) == number


@settings(max_examples=60, deadline=None)
@given(number=ORDER_NUMBER)
def test_any_order_number_reads_back_from_both_symbols(number: str) -> None:
    assert code128_reads(barcode_svg(number)) == number
    assert qr_reads(qr_svg(number)) == number


@pytest.mark.parametrize('number', NUMBERS)
def test_the_barcode_fits_the_card_with_its_quiet_zones(number: str) -> None:
    text = barcode_svg(number).decode()
    width = float(re.search(r'<svg[^>]* width="([\d.]+)mm"', text).group(1))
    bars = [(float(x), float(w)) for x, w in re.findall(r'<rect x="([\d.]+)mm" y="[\d.]+mm" width="([\d.]+)mm"', text)]
    narrowest = min(w for _, w in bars)
    assert width <= CODE128_WIDTH_MAX_MM
    assert narrowest >= 0.33  # a hand scanner's comfortable minimum on a 600 dpi office printer
    quiet = CODE128_QUIET_MODULES * narrowest - 0.002  # the SVG rounds to a micrometre
    assert bars[0][0] >= quiet and width - (bars[-1][0] + bars[-1][1]) >= quiet
    assert '<text' not in text  # the card prints the number in large type above it


def test_a_number_is_normalized_before_it_is_drawn_and_anything_else_is_refused() -> None:
    assert code128_reads(barcode_svg(' po-7\r\n')) == 'PO-7'
    assert qr_reads(qr_svg('po-7')) == 'PO-7'
    for bad in ('', 'PO 7', 'PO-7<script>', 'X' * 41, '-PO'):
        with pytest.raises(InvalidInput):
            barcode_svg(bad)
        with pytest.raises(InvalidInput):
            qr_svg(bad)


# --- the cards ---------------------------------------------------------------------------------------------


def add_orders(db: Database, *orders: OrderFields) -> None:
    db.write(lambda s: save_orders(s, actor_id=None, orders=list(orders), source='typed'))


GEARBOX = OrderFields(
    order_number='PO-2026-0012',
    product_code='GB-200',
    product_description='Gearbox housing, cast',
    planned_quantity=500,
    due_date=date(2026, 3, 31),
    route='WC001>WC002>WC005',
    notes='Handle with gloves',
)
NO_ROUTE = OrderFields(order_number='PO-2026-0013', product_code='SH-10', product_description='Shaft')
CARD_SAMPLE = RouteCard(
    order_number='PO-1',
    product_code='P',
    product_description='',
    planned_quantity=None,
    due_date=None,
    status='cancelled',
    notes='',
    steps=(RouteStep(1, 'WC001', 'Assembly'),),
    has_route=True,
    printed_by='Anita',
    printed_at=datetime(2026, 3, 11, 8, 35, tzinfo=UTC),
)


def test_a_card_carries_the_order_and_one_box_per_work_center_of_its_route(db: Database, admin: Actor) -> None:
    add_orders(db, GEARBOX, NO_ROUTE)
    cards = route_cards(admin, ['po-2026-0013', 'PO-2026-0012', 'PO-2026-0013'])
    assert [c.order_number for c in cards] == ['PO-2026-0013', 'PO-2026-0012']  # as asked, each once
    gearbox = cards[1]
    assert (gearbox.product_code, gearbox.product_description, gearbox.planned_quantity, gearbox.due_date) == (
        'GB-200',
        'Gearbox housing, cast',
        500,
        date(2026, 3, 31),
    )
    assert gearbox.has_route and gearbox.notes == 'Handle with gloves' and gearbox.printed_by == 'Administrator'
    assert [(s.position, s.code, s.name) for s in gearbox.steps] == [
        (1, 'WC001', 'Assembly'),
        (2, 'WC002', 'Machining'),
        (3, 'WC005', 'Quality Control'),
    ]
    blank = cards[0]
    assert not blank.has_route and blank.planned_quantity is None
    assert [(s.code, s.name) for s in blank.steps] == [('', '')] * BLANK_STEPS


def test_a_route_through_an_unknown_or_deactivated_work_center_still_gets_its_boxes(db: Database, admin: Actor) -> None:
    add_orders(db, replace(GEARBOX, route='WC003>WC004'))

    def deactivate(s):  # type: ignore[no-untyped-def]
        row = s.exec(select(WorkCenter).where(WorkCenter.code == 'WC003')).one()
        row.is_active = False
        s.add(row)
        # A route saved when WC999 was a work center's code: new routes must name work centers that exist.
        order = s.exec(select(OrderHeader).where(OrderHeader.order_number == 'PO-2026-0012')).one()
        order.route = 'WC003>WC999'
        s.add(order)

    db.write(deactivate)
    (card,) = route_cards(admin, ['PO-2026-0012'])
    assert [(s.code, s.name) for s in card.steps] == [
        ('WC003', 'Welding (deactivated)'),
        ('WC999', '(not in the list of work centers)'),
    ]


def test_refusals_name_what_is_wrong(db: Database, admin: Actor, make_user) -> None:
    add_orders(db, GEARBOX)
    with pytest.raises(NotFound, match='PO-404 is not in the order book'):
        route_cards(admin, ['PO-2026-0012', 'PO-404'])
    with pytest.raises(NotFound, match='P1, P2, P3, P4, P5 and 2 more are not'):
        route_cards(admin, [f'P{n}' for n in range(1, 8)])
    with pytest.raises(InvalidInput, match='at least one order'):
        route_cards(admin, [])
    with pytest.raises(InvalidInput, match=f'At most {CARDS_PER_REQUEST_MAX} route cards'):
        route_cards(admin, ['PO-2026-0012'] * (CARDS_PER_REQUEST_MAX + 1))
    with pytest.raises(InvalidInput, match='may contain only'):
        route_cards(admin, ['PO 2026'])
    operator = make_user('anita')
    assert [c.order_number for c in route_cards(operator, ['PO-2026-0012'])] == ['PO-2026-0012']
    with pytest.raises(SignedOut):
        route_cards(Actor(user_id=987654), ['PO-2026-0012'])


# --- the symbols' routes and the page ----------------------------------------------------------------------


async def test_the_symbols_are_served_as_images_to_a_signed_in_browser_only(
    user: User, sqlite_db: Database, make_user
) -> None:
    number = 'WO/2026//07..1_'
    path = f'/orders/code128/{number.replace("/", "%2F")}.svg'
    refused = await user.http_client.get(path)
    assert refused.status_code == 401 and 'sign in' in refused.text
    page = await user.http_client.get('/orders/cards?orders=PO-1')
    assert page.status_code == 303 and page.headers['location'].startswith('/signin?next=/orders/cards')
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD, next_path='/kiosk')
    for kind, reads in (('code128', code128_reads), ('qr', qr_reads)):
        answer = await user.http_client.get(f'/orders/{kind}/{number.replace("/", "%2F")}.svg')
        assert answer.status_code == 200, answer.text
        assert answer.headers['content-type'] == 'image/svg+xml'
        assert answer.headers['cache-control'] == 'private, max-age=86400'
        assert answer.headers['x-content-type-options'] == 'nosniff'
        assert answer.headers['content-security-policy'].startswith("default-src 'none'")
        assert reads(answer.content) == number
    bad = await user.http_client.get('/orders/qr/PO%207.svg')
    assert bad.status_code == 400 and 'may contain only' in bad.text


async def test_the_cards_page_shows_each_card_without_the_app_shell(user: User, sqlite_db: Database, make_user) -> None:
    add_orders(sqlite_db, GEARBOX, NO_ROUTE)
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD, next_path='/orders/cards?orders=PO-2026-0012,po-2026-0013')
    await see(user, marker='route-cards')
    await see(user, '2 route cards: one sheet each, A4 or Letter.')
    await see(user, marker='print')
    await user.should_not_see(marker='nav-kiosk')
    await user.should_not_see(marker='account-menu')
    sheets = user.find(marker='route-cards').elements.pop()
    gearbox, shaft = sheets.props['cards']
    assert sheets.props['fields'] == ['In (pcs)', 'Out (pcs)', 'Date', 'Signature']
    assert (gearbox['number'], gearbox['lead'], gearbox['facts'], gearbox['trail']) == (
        'PO-2026-0012',
        [['Product', 'GB-200 · Gearbox housing, cast']],
        [['Planned quantity', '500 pcs'], ['Due date', '31 Mar 2026']],
        [['Notes', 'Handle with gloves']],
    )
    assert (gearbox['qr_src'], gearbox['code128_src']) == (
        '/orders/qr/PO-2026-0012.svg',
        '/orders/code128/PO-2026-0012.svg',
    )
    assert gearbox['route_title'] == 'Route: 3 work centers, in this order'
    assert [(s['code'], s['name']) for s in gearbox['steps']] == [
        ('WC001', 'Assembly'),
        ('WC002', 'Machining'),
        ('WC005', 'Quality Control'),
    ]
    assert gearbox['printed'].startswith('Printed ') and gearbox['printed'].endswith(' IST by Anita')
    assert shaft['number'] == 'PO-2026-0013' and shaft['facts'][0] == ['Planned quantity', 'not known']
    assert shaft['route_title'].startswith('No route in the order book')
    assert len(shaft['steps']) == BLANK_STEPS and not any(s['code'] for s in shaft['steps'])


def test_a_slash_in_a_number_travels_escaped_in_the_symbol_urls() -> None:
    card = route_card_page.sheet(replace(CARD_SAMPLE, order_number='WO/7//1.A_B'))
    assert card['code128_src'] == '/orders/code128/WO%2F7%2F%2F1.A_B.svg'
    assert card['qr_src'] == '/orders/qr/WO%2F7%2F%2F1.A_B.svg'


def test_long_numbers_and_long_routes_get_the_smaller_type_and_boxes() -> None:
    short = route_card_page.sheet(CARD_SAMPLE)
    long = route_card_page.sheet(
        replace(CARD_SAMPLE, order_number='X' * 40, steps=tuple(RouteStep(i, 'WC001', 'A') for i in range(1, 11)))
    )
    assert (short['number_class'], short['steps_class']) == ('rc-number', 'rc-steps')
    assert short['facts'][-1] == ['Status', 'CANCELLED'] and short['lead'] == [['Product', 'P']]
    assert short['printed'] == 'Printed 11 Mar 2026 14:05 IST by Anita'
    assert (long['number_class'], long['steps_class']) == ('rc-number rc-number-long', 'rc-steps rc-steps-many')


async def test_an_unknown_order_is_named_on_the_page(user: User, sqlite_db: Database, make_user) -> None:
    add_orders(sqlite_db, GEARBOX)
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD, next_path='/orders/cards?orders=PO-2026-0012,PO-404')
    await see(user, 'PO-404 is not in the order book: no route card printed.')
    await user.should_not_see(marker='route-cards')
    await user.should_not_see(marker='print')
