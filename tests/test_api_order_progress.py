"""GET /api/v1/orders/{number} with the order's progress along its route, as a planning system reads it."""

from __future__ import annotations

from nicegui.testing import User

from potrack.common.actors import Actor
from potrack.db import Database
from tests.api_helpers import api, token_for
from tests.test_order_progress import add
from tests.test_order_progress import move as move  # a fixture
from tests.test_order_progress import po_p1 as po_p1  # a fixture

STEP_KEYS = ('work_center', 'position', 'in_transit', 'received', 'wip', 'scrapped', 'reworked', 'sent_on')


async def test_an_order_reads_with_its_progress_per_route_step(
    user: User, db: Database, admin: Actor, po_p1: None
) -> None:
    body = (await api(user, token_for(admin, admin, 'planning')).get('/api/v1/orders/po-p1')).json()
    totals = ('started', 'wip', 'in_transit', 'scrapped', 'reworked', 'finished', 'yield_percent', 'closable')
    assert {key: body[key] for key in totals} == {
        'started': 100,
        'wip': 55,
        'in_transit': 10,
        'scrapped': 7,
        'reworked': 4,
        'finished': 28,
        'yield_percent': 28.0,
        'closable': False,
    }
    assert [tuple(step[key] for key in STEP_KEYS) for step in body['steps']] == [
        ('WC001', 1, 0, 104, 39, 5, 0, 60),
        ('WC002', 2, 10, 50, 16, 0, 4, 30),
        ('WC003', 3, 0, 30, 0, 2, 0, 28),
    ]
    wc002 = body['steps'][1]
    assert (wc002['name'], wc002['in_transit_old'], wc002['in_transit_since'] is not None) == ('Machining', False, True)
    assert (wc002['qty_in'], wc002['qty_out'], wc002['held']) == (50, 34, 16)  # the fields earlier clients read


async def test_a_scanner_sees_only_its_departments_steps(
    user: User, db: Database, admin: Actor, make_user, move
) -> None:
    add(admin, 'PO-S1', 10, 'WC001>WC005')
    move('WC001', 'PO-S1', 10)
    move('WC001', 'PO-S1', 10, 'OUT')
    quality = make_user('quinn', 'Quality Control')
    body = (await api(user, token_for(admin, quality)).get('/api/v1/orders/PO-S1')).json()
    assert [(s['work_center'], s['position'], s['in_transit']) for s in body['steps']] == [('WC005', 2, 10)]
    assert (body['in_transit'], body['started'], body['yield_percent']) == (10, 0, None)
