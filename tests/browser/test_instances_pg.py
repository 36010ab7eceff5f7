"""Two real `potrack serve` processes on one PostgreSQL database, as behind a load balancer (loopback only).

A movement posted to instance A's API shows on a balances page served by instance B; a browser signed in
on A is signed in on B; killing A outright loses no movement that A had confirmed.
"""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from sqlalchemy import text

from potrack.accounts.tokens import issue_token
from potrack.db import Database
from potrack.ledger.integrity import check_consistency
from tests.browser.pilot import see, shot, sign_in, wait_for
from tests.browser.test_live_pg import wait_listeners
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
KILL_AFTER_CONFIRMED = 10  # A is killed mid-stream, once this many movements were confirmed
POST_LIMIT = 2000  # bounds the writer loop whatever happens


def post(base: str, token: str, order: str, qty: int = 3, key: str | None = None) -> httpx.Response:
    return httpx.post(
        base + '/api/v1/movements',
        json={'order_number': order, 'work_center': 'WC001', 'quantity': qty, 'type': 'IN'},
        headers={'Authorization': f'Bearer {token}', 'Idempotency-Key': key or uuid.uuid4().hex},
        timeout=10,
    )


def test_api_on_one_instance_live_page_and_session_on_the_other(
    pg_db: Database, admin, make_user, start_server, browser
) -> None:
    anita = make_user('anita')
    make_user('viewer')
    token = issue_token(admin, user_id=anita.user_id, name='gateway').token
    a = start_server(pg_db.url, 'a')
    b = start_server(pg_db.url, 'b')
    wait_listeners(pg_db, 2)

    watcher = browser('watcher')
    sign_in(watcher, b.url, 'viewer', TEST_PASSWORD)
    see(watcher, 'Assembly')
    watcher.get(b.url + '/balances')
    see(watcher, 'Totals per work center')
    created = post(a.url, token, 'PO-VIA-A', 12)
    assert created.status_code == 201, created.text
    see(watcher, 'PO-VIA-A')
    shot(watcher, 'instances-1-api-on-a-seen-on-b')

    # Cookies belong to the host, not the port: like one name behind a proxy, both instances get it.
    operator = browser('operator')
    sign_in(operator, a.url, 'anita', TEST_PASSWORD)
    see(operator, 'Assembly')
    cookie = operator.get_cookie('potrack_session')
    assert cookie is not None
    on_b = httpx.get(b.url + '/balances', cookies={'potrack_session': cookie['value']}, follow_redirects=False)
    assert on_b.status_code == 200
    operator.get(b.url + '/balances')
    see(operator, 'Totals per work center')
    assert '/signin' not in operator.current_url
    shot(operator, 'instances-2-session-from-a-valid-on-b')


def test_killing_an_instance_loses_no_confirmed_movement(pg_db: Database, admin, make_user, start_server) -> None:
    token = issue_token(admin, user_id=make_user('anita').user_id, name='gateway').token
    a = start_server(pg_db.url, 'a')
    b = start_server(pg_db.url, 'b')
    confirmed: list[int] = []
    failed: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        for n in range(POST_LIMIT):
            if stop.is_set():
                return
            try:
                response = post(a.url, token, f'PO-KILL-{n % 7}', 1)
            except httpx.HTTPError as exc:
                failed.append(type(exc).__name__)
                return
            if response.status_code == 201:
                confirmed.append(response.json()['id'])
            else:
                failed.append(str(response.status_code))

    thread = threading.Thread(target=writer)
    thread.start()
    wait_for(lambda: len(confirmed) >= KILL_AFTER_CONFIRMED or failed, 30, 'the writer to get movements confirmed')
    a.proc.kill()  # SIGKILL: no shutdown handler runs
    a.proc.wait(timeout=10)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(confirmed) >= 5, f'the writer confirmed only {len(confirmed)} movements before the kill'

    with pg_db.engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text('SELECT id FROM production_order'))}
    assert set(confirmed) <= stored
    assert check_consistency(pg_db).consistent
    # The surviving instance serves them all, and a retry of a request A may have half-done is safe there.
    seen = httpx.get(
        b.url + '/api/v1/movements',
        params={'order': 'PO-KILL', 'limit': 1000},
        headers={'Authorization': f'Bearer {token}'},
        timeout=10,
    ).json()
    assert seen['totals']['count'] == len(stored) >= len(confirmed)
    key = uuid.uuid4().hex
    assert post(b.url, token, 'PO-AFTER-KILL', 2, key).status_code == 201
    assert post(b.url, token, 'PO-AFTER-KILL', 2, key).status_code == 200
