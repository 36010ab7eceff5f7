"""The REST API as a client sees it: every endpoint, department scope, idempotency, and bad requests."""

from __future__ import annotations

import json
import uuid

import pytest
from nicegui.testing import User

from potrack.api import fast as api_fast
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.ledger.integrity import check_consistency
from potrack.ledger.writer import record_movement
from tests.api_helpers import api, bearer, error_of, token_for

MOVEMENT = {'order_number': 'PO-API-1', 'work_center': 'WC001', 'quantity': 12, 'type': 'IN'}


async def test_a_movement_posted_is_recorded_and_shows_in_balances_and_search(
    user: User, db: Database, admin: Actor, make_user
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    created = await client.post('/api/v1/movements', json=MOVEMENT)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body['order_number'], body['work_center'], body['type'], body['quantity']) == (
        'PO-API-1',
        'WC001',
        'IN',
        12,
    )
    assert (body['balance'], body['already_recorded']) == (12, False)
    out = await client.post('/api/v1/movements', json={**MOVEMENT, 'type': 'OUT', 'quantity': 5})
    assert out.status_code == 201 and out.json()['balance'] == 7

    balances = (await client.get('/api/v1/balances')).json()
    assert balances['total'] == 1
    assert [(r['work_center'], r['order_number'], r['balance'], r['last_username']) for r in balances['rows']] == [
        ('WC001', 'PO-API-1', 7, 'scanner')
    ]
    totals = {t['work_center']: t for t in (await client.get('/api/v1/balances/work-centers')).json()}
    assert set(totals) == {'WC001', 'WC002', 'WC003', 'WC004'}
    assert (totals['WC001']['qty_in'], totals['WC001']['qty_out'], totals['WC001']['open_orders']) == (12, 5, 1)

    found = (await client.get('/api/v1/movements', params={'order': 'po-api', 'type': 'OUT'})).json()
    assert found['totals'] == {'count': 1, 'qty_in': 0, 'qty_out': 5, 'net': -5}
    assert [(r['type'], r['quantity'], r['username']) for r in found['rows']] == [('OUT', 5, 'scanner')]
    assert check_consistency(db).consistent


async def test_work_centers_are_those_of_the_token_users_department(user: User, db: Database, admin, make_user) -> None:
    client = api(user, token_for(admin, make_user('qcinspector', 'Quality Control')))
    response = await client.get('/api/v1/work-centers')
    assert response.status_code == 200
    assert [w['code'] for w in response.json()] == ['WC005']


async def test_paging_of_movements(user: User, db: Database, admin, make_user, wc) -> None:
    for n in range(7):
        record_movement(admin, work_center_id=wc('WC002'), order_number=f'PO-P{n}', quantity=1, movement_type='IN')
    client = api(user, token_for(admin, admin))
    first = (await client.get('/api/v1/movements', params={'limit': 5, 'sort': 'order_number'})).json()
    second = (await client.get('/api/v1/movements', params={'limit': 5, 'offset': 5, 'sort': 'order_number'})).json()
    assert first['totals']['count'] == 7
    assert [r['order_number'] for r in first['rows'] + second['rows']] == [f'PO-P{n}' for n in reversed(range(7))]


async def test_a_token_of_one_department_cannot_read_or_write_anothers(user: User, db: Database, admin, make_user, wc):
    record_movement(admin, work_center_id=wc('WC005'), order_number='PO-QC', quantity=3, movement_type='IN')
    client = api(user, token_for(admin, make_user('anita', 'Production')))
    write = await client.post('/api/v1/movements', json={**MOVEMENT, 'work_center': 'WC005'})
    assert error_of(write)[:2] == (403, 'not_allowed')
    read = await client.get('/api/v1/movements', params={'work_center': 'WC005'})
    assert error_of(read)[:2] == (403, 'not_allowed')
    assert error_of(await client.get('/api/v1/balances', params={'work_center': 'WC005'}))[:2] == (403, 'not_allowed')
    everything = (await client.get('/api/v1/movements')).json()
    assert everything['rows'] == [] and everything['totals']['count'] == 0  # WC005's movement stays invisible
    assert (await client.get('/api/v1/balances')).json()['total'] == 0


