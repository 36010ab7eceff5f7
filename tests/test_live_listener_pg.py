"""The PostgreSQL listener of the change feed: hears committed changes, survives a killed connection,
and keeps a quiet connection honest with a heartbeat."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from potrack.live import feed
from potrack.live import listener as live_listener

pytestmark = pytest.mark.postgres


def wait_until(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


# Sent after the changes under test, in a later transaction: notices arrive in commit order, so once this
# one is heard, every notice that was going to come before it has come.
LAST = feed.Change(0, 'LAST-NOTICE', 'resync')


def notify_last(url: str) -> None:
    conn = psql(url)
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT pg_notify(%s, %s)', (feed.CHANNEL, LAST.to_json()))
    finally:
        conn.close()


def psql(url: str) -> psycopg2.extensions.connection:
    u = make_url(url)
    conn = psycopg2.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database)
    conn.autocommit = True
    return conn


@pytest.fixture
def heard(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[live_listener.Listener, list[feed.Change]]]:
    monkeypatch.setattr(live_listener, 'HEARTBEAT_S', 0.5)
    changes: list[feed.Change] = []
    unsubscribe = feed.subscribe(changes.append)
    listener = live_listener.Listener(pg_url)
    listener.start()
    assert listener.connected.wait(10)
    yield listener, changes
    listener.stop()
    unsubscribe()


def notify(conn: psycopg2.extensions.connection, change: feed.Change) -> None:
    with conn.cursor() as cur:
        cur.execute('SELECT pg_notify(%s, %s)', (feed.CHANNEL, change.to_json()))


def test_a_killed_listener_reconnects_asks_for_a_resync_and_hears_again(pg_url: str, heard) -> None:
    listener, changes = heard
    conn = psql(pg_url)
    try:
        notify(conn, feed.Change(1, 'PO-1'))
        wait_until(lambda: feed.Change(1, 'PO-1') in changes)
        with conn.cursor() as cur:
            cur.execute(
                'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                'WHERE application_name = %s AND datname = current_database()',
                (live_listener.APPLICATION_NAME,),
            )
        wait_until(lambda: listener.reconnects == 1 and listener.connected.is_set())
        assert feed.RESYNC in changes
        notify(conn, feed.Change(2, 'PO-2'))
        wait_until(lambda: feed.Change(2, 'PO-2') in changes)
    finally:
        conn.close()


def test_a_quiet_connection_is_checked_by_a_heartbeat(pg_url: str, heard) -> None:
    conn = psql(pg_url)
    try:

        def heartbeat_seen() -> bool:
            with conn.cursor() as cur:
                cur.execute(
                    'SELECT query FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()',
                    (live_listener.APPLICATION_NAME,),
                )
                return [row[0] for row in cur.fetchall()] == ['SELECT 1']

        wait_until(heartbeat_seen, timeout=5)
    finally:
        conn.close()


def test_only_a_committed_new_movement_is_announced(pg_db, admin, wc) -> None:
    from potrack.errors import InsufficientBalance
    from potrack.ledger.writer import record_movement

    conn = psql(pg_db.url)
    try:
        with conn.cursor() as cur:
            cur.execute(f'LISTEN {feed.CHANNEL}')
        here = wc('WC001')
        first = {'work_center_id': here, 'order_number': 'PO-N1', 'quantity': 5, 'request_id': 'r1'}
        record_movement(admin, **first, movement_type='IN')
        with pytest.raises(InsufficientBalance):  # refused: rolled back, so its notice is never sent
            record_movement(admin, work_center_id=here, order_number='PO-N1', quantity=9, movement_type='OUT')
        again = record_movement(admin, **first, movement_type='IN')
        assert again.already_recorded  # a replay changes nothing and announces nothing
        notify_last(pg_db.url)

        def heard() -> list[feed.Change]:
            conn.poll()
            return [feed.Change.from_json(n.payload) for n in conn.notifies]

        wait_until(lambda: LAST in heard())
        assert heard() == [feed.Change(here, 'PO-N1'), LAST]
    finally:
        conn.close()


def test_a_burst_of_notices_is_handed_over_in_order_each_change_once(
    pg_url: str, heard, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, changes = heard
    monkeypatch.setattr(live_listener, 'GATHER_S', 0.5)  # the burst surely within one gathering, however slow CI is
    conn = psql(pg_url)
    try:
        with conn.cursor() as cur:  # separate transactions, as separate kiosks would send them
            for change in (
                feed.Change(1, 'PO-1'),
                feed.Change(2, 'PO-2'),
                feed.Change(1, 'PO-1'),
                feed.Change(3, 'PO-3'),
            ):
                cur.execute('SELECT pg_notify(%s, %s)', (feed.CHANNEL, change.to_json()))
        wait_until(lambda: feed.Change(3, 'PO-3') in changes)
        notify_last(pg_url)
        wait_until(lambda: LAST in changes)
        assert changes == [feed.Change(1, 'PO-1'), feed.Change(2, 'PO-2'), feed.Change(3, 'PO-3'), LAST]
    finally:
        conn.close()
