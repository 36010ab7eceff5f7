"""Security headers on every kind of HTTP answer: a page, an asset, /healthz, the REST API and /metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from nicegui.testing import User

from potrack.config import reset_settings
from potrack.db import Database

# Every kind of answer the app gives, from both apps: NiceGUI's (page, asset, /healthz) and the API's own
# (a refused API call on the usual route and on the fast movement path, the schema, /metrics).
ANSWERS = [
    ('GET', '/signin', 'page'),
    ('GET', '/assets/potrack.css', 'page'),
    ('GET', '/assets/idle.js', 'page'),
    ('GET', '/healthz', 'page'),
    ('GET', '/no-such-page', 'page'),
    ('GET', '/api/v1/work-centers', 'api'),
    ('POST', '/api/v1/movements', 'api'),
    ('GET', '/api/v1/openapi.json', 'api'),
    ('GET', '/metrics', 'api'),
]


def directives(response: httpx.Response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    policy = response.headers['content-security-policy']
    return {name: rest.strip() for name, _, rest in (part.strip().partition(' ') for part in policy.split(';'))}


async def answer(user: User, method: str, path: str) -> httpx.Response:
    response = await user.http_client.request(method, path, json={} if method == 'POST' else None)
    assert response.status_code < 500, (path, response.status_code, response.text[:300])
    return response


@pytest.fixture
def https(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('POTRACK_HTTPS', 'true')
    reset_settings()
    yield
    monkeypatch.delenv('POTRACK_HTTPS')
    reset_settings()


@pytest.mark.parametrize(('method', 'path', 'kind'), ANSWERS)
async def test_every_answer_carries_the_security_headers(
    user: User, sqlite_db: Database, method: str, path: str, kind: str
) -> None:
    response = await answer(user, method, path)
    assert response.headers['x-frame-options'] == 'DENY'
    assert response.headers['x-content-type-options'] == 'nosniff'
    assert response.headers['referrer-policy'] in ('same-origin', 'no-referrer', 'strict-origin')
    assert 'strict-transport-security' not in response.headers  # POTRACK_HTTPS is not set
    policy = directives(response)
    assert policy['frame-ancestors'] == "'none'"
    assert len(response.headers.get_list('content-security-policy')) == 1
    if kind == 'api':
        assert policy == {'default-src': "'none'", 'frame-ancestors': "'none'"}
    else:
        assert policy['default-src'] == "'self'"
        assert policy['object-src'] == "'none'"
        assert policy['connect-src'] == "'self'"
        # No other site may serve code, styles or fonts to a page, nor receive a form.
        for directive in ('default-src', 'script-src', 'style-src', 'img-src', 'font-src', 'form-action', 'base-uri'):
            sources = policy.get(directive, '')
            assert 'http' not in sources and '*' not in sources and 'data:' not in sources, directive


@pytest.mark.parametrize(('method', 'path', 'kind'), ANSWERS)
async def test_hsts_only_when_served_over_https(
    user: User, sqlite_db: Database, https: None, method: str, path: str, kind: str
) -> None:
    response = await answer(user, method, path)
    assert response.headers['strict-transport-security'].startswith('max-age=')
    assert int(response.headers['strict-transport-security'].split('=')[1].split(';')[0]) >= 180 * 24 * 3600


async def test_a_page_as_served_keeps_its_headers_after_sign_in(user: User, sqlite_db: Database, make_user) -> None:
    from tests.conftest import TEST_PASSWORD
    from tests.ui_helpers import sign_in

    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    response = await user.http_client.get('/kiosk')
    assert response.status_code == 200
    assert directives(response)['frame-ancestors'] == "'none'"
    assert response.headers['x-frame-options'] == 'DENY'
