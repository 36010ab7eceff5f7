"""POST /api/v1/movements with the flow: an OUT's disposition, reason and rework target, and receipts bounded
by what was sent, as a client of the API sees them."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.ledger.integrity import check_consistency
from potrack.ledger.transit import incoming
from potrack.masters.reasons import Reason, add_reason, list_reasons
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from tests.api_helpers import api, error_of, token_for

ROUTE = 'WC001>WC002>WC003'


def move(work_center: str, type_: str, quantity: int, order: str = 'PO-F1', **flow: object) -> dict[str, object]:
    return {'order_number': order, 'work_center': work_center, 'quantity': quantity, 'type': type_, **flow}


def reason(admin: Actor, code: str) -> Reason:
    return next(r for r in list_reasons(admin) if r.code == code)


@pytest.fixture
def flow_order(db: Database, admin: Actor) -> str:
    book.add_order(admin, parse_order_fields(order_number='PO-F1', planned_quantity=100, route=ROUTE), db=db)
    return 'PO-F1'


async def test_sent_on_goes_in_transit_to_the_next_step_and_bounds_its_receipt(
    user: User, db: Database, admin: Actor, make_user, wc, flow_order: str
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    assert (await client.post('/api/v1/movements', json=move('WC001', 'IN', 100))).status_code == 201
    sent = await client.post('/api/v1/movements', json=move('WC001', 'OUT', 40))
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert (body['disposition'], body['to_work_center'], body['transit_qty'], body['flag']) == (
        'sent',
        'WC002',
        40,
        None,
    )
    assert body['balance'] == 60
    assert [(i.order_number, i.quantity, i.from_code) for i in incoming(admin, wc('WC002')).rows] == [
        ('PO-F1', 40, 'WC001')
    ]

    received = (await client.post('/api/v1/movements', json=move('WC002', 'IN', 36))).json()
    assert (received['disposition'], received['to_work_center'], received['transit_qty']) == (None, None, 36)
    too_many = await client.post('/api/v1/movements', json=move('WC002', 'IN', 40))
    assert error_of(too_many) == (
        409,
        'insufficient_balance',
        'Only 4 more pieces of PO-F1 are on their way to WC002 (from WC001): 40 sent, 36 received; '
        'you tried to receive 40.',
    )
    assert too_many.json()['error']['field'] == 'quantity'
    assert check_consistency(db).consistent


async def test_an_over_receipt_within_the_tolerance_is_flagged(
    user: User, db: Database, admin: Actor, make_user, flow_order: str
) -> None:
    site_settings.change(admin, key=site_settings.OVER_RECEIPT_PCT, value='10', db=db)
    client = api(user, token_for(admin, make_user('scanner')))
    for body in (move('WC001', 'IN', 100), move('WC001', 'OUT', 40)):
        assert (await client.post('/api/v1/movements', json=body)).status_code == 201
    received = (await client.post('/api/v1/movements', json=move('WC002', 'IN', 44))).json()
    assert (received['transit_qty'], received['flag']) == (40, 'over_receipt')


async def test_scrap_with_a_reason_leaves_the_flow(
    user: User, db: Database, admin: Actor, make_user, flow_order: str
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    await client.post('/api/v1/movements', json=move('WC001', 'IN', 10))
    surface = reason(admin, 'SURF')
    scrapped = await client.post(
        '/api/v1/movements', json=move('WC001', 'OUT', 2, disposition='scrap', reason_id=surface.id)
    )
    assert scrapped.status_code == 201, scrapped.text
    body = scrapped.json()
    assert (body['disposition'], body['reason_id'], body['to_work_center'], body['transit_qty']) == (
        'scrap',
        surface.id,
        None,
        0,
    )
    assert body['balance'] == 8
    assert check_consistency(db).consistent


async def test_rework_goes_back_to_an_earlier_step_named_by_its_code(
    user: User, db: Database, admin: Actor, make_user, wc, flow_order: str
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    for code, kind in (('WC001', 'IN'), ('WC001', 'OUT'), ('WC002', 'IN'), ('WC002', 'OUT'), ('WC003', 'IN')):
        assert (await client.post('/api/v1/movements', json=move(code, kind, 20))).status_code == 201
    dim = reason(admin, 'DIM')
    back = await client.post(
        '/api/v1/movements', json=move('WC003', 'OUT', 3, disposition='rework', reason_id=dim.id, rework_to='wc001')
    )
    assert back.status_code == 201, back.text
    body = back.json()
    assert (body['disposition'], body['to_work_center'], body['transit_qty'], body['reason_id']) == (
        'rework',
        'WC001',
        3,
        dim.id,
    )
    assert [(i.quantity, i.from_code) for i in incoming(admin, wc('WC001')).rows] == [(3, 'WC003')]
    assert check_consistency(db).consistent


async def test_a_request_missing_what_its_disposition_needs_is_refused_as_invalid(
    user: User, db: Database, admin: Actor, make_user
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    cases = [
        (move('WC001', 'OUT', 1, disposition='scrap'), 'reason_id', 'Scrap and rework need a reason_id: say why.'),
        (
            move('WC001', 'OUT', 1, disposition='rework', reason_id=1),
            'rework_to',
            'Rework needs rework_to: the work center the pieces go back to.',
        ),
        (move('WC001', 'IN', 1, disposition='scrap', reason_id=1), 'disposition', 'Only pieces going OUT are'),
        (move('WC001', 'OUT', 1, reason_id=1), 'reason_id', 'A reason_id goes with disposition scrap or rework only.'),
        (move('WC001', 'OUT', 1, disposition='sideways'), 'disposition', "Input should be 'sent', 'scrap'"),
    ]
    for body, field, message in cases:
        response = await client.post('/api/v1/movements', json=body)
        status, code, text = error_of(response)
        assert (status, code, response.json()['error']['field']) == (422, 'invalid_input', field), body
        assert text.startswith(f'{field}: {message}'), text
    assert check_consistency(db).movements == 0


async def test_a_reason_or_a_step_that_does_not_fit_is_refused_with_why(
    user: User, db: Database, admin: Actor, make_user, flow_order: str
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    for code, kind in (('WC001', 'IN'), ('WC001', 'OUT'), ('WC002', 'IN')):
        await client.post('/api/v1/movements', json=move(code, kind, 20))
    bore = add_reason(admin, code='BORE', label='Wrong bore', kind='rework', db=db)
    dim = reason(admin, 'DIM')
    refusals = [
        (
            move('WC002', 'OUT', 1, disposition='scrap', reason_id=bore.id),
            (409, 'conflict', 'Reason BORE (Wrong bore) is for rework, not for scrap.'),
        ),
        (
            move('WC002', 'OUT', 1, disposition='scrap', reason_id=99999),
            (404, 'not_found', 'There is no reason 99999 in use; Admin → Reasons lists them.'),
        ),
        (
            move('WC002', 'OUT', 1, disposition='rework', reason_id=dim.id, rework_to='WC003'),
            (409, 'conflict', 'Choose the earlier step of the route to send the pieces back to (WC001).'),
        ),
        (
            move('WC002', 'OUT', 1, disposition='rework', reason_id=dim.id, rework_to='WC999'),
            (404, 'not_found', 'There is no work center with the code "WC999".'),
        ),
    ]
    for body, expected in refusals:
        assert error_of(await client.post('/api/v1/movements', json=body)) == expected, body
    assert check_consistency(db).movements == 3


async def test_the_schema_declares_the_flow_fields(user: User, db: Database) -> None:
    schema = (await user.http_client.get('/api/v1/openapi.json')).json()
    movement_in = schema['components']['schemas']['MovementIn']
    assert {'disposition', 'reason_id', 'rework_to'} <= set(movement_in['properties'])
    assert len(movement_in['allOf']) == 3  # the shape rules: IN without disposition, reason and target when needed
    movement_out = schema['components']['schemas']['MovementOut']['properties']
    assert {'disposition', 'to_work_center', 'transit_qty', 'reason_id', 'flag'} <= set(movement_out)
