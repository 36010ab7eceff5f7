"""Routes in the order book, as an admin and the ERP meet them: codes that name work centers, each once,
checked wherever a route is typed (dialog, file, API, defaults); the default route a new order gets from its
product or the site; and the flow settings an admin chooses."""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User
from sqlmodel import select

from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import AuditEvent
from potrack.errors import InvalidFields, InvalidInput, NotAllowed, NotFound
from potrack.orders import book
from potrack.orders.fields import parse_order_fields, parse_route
from potrack.orders.flow_settings import FlowSettings, flow_settings, save_flow_settings
from potrack.orders.importing import import_orders
from potrack.orders.listing import get_order
from potrack.orders.product_routes import delete_product_route, list_product_routes, set_product_route
from tests.api_helpers import api, error_of, token_for
from tests.order_files import csv_bytes

DEFAULTS = FlowSettings(
    over_receipt_pct='0', off_route='refuse', transit_old_hours='8', auto_close='off', default_route=''
)


def audits(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all())


def route_of(admin: Actor, number: str) -> str:
    return get_order(admin, number).route


def messages(err: pytest.ExceptionInfo[InvalidInput]) -> dict[str | None, str]:
    errors = err.value.errors if isinstance(err.value, InvalidFields) else [err.value]
    return {e.field: e.message for e in errors}


def test_a_route_passes_each_work_center_once() -> None:
    assert parse_route(' wc001 → wc002 ; WC005 ') == 'WC001>WC002>WC005'
    with pytest.raises(InvalidInput) as err:
        parse_route('WC001>WC002>wc001')
    assert (err.value.field, err.value.message) == (
        'route',
        'route "WC001>WC002>wc001": WC001 comes twice; a route passes each work center once '
        '(rework sends pieces back without it).',
    )


def test_a_route_code_that_is_no_work_center_is_refused_by_name(db: Database, admin: Actor) -> None:
    with pytest.raises(InvalidInput) as err:
        book.add_order(admin, parse_order_fields(order_number='PO-R1', route='WC001>WC0O2>WC099'))
    assert (err.value.field, err.value.message) == (
        'route',
        'route "WC001>WC0O2>WC099": WC0O2, WC099 are not work centers.',
    )
    book.add_order(admin, parse_order_fields(order_number='PO-R1', route='WC001>WC002'))
    with pytest.raises(InvalidInput, match='route "WC001>WC009": WC009 is not a work center.'):
        book.edit_order(admin, parse_order_fields(order_number='PO-R1', route='WC001>WC009'))
    assert route_of(admin, 'PO-R1') == 'WC001>WC002'


def test_a_new_order_without_a_route_gets_its_products_or_the_sites(db: Database, admin: Actor) -> None:
    set_product_route(admin, product_code='BRK-220', route='WC001>WC003')
    save_flow_settings(admin, FlowSettings(**{**vars(DEFAULTS), 'default_route': 'wc002 > wc005'}))
    for number, product, route in (
        ('PO-A', 'BRK-220', None),  # the product's
        ('PO-B', 'SHF-118', ''),  # the site's
        ('PO-C', 'BRK-220', 'WC004'),  # its own
    ):
        book.add_order(admin, parse_order_fields(order_number=number, product_code=product, route=route))
    assert [route_of(admin, n) for n in ('PO-A', 'PO-B', 'PO-C')] == ['WC001>WC003', 'WC002>WC005', 'WC004']
    book.edit_order(admin, parse_order_fields(order_number='PO-C', route=''))
    assert route_of(admin, 'PO-C') == ''  # an existing order keeps what it is given


def test_the_import_names_each_line_whose_route_is_wrong(db: Database, admin: Actor) -> None:
    rows = [
        ['PO-I1', 'GEAR-12', 10, '', 'WC001>WC002'],
        ['PO-I2', 'GEAR-12', 10, '', 'WC001>WCX'],
        ['PO-I3', 'GEAR-12', 10, '', 'WC002>WC002'],
        ['PO-I4', 'GEAR-12', 10, '', ''],
    ]
    outcome = import_orders(admin, csv_bytes(rows), 'erp.csv')
    assert [str(p) for p in outcome.problems] == [
        'line 3: route "WC001>WCX": WCX is not a work center.',
        'line 4: route "WC002>WC002": WC002 comes twice; a route passes each work center once '
        '(rework sends pieces back without it).',
    ]
    assert not outcome.saved
    set_product_route(admin, product_code='GEAR-12', route='WC003')
    outcome = import_orders(admin, csv_bytes([rows[0], rows[3]]), 'erp.csv')
    assert outcome.saved and [route_of(admin, n) for n in ('PO-I1', 'PO-I4')] == ['WC001>WC002', 'WC003']


