"""The kiosk's "sent to you" list and order progress at a million movements, each next to hand-written SQL.

    python bench/flow_reads.py [--url postgresql://postgres@127.0.0.1:5432/test] [--movements 1000000]
                               [--runs 200] [--full-plans] [--keep]
    (or python -m bench.flow_reads …)

Issue 15's target: the kiosk's "sent to you" list and the order progress, p50 ≤ 25 ms at 1,000,000
movements. On a fresh scratch PostgreSQL database (dropped at the end unless --keep) the demo's bulk path
loads --movements movements (COPY; orders of 20–500 pieces with the route WC001>…>WC005 and a planned
quantity, sent on between the steps with now and then some scrap or rework; order_balance and
order_transit built from the ledger sums; the demo checks the ledger consistent, the flow included, and
closes the orders that are done), then VACUUM ANALYZE. Then, as a manager who sees every work center:

(a) `transit.incoming(actor, wc)`, the kiosk's list, at each work center; raw: the same list and its
    totals by hand, in psycopg2: the work center's transit rows with something pending, with the sender's
    code, oldest first, LIMIT 50, and COUNT/SUM over them (two statements, no user or scope check);
(b) order progress: `listing.list_orders(actor, OrderFilter(), limit=50)` (the orders page: every status,
    and its default view, the open orders) and `listing.get_order(actor, number)` (the order detail, over a
    mix of orders under way and done); raw: by hand, in psycopg2, the page of 50 orders by due date, their
    count, then their order_balance and order_transit rows by order number (`= ANY`), joined to the work
    center; for the detail the order's row and its balance and transit rows.
Service and raw take turns call by call, --runs pairs per case (fewer when a case is slow: CASE_BUDGET_S),
so the machine's load weighs on both alike. The plans of the statements the service sent on order_transit
and order_balance are printed (EXPLAIN ANALYZE, BUFFERS; the telling lines unless --full-plans).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python bench/flow_reads.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from sqlmodel import select

from bench.common import (
    Timings,
    base_parser,
    machine_note,
    prepared_database,
    print_table,
    raw_connection,
    scratch_database,
    timed,
)
from bench.queries import Capture, explain
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import User
from potrack.ledger.transit import incoming
from potrack.ops.demo.loader import run_demo
from potrack.orders.listing import OrderFilter, get_order, list_orders

GOAL_MS = 25.0
CASE_BUDGET_S = 8.0  # per case, service and raw together: a slow case gets fewer runs (at least 5)
DETAIL_ORDERS = 30  # the order detail cycles over this many orders
FLOW_TABLES = ('order_transit', 'order_balance')
PARTS = ('user, scope, settings', 'order book', 'progress rows', 'Python')  # of a service call

INCOMING_ROWS = """
SELECT t.order_number, t.qty_sent - t.qty_received, s.code, t.pending_since
FROM order_transit t LEFT JOIN work_center s ON s.id = t.last_from_id
WHERE t.work_center_id = %(wc)s AND t.pending_since IS NOT NULL
ORDER BY t.pending_since, t.order_number LIMIT 50
"""
INCOMING_TOTALS = """
SELECT COUNT(*), COALESCE(SUM(qty_sent - qty_received), 0) FROM order_transit
WHERE work_center_id = %(wc)s AND pending_since IS NOT NULL
"""
PAGE = 'SELECT * FROM order_header {where} ORDER BY due_date NULLS LAST, order_number LIMIT 50'
COUNT = 'SELECT COUNT(*) FROM order_header {where}'
BALANCES = """
SELECT b.order_number, w.id, w.code, w.name, b.qty_in, b.qty_out, b.qty_scrap, b.qty_rework
FROM order_balance b JOIN work_center w ON w.id = b.work_center_id WHERE b.order_number = ANY(%(numbers)s)
"""
TRANSIT = """
SELECT t.order_number, w.id, w.code, t.qty_sent, t.qty_received, t.pending_since
FROM order_transit t JOIN work_center w ON w.id = t.work_center_id WHERE t.order_number = ANY(%(numbers)s)
"""
ORDER = 'SELECT * FROM order_header WHERE order_number = %(number)s'
SHAPE_ORDERS = """
SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'open'), COUNT(*) FILTER (WHERE route <> '') FROM order_header
"""


@dataclass
class Case:
    label: str
    service: Callable[[int], Any]  # the i-th call
    raw: Callable[[int], Any]
    note: str = ''  # what the data holds for it


@dataclass
class Result:
    case: Case
    service: Timings
    raw: Timings
    parts_ms: dict[str, float]  # p50 of each part of a service call (PARTS)


class PartClock:
    """Times the statements a Database's engine sends, by PARTS; the rest of a call is its Python."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.calls: list[dict[str, float]] = []

    def __enter__(self) -> PartClock:
        event.listen(self.db.engine, 'before_cursor_execute', self._before)
        event.listen(self.db.engine, 'after_cursor_execute', self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.db.engine, 'before_cursor_execute', self._before)
        event.remove(self.db.engine, 'after_cursor_execute', self._after)

    def call(self, fn: Callable[[], Any]) -> None:
        spent: dict[str, float] = defaultdict(float)
        self.calls.append(spent)
        started = time.perf_counter()
        fn()
        spent[PARTS[-1]] = time.perf_counter() - started - sum(spent.values())

    @staticmethod
    def part(sql: str) -> str:
        if any(table in sql for table in FLOW_TABLES):
            return PARTS[2]
        return PARTS[1] if 'order_header' in sql else PARTS[0]

    def _before(self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        conn.info['bench_started'] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if self.calls:
            self.calls[-1][self.part(sql)] += time.perf_counter() - conn.info.pop('bench_started')

    def p50_ms(self) -> dict[str, float]:
        return {p: statistics.median(c.get(p, 0.0) for c in self.calls) * 1000 for p in PARTS}


def alternate(db: Database, case: Case, runs: int) -> Result:
    """Service and raw in turn, `runs` pairs after two warm-up pairs, fewer when a pair is slow; each
    service call's parts timed on the engine's cursor (a few µs each, on the service's side only)."""
    for i in range(2):
        case.service(i)
        case.raw(i)
    service, raw = Timings('service', []), Timings('raw', [])
    with PartClock(db) as clock:
        _alternate(case, runs, service, raw, clock)
    return Result(case, service, raw, clock.p50_ms())


def _alternate(case: Case, runs: int, service: Timings, raw: Timings, clock: PartClock) -> None:
    def timed_service(i: int) -> None:
        clock.call(partial(case.service, i))

    started = time.perf_counter()
    for i in range(runs):
        if i >= 5 and time.perf_counter() - started > CASE_BUDGET_S:
            break
        sides = [(timed_service, service), (case.raw, raw)]
        for fn, into in sides if i % 2 == 0 else reversed(sides):
            _, seconds = timed(partial(fn, i))
            into.latencies.append(seconds)


def raw_runner(conn: Any) -> Callable[[str, dict[str, Any]], list[Any]]:
    cur = conn.cursor()

    def run(sql: str, params: dict[str, Any]) -> list[Any]:
        cur.execute(sql, params)
        return cur.fetchall()

    return run


def incoming_cases(db: Database, conn: Any, actor: Actor) -> list[Case]:
    sql = raw_runner(conn)
    with db.read() as s:
        centers = s.connection().execute(text('SELECT id, code FROM work_center ORDER BY code')).all()
    cases = []
    for wc_id, code in centers:
        pending, rows = sql(
            'SELECT COUNT(*) FILTER (WHERE pending_since IS NOT NULL), COUNT(*) FROM order_transit '
            'WHERE work_center_id = %(wc)s',
            {'wc': wc_id},
        )[0]

        def raw(i: int, wc: int = wc_id) -> Any:
            return sql(INCOMING_ROWS, {'wc': wc}), sql(INCOMING_TOTALS, {'wc': wc})

        cases.append(
            Case(
                f'incoming at {code}',
                lambda i, wc=wc_id: incoming(actor, wc, db=db),
                raw,
                f'{pending:,} orders pending of {rows:,} transit rows',
            )
        )
    return cases


def listing_cases(db: Database, conn: Any, actor: Actor) -> list[Case]:
    sql = raw_runner(conn)

    def raw_page(where: str) -> Callable[[int], Any]:
        def run(i: int) -> Any:
            page = sql(PAGE.format(where=where), {})
            total = sql(COUNT.format(where=where), {})
            numbers = [r[1] for r in page]  # order_header's second column: order_number
            return page, total, sql(BALANCES, {'numbers': numbers}), sql(TRANSIT, {'numbers': numbers})

        return run

    return [
        Case(
            'list_orders, every status',
            lambda i: list_orders(actor, OrderFilter(), limit=50, db=db),
            raw_page(''),
        ),
        Case(
            'list_orders, open (the page as it opens)',
            lambda i: list_orders(actor, OrderFilter(status='open'), limit=50, db=db),
            raw_page("WHERE status = 'open'"),
        ),
    ]


def detail_case(db: Database, conn: Any, actor: Actor) -> Case:
    """get_order over orders under way (pieces in transit), done (closed) and any, in turn."""
    sql = raw_runner(conn)
    moving = [
        r[0]
        for r in sql(
            'SELECT DISTINCT order_number FROM order_transit WHERE pending_since IS NOT NULL ORDER BY 1 LIMIT %(n)s',
            {'n': DETAIL_ORDERS // 3},
        )
    ]
    closed = [
        r[0]
        for r in sql(
            "SELECT order_number FROM order_header WHERE status = 'closed' ORDER BY order_number LIMIT %(n)s",
            {'n': DETAIL_ORDERS // 3},
        )
    ]
    everyone = [r[0] for r in sql('SELECT order_number FROM order_header', {})]
    numbers = moving + closed + random.Random(15).sample(everyone, min(len(everyone), DETAIL_ORDERS // 3))

    def raw(i: int) -> Any:
        number = numbers[i % len(numbers)]
        row = sql(ORDER, {'number': number})
        return row, sql(BALANCES, {'numbers': [number]}), sql(TRANSIT, {'numbers': [number]})

    return Case(
        'get_order (order detail)',
        lambda i: get_order(actor, numbers[i % len(numbers)], db=db),
        raw,
        f'{len(moving)} orders under way, {len(closed)} closed, {len(numbers) - len(moving) - len(closed)} at random',
    )


def print_plans(db: Database, conn: Any, case: Case, full: bool) -> None:
    """EXPLAIN ANALYZE of the statements a call of the case sent that read the flow's tables or the book."""
    with Capture(db) as cap:
        case.service(0)
    for sql, params in cap.statements:
        if any(table in sql for table in (*FLOW_TABLES, 'order_header')):
            head = ' '.join(sql.split())[:110]
            print(f'  plan of: {head} …')
            for line in explain(conn, sql, params, full=full):
                print('    ' + line)


def data_shape(db: Database) -> str:
    with db.read() as s:
        conn = s.connection()
        orders, open_, routed = conn.execute(text(SHAPE_ORDERS)).one()
        transit, pending = conn.execute(
            text('SELECT COUNT(*), COUNT(*) FILTER (WHERE pending_since IS NOT NULL) FROM order_transit')
        ).one()
        balances = conn.execute(text('SELECT COUNT(*) FROM order_balance')).scalar_one()
    return (
        f'{orders:,} orders ({open_:,} open, {routed:,} with a route), {balances:,} balance rows, '
        f'{transit:,} transit rows ({pending:,} with pieces pending)'
    )


def build(db: Database, url: str, movements: int) -> None:
    """The demo's movements, then VACUUM ANALYZE of every table, as autovacuum would leave them (it is off
    on the test server): the demo analyzes the ledger's tables but not order_header, whose rows it then
    mostly updates (it closes the orders that are done), which left the planner a tenth of the rows and
    the count of the book a scan of as many dead rows as live ones."""
    run_demo(db, movements=movements, fast=True, out=lambda s: print('  demo: ' + s), seed=20261207)
    conn = raw_connection(url)
    try:
        conn.autocommit = True
        conn.cursor().execute('VACUUM ANALYZE')
    finally:
        conn.close()


def measure(db: Database, url: str, args: Any) -> list[Result]:
    with db.read() as s:
        manager = s.exec(select(User).where(User.username == 'demo-engineering')).one()
    actor = Actor(manager.id or 0)
    conn = raw_connection(url)
    conn.autocommit = True  # each raw statement alone, as the service's reads see the newest data
    try:
        cases = [*incoming_cases(db, conn, actor), *listing_cases(db, conn, actor), detail_case(db, conn, actor)]
        results = []
        for case in cases:
            print(f'\n--- {case.label}{f" ({case.note})" if case.note else ""}; {machine_note()}')
            print_plans(db, conn, case, args.full_plans)
            results.append(alternate(db, case, args.runs))
        return results
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--movements', type=int, default=1_000_000, help='movements to load (default 1,000,000)')
    parser.add_argument('--runs', type=int, default=200, help='timed pairs per case (default 200)')
    parser.add_argument('--full-plans', action='store_true', help='print whole plans, not only the telling lines')
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(machine_note())
    with scratch_database(args.url, 'flow_reads', keep=args.keep) as url:
        db = prepared_database(url, pool_size=2)
        try:
            _, load_s = timed(lambda: build(db, url, args.movements))
            shape = data_shape(db)
            print(f'loaded {args.movements:,} movements in {load_s:.1f} s: {shape} ({machine_note()})')
            results = measure(db, url, args)
        finally:
            db.dispose()

    print(f'\n{machine_note()}')
    print(f'data: {args.movements:,} movements through the demo bulk path + VACUUM ANALYZE in {load_s:.1f} s; {shape}')
    print('service: potrack as the pages call it; raw: the same data by hand in psycopg2 (see the docstring)')
    print_table(
        [
            'case',
            'runs',
            'p50 ms',
            'p95 ms',
            'p99 ms',
            'raw p50',
            'raw p99',
            'service ÷ raw p50',
            f'p50 ≤ {GOAL_MS:.0f} ms',
        ],
        [
            [
                r.case.label,
                r.service.ops,
                r.service.p50,
                r.service.p95,
                r.service.p(99),
                r.raw.p50,
                r.raw.p(99),
                r.service.p50 / r.raw.p50 if r.raw.p50 else 0.0,
                'met' if r.service.p50 <= GOAL_MS else 'NOT met',
            ]
            for r in results
        ],
    )
    print('\nservice calls by part, p50 ms (statements timed on the cursor; Python: the rest of the call)')
    print_table(['case', *PARTS], [[r.case.label, *r.parts_ms.values()] for r in results])
    print(f'\nwhole bench: {time.monotonic() - started:.0f} s')
    return 0 if all(r.service.p50 <= GOAL_MS for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
