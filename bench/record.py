"""Recording IN/OUT on PostgreSQL: `ledger.record_movement` against the same locked transaction in plain psycopg2.

    python bench/record.py [--url postgresql://postgres@127.0.0.1:5432/test] [--ops 2000] [--threads 8]
    (or python -m bench.record …)

Measured in one run, on a fresh scratch database (dropped at the end):
- raw: one psycopg2 connection doing the bare write path: INSERT … ON CONFLICT DO NOTHING of the
  balance row, SELECT … FOR UPDATE, INSERT of the movement, UPDATE of the balance, COMMIT;
- service, 1 connection: `record_movement` on a Database with pool_size=1, one call after the other;
- service, N threads: `record_movement` from N threads on a pool of N connections;
- raw, N threads: the raw transaction on N connections, for a like-for-like view of the threaded figure;
- raw + NOTIFY, N threads: the same with the ledger's pg_notify inside the transaction.
The service does more than the raw transaction (loads the acting user, checks the work center is
visible to the user's department, looks up the request id, sends a NOTIFY); the ratio service/raw
says what that and SQLAlchemy cost. Single-connection phases alternate in rounds so that a change in
machine load affects both sides alike. Each phase stops after --max-seconds, so the run is bounded.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python bench/record.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlmodel import select

from bench.common import (
    Timings,
    base_parser,
    machine_note,
    prepared_database,
    print_table,
    ratio_line,
    raw_connection,
    scratch_database,
)
from potrack.accounts.users import insert_user
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import Department, WorkCenter
from potrack.ledger.integrity import check_consistency
from potrack.ledger.writer import record_movement

ORDERS_PER_WORKER = 50
ROUNDS = 4

Op = Callable[[str, str, int], None]  # (order number, IN/OUT, quantity)


def op_plan(i: int, prefix: str) -> tuple[str, str, int]:
    """The i-th operation of a worker: IN 2 then OUT 1 of the same order, over ORDERS_PER_WORKER orders.

    Each worker's OUT follows its own IN of the same order, so no OUT can be refused, however the
    workers interleave.
    """
    order = f'{prefix}-{(i // 2) % ORDERS_PER_WORKER:03d}'
    return (order, 'IN', 2) if i % 2 == 0 else (order, 'OUT', 1)


def adopt_raw_orders(db: Database) -> None:
    """Give the raw baseline's orders (their numbers hold "RAW") the order_activity row the ledger would have.

    The raw transaction is the bare minimum the issue measures against, so it writes only the movement and
    the balance; `check_consistency` would report its orders as missing their newest time. The orders
    potrack recorded keep the rows the ledger wrote, so the check still judges those.
    """
    with db.engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO order_activity (order_number, last_movement_at) '
                'SELECT order_number, MAX(last_movement_at) FROM order_balance '
                "WHERE UPPER(order_number) LIKE '%RAW%' GROUP BY order_number ON CONFLICT DO NOTHING"
            )
        )


def raw_op(conn: Any, wc_id: int, user_id: int, *, notify: bool = False) -> Op:
    cur = conn.cursor()

    def run(order: str, kind: str, qty: int) -> None:
        if notify:  # as the ledger does: the change notice goes out with the commit
            cur.execute("SELECT pg_notify('potrack_changes', %s)", (f'{{"work_center_id":{wc_id}}}',))
        cur.execute(
            'INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out) VALUES (%s, %s, 0, 0) '
            'ON CONFLICT (work_center_id, order_number) DO NOTHING',
            (wc_id, order),
        )
        cur.execute(
            'SELECT qty_in, qty_out FROM order_balance WHERE work_center_id = %s AND order_number = %s FOR UPDATE',
            (wc_id, order),
        )
        qty_in, qty_out = cur.fetchone()
        if kind == 'OUT' and qty > qty_in - qty_out:
            conn.rollback()
            raise RuntimeError(f'raw OUT refused for {order}')
        cur.execute(
            'INSERT INTO production_order (order_number, work_center_id, quantity, movement_type, user_id, '
            'created_at, request_id) VALUES (%s, %s, %s, %s, %s, now(), %s) RETURNING id',
            (order, wc_id, qty, kind, user_id, uuid.uuid4().hex),
        )
        cur.fetchone()
        d_in, d_out = (qty, 0) if kind == 'IN' else (0, qty)
        cur.execute(
            'UPDATE order_balance SET qty_in = qty_in + %s, qty_out = qty_out + %s, last_movement_at = now(), '
            'last_user_id = %s WHERE work_center_id = %s AND order_number = %s',
            (d_in, d_out, user_id, wc_id, order),
        )
        conn.commit()

    return run


def service_op(db: Database, actor: Actor, wc_id: int) -> Op:
    def run(order: str, kind: str, qty: int) -> None:
        record_movement(actor, work_center_id=wc_id, order_number=order, quantity=qty, movement_type=kind, db=db)

    return run


def run_ops(op: Op, prefix: str, start: int, count: int, latencies: list[float], deadline: float) -> None:
    for i in range(start, start + count):
        if time.perf_counter() > deadline:
            return
        order, kind, qty = op_plan(i, prefix)
        t0 = time.perf_counter()
        op(order, kind, qty)
        latencies.append(time.perf_counter() - t0)


def sequential_pair(raw: Op, service: Op, ops: int, max_seconds: float) -> tuple[Timings, Timings]:
    """Raw and service on one connection each, alternating in ROUNDS blocks; warm-up untimed."""
    run_ops(raw, 'WARM-RAW', 0, 20, [], float('inf'))
    run_ops(service, 'WARM-SVC', 0, 20, [], float('inf'))
    result = {'raw': Timings('raw psycopg2, 1 connection', []), 'svc': Timings('record_movement, 1 connection', [])}
    per_round = max(2, ops // ROUNDS)
    for r in range(ROUNDS):
        for key, op in (('raw', raw), ('svc', service)):
            timings = result[key]
            started, cpu = time.perf_counter(), time.process_time()
            deadline = started + max_seconds / ROUNDS
            run_ops(op, f'SEQ-{key.upper()}', r * per_round, per_round, timings.latencies, deadline)
            timings.wall_s += time.perf_counter() - started
            timings.cpu_s += time.process_time() - cpu
    return result['raw'], result['svc']


def threaded(label: str, make_op: Callable[[], Op], threads: int, ops: int, max_seconds: float) -> Timings:
    """`threads` workers, each with its own op (connection) and orders, started together."""
    per_thread = max(2, ops // threads)
    lists: list[list[float]] = [[] for _ in range(threads)]
    ops_made = [make_op() for _ in range(threads)]
    for n, op in enumerate(ops_made):
        run_ops(op, f'WARM-{label[:3]}-{n}', 0, 4, [], float('inf'))
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        barrier.wait()
        try:
            run_ops(ops_made[n], f'THR-{label[:3]}-{n}', 0, per_thread, lists[n], deadline)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    deadline = time.perf_counter() + max_seconds
    started, cpu = time.perf_counter(), time.process_time()
    barrier.wait()
    for w in workers:
        w.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if errors:
        raise errors[0]
    return Timings(label, [x for lst in lists for x in lst], wall, cpu)


def setup(db: Database) -> tuple[Actor, int]:
    """An operator of Production and the id of WC001 (a work center Production sees)."""

    def unit(session: Any) -> tuple[Actor, int]:
        dept = session.exec(select(Department).where(Department.name == 'Production')).one()
        user = insert_user(
            session,
            username='bench-operator',
            password='Bench-Operator-2026',
            department_id=dept.id,
            must_change_password=False,
        )
        wc = session.exec(select(WorkCenter).where(WorkCenter.code == 'WC001')).one()
        return Actor(user.id), wc.id

    return db.write(unit)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=2000, help='operations per phase (default 2000)')
    parser.add_argument('--threads', type=int, default=8, help='threads for the concurrent phases (default 8)')
    parser.add_argument('--max-seconds', type=float, default=10.0, help='stop a phase after this long (default 10)')
    args = parser.parse_args(argv)
    print(machine_note())
    with scratch_database(args.url, 'record', keep=args.keep) as url:
        setup_db = prepared_database(url, pool_size=1)
        actor, wc_id = setup(setup_db)
        setup_db.dispose()

        single = Database(url, pool_size=1)
        raw_conn = raw_connection(url)
        try:
            raw_1, svc_1 = sequential_pair(
                raw_op(raw_conn, wc_id, actor.user_id),
                service_op(single, actor, wc_id),
                args.ops,
                args.max_seconds,
            )
        finally:
            raw_conn.close()
            single.dispose()

        pool = Database(url, pool_size=args.threads)
        try:
            svc_n = threaded(
                f'record_movement, {args.threads} threads',
                lambda: service_op(pool, actor, wc_id),
                args.threads,
                args.ops,
                args.max_seconds,
            )
        finally:
            pool.dispose()

        raw_conns: list[Any] = []

        def make_raw(notify: bool) -> Callable[[], Op]:
            def make() -> Op:
                conn = raw_connection(url)
                raw_conns.append(conn)
                return raw_op(conn, wc_id, actor.user_id, notify=notify)

            return make

        try:
            raw_n = threaded(
                f'raw psycopg2, {args.threads} threads', make_raw(False), args.threads, args.ops, args.max_seconds
            )
            raw_n_notify = threaded(
                f'raw + NOTIFY, {args.threads} threads', make_raw(True), args.threads, args.ops, args.max_seconds
            )
        finally:
            for conn in raw_conns:
                conn.close()

        check_db = Database(url, pool_size=1)
        adopt_raw_orders(check_db)
        report = check_consistency(check_db)
        check_db.dispose()

    print()
    print(machine_note())
    print_table(
        ['recording IN/OUT', 'ops', 'seconds', 'ops/s', 'p50 ms', 'p95 ms', 'client CPU ms/op'],
        [
            [t.label, t.ops, t.wall_s, t.ops_per_s, t.p50, t.p95, t.cpu_ms_per_op]
            for t in (raw_1, svc_1, svc_n, raw_n, raw_n_notify)
        ],
    )
    seq_ratio = svc_1.ops_per_s / raw_1.ops_per_s if raw_1.ops_per_s else 0.0
    thr_ratio = svc_n.ops_per_s / raw_n.ops_per_s if raw_n.ops_per_s else 0.0
    print(ratio_line('service/raw throughput, 1 connection', seq_ratio, '≥ 0.5', seq_ratio >= 0.5))
    print(f'service/raw throughput, {args.threads} threads: {thr_ratio:.2f}')
    print(f'service {args.threads} threads vs 1 connection: {svc_n.ops_per_s / max(svc_1.ops_per_s, 1e-9):.2f}×')
    print(
        f'NOTIFY inside the transaction, raw {args.threads} threads: {raw_n_notify.ops_per_s / raw_n.ops_per_s:.2f}× '
        'the throughput without it (committing transactions that sent NOTIFY take turns)'
    )
    print(
        f'consistency afterwards: {"consistent" if report.consistent else "INCONSISTENT"} '
        f'({report.movements:,} movements, {report.balance_rows:,} balance rows)'
    )
    return 0 if report.consistent else 1


if __name__ == '__main__':
    sys.exit(main())
