"""The database misbehaving under the ledger: restarts, a connection dying mid-write, a stuck lock, no server.

Whatever happens, the operator gets either "saved" or "Not saved — … try again", nothing is ever half
written, and retrying the same request id records the movement exactly once.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from psycopg2.extensions import connection as PgConnection
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.config import settings
from potrack.db import Database
from potrack.db.models import User, WorkCenter
from potrack.errors import InsufficientBalance, NotSaved
from potrack.ledger.integrity import check_consistency
from potrack.ledger.writer import record_movement

# Only ever the test's own database, and never the terminating connection itself.
TERMINATE_ALL_SQL = (
    'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity '
    'WHERE datname = current_database() AND pid <> pg_backend_pid()'
)
ORDER = 'PO-2026-0042'


def _connect(db: Database, *, autocommit: bool = True) -> PgConnection:
    """A plain psycopg2 connection to the same database, outside potrack's pool."""
    url = make_url(db.url)
    conn = psycopg2.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        application_name='potrack-fault-test',
        connect_timeout=5,
    )
    conn.autocommit = autocommit
    return conn


@pytest.fixture
def side(pg_db: Database) -> Iterator[PgConnection]:
    conn = _connect(pg_db)
    yield conn
    conn.close()


@pytest.fixture
def admin_actor(pg_db: Database) -> Actor:
    with pg_db.read() as s:
        return Actor(s.exec(select(User).where(User.username == 'admin')).one().id or 0)


@pytest.fixture
def wc1(pg_db: Database) -> int:
    with pg_db.read() as s:
        return s.exec(select(WorkCenter).where(WorkCenter.code == 'WC001')).one().id or 0


def _state(db: Database, wc_id: int) -> tuple[int, tuple[int, int] | None]:
    """(movements in the ledger, (qty_in, qty_out) of ORDER at `wc_id` or None)."""
    with db.engine.connect() as conn:
        count = conn.execute(text('SELECT COUNT(*) FROM production_order')).scalar_one()
        row = conn.execute(
            text('SELECT qty_in, qty_out FROM order_balance WHERE work_center_id = :wc AND order_number = :o'),
            {'wc': wc_id, 'o': ORDER},
        ).first()
    return count, (row[0], row[1]) if row else None


def _record(db: Database, actor: Actor, wc_id: int, kind: str, qty: int, request_id: str | None = None) -> Any:
    return record_movement(
        actor, work_center_id=wc_id, order_number=ORDER, quantity=qty, movement_type=kind, request_id=request_id, db=db
    )


