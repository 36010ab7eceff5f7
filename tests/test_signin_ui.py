"""Signing in, the forced password change, sign-out and ended sessions, as a person at a browser sees them."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from nicegui.testing import User
from sqlalchemy import update

from potrack.accounts.sessions import validate_session
from potrack.accounts.signin import WRONG_CREDENTIALS
from potrack.accounts.throttle import ACCOUNT_FREE_FAILURES, SOURCE_FREE_FAILURES, source_delay_for
from potrack.accounts.user_admin import reset_password, set_user_active
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import UserSession
from potrack.db.types import utcnow
from potrack.pages.guard import SESSION_COOKIE, safe_next
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import field_error, handled, session_cookie, sign_in


def title_of(user: User) -> str:
    return user.find(marker='page-title').elements.pop().text  # type: ignore[attr-defined]


async def test_first_sign_in_forces_the_default_password_change(user: User, sqlite_db: Database) -> None:
    await sign_in(user, 'admin', 'admin123')
    await user.should_see(marker='forced-change')
    await user.open('/balances')  # any other page sends the admin back to the change
    await user.should_see(marker='forced-change')
    user.find(marker='current').type('admin123')
    user.find(marker='new').type('password')
    user.find(marker='repeat').type('password')
    async with handled():
        user.find(marker='save-password').click()
    assert field_error(user, 'new') == 'That password is too common; choose another.'
    user.find(marker='new').clear().type('Str0ng-Factory-Pass')
    user.find(marker='repeat').clear().type('Str0ng-Factory-Pass')
    async with handled():
        user.find(marker='save-password').click()
    assert title_of(user) == 'Balances'


@pytest.mark.parametrize(
    ('new', 'repeat', 'field', 'message'),
    [
        ('short', 'short', 'new', 'A password needs at least 8 characters.'),
        ('ü' * 40, 'ü' * 40, 'new', 'at most 72 bytes'),
        ('Operator-7', 'Operator-8', 'repeat', 'The two new passwords differ.'),
        ('admin123', 'admin123', 'new', 'That password is too common; choose another.'),
        ('admin', 'admin', 'new', 'A password needs at least 8 characters.'),
    ],
)
async def test_password_rules_are_shown_next_to_the_field(
    user: User, sqlite_db: Database, new: str, repeat: str, field: str, message: str
) -> None:
    await sign_in(user, 'admin', 'admin123')
    user.find(marker='current').type('admin123')
    user.find(marker='new').type(new)
    user.find(marker='repeat').type(repeat)
    async with handled():
        user.find(marker='save-password').click()
    assert message in (field_error(user, field) or '')
    await user.should_see(marker='forced-change')


async def test_wrong_password_says_so_and_keeps_the_user_name(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await sign_in(user, 'anita', 'not-my-password')
    await user.should_see(WRONG_CREDENTIALS)
    assert user.find(marker='username').elements.pop().value == 'anita'  # type: ignore[attr-defined]
    assert session_cookie(user) is None


async def test_many_failures_never_lock_the_account(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    for _ in range(ACCOUNT_FREE_FAILURES + 2):  # a colleague tries anita's name at this kiosk
        await sign_in(user, 'anita', 'not-my-password')
        await user.should_see(WRONG_CREDENTIALS)
    await sign_in(user, 'nobody-here', 'not-my-password')
    await user.should_see(WRONG_CREDENTIALS)  # an unknown name reads the same
    await sign_in(user, 'anita', TEST_PASSWORD)  # the page waited out this address's slowdown first
    assert title_of(user) == 'Kiosk'


async def test_the_page_reads_the_addresss_slowdown_off_the_event_loop_and_waits_it(
    user: User, sqlite_db: Database, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('POTRACK_SIGNIN_SLOWDOWN_MS', '300')
    reset_settings()
    make_user('anita')
    read_on: list[str] = []
    read = sqlite_db.read  # the database's own object: the app re-imports its modules per test

    def spy_read() -> Any:
        read_on.append(threading.current_thread().name)
        return read()

    monkeypatch.setattr(sqlite_db, 'read', spy_read)
    for _ in range(SOURCE_FREE_FAILURES + 1):
        await sign_in(user, 'anita', 'not-my-password')
    started = time.monotonic()
    await sign_in(user, 'anita', TEST_PASSWORD)
    assert title_of(user) == 'Kiosk'
    assert time.monotonic() - started >= source_delay_for(SOURCE_FREE_FAILURES + 1) == 0.6
    assert len(read_on) >= SOURCE_FREE_FAILURES + 2  # the slowdown read before each attempt, at least
    assert threading.main_thread().name not in read_on  # never on the event loop
    monkeypatch.undo()
    reset_settings()


async def test_sign_in_rotates_the_session_and_the_planted_one_grants_nothing(
    user: User, sqlite_db: Database, make_user
) -> None:
    make_user('anita')
    user.http_client.cookies.set(SESSION_COOKIE, 'planted-by-attacker', domain='test.local')
    await sign_in(user, 'anita', TEST_PASSWORD)
    after = session_cookie(user)
    assert after and after != 'planted-by-attacker'
    async with httpx.AsyncClient(transport=user.http_client._transport, base_url='http://test') as attacker:
        attacker.cookies.set(SESSION_COOKIE, 'planted-by-attacker')
        response = await attacker.get('/kiosk')
    assert response.status_code == 303 and response.headers['location'].startswith('/signin')


async def test_signing_in_again_ends_the_browsers_earlier_session(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    first = session_cookie(user)
    await sign_in(user, 'anita', TEST_PASSWORD)
    assert session_cookie(user) != first
    from potrack.errors import SignedOut

    with pytest.raises(SignedOut):
        validate_session(first)


async def test_a_sign_in_ticket_works_only_in_the_browser_that_signed_in(
    user: User, sqlite_db: Database, make_user
) -> None:
    from potrack.accounts.signin import sign_in as service_sign_in
    from potrack.pages.auth_routes import tickets

    make_user('anita')
    token = service_sign_in('anita', TEST_PASSWORD, source='x').token
    ticket = tickets.issue(token, '/kiosk', 'the-browser-that-signed-in')
    async with httpx.AsyncClient(transport=user.http_client._transport, base_url='http://test') as other:
        response = await other.get(f'/auth/complete?ticket={ticket}')
    assert response.status_code == 303 and 'reason=expired' in response.headers['location']
    assert SESSION_COOKIE not in response.cookies


async def signed_in_token(user: User, make_user) -> str:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    token = session_cookie(user)
    assert token is not None and validate_session(token).user.username == 'anita'
    return token


async def test_sign_out_ends_the_session_on_the_server(user: User, sqlite_db: Database, make_user) -> None:
    """What the account menu and the idle timer send (assets/idle.js): a POST from a page of this site."""
    token = await signed_in_token(user, make_user)
    response = await user.http_client.post('/auth/signout', headers={'Origin': 'http://test'})
    assert response.status_code == 303 and response.headers['location'] == '/signin?next=/&reason=signedout'
    assert session_cookie(user) is None  # the answer cleared the cookie
    from potrack.errors import SignedOut

    with pytest.raises(SignedOut):
        validate_session(token)
    await user.open(response.headers['location'])
    await user.should_see('You have signed out.')


async def test_idle_sign_out_says_why(user: User, sqlite_db: Database, make_user) -> None:
    token = await signed_in_token(user, make_user)
    # No Origin (an older browser): the Referer of the page that sent it counts instead.
    response = await user.http_client.post('/auth/signout?reason=idle', headers={'Referer': 'http://test/kiosk'})
    assert response.status_code == 303 and response.headers['location'].endswith('reason=idle')
    from potrack.errors import SignedOut

    with pytest.raises(SignedOut):
        validate_session(token)


@pytest.mark.parametrize(
    'headers',
    [
        {'Origin': 'https://evil.example'},
        {'Origin': 'http://test.evil.example'},
        {'Origin': 'http://test:8081'},  # another port of the same host: another origin
        {'Origin': 'null'},  # a sandboxed frame or a data: page
        {'Referer': 'https://evil.example/page'},
        {'Origin': 'https://evil.example', 'Referer': 'http://test/kiosk'},  # Origin wins
        {},  # neither: nothing says the request comes from this site
    ],
)
async def test_a_sign_out_from_another_site_is_refused(
    user: User, sqlite_db: Database, make_user, headers: dict[str, str]
) -> None:
    token = await signed_in_token(user, make_user)
    response = await user.http_client.post('/auth/signout', headers={'Host': 'test:80', **headers})
    assert response.status_code == 403
    assert session_cookie(user) == token
    assert validate_session(token).user.username == 'anita'


async def test_the_old_sign_out_link_signs_nobody_out(user: User, sqlite_db: Database, make_user) -> None:
    """A link or an image on any site used to sign a kiosk out with a GET: now it only opens the home page."""
    token = await signed_in_token(user, make_user)
    for url in ('/auth/signout', '/auth/signout?reason=idle'):
        response = await user.http_client.get(url)
        assert response.status_code == 303 and response.headers['location'] == '/'
        assert session_cookie(user) == token
    assert validate_session(token).user.username == 'anita'
    await user.open('/auth/signout')
    assert title_of(user) == 'Kiosk'


def test_the_account_menu_signs_out_by_post() -> None:
    """The menu's sign-out and the idle timer both use potrackSignOut, which POSTs (never a link to the URL)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    idle = (root / 'assets' / 'idle.js').read_text()
    assert "fetch(url, { method: 'POST', credentials: 'same-origin' })" in idle
    assert "potrackSignOut('idle')" in idle and "location.href = '/auth/signout" not in idle
    assert "js_handler='() => window.potrackSignOut()'" in (root / 'potrack' / 'pages' / 'layout.py').read_text()


