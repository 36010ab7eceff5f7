"""Under /api/ every refusal is the API's JSON shape: an unknown path, a wrong method and an unexpected
failure too, never NiceGUI's HTML page or FastAPI's `{"detail": ...}`; other paths keep their pages."""

from __future__ import annotations

import logging

import pytest
from nicegui.testing import User

from potrack.api import routes
from potrack.db import Database
from tests.api_helpers import api as api_client
from tests.api_helpers import error_of, token_for


async def test_an_unknown_api_path_is_404_json(user: User, sqlite_db: Database, admin, make_user) -> None:
    client = api_client(user, token_for(admin, make_user('scanner')))
    for method, path in (('GET', '/api/v1/nope'), ('POST', '/api/v1/movements/7'), ('GET', '/api/v2/balances')):
        response = await client.request(method, path)
        status, code, message = error_of(response)
        assert (status, code) == (404, 'not_found')
        assert message == f'The API has nothing at {path}; /api/v1/openapi.json lists what it has.'
        assert response.json()['error']['field'] is None


async def test_a_wrong_method_is_405_json_naming_the_methods_there_are(user: User, sqlite_db: Database) -> None:
    response = await user.http_client.delete('/api/v1/movements')
    assert error_of(response) == (
        405,
        'method_not_allowed',
        '/api/v1/movements does not take DELETE; it takes GET, POST.',
    )
    assert response.headers['allow'] == 'GET, POST'
    assert error_of(await user.http_client.put('/api/v1/work-centers'))[:2] == (405, 'method_not_allowed')


async def test_pages_outside_the_api_keep_their_own_not_found(user: User, sqlite_db: Database) -> None:
    response = await user.http_client.get('/no-such-page')
    assert response.status_code == 404
    assert response.headers['content-type'].startswith('text/html')


async def test_an_unexpected_failure_is_500_json_and_logged_with_its_traceback(
    user: User,
    sqlite_db: Database,
    admin,
    make_user,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(actor):  # type: ignore[no-untyped-def]
        raise RuntimeError('a bug')

    monkeypatch.setattr(routes, 'work_center_totals', broken)
    client = api_client(user, token_for(admin, make_user('scanner')))
    status, code, message = error_of(await client.get('/api/v1/balances/work-centers'))
    assert (status, code) == (500, 'internal_error')
    assert message.startswith('The server failed to answer this request because of an error on its side')
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == 'GET /api/v1/balances/work-centers failed'
    assert record.exc_info is not None and 'a bug' in str(record.exc_info[1])
    caplog.clear()  # expected: the user fixture fails a test on ERROR logs it did not expect


async def test_a_movement_in_doubt_is_503_outcome_unknown_and_the_same_key_books_it_once(
    user: User, sqlite_db: Database, admin, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    from potrack.errors import OutcomeUnknown
    from potrack.ledger.writer import IN_DOUBT

    real = routes.record_movement

    def saved_then_cut_off(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)  # saved; then the connection broke and the outcome could not be read back
        raise OutcomeUnknown(IN_DOUBT)

    monkeypatch.setattr(routes, 'record_movement', saved_then_cut_off)
    client = api_client(user, token_for(admin, make_user('scanner')))
    body = {'order_number': 'PO-77', 'work_center': 'WC001', 'quantity': 3, 'type': 'IN'}
    headers = {'Idempotency-Key': 'doubt-1'}
    status, code, message = error_of(await client.post('/api/v1/movements', json=body, headers=headers))
    assert (status, code) == (503, 'outcome_unknown')
    assert 'may or may not be saved' in message and 'same key' in message
    monkeypatch.undo()
    again = await client.post('/api/v1/movements', json=body, headers=headers)  # as the answer says
    assert again.status_code == 200 and again.json()['already_recorded'] is True