async def test_idempotency_key_replay_returns_the_first_result_and_other_content_is_refused(
    user: User, db: Database, admin, make_user
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    key = {'Idempotency-Key': str(uuid.uuid4())}
    first = await client.post('/api/v1/movements', json=MOVEMENT, headers=key)
    again = await client.post('/api/v1/movements', json=MOVEMENT, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), 'already_recorded': True}
    conflict = await client.post('/api/v1/movements', json={**MOVEMENT, 'quantity': 13}, headers=key)
    assert error_of(conflict)[:2] == (409, 'conflict')
    assert (await client.get('/api/v1/movements')).json()['totals']['count'] == 1


async def test_idempotency_keys_of_different_users_do_not_collide(user: User, db: Database, admin, make_user) -> None:
    one, two = token_for(admin, make_user('one')), token_for(admin, make_user('two'))
    key = {'Idempotency-Key': 'batch-1'}
    client = user.http_client
    first = await client.post('/api/v1/movements', json=MOVEMENT, headers={**key, **bearer(one)})
    second = await client.post('/api/v1/movements', json=MOVEMENT, headers={**key, **bearer(two)})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()['balance'] == 24


async def test_out_above_the_balance_is_a_conflict_with_the_balance_in_the_message(
    user: User, db: Database, admin, make_user
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    await client.post('/api/v1/movements', json={**MOVEMENT, 'quantity': 4})
    status, code, message = error_of(await client.post('/api/v1/movements', json={**MOVEMENT, 'type': 'OUT'}))
    assert (status, code) == (409, 'insufficient_balance')
    assert message == 'Only 4 pieces of PO-API-1 are at WC001; you tried to send 12.'


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        ({**MOVEMENT, 'quantity': 0}, 'quantity'),
        ({**MOVEMENT, 'quantity': 10**12}, 'quantity'),
        ({**MOVEMENT, 'quantity': 'many'}, 'quantity'),
        ({**MOVEMENT, 'type': 'SIDEWAYS'}, 'type'),
        ({**MOVEMENT, 'order_number': 'PO 1 2'}, 'order_number'),
        ({**MOVEMENT, 'order_number': '   '}, 'order_number'),
        ({k: v for k, v in MOVEMENT.items() if k != 'work_center'}, 'work_center'),
        ({**MOVEMENT, 'surprise': 1}, 'surprise'),
        ([1, 2, 3], None),
    ],
)
async def test_bad_bodies_are_422_with_a_message(user: User, sqlite_db: Database, admin, make_user, body, field):
    client = api(user, token_for(admin, make_user('scanner')))
    response = await client.post('/api/v1/movements', json=body)
    status, code, message = error_of(response)
    assert (status, code) == (422, 'invalid_input')
    assert message
    assert response.json()['error']['field'] == field


async def test_unparseable_json_unknown_codes_and_huge_bodies(user: User, sqlite_db: Database, admin, make_user):
    client = api(user, token_for(admin, make_user('scanner')))
    as_json = {'Content-Type': 'application/json'}
    for broken in (b'{"order', b'\xff\xfe{'):
        response = await client.post('/api/v1/movements', content=broken, headers=as_json)
        assert error_of(response)[:2] == (422, 'invalid_input')
    unknown = await client.post('/api/v1/movements', json={**MOVEMENT, 'work_center': 'WC999'})
    assert error_of(unknown) == (404, 'not_found', 'There is no work center with the code "WC999".')
    huge = await client.post('/api/v1/movements', content=b'x' * 70_000, headers={'Content-Type': 'application/json'})
    assert error_of(huge)[:2] == (413, 'body_too_large')

    async def chunks():  # no Content-Length: the limit still holds
        for _ in range(20):
            yield b'y' * 4096

    chunked = await client.post('/api/v1/movements', content=chunks(), headers={'Content-Type': 'application/json'})
    assert error_of(chunked)[:2] == (413, 'body_too_large')
    for key in ('x' * 41, 'batch 1', 'a/b', ' '):
        bad_key = await client.post('/api/v1/movements', json=MOVEMENT, headers={'Idempotency-Key': key})
        status, code, message = error_of(bad_key)
        assert (status, code, bad_key.json()['error']['field']) == (422, 'invalid_input', 'Idempotency-Key')
        assert message.startswith('The Idempotency-Key header takes 1 to 40 letters, digits or - _ . : characters')
    bad_query = await client.get('/api/v1/movements', params={'limit': 0, 'date_from': '9999-12-31'})
    assert error_of(bad_query)[:2] == (422, 'invalid_input')
    far_day = await client.get('/api/v1/movements', params={'date_to': '9999-12-31'})
    assert error_of(far_day)[:2] == (422, 'invalid_input')


