"""Many kiosks moving pieces between work centers at once on PostgreSQL.

- 16 receivers racing for one transit of 100 pieces take exactly 100 together; every other try is refused
  with the numbers there were.
- 16 threads × 200 random entries (IN, OUT sent on, scrap, rework back, undo) on four routed orders: every
  balance and transit row equals its movements, no transit is negative, no receipt at a later step took
  more than was sent there, and `potrack check` is green.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict

import pytest
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import FlowReason, OrderBalance, OrderHeader, OrderTransit, ProductionOrder, WorkCenter
from potrack.errors import BeyondTransit, InsufficientBalance, InvalidInput
from potrack.ledger.integrity import check_consistency
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.writer import record_movement

pytestmark = pytest.mark.postgres

THREADS = 16
OPS_PER_THREAD = 200
ROUTE = ('WC001', 'WC002', 'WC003')
ORDERS = [f'PO-CONC-{n}' for n in range(4)]


def _setup(db: Database) -> tuple[dict[str, int], int]:
    def unit(s):  # type: ignore[no-untyped-def]
        for number in [*ORDERS, 'PO-RACE']:
            s.add(OrderHeader(order_number=number, planned_quantity=5000, route='>'.join(ROUTE), source='typed'))

    db.write(unit)
    with db.read() as s:
        ids = {w.code: w.id or 0 for w in s.exec(select(WorkCenter)).all()}
        reason = s.exec(select(FlowReason.id).where(FlowReason.code == 'DIM')).one() or 0
    return ids, reason


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), 'a writer did not finish'


def test_receivers_racing_for_one_transit_take_exactly_what_was_sent(pg_db: Database, admin: Actor) -> None:
    db = pg_db
    ids, _ = _setup(db)
    entry = {'order_number': 'PO-RACE', 'db': db}
    record_movement(admin, work_center_id=ids['WC001'], quantity=100, movement_type='IN', **entry)
    record_movement(admin, work_center_id=ids['WC001'], quantity=100, movement_type='OUT', **entry)
    taken: list[int] = []
    refusals: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def receiver() -> None:
        start.wait()
        for _ in range(12):
            try:
                taken.append(
                    record_movement(
                        admin, work_center_id=ids['WC002'], quantity=10, movement_type='IN', **entry
                    ).quantity
                )
            except BeyondTransit as exc:
                refusals.append(exc.message)
            except BaseException as exc:
                errors.append(exc)

    _run([threading.Thread(target=receiver) for _ in range(THREADS)])
    assert errors == []
    assert sum(taken) == 100 and len(refusals) == THREADS * 12 - 10
    assert set(refusals) == {
        'All 100 pieces of PO-RACE sent to WC002 (from WC001) have been received already; you tried to receive 10.'
    }
    with db.read() as s:
        row = s.get(OrderTransit, ('PO-RACE', ids['WC002']))
        assert row is not None and (row.qty_sent, row.qty_received, row.pending_since) == (100, 100, None)
    assert check_consistency(db).consistent


def test_sixteen_kiosks_moving_pieces_keep_every_flow_invariant(pg_db: Database, admin: Actor) -> None:
    db = pg_db
    ids, reason = _setup(db)
    for order in ORDERS:
        record_movement(admin, work_center_id=ids['WC001'], order_number=order, quantity=300, movement_type='IN', db=db)
    done: dict[str, int] = defaultdict(int)
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def kiosk(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[int] = []
        start.wait()
        for _ in range(OPS_PER_THREAD):
            order = rng.choice(ORDERS)
            step = rng.randrange(len(ROUTE))
            qty = rng.randint(1, 15)
            roll = rng.random()
            kw: dict[str, object] = {}
            try:
                if roll < 0.4:
                    kind, mtype = 'in', 'IN'
                elif roll < 0.75 or step == 0:
                    kind, mtype = 'sent', 'OUT'
                elif roll < 0.85:
                    kind, mtype, kw = 'scrap', 'OUT', {'disposition': 'scrap', 'reason_id': reason}
                elif roll < 0.93:
                    back = ids[ROUTE[rng.randrange(step)]]
                    kind, mtype, kw = 'rework', 'OUT', {'disposition': 'rework', 'reason_id': reason, 'rework_to': back}
                else:
                    if not mine:
                        continue
                    reverse_movement(admin, movement_id=mine.pop(rng.randrange(len(mine))), reason='race', db=db)
                    kind = 'undo'
                    with lock:
                        done[kind] += 1
                    continue
                result = record_movement(
                    admin,
                    work_center_id=ids[ROUTE[step]],
                    order_number=order,
                    quantity=qty,
                    movement_type=mtype,
                    db=db,
                    **kw,
                )
                mine.append(result.movement_id)
                with lock:
                    done[kind] += 1
            except (InsufficientBalance, InvalidInput):
                with lock:
                    done['refused'] += 1
            except BaseException as exc:
                errors.append(exc)

    _run([threading.Thread(target=kiosk, args=(seed,)) for seed in range(THREADS)])
    assert errors == []
    assert all(done[k] > 20 for k in ('in', 'sent', 'scrap', 'rework', 'undo', 'refused')), dict(done)
    report = check_consistency(db, limit=50)
    assert report.consistent, [m.describe() for m in report.mismatches]
    with db.read() as s:
        transit = s.exec(select(OrderTransit)).all()
        assert all(0 <= t.qty_received <= t.qty_sent for t in transit)
        balances = s.exec(select(OrderBalance)).all()
        assert all(0 <= b.qty_out <= b.qty_in and b.qty_scrap + b.qty_rework <= b.qty_out for b in balances)
        # No later step received beyond what came to it in transit (the tolerance is 0).
        for b in balances:
            if b.work_center_id != ids['WC001']:
                t = next(
                    (t for t in transit if (t.order_number, t.work_center_id) == (b.order_number, b.work_center_id)),
                    None,
                )
                assert b.qty_in == (t.qty_received if t else 0), (b.order_number, b.work_center_id)
        assert (
            s.exec(select(ProductionOrder).where(ProductionOrder.transit_qty < 0, ProductionOrder.quantity > 0)).all()
            == []
        )


def test_a_receipt_queued_behind_the_first_send_sees_it(pg_db: Database, admin: Actor) -> None:
    """The IN waits for its balance row while the first OUT to its work center commits: it receives them."""
    db = pg_db
    ids, _ = _setup(db)
    entry = {'order_number': 'PO-RACE', 'db': db}
    record_movement(admin, work_center_id=ids['WC001'], quantity=10, movement_type='IN', **entry)
    holder = db.engine.connect()
    holder.begin()
    holder.execute(  # the receiving work center's balance row, made and held as a concurrent entry would
        OrderBalance.__table__.insert().values(work_center_id=ids['WC002'], order_number='PO-RACE', qty_in=0, qty_out=0)
    )
    got: list[object] = []
    receiver = threading.Thread(
        target=lambda: got.append(
            record_movement(admin, work_center_id=ids['WC002'], quantity=10, movement_type='IN', **entry)
        )
    )
    receiver.start()
    eventually_waiting(db)
    record_movement(admin, work_center_id=ids['WC001'], quantity=10, movement_type='OUT', **entry)  # first send
    holder.commit()
    holder.close()
    receiver.join(timeout=30)
    assert [getattr(r, 'transit_qty', r) for r in got] == [10]
    assert check_consistency(db).consistent


def eventually_waiting(db: Database, timeout_s: float = 20.0) -> None:
    """Until a connection of this database waits for a row lock (polled; fails after `timeout_s`)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            if conn.exec_driver_sql(query).scalar_one() > 0:
                return
        pause.wait(0.01)
    raise AssertionError('the receipt never queued for the balance row')