def test_products_default_routes_are_kept_by_admins_and_audited(db: Database, admin: Actor, make_user) -> None:
    with pytest.raises(NotAllowed):
        set_product_route(make_user('anita'), product_code='X', route='WC001')
    with pytest.raises(InvalidInput) as err:
        set_product_route(admin, product_code='', route='')
    assert messages(err) == {
        'product_code': 'The product code is required.',
        'route': 'Enter the route, like WC001>WC002>WC005.',
    }
    with pytest.raises(InvalidInput, match='route "WC001>WC777": WC777 is not a work center.'):
        set_product_route(admin, product_code='GEAR-12', route='WC001>WC777')
    for n in range(25):
        set_product_route(admin, product_code=f'P-{n:02d}', route='WC001>WC002')
    set_product_route(admin, product_code='P-00', route='WC003')
    page = list_product_routes(admin, text='p-0', offset=0, limit=5)
    assert (page.total, [r.product_code for r in page.rows]) == (10, ['P-00', 'P-01', 'P-02', 'P-03', 'P-04'])
    assert page.rows[0].route == 'WC003'
    assert list_product_routes(admin, text='%').total == 0
    delete_product_route(admin, product_code='P-00')
    with pytest.raises(NotFound, match='P-00 has no default route.'):
        delete_product_route(admin, product_code='P-00')
    assert [len(audits(db, a)) for a in ('product_route.set', 'product_route.delete')] == [26, 1]
    event = audits(db, 'product_route.delete')[0]
    assert (event.entity_id, json.loads(event.before or '{}')) == ('P-00', {'route': 'WC003'})


def test_the_flow_settings_are_checked_together_and_audited(db: Database, admin: Actor, make_user) -> None:
    assert flow_settings(admin) == DEFAULTS
    bad = FlowSettings(
        over_receipt_pct='-5', off_route='maybe', transit_old_hours='0', auto_close='yes', default_route='WC1>WC1'
    )
    with pytest.raises(InvalidInput) as err:
        save_flow_settings(admin, bad)
    assert messages(err) == {
        'over_receipt_pct': 'Over-receipt tolerance (%): Enter a whole number from 0 to 100.',
        'off_route_receipts': 'Receipts at a work center not on the route: choose one of refuse, allow.',
        'transit_old_hours': 'Transit is old after (hours): Enter a whole number from 1 to 720.',
        'auto_close': 'Close finished orders by themselves: choose one of off, on.',
        'default_route': 'Route of new orders without one: route "WC1>WC1": WC1 comes twice; a route passes each '
        'work center once (rework sends pieces back without it).',
    }
    with pytest.raises(InvalidInput) as err:
        save_flow_settings(admin, FlowSettings(**{**vars(DEFAULTS), 'default_route': 'WC001>WC404'}))
    assert messages(err) == {
        'default_route': 'Route of new orders without one: route "WC001>WC404": WC404 is not a work center.'
    }
    assert flow_settings(admin) == DEFAULTS  # nothing saved
    chosen = FlowSettings(' 5 ', 'allow', '12', 'on', 'wc001>wc002')
    assert save_flow_settings(admin, chosen) == FlowSettings('5', 'allow', '12', 'on', 'WC001>WC002')
    assert site_settings.read(site_settings.OVER_RECEIPT_PCT) == '5'
    assert len(audits(db, 'setting.change')) == 5
    save_flow_settings(admin, chosen)
    assert len(audits(db, 'setting.change')) == 5  # the same values again: no change, no event
    with pytest.raises(NotAllowed):
        flow_settings(make_user('anita'))


async def test_the_erp_is_told_which_route_code_is_wrong(user: User, db: Database, admin: Actor) -> None:
    client = api(user, token_for(admin, admin, 'erp'))
    batch = {'orders': [{'order_number': 'PO-E1', 'route': 'WC001'}, {'order_number': 'PO-E2', 'route': 'WC001>WC0X'}]}
    status, code, message = error_of(await client.post('/api/v1/orders', json=batch))
    assert (status, code, message) == (422, 'invalid_input', 'PO-E2: route "WC001>WC0X": WC0X is not a work center.')
    with pytest.raises(Exception):
        get_order(admin, 'PO-E1')