@pytest.mark.parametrize(
    'target',
    [
        'https://evil.example/x',
        '//evil.example',
        'javascript:alert(1)',
        '/\\evil.example',
        'http:/evil',
        '/auth/signout',
    ],
)
async def test_open_redirects_are_ignored(user: User, sqlite_db: Database, make_user, target: str) -> None:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD, next_path=httpx.URL('', params={'x': target}).query.decode()[2:])
    assert title_of(user) == 'Kiosk'


def test_safe_next_keeps_local_paths_only() -> None:
    assert safe_next('/reports?from=2026-11-01') == '/reports?from=2026-11-01'
    for bad in ['https://evil.example', '//evil', 'javascript:alert(1)', '/\\evil', 'kiosk', '', None, '/a\nb']:
        assert safe_next(bad) == '/'


async def test_sign_in_returns_to_the_page_asked_for(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await user.open('/balances')
    await user.should_see(marker='signin-button')
    await sign_in(user, 'anita', TEST_PASSWORD, next_path='/balances')
    assert title_of(user) == 'Balances'


async def test_idle_session_sends_the_open_page_to_sign_in(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    with sqlite_db.engine.begin() as conn:
        conn.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=11)))
    async with handled():
        user.find(marker='wc-WC001').click()
    await user.should_see('Your session has ended. Please sign in again.')


