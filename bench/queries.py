"""Balances and movement search at a million movements, each next to the raw SQL it runs.

    python bench/queries.py [--url postgresql://postgres@127.0.0.1:5432/test] [--movements 1000000] [--keep]
    (or python -m bench.queries …)

On a fresh scratch database (dropped at the end unless --keep) loaded through the demo's bulk path:
(a) `balances.work_center_totals` for a department that sees 5 work centers, against the same
    aggregation over order_balance in plain psycopg2 (goal: service p50 ≤ 2× raw p50);
(b) `movements.search_movements` (limit 500) by order-number prefix, and by prefix + a date range,
    p50 over ~30 runs (goal ≤ 25 ms for the rows, which the Reports page shows as they come), and the
    totals over the whole filtered set it counts next (`movement_totals`), and both in one call; the
    baseline is the very SQL the service sent (captured from the engine), replayed through psycopg2.
    The plan of each SQL statement on production_order is printed once (EXPLAIN ANALYZE, BUFFERS).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python bench/queries.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from sqlmodel import select

from bench.common import (
    Timings,
    base_parser,
    machine_note,
    prepared_database,
    print_table,
    ratio_line,
    raw_connection,
    repeat,
    scratch_database,
    timed,
)
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import User
from potrack.ledger import search
from potrack.ledger.balances import work_center_totals
from potrack.ledger.search import MovementFilter, movement_totals, search_movements
from potrack.ops.demo.loader import run_demo
from potrack.timeutil import local_today, to_local

SEARCH_GOAL_MS = 25.0
TOTALS_GOAL_RATIO = 2.0
CASE_BUDGET_S = 2.0  # per timed series: slow cases get fewer runs (at least 3), so the bench stays bounded
PLAN_KEEP = ('Scan', 'Sort', 'Limit', 'Aggregate', 'Join', 'Nested Loop', 'Rows Removed', 'Index Cond', 'Filter')


class Capture:
    """Records the SQL statements (with parameters) an engine sends while active."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements: list[tuple[str, Any]] = []

    def __enter__(self) -> Capture:
        event.listen(self.db.engine, 'before_cursor_execute', self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.db.engine, 'before_cursor_execute', self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.statements.append((statement, parameters))


def timed_series(label: str, fn: Callable[[], Any], runs: int) -> Timings:
    """`runs` timed calls after two warm-ups, fewer when one call is slow (CASE_BUDGET_S per series)."""
    _, first = timed(fn)
    fn()
    n = max(3, min(runs, int(CASE_BUDGET_S / max(first, 1e-6))))
    return repeat(label, fn, n, warmup=0)


def replay(conn: Any, statements: list[tuple[str, Any]]) -> Callable[[], None]:
    cur = conn.cursor()

    def run() -> None:
        for sql, params in statements:
            cur.execute(sql, params)
            cur.fetchall()
        conn.rollback()

    return run


def explain(conn: Any, sql: str, params: Any, full: bool) -> list[str]:
    cur = conn.cursor()
    cur.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)
    lines = [r[0] for r in cur.fetchall()]
    conn.rollback()
    if full:
        return lines
    keep = [ln for ln in lines if any(k in ln for k in PLAN_KEEP) and 'Memoize' not in ln and 'pkey' not in ln]
    return keep + [ln for ln in lines if ln.startswith('Execution Time')]


def bench_totals(db: Database, conn: Any, actor: Actor, runs: int) -> tuple[Timings, Timings]:
    with Capture(db) as cap:
        totals = work_center_totals(actor, db=db)
    ids = tuple(t.work_center_id for t in totals)
    assert len(ids) == 5, 'the department should see 5 work centers'
    sql = """
        SELECT wc.id, wc.code, wc.name, wc.is_active, s.qty_in, s.qty_out, s.open_orders
        FROM work_center wc LEFT JOIN (
            SELECT work_center_id, SUM(qty_in) AS qty_in, SUM(qty_out) AS qty_out,
                   SUM(CASE WHEN qty_in > qty_out THEN 1 ELSE 0 END) AS open_orders
            FROM order_balance WHERE work_center_id IN %(ids)s GROUP BY work_center_id
        ) s ON s.work_center_id = wc.id
        WHERE wc.id IN %(ids)s ORDER BY wc.code"""
    service = timed_series('work_center_totals (service)', lambda: work_center_totals(actor, db=db), runs)
    raw = timed_series('same aggregation, raw SQL', replay(conn, [(sql, {'ids': ids})]), runs)
    print(f'(a) {len(cap.statements)} statements per work_center_totals call (user, scope, aggregation)')
    for line in explain(conn, sql, {'ids': ids}, full=False):
        print('    ' + line)
    return service, raw