async def test_requests_without_a_valid_token_are_401(user: User, sqlite_db: Database) -> None:
    client = user.http_client
    for headers in ({}, bearer('pt_made-up'), bearer('nonsense'), {'Authorization': 'Basic YWRtaW46YWRtaW4='}):
        response = await client.get('/api/v1/work-centers', headers=headers)
        assert error_of(response)[:2] == (401, 'unauthorized')
        assert response.headers['www-authenticate'] == 'Bearer'
    posted = await client.post('/api/v1/movements', json=MOVEMENT)
    assert posted.status_code == 401


async def test_the_openapi_schema_documents_the_api(user: User, sqlite_db: Database) -> None:
    schema = (await user.http_client.get('/api/v1/openapi.json')).json()
    paths = {p for p in schema['paths'] if p.startswith('/api/v1/')}
    assert paths == {
        '/api/v1/movements',
        '/api/v1/balances',
        '/api/v1/balances/work-centers',
        '/api/v1/work-centers',
        '/api/v1/orders',
        '/api/v1/orders/{number}',
    }
    post = schema['paths']['/api/v1/movements']['post']
    assert {'201', '200', '401', '403', '404', '409', '413', '422', '503'} <= set(post['responses'])
    assert any(p['name'].lower() == 'idempotency-key' for p in post['parameters'])
    refusal = post['responses']['422']['content']['application/json']['schema']
    assert refusal == {'$ref': '#/components/schemas/ErrorBody'}
    assert 'HTTPBearer' in schema['components']['securitySchemes']


# A content type the hot path (potrack.api.fast) leaves to the FastAPI route; the route must answer alike.
ROUTE_ONLY = {'Content-Type': 'application/json;charset=utf-8'}


@pytest.mark.parametrize(
    ('movement', 'status'),
    [
        (MOVEMENT, 201),
        ({**MOVEMENT, 'type': 'OUT', 'quantity': 99}, 409),
        ({**MOVEMENT, 'work_center': 'WC009'}, 404),
        ({**MOVEMENT, 'order_number': '   '}, 422),  # refused by the ledger
        ({**MOVEMENT, 'quantity': 0}, 422),  # refused by MovementIn: the hot path hands it to the route
    ],
    ids=['recorded', 'above-balance', 'unknown-work-center', 'blank-order', 'zero-pieces'],
)
async def test_the_hot_path_and_the_documented_route_answer_alike(
    user: User, db: Database, admin, make_user, movement, status, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_calls = []
    record = api_fast.record_via_api

    async def counted(*args):  # type: ignore[no-untyped-def]
        fast_calls.append(args)
        return await record(*args)

    monkeypatch.setattr(api_fast, 'record_via_api', counted)
    client = api(user, token_for(admin, make_user('scanner')))
    answers = []
    for n, headers in enumerate([{'Content-Type': 'application/json'}, ROUTE_ONLY]):
        body = {**movement, 'order_number': movement['order_number'].replace('1', str(n + 1))}
        key = {'Idempotency-Key': f'same-{n}'}
        first = await client.post('/api/v1/movements', content=json.dumps(body), headers={**headers, **key})
        again = await client.post('/api/v1/movements', content=json.dumps(body), headers={**headers, **key})
        answers.append([(r.status_code, r.headers['content-type'], r.json()) for r in (first, again)])
    fast, route = answers
    assert fast[0][0] == status
    assert len(fast_calls) == (0 if movement['quantity'] == 0 else 2)
    for (f_status, f_type, f_body), (r_status, r_type, r_body) in zip(fast, route, strict=True):
        assert (f_status, f_type) == (r_status, r_type)
        if 'error' in f_body:
            assert f_body['error']['code'] == r_body['error']['code']
            assert f_body['error']['message'].replace('PO-API-1', 'PO-API-2') == r_body['error']['message']
        else:
            ignore = {'id', 'created_at', 'order_number'}
            assert {k: v for k, v in f_body.items() if k not in ignore} == {
                k: v for k, v in r_body.items() if k not in ignore
            }
    if status == 201:
        assert [fast[1][2]['already_recorded'], route[1][2]['already_recorded']] == [True, True]
        assert (fast[1][0], route[1][0]) == (200, 200)