@pytest.mark.postgres
def test_connections_killed_between_writes_are_replaced_on_the_next_checkout(
    pg_db: Database, side: PgConnection, admin_actor: Actor, wc1: int
) -> None:
    # Several pooled connections, all idle in the pool when the server drops them.
    done = []
    threads = [
        threading.Thread(target=lambda i=i: done.append(_record(pg_db, admin_actor, wc1, 'IN', i + 1)))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(done) == 4
    assert pg_db.ledger_engine.pool.checkedin() >= 1  # type: ignore[attr-defined]
    with side.cursor() as cur:
        cur.execute(TERMINATE_ALL_SQL)
        killed = cur.fetchall()
        assert killed and all(ok for (ok,) in killed)
        cur.execute(
            'SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'
        )
        assert cur.fetchone() == (0,)

    result = _record(pg_db, admin_actor, wc1, 'OUT', 3)  # the stale connection is retried on a fresh one
    assert (result.qty_in, result.qty_out, result.already_recorded) == (10, 3, False)
    assert _state(pg_db, wc1) == (5, (10, 3))
    assert check_consistency(pg_db).consistent


@pytest.mark.postgres
def test_connection_killed_inside_a_write_is_not_saved_and_the_retry_records_once(
    pg_db: Database, side: PgConnection, admin_actor: Actor, wc1: int
) -> None:
    _record(pg_db, admin_actor, wc1, 'IN', 10)
    before = _state(pg_db, wc1)
    killed: list[int] = []

    def kill_on_insert(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # The movement's insert: a plain INSERT on SQLite, the prepared statement on PostgreSQL.
        if ('INSERT INTO PRODUCTION_ORDER' in statement.upper() or 'insert_and_apply' in statement) and not killed:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with side.cursor() as cur:
                # The balance row is already locked by this transaction; the movement is about to go in.
                cur.execute(
                    'SELECT pg_terminate_backend(%s, 5000) FROM pg_stat_activity '
                    'WHERE pid = %s AND datname = current_database()',
                    (pid, pid),
                )
                assert cur.fetchone() == (True,)
            killed.append(pid)

    event.listen(pg_db.ledger_engine, 'before_cursor_execute', kill_on_insert)
    try:
        with pytest.raises(NotSaved) as err:
            _record(pg_db, admin_actor, wc1, 'OUT', 4, request_id='kiosk-3-0001')
    finally:
        event.remove(pg_db.ledger_engine, 'before_cursor_execute', kill_on_insert)
    assert len(killed) == 1
    assert err.value.message.startswith('Not saved')
    cause = err.value.__cause__
    assert isinstance(cause, DBAPIError) and cause.connection_invalidated, repr(cause)
    assert _state(pg_db, wc1) == before  # no movement, balance unchanged
    assert check_consistency(pg_db).consistent

    retry = _record(pg_db, admin_actor, wc1, 'OUT', 4, request_id='kiosk-3-0001')
    assert (retry.already_recorded, retry.balance) == (False, 6)
    again = _record(pg_db, admin_actor, wc1, 'OUT', 4, request_id='kiosk-3-0001')
    assert (again.already_recorded, again.movement_id) == (True, retry.movement_id)
    assert _state(pg_db, wc1) == (before[0] + 1, (10, 4))
    assert check_consistency(pg_db).consistent


@pytest.mark.postgres
def test_a_lock_held_too_long_gives_too_busy_instead_of_hanging(pg_db: Database, admin_actor: Actor, wc1: int) -> None:
    _record(pg_db, admin_actor, wc1, 'IN', 10)
    cfg = dataclasses.replace(settings(), lock_timeout_ms=200, write_attempts=2)
    busy_db = Database(pg_db.url, cfg=cfg)
    holder = _connect(pg_db, autocommit=False)
    try:
        with holder.cursor() as cur:
            cur.execute(
                'SELECT qty_in FROM order_balance WHERE work_center_id = %s AND order_number = %s FOR UPDATE',
                (wc1, ORDER),
            )
            assert cur.fetchone() == (10,)
        began = time.monotonic()
        with pytest.raises(NotSaved) as err:
            _record(busy_db, admin_actor, wc1, 'OUT', 4, request_id='kiosk-9-0001')
        waited = time.monotonic() - began
        assert 'too busy' in err.value.message and err.value.message.startswith('Not saved')
        assert 0.35 < waited < 10, f'gave up after {waited:.2f} s'  # two waits of 200 ms, not 5 × 3 s or forever
        holder.rollback()  # the other transaction ends: the same entry now goes through

        result = _record(busy_db, admin_actor, wc1, 'OUT', 4, request_id='kiosk-9-0001')
        assert (result.already_recorded, result.balance) == (False, 6)
        assert _state(pg_db, wc1) == (2, (10, 4))
        assert check_consistency(pg_db).consistent
    finally:
        holder.close()
        busy_db.dispose()


def test_an_unreachable_database_is_not_saved_and_does_not_ping() -> None:
    db = Database('postgresql://postgres@127.0.0.1:1/nope')
    try:
        began = time.monotonic()
        with pytest.raises(NotSaved) as err:
            record_movement(Actor(1), work_center_id=1, order_number=ORDER, quantity=1, movement_type='IN', db=db)
        assert err.value.message.startswith('Not saved')
        assert db.ping() is False
        assert time.monotonic() - began < 15
    finally:
        db.dispose()


@pytest.mark.postgres
def test_prepared_statements_forgotten_by_the_server_are_prepared_again(
    pg_db: Database, admin_actor: Actor, wc1: int
) -> None:
    # A connection pooler in between (or a DISCARD ALL) can drop the ledger's prepared statements.
    db = Database(pg_db.url, pool_size=1)
    try:
        _record(db, admin_actor, wc1, 'IN', 10)
        with db.ledger_engine.connect() as conn:  # the pool's one connection, the one the ledger used
            names = set(conn.exec_driver_sql('SELECT name FROM pg_prepared_statements').scalars())
            assert {'potrack_entry_and_lock', 'potrack_insert_and_apply_fresh'} <= names
            conn.exec_driver_sql('DEALLOCATE ALL')
            conn.commit()
        result = _record(db, admin_actor, wc1, 'OUT', 3)
        assert (result.qty_in, result.qty_out, result.already_recorded) == (10, 3, False)
        assert _state(db, wc1) == (2, (10, 3))
        assert check_consistency(db).consistent
    finally:
        db.dispose()


def _state_of_connections(side: PgConnection) -> list[str]:
    with side.cursor() as cur:
        cur.execute(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'potrack'"
        )
        return sorted(row[0] for row in cur.fetchall())


@pytest.mark.postgres
def test_a_refused_entry_ends_its_transaction_and_the_next_one_records(
    pg_db: Database, side: PgConnection, admin_actor: Actor, wc1: int
) -> None:
    # The ledger says BEGIN itself (in its first statement) and ROLLBACK after a refusal.
    db = Database(pg_db.url, pool_size=1)
    try:
        _record(db, admin_actor, wc1, 'IN', 5)
        with pytest.raises(InsufficientBalance):
            _record(db, admin_actor, wc1, 'OUT', 6)
        assert 'idle in transaction' not in _state_of_connections(side)
        assert _record(db, admin_actor, wc1, 'OUT', 5).balance == 0
        assert _state(db, wc1) == (2, (5, 5))
    finally:
        db.dispose()


@pytest.mark.postgres
def test_a_connection_returned_inside_a_transaction_is_rolled_back(pg_db: Database, side: PgConnection) -> None:
    db = Database(pg_db.url, pool_size=1)
    try:
        with db.ledger_engine.connect() as conn:
            conn.exec_driver_sql('BEGIN')
            conn.exec_driver_sql('SELECT pg_advisory_xact_lock(4242)')  # held until the transaction ends
        assert 'idle in transaction' not in _state_of_connections(side)
        with side.cursor() as cur:
            cur.execute('SELECT pg_try_advisory_xact_lock(4242)')
            assert cur.fetchone() == (True,)
    finally:
        db.dispose()


@pytest.mark.postgres
def test_a_retry_queued_behind_its_own_first_send_is_already_recorded_not_refused(
    pg_db: Database, side: PgConnection, admin_actor: Actor, wc1: int
) -> None:
    # A scanner times out and sends the OUT again while the first send still holds the balance row. The
    # retry's lock statement waits, then sees the balance after the first send (nothing left), but its
    # snapshot predates the first send's commit: it must answer "already recorded", not "only 0 pieces".
    _record(pg_db, admin_actor, wc1, 'IN', 10)
    first_holds_lock, retry_waits = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def hold_first(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == 'first' and 'insert_and_apply_fresh' in statement:
            first_holds_lock.set()
            assert retry_waits.wait(10), 'the retry never waited for the lock'

    def send(name: str) -> None:
        try:
            results[name] = _record(pg_db, admin_actor, wc1, 'OUT', 10, request_id='scanner-9-0007')
        except BaseException as exc:  # reported by the assertions below
            results[name] = exc

    event.listen(pg_db.ledger_engine, 'before_cursor_execute', hold_first)
    try:
        first = threading.Thread(target=send, args=('first',), name='first')
        first.start()
        assert first_holds_lock.wait(10)
        retry = threading.Thread(target=send, args=('retry',), name='retry')
        retry.start()
        deadline = time.monotonic() + 10
        with side.cursor() as cur:
            while time.monotonic() < deadline and not retry_waits.is_set():
                cur.execute(
                    'SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() '
                    "AND application_name = 'potrack' AND wait_event_type = 'Lock'"
                )
                if cur.fetchone() == (1,):
                    retry_waits.set()
                time.sleep(0.01)
        retry_waits.set()
        first.join(15)
        retry.join(15)
    finally:
        event.remove(pg_db.ledger_engine, 'before_cursor_execute', hold_first)
    assert not first.is_alive() and not retry.is_alive()
    assert results['first'].already_recorded is False, results
    assert getattr(results['retry'], 'already_recorded', None) is True, results
    assert results['retry'].movement_id == results['first'].movement_id
    assert _state(pg_db, wc1) == (2, (10, 10))
    assert check_consistency(pg_db).consistent