@dataclass
class SearchCase:
    label: str
    flt: MovementFilter


@dataclass
class SearchResult:
    case: SearchCase
    rows: int
    total: int
    service: Timings  # rows and totals in one call (what the API's GET /movements does)
    service_no_totals: Timings  # the rows: what the Reports page waits for before it shows them
    totals_after: Timings  # movement_totals: the Reports page's totals line, counted after the rows show
    raw_search: Timings
    raw_rows: Timings
    raw_totals: Timings
    raw_unbounded: Timings


def search_cases(db: Database, prefix: str) -> list[SearchCase]:
    """Prefixes from one order to all of them, some with a date range (IST calendar days).

    They are cut from the number of an order a quarter of the way into the data (older than most),
    so a prefix selects a block of orders from the same few days, as real sequential numbers do.
    """

    def one(sql: str, p: str) -> Any:
        with db.read() as s:
            return s.connection().execute(text(sql), {'p': p + '%'}).one()

    def days_of(p: str) -> tuple[date, date]:
        lo, hi = one('SELECT MIN(created_at), MAX(created_at) FROM production_order WHERE order_number LIKE :p', p)
        return to_local(lo).date(), to_local(hi).date()

    def orders(p: str) -> str:
        n = one('SELECT COUNT(DISTINCT order_number) FROM order_balance WHERE order_number LIKE :p', p)[0]
        return f'{n:,} order{"s" if n != 1 else ""}'

    last = int(one('SELECT MAX(order_number) FROM order_balance WHERE order_number LIKE :p', prefix)[0][len(prefix) :])
    digits = f'{max(1, last // 4):06d}'
    exact, hundred, thousand, block = (prefix + digits[: 6 - d] for d in (0, 2, 3, 4))
    today = local_today()
    mid_from, mid_to = days_of(hundred)
    block_from, _ = days_of(block)
    cases = [
        SearchCase(f'prefix {p} ({orders(p)})', MovementFilter(order=p)) for p in (exact, hundred, thousand, block)
    ]
    return [
        *cases,
        SearchCase(f'prefix {prefix} ({orders(prefix)})', MovementFilter(order=prefix)),
        SearchCase(
            f'prefix {hundred} + {mid_from:%d %b}–{mid_to:%d %b}',
            MovementFilter(order=hundred, date_from=mid_from, date_to=mid_to),
        ),
        SearchCase(
            f'prefix {block} + last 30 days',
            MovementFilter(order=block, date_from=today - timedelta(days=30), date_to=today),
        ),
        SearchCase(
            f'prefix {prefix}0 + {block_from:%d %b}–{block_from + timedelta(days=2):%d %b}',
            MovementFilter(order=f'{prefix}0', date_from=block_from, date_to=block_from + timedelta(days=2)),
        ),
        SearchCase(f'prefix {prefix} + last 7 days', MovementFilter(order=prefix, date_from=today - timedelta(days=6))),
        SearchCase('no filter (newest of all)', MovementFilter()),
    ]


