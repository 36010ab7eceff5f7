"""The ambiguous commit: the COMMIT or its answer lost on the way, as a person at the kiosk or an API client sees it.

A proxy between potrack and PostgreSQL (tests/tcp_proxy.py) loses the answer to the COMMIT (the server
did commit), or the COMMIT itself (it did not). The ledger looks the request up again before it answers:
saved is "saved", not there is "not saved — nothing was recorded", and when it cannot tell it says so, and
the retry with the same request id books the movement once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.errors import NotSaved, OutcomeUnknown
from potrack.ledger.writer import MovementResult, record_movement
from tests.tcp_proxy import FaultyProxy
from tests.test_faults_pg import admin_actor as admin_actor
from tests.test_faults_pg import wc1 as wc1

ORDER = 'PO-2026-0777'
pytestmark = pytest.mark.postgres


@pytest.fixture
def proxy(pg_db: Database) -> Iterator[FaultyProxy]:
    url = make_url(pg_db.url)
    faulty = FaultyProxy(url.host or '127.0.0.1', url.port or 5432)
    yield faulty
    faulty.close()


@pytest.fixture
def via_proxy(pg_db: Database, proxy: FaultyProxy) -> Iterator[Database]:
    db = Database(make_url(pg_db.url).set(port=proxy.port).render_as_string(hide_password=False))
    yield db
    db.dispose()


def record(db: Database, actor: Actor, wc_id: int, kind: str, qty: int, request_id: str) -> MovementResult:
    return record_movement(
        actor, work_center_id=wc_id, order_number=ORDER, quantity=qty, movement_type=kind, request_id=request_id, db=db
    )


def stored(db: Database) -> tuple[int, tuple[int, int]]:
    """(movements of ORDER, (qty_in, qty_out) summed over its balance rows), read past the proxy."""
    with db.engine.connect() as conn:
        count = conn.execute(text('SELECT COUNT(*) FROM production_order WHERE order_number = :o'), {'o': ORDER})
        sums = conn.execute(
            text(
                'SELECT COALESCE(SUM(qty_in), 0), COALESCE(SUM(qty_out), 0) FROM order_balance WHERE order_number = :o'
            ),
            {'o': ORDER},
        ).one()
        return int(count.scalar_one()), (int(sums[0]), int(sums[1]))


@pytest.fixture
def warm(via_proxy: Database, admin_actor: Actor, wc1: int) -> None:
    """Ten pieces in, through the proxy: its connections open and its statements prepared."""
    record(via_proxy, admin_actor, wc1, 'IN', 10, 'warm-in')


@pytest.mark.usefixtures('warm')
def test_a_lost_answer_to_a_commit_that_happened_is_saved(
    pg_db: Database, via_proxy: Database, proxy: FaultyProxy, admin_actor: Actor, wc1: int
) -> None:
    proxy.arm('drop_reply')
    result = record(via_proxy, admin_actor, wc1, 'OUT', 4, 'lost-answer')
    assert proxy.struck.is_set()
    assert (result.already_recorded, result.quantity, result.qty_in, result.qty_out) == (False, 4, 10, 4)
    assert stored(pg_db) == (2, (10, 4))
    again = record(via_proxy, admin_actor, wc1, 'OUT', 4, 'lost-answer')  # a client that sends it again anyway
    assert again.already_recorded and again.movement_id == result.movement_id
    assert stored(pg_db) == (2, (10, 4))


@pytest.mark.usefixtures('warm')
def test_a_lost_commit_is_not_saved_and_says_nothing_was_recorded(
    pg_db: Database, via_proxy: Database, proxy: FaultyProxy, admin_actor: Actor, wc1: int
) -> None:
    proxy.arm('drop_commit')
    with pytest.raises(NotSaved) as refused:
        record(via_proxy, admin_actor, wc1, 'OUT', 4, 'lost-request')
    assert proxy.struck.is_set()
    assert not isinstance(refused.value, OutcomeUnknown)
    assert 'nothing was recorded' in refused.value.message.lower()
    assert stored(pg_db) == (1, (10, 0))
    result = record(via_proxy, admin_actor, wc1, 'OUT', 4, 'lost-request')  # the retry books it, once
    assert (result.already_recorded, result.qty_out) == (False, 4)
    assert stored(pg_db) == (2, (10, 4))


@pytest.mark.usefixtures('warm')
def test_when_the_outcome_cannot_be_read_back_it_says_so_and_the_same_key_books_once(
    pg_db: Database, via_proxy: Database, proxy: FaultyProxy, admin_actor: Actor, wc1: int
) -> None:
    proxy.arm('drop_reply', refuse=True)  # the answer lost, and the network stays down for the look-up
    with pytest.raises(OutcomeUnknown) as unknown:
        record(via_proxy, admin_actor, wc1, 'OUT', 4, 'unknown')
    assert 'may or may not' in unknown.value.message and 'same' in unknown.value.message
    assert stored(pg_db) == (2, (10, 4))  # it was saved
    proxy.heal()
    again = record(via_proxy, admin_actor, wc1, 'OUT', 4, 'unknown')
    assert (again.already_recorded, again.qty_out) == (True, 4)
    assert stored(pg_db) == (2, (10, 4))
