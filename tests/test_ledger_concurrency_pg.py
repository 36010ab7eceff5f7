"""Many kiosks writing at once on PostgreSQL: no lost update, no negative balance, no double entry.

16 threads record random IN/OUT against 20 (work center, order) pairs, some of which have no balance
row yet when the threads start together (the first-row race). A reader samples balances meanwhile.
Every accepted movement must be in the ledger exactly once, every balance must equal what the
accepted movements say, and every refusal must be an InsufficientBalance that quotes the real numbers.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from potrack.accounts.users import insert_user
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import Department, User, WorkCenter
from potrack.errors import InsufficientBalance
from potrack.ledger.integrity import check_consistency
from potrack.ledger.writer import MovementResult, record_movement
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.postgres

THREADS = 16
OPS_PER_THREAD = 200
SEED = 20260217
SEEDED_PAIRS = 12  # pairs with stock before the run; the other 8 have no balance row when it starts
NEW_PAIRS = 8
SEED_QTY = 40
OUT_SHARE = 0.55  # OUT a little more often than IN, so balances keep running dry and OUTs get refused
REFUSAL_RE = re.compile(r'Only (\d+) pieces of (\S+) are at (WC\d{3}); you tried to send (\d+)\.')

Pair = tuple[int, str]  # (work center id, order number)


@dataclass
class Attempt:
    pair: Pair
    movement_type: str
    quantity: int
    request_id: str
    actor: Actor


@dataclass
class ThreadLog:
    accepted: list[tuple[Attempt, MovementResult]] = field(default_factory=list)
    refused: list[tuple[Attempt, InsufficientBalance]] = field(default_factory=list)
    errors: list[tuple[Attempt | None, BaseException]] = field(default_factory=list)


def _work_centers(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {w.code: w.id or 0 for w in s.exec(select(WorkCenter)).all()}


def _operator(db: Database, username: str) -> Actor:
    """A Production operator (sees WC001–WC004); conftest's make_user would pull in the sqlite `db` too."""

    def unit(s: Session) -> Actor:
        dept = s.exec(select(Department).where(Department.name == 'Production')).one()
        user = insert_user(
            s, username=username, password=TEST_PASSWORD, department_id=dept.id, must_change_password=False
        )
        return Actor(user.id or 0)

    return db.write(unit)


def _admin(db: Database) -> Actor:
    with db.read() as s:
        return Actor(s.exec(select(User).where(User.username == 'admin')).one().id or 0)


def _balances(db: Database) -> dict[Pair, tuple[int, int]]:
    with db.engine.connect() as conn:
        rows = conn.execute(text('SELECT work_center_id, order_number, qty_in, qty_out FROM order_balance')).all()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def _run_threads(targets: list[threading.Thread], timeout: float) -> None:
    for t in targets:
        t.start()
    deadline = time.monotonic() + timeout
    for t in targets:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in targets), 'writer threads did not finish in time'