def bench_search(db: Database, conn: Any, actor: Actor, case: SearchCase, runs: int, full_plans: bool) -> SearchResult:
    def call(with_totals: bool) -> Any:
        return search_movements(actor, case.flt, limit=500, with_totals=with_totals, db=db)

    with Capture(db) as cap:
        page = call(True)

    def kind(sql: str) -> str:
        if 'production_order.reason' in sql:  # on PostgreSQL the probe and the bound are subqueries of it
            return 'rows'
        if 'max(order_balance.last_movement_at)' in sql:
            return 'newest-first bound'
        if 'production_order' not in sql:
            return 'scope'
        if 'LIMIT' in sql:
            return 'recent probe' if 'count(*)' in sql else 'rows'
        return 'totals'

    sent = [(kind(sql), sql, p) for sql, p in cap.statements]
    search_sql = [(sql, p) for k, sql, p in sent if k in ('newest-first bound', 'recent probe', 'rows')]
    rows_sql = [(sql, p) for k, sql, p in sent if k == 'rows']
    totals_sql = [(sql, p) for k, sql, p in sent if k == 'totals']
    # For comparison: the rows query as it was before the newest-first bound (ledger/newest_first.py).
    with db.read() as session, Capture(db) as plain:
        where = search.movement_conditions(session, actor, case.flt)
        session.exec(search._rows_query(where or [], 'created_at', True).offset(0).limit(500)).all()
    print(f'\n--- {case.label}: {len(page.rows)} rows of {page.totals.count:,}')
    for k, sql, params in sent:
        if k != 'scope':
            print(f'  plan of the {k} query:')
            for line in explain(conn, sql, params, full=full_plans):
                print('    ' + line)
    if plain.statements[-1][0] != rows_sql[0][0]:
        print('  plan of the rows query without the bound (as before):')
        for line in explain(conn, *plain.statements[-1], full=full_plans):
            print('    ' + line)
    return SearchResult(
        case,
        len(page.rows),
        page.totals.count,
        timed_series('service', lambda: call(True), runs),
        timed_series('service, no totals', lambda: call(False), runs),
        timed_series('totals after', lambda: movement_totals(actor, case.flt, db=db), runs),
        timed_series('raw search SQL', replay(conn, search_sql), runs),
        timed_series('raw rows SQL', replay(conn, rows_sql), runs),
        timed_series('raw totals SQL', replay(conn, totals_sql), runs) if totals_sql else Timings('-', []),
        timed_series('raw rows SQL, no bound', replay(conn, plain.statements[-1:]), runs),
    )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--movements', type=int, default=1_000_000, help='movements to load (default 1,000,000)')
    parser.add_argument('--runs', type=int, default=30, help='timed runs per measurement (default 30)')
    parser.add_argument('--full-plans', action='store_true', help='print whole plans, not only the telling lines')
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(machine_note())
    with scratch_database(args.url, 'queries', keep=args.keep) as url:
        db = prepared_database(url, pool_size=2)
        try:
            _, load_s = timed(
                lambda: run_demo(
                    db, movements=args.movements, fast=True, out=lambda s: print('  demo: ' + s), seed=20261121
                )
            )
            print(
                f'loaded {args.movements:,} movements through the demo bulk path in {load_s:.1f} s ({machine_note()})'
            )
            with db.read() as s:
                manager = s.exec(select(User).where(User.username == 'demo-engineering')).one()
            actor = Actor(manager.id or 0)
            conn = raw_connection(url)
            try:
                print(f'\n(a) balances for a department with 5 work centers ({machine_note()})')
                svc_totals, raw_totals = bench_totals(db, conn, actor, args.runs)
                prefix = f'PO-{local_today().year}-'
                results = [
                    bench_search(db, conn, actor, case, args.runs, args.full_plans) for case in search_cases(db, prefix)
                ]
            finally:
                conn.close()
        finally:
            db.dispose()

    print(f'\n{machine_note()}')
    print(f'load of {args.movements:,} movements (demo bulk path, incl. balances, VACUUM ANALYZE): {load_s:.1f} s')
    print('\n(a) balances of 5 work centers')
    print_table(
        ['', 'runs', 'p50 ms', 'p95 ms'],
        [[t.label, t.ops, t.p50, t.p95] for t in (svc_totals, raw_totals)],
    )
    ratio = svc_totals.p50 / raw_totals.p50 if raw_totals.p50 else 0.0
    print(ratio_line('service/raw p50', ratio, f'≤ {TOTALS_GOAL_RATIO:.0f}×', ratio <= TOTALS_GOAL_RATIO))
    print('\n(b) movement search, limit 500, p50 ms. search: search_movements(with_totals=False), the rows the Reports')
    print('    page shows as soon as they come; totals after: movement_totals, the totals line it fills in next;')
    print('    one call: both at once (the REST API); raw same: the SQL of the search (probe, bound, rows) replayed')
    print('    through psycopg2; raw rows: its rows query alone; raw totals: the totals query; unbounded: the rows')
    print('    query as it was before the newest-first bound (ledger/newest_first.py); on PostgreSQL probe and')
    print('    bound are subqueries of the rows query, so raw same = raw rows. Goal: search p50 ≤ 25 ms.')
    print_table(
        [
            'case',
            'rows',
            'matches',
            'runs',
            'search',
            'p95',
            'totals after',
            'one call',
            'raw same',
            'raw rows',
            'raw totals',
            'unbounded',
            'goal',
        ],
        [
            [
                r.case.label,
                r.rows,
                r.total,
                r.service_no_totals.ops,
                r.service_no_totals.p50,
                r.service_no_totals.p95,
                r.totals_after.p50,
                r.service.p50,
                r.raw_search.p50,
                r.raw_rows.p50,
                r.raw_totals.p50,
                r.raw_unbounded.p50,
                'met' if r.service_no_totals.p50 <= SEARCH_GOAL_MS else 'NOT met',
            ]
            for r in results
        ],
    )
    print(f'\nwhole bench: {time.monotonic() - started:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
