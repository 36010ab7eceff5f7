"""The API takes JSON's own types only: a boolean, a float or a number in a string is not a count of pieces,
on the hot path (potrack.api.fast) and on the FastAPI route alike; a refusal names a field, never a character
position; and the OpenAPI schema declares every limit the API enforces."""

from __future__ import annotations

import re

import pytest
from nicegui.testing import User

from potrack.db import Database
from tests.api_helpers import api, error_of, token_for

# The hot path takes exactly this content type; the second one it leaves to the FastAPI route.
CONTENT_TYPES = [{'Content-Type': 'application/json'}, {'Content-Type': 'application/json;charset=utf-8'}]
PATHS = ['hot-path', 'route']


@pytest.mark.parametrize('headers', CONTENT_TYPES, ids=PATHS)
@pytest.mark.parametrize('quantity', ['true', '"5"', '2.0', '1e3', '12.5', 'null'])
async def test_a_quantity_that_is_not_a_json_integer_is_refused_and_nothing_is_recorded(
    user: User, sqlite_db: Database, admin, make_user, headers: dict[str, str], quantity: str
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    body = f'{{"order_number": "PO-STRICT-1", "work_center": "WC001", "quantity": {quantity}, "type": "IN"}}'
    response = await client.post('/api/v1/movements', content=body, headers=headers)
    assert error_of(response)[:2] == (422, 'invalid_input')
    assert response.json()['error']['field'] == 'quantity'
    assert (await client.get('/api/v1/balances', params={'open_only': False})).json()['total'] == 0


@pytest.mark.parametrize(
    ('field', 'value'),
    [('quantity', 'true'), ('quantity', '"5"'), ('quantity', '1e3'), ('order_number', '12'), ('work_center', '1')],
)
async def test_the_hot_path_refuses_exactly_as_the_route_does(
    user: User, sqlite_db: Database, admin, make_user, field: str, value: str
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    fields = {'order_number': '"PO-STRICT-2"', 'work_center': '"WC001"', 'quantity': '3', 'type': '"IN"', field: value}
    body = '{' + ', '.join(f'"{name}": {text}' for name, text in fields.items()) + '}'
    fast, route = [await client.post('/api/v1/movements', content=body, headers=h) for h in CONTENT_TYPES]
    assert (fast.status_code, fast.json()) == (route.status_code, route.json())
    assert fast.status_code == 422 and fast.json()['error']['field'] == field


@pytest.mark.parametrize('headers', CONTENT_TYPES, ids=PATHS)
@pytest.mark.parametrize('broken', [b'{"order_number": "PO-1", "qu', b'{"quantity": 1,}', b'not json'])
async def test_malformed_json_is_refused_without_naming_a_character_position(
    user: User, sqlite_db: Database, admin, make_user, headers: dict[str, str], broken: bytes
) -> None:
    client = api(user, token_for(admin, make_user('scanner')))
    response = await client.post('/api/v1/movements', content=broken, headers=headers)
    assert error_of(response) == (422, 'invalid_input', 'The request body is not valid JSON text.')
    assert response.json()['error']['field'] is None


async def test_the_openapi_schema_declares_the_limits_the_api_enforces(user: User, sqlite_db: Database) -> None:
    schema = (await user.http_client.get('/api/v1/openapi.json')).json()
    post = schema['paths']['/api/v1/movements']['post']
    [key] = [p['schema'] for p in post['parameters'] if p['name'] == 'Idempotency-Key']
    assert (key['type'], key['minLength'], key['maxLength']) == ('string', 1, 40)
    assert re.search(key['pattern'], '0b9a4c1e-7f2d-4c55-9a1e-3f1f0c9d2b11:retry_2.x')
    for refused in ('batch 1', 'a/b', 'ключ'):
        assert not re.search(key['pattern'], refused)

    search = schema['paths']['/api/v1/movements']['get']['parameters']
    for name in ('date_from', 'date_to'):
        [day] = [p['schema'] for p in search if p['name'] == name]
        assert (day['type'], day['format']) == ('string', 'date')
        assert re.search(day['pattern'], '2000-01-01') and re.search(day['pattern'], '2999-12-31')
        for refused in ('1999-12-31', '3000-01-01', '0001-01-01', '12026-01-01'):
            assert not re.search(day['pattern'], refused)

    movement = schema['components']['schemas']['MovementIn']['properties']
    assert (movement['quantity']['minimum'], movement['quantity']['maximum']) == (1, 1_000_000)
    assert movement['order_number']['maxLength'] == 40
    assert re.search(movement['order_number']['pattern'], 'PO-2026-0012')
    assert not re.search(movement['order_number']['pattern'], 'PO 2026')