def test_sixteen_kiosks_racing_keep_the_ledger_exact(pg_db: Database) -> None:
    codes = _work_centers(pg_db)
    operators = [_operator(pg_db, f'op{i}') for i in range(1, 5)]  # Production: WC001–WC004
    actors = [*operators, _admin(pg_db)]
    wc_ids = [codes[c] for c in ('WC001', 'WC002', 'WC003', 'WC004')]
    seeded: list[Pair] = [(wc_ids[i % 4], f'PO-2026-{i:04d}') for i in range(SEEDED_PAIRS)]
    fresh: list[Pair] = [(wc_ids[i % 4], f'NEW-{i:02d}/A') for i in range(NEW_PAIRS)]
    code_of = {v: k for k, v in codes.items()}
    seed_ids = set()
    for wc_id, order in seeded:
        seed_ids.add(
            record_movement(
                actors[-1], work_center_id=wc_id, order_number=order, quantity=SEED_QTY, movement_type='IN'
            ).movement_id
        )
    assert set(_balances(pg_db)) == set(seeded), 'brand-new pairs must have no balance row before the run'

    start = threading.Barrier(THREADS + 1)
    stop = threading.Event()
    logs = [ThreadLog() for _ in range(THREADS)]
    samples: list[tuple[int, int]] = []  # (rows sampled, smallest qty_in - qty_out) per sample
    reader_errors: list[BaseException] = []

    def writer(index: int) -> None:
        rng = random.Random(SEED + index)
        log = logs[index]
        attempt: Attempt | None = None
        try:
            start.wait(timeout=30)
            for k in range(OPS_PER_THREAD):
                # Every thread's first move lands on a brand-new pair, four threads per pair, all at once.
                pair = fresh[index % 4] if k == 0 else rng.choice(seeded + fresh)
                kind = 'OUT' if rng.random() < OUT_SHARE else 'IN'
                attempt = Attempt(pair, kind, rng.randint(1, 20), f't{index:02d}-{k:03d}', rng.choice(actors))
                try:
                    result = record_movement(
                        attempt.actor,
                        work_center_id=pair[0],
                        order_number=pair[1],
                        quantity=attempt.quantity,
                        movement_type=kind,
                        request_id=attempt.request_id,
                        db=pg_db,
                    )
                except InsufficientBalance as exc:
                    log.refused.append((attempt, exc))
                else:
                    log.accepted.append((attempt, result))
        except BaseException as exc:  # anything else is a finding; keep it for the assertion
            log.errors.append((attempt, exc))

    def reader() -> None:
        try:
            start.wait(timeout=30)
            while not stop.is_set():
                with pg_db.engine.connect() as conn:
                    row = conn.execute(
                        text('SELECT COUNT(*), MIN(qty_in - qty_out), MIN(qty_out) FROM order_balance')
                    ).one()
                samples.append((row[0], min(row[1], row[2])))
                time.sleep(0.005)
        except BaseException as exc:
            reader_errors.append(exc)

    writers = [threading.Thread(target=writer, args=(i,), name=f'kiosk-{i}') for i in range(THREADS)]
    reading = threading.Thread(target=reader, name='balance-reader')
    reading.start()
    _run_threads(writers, timeout=300)  # ~20 s on an idle 2-core machine; the limit only catches a hang
    stop.set()
    reading.join(10)

    errors = [(t, a, e) for t, log in enumerate(logs) for a, e in log.errors]
    assert not errors, f'unexpected exceptions ({len(errors)}), first: {errors[0]!r}'
    assert not reader_errors, reader_errors
    accepted = [(a, r) for log in logs for a, r in log.accepted]
    refused = [(a, e) for log in logs for a, e in log.refused]
    assert len(accepted) + len(refused) == THREADS * OPS_PER_THREAD
    # The run must actually exercise both outcomes, with plenty of contention.
    assert len(accepted) > 1000 and len(refused) > 200, (len(accepted), len(refused))
    assert len(samples) > 10 and all(low >= 0 for _, low in samples), samples[:20]

    # Every refusal is an OUT that asked for more than was there, and says so with the real numbers.
    for attempt, exc in refused:
        assert attempt.movement_type == 'OUT'
        match = REFUSAL_RE.fullmatch(exc.message)
        assert match, exc.message
        there, order, code, asked = int(match[1]), match[2], match[3], int(match[4])
        assert (order, code, asked) == (attempt.pair[1], code_of[attempt.pair[0]], attempt.quantity)
        assert 0 <= there < asked and (exc.available, exc.requested) == (there, asked)

    # Every accepted movement is in the ledger exactly once, as it was sent.
    assert not any(r.already_recorded for _, r in accepted)
    assert all(r.balance >= 0 and r.qty_out >= 0 for _, r in accepted)
    with pg_db.engine.connect() as conn:
        rows = conn.execute(
            text(
                'SELECT id, request_id, work_center_id, order_number, movement_type, quantity, user_id '
                'FROM production_order'
            )
        ).all()
    stored = {r[0]: r[1:] for r in rows if r[0] not in seed_ids}
    assert len(rows) == len(seed_ids) + len(accepted)
    accepted_ids = [r.movement_id for _, r in accepted]
    assert len(set(accepted_ids)) == len(accepted_ids), 'two accepted writes were given the same movement id'
    assert sorted(accepted_ids) == sorted(stored), 'accepted ids differ from the ledger ids'
    for attempt, result in accepted:
        assert stored[result.movement_id] == (
            attempt.request_id,
            attempt.pair[0],
            attempt.pair[1],
            attempt.movement_type,
            attempt.quantity,
            attempt.actor.user_id,
        )

    # Balances equal what the accepted movements say; no update was lost.
    expected: dict[Pair, list[int]] = defaultdict(lambda: [0, 0])
    for pair in seeded:
        expected[pair][0] += SEED_QTY
    for attempt, _ in accepted:
        expected[attempt.pair][0 if attempt.movement_type == 'IN' else 1] += attempt.quantity
    balances = _balances(pg_db)
    assert {p: tuple(v) for p, v in expected.items()} == {p: v for p, v in balances.items() if p in expected}
    assert set(balances) <= set(seeded) | set(fresh)
    assert all(0 <= q_out <= q_in for q_in, q_out in balances.values())
    report = check_consistency(pg_db)
    assert report.consistent, [m.describe() for m in report.mismatches]
    assert report.movements == len(seed_ids) + len(accepted)


@pytest.mark.parametrize(('kind', 'seed'), [('IN', 0), ('OUT', 10)], ids=['in-on-new-pair', 'out-of-all-stock'])
def test_eight_kiosks_sending_the_same_request_record_it_once(pg_db: Database, kind: str, seed: int) -> None:
    op = _operator(pg_db, 'anita')
    wc_id = _work_centers(pg_db)['WC002']
    order = 'PO-2026-0777'
    if seed:
        record_movement(op, work_center_id=wc_id, order_number=order, quantity=seed, movement_type='IN')
    start = threading.Barrier(8)
    results: list[MovementResult] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            start.wait(timeout=30)
            results.append(
                record_movement(
                    op,
                    work_center_id=wc_id,
                    order_number=order,
                    quantity=10,
                    movement_type=kind,
                    request_id='kiosk-7-2f1c9a',
                    db=pg_db,
                )
            )
        except BaseException as exc:
            errors.append(exc)

    _run_threads([threading.Thread(target=send) for _ in range(8)], timeout=30)
    assert not errors, errors
    assert len(results) == 8
    assert len({r.movement_id for r in results}) == 1
    assert sorted(r.already_recorded for r in results) == [False] + [True] * 7
    with pg_db.engine.connect() as conn:
        count = conn.execute(
            text("SELECT COUNT(*) FROM production_order WHERE request_id = 'kiosk-7-2f1c9a'")
        ).scalar_one()
    assert count == 1
    in_, out = _balances(pg_db)[(wc_id, order)]
    assert (in_, out) == ((10, 0) if kind == 'IN' else (10, 10))
    report = check_consistency(pg_db)
    assert report.consistent and report.movements == (2 if seed else 1)