async def test_absolute_expiry_sends_the_open_page_to_sign_in(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    with sqlite_db.engine.begin() as conn:
        conn.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    await user.open('/kiosk')
    await user.should_see(marker='signin-button')


@pytest.mark.parametrize('action', ['deactivate', 'reset'])
async def test_deactivation_or_reset_ends_a_live_pages_powers(
    user: User, sqlite_db: Database, make_user, admin, action: str
) -> None:
    anita = make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    assert title_of(user) == 'Kiosk'
    if action == 'deactivate':
        set_user_active(admin, user_id=anita.user_id, active=False)
    else:
        reset_password(admin, user_id=anita.user_id)
    async with handled():
        user.find(marker='wc-WC002').click()
    await user.should_see('Your session has ended. Please sign in again.')


async def test_regular_user_gets_not_allowed_on_admin_pages(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    await user.open('/admin')
    await user.should_see(marker='denied-title')
    await user.should_not_see(marker='nav-admin')


async def test_healthz_reports_the_database(user: User, sqlite_db: Database) -> None:
    response = await user.http_client.get('/healthz')
    assert response.status_code == 200 and response.json()['database'] == 'reachable'
    from potrack.db import Database as Db
    from potrack.db import use_database

    use_database(Db('postgresql://postgres@127.0.0.1:1/nowhere'))
    try:
        response = await user.http_client.get('/healthz')
    finally:
        use_database(sqlite_db)
    assert response.status_code == 503 and response.json()['database'] == 'unreachable'


@pytest.mark.parametrize('https', [False, True])
async def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(
    user: User, sqlite_db: Database, make_user, monkeypatch, https: bool
) -> None:
    from potrack.config import reset_settings

    make_user('anita')
    set_cookies: list[str] = []

    async def remember(response: httpx.Response) -> None:
        set_cookies.extend(v for k, v in response.headers.multi_items() if k == 'set-cookie')

    user.http_client.event_hooks['response'].append(remember)
    monkeypatch.setenv('POTRACK_HTTPS', 'true' if https else 'false')
    reset_settings()
    try:
        await sign_in(user, 'anita', TEST_PASSWORD)
    finally:
        monkeypatch.undo()
        reset_settings()  # later tests read the settings of their own environment
    cookie = next(c for c in set_cookies if c.startswith(f'{SESSION_COOKIE}='))
    flags = {part.strip().lower() for part in cookie.split(';')[1:]}
    assert 'httponly' in flags and 'samesite=lax' in flags
    assert ('secure' in flags) == https


async def test_a_sign_in_on_a_kiosk_device_renews_its_cookie(sqlite_db: Database, make_user) -> None:
    """A browser keeps a cookie 400 days at most: each sign-in on the device sets the device's cookie again."""
    from starlette.requests import Request

    from potrack.accounts.device_view import DEVICE_COOKIE
    from potrack.accounts.signin import sign_in as service_sign_in
    from potrack.pages.auth_routes import DEVICE_COOKIE_MAX_AGE_S, complete_signin, tickets

    make_user('anita')

    def request(cookie: str) -> Request:
        headers = [(b'cookie', cookie.encode())] if cookie else []
        return Request({'type': 'http', 'headers': headers, 'session': {'id': 'kiosk-7'}})

    for cookie, renewed in ((f'{DEVICE_COOKIE}=the-credential', True), ('', False)):
        token = service_sign_in('anita', TEST_PASSWORD, source='x').token
        response = await complete_signin(request(cookie), tickets.issue(token, '/kiosk', 'kiosk-7'))
        assert response.status_code == 303 and response.headers['location'] == '/kiosk'
        set_cookies = response.headers.getlist('set-cookie')
        device = [c for c in set_cookies if c.startswith(f'{DEVICE_COOKIE}=')]
        if renewed:
            assert len(device) == 1 and 'the-credential' in device[0], set_cookies
            assert f'Max-Age={DEVICE_COOKIE_MAX_AGE_S}' in device[0] and 'HttpOnly' in device[0]
        else:
            assert device == [], set_cookies
