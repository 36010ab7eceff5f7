"""The order book over REST, as an ERP and a scanner client see it: orders in, one order out, and the
site's unknown-order policy on POST /movements."""

from __future__ import annotations

from nicegui.testing import User
from sqlmodel import func, select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import OrderHeader
from potrack.orders import book
from tests.api_helpers import api, error_of, token_for

ERP_ORDER = {
    'order_number': 'po-2026-000104',
    'product_code': 'BRK-220',
    'planned_quantity': 40,
    'due_date': '2026-12-24',
}


def _orders(db: Database) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(OrderHeader)).one()


async def test_the_erp_puts_orders_in_and_a_retry_changes_nothing(user: User, db: Database, admin: Actor) -> None:
    client = api(user, token_for(admin, admin, 'erp'))
    batch = {'orders': [ERP_ORDER, {'order_number': 'PO-2026-000105', 'route': 'WC001>WC002'}]}
    first = await client.post('/api/v1/orders', json=batch, headers={'Idempotency-Key': 'erp-batch-1'})
    assert first.status_code == 201, first.text
    assert first.json() == {
        'created': ['PO-2026-000104', 'PO-2026-000105'],
        'updated': [],
        'unchanged': [],
        'not_open': [],
    }
    again = await client.post('/api/v1/orders', json=batch, headers={'Idempotency-Key': 'erp-batch-1'})
    assert (again.status_code, again.json()['unchanged']) == (200, ['PO-2026-000104', 'PO-2026-000105'])
    changed = await client.post('/api/v1/orders', json={**ERP_ORDER, 'planned_quantity': 45})
    assert changed.json()['updated'] == [{'order_number': 'PO-2026-000104', 'changes': {'planned_quantity': [40, 45]}}]
    got = await client.get('/api/v1/orders/PO-2026-000104')
    body = got.json()
    assert (body['planned_quantity'], body['due_date'], body['status'], body['source']) == (
        45,
        '2026-12-24',
        'open',
        'api',
    )


async def test_one_bad_order_refuses_the_batch_and_names_it(user: User, db: Database, admin: Actor) -> None:
    client = api(user, token_for(admin, admin, 'erp'))
    batch = {'orders': [ERP_ORDER, {'order_number': 'PO-7', 'route': 'WC001>>'}]}
    refused = await client.post('/api/v1/orders', json=batch)
    assert refused.status_code == 422
    assert refused.json()['error']['field'] == 'orders[1].route'
    assert _orders(db) == 0
    status, code, _ = error_of(await client.post('/api/v1/orders', json={'orders': [{'order_number': 5}]}))
    assert (status, code) == (422, 'invalid_input')
    assert (await client.post('/api/v1/orders', json={'orders': [{'order_number': 5}]})).json()['error'][
        'field'
    ] == 'batch.orders.order_number'


async def test_only_an_admins_token_puts_orders_in(user: User, db: Database, admin: Actor, make_user) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    status, code, _ = error_of(await client.post('/api/v1/orders', json=ERP_ORDER))
    assert (status, code) == (403, 'not_allowed')
    status, code, message = error_of(await client.get('/api/v1/orders/PO-NONE'))
    assert (status, code, message) == (404, 'not_found', 'PO-NONE is not in the order book.')


async def test_movements_follow_the_policy(user: User, db: Database, admin: Actor, make_user) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    movement = {'order_number': 'PO-API-9', 'work_center': 'WC001', 'quantity': 3, 'type': 'IN'}
    book.set_unknown_order_policy(admin, 'refuse', db=db)
    status, code, message = error_of(await client.post('/api/v1/movements', json={**movement, 'create_order': True}))
    assert (status, code) == (404, 'unknown_order') and 'not in the order book' in message
    book.set_unknown_order_policy(admin, 'confirm', db=db)
    status, code, message = error_of(await client.post('/api/v1/movements', json=movement))
    assert (status, code, message) == (
        404,
        'unknown_order',
        'PO-API-9 is not in the order book. Start it here? Nothing was recorded yet.',
    )
    created = await client.post('/api/v1/movements', json={**movement, 'create_order': True})
    assert created.status_code == 201, created.text
    assert (await client.get('/api/v1/orders/PO-API-9')).json()['source'] == 'api'
    book.set_status(admin, 'PO-API-9', 'cancelled', 'duplicate of PO-API-8', db=db)
    status, code, message = error_of(await client.post('/api/v1/movements', json={**movement, 'quantity': 4}))
    assert (status, code) == (409, 'order_not_open') and message.startswith('PO-API-9 is cancelled')
