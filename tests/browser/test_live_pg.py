"""Two real app processes on one PostgreSQL database: a change made through one shows on the other."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from potrack.db import Database
from tests.browser.pilot import click, see, shot, sign_in, type_into, wait_for
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
LISTENERS_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'potrack-listener'"
)


def listeners(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(LISTENERS_SQL)).scalar_one())


def wait_listeners(db: Database, count: int, timeout: float = 15) -> None:
    wait_for(lambda: listeners(db) == count, timeout, f'{count} live listeners')


def record(driver, order: str, qty: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    type_into(driver, 'Order number', order, enter=True)
    type_into(driver, 'Quantity (pieces)', qty)
    click(driver, kind)


def test_a_movement_through_one_instance_shows_on_the_other(pg_db: Database, make_user, start_server, browser) -> None:
    make_user('anita')
    make_user('viewer')
    first = start_server(pg_db.url, 'first')
    second = start_server(pg_db.url, 'second')
    wait_listeners(pg_db, 2)

    watcher = browser('watcher')
    sign_in(watcher, second.url, 'viewer', TEST_PASSWORD)
    see(watcher, 'Assembly')
    watcher.get(second.url + '/balances')
    see(watcher, 'Totals per work center')

    operator = browser('operator')
    sign_in(operator, first.url, 'anita', TEST_PASSWORD)
    click(operator, 'WC001\nAssembly')
    record(operator, 'PO-CROSS-1', '12', 'IN')
    see(operator, 'Balance here now: 12.')
    see(watcher, 'PO-CROSS-1')
    shot(watcher, 'pg-1-second-instance-sees-first')

    with pg_db.engine.connect() as conn:
        conn.execute(
            text(
                'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() '
                "AND application_name = 'potrack-listener'"
            )
        )
    wait_listeners(pg_db, 2)  # both instances reconnected by themselves
    record(operator, 'PO-CROSS-2', '5', 'IN')
    see(operator, 'Balance here now: 5.')
    see(watcher, 'PO-CROSS-2')
    shot(watcher, 'pg-2-after-listener-killed')
