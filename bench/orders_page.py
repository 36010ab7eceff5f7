"""The orders page at 100,000 orders and 1,000,000 movements on PostgreSQL: `list_orders` for typical views.

    python bench/orders_page.py [--url postgresql://postgres@127.0.0.1:5432/test] [--orders 100000]
                                [--movements 1000000] [--runs 30] [--full-plans] [--keep | --filled URL]
    (or python -m bench.orders_page …)

Issue 14's target: the orders page's p50 ≤ 50 ms at 100,000 orders and 1,000,000 movements. On a fresh
scratch database (dropped at the end unless --keep): the demo's bulk path loads the movements and books
its own orders (all open); older orders (two years back, most closed, some cancelled, a few still open and
so late, a few without a due date) top the book up to --orders with one INSERT … SELECT; then VACUUM
ANALYZE. The fill prints its progress and takes a few minutes; the measuring two or three. --filled
measures a database a --keep run left (to try an index by hand, say), without filling or dropping it.

Each view is `list_orders` (a page of 50, as the page asks) by a department's manager: p50 and p95 over
--runs calls (fewer when a call is slow, so the run stays bounded), and the p50 of each part of a call,
timed on the engine's cursor: the user and their work centers, the count, the page, the progress query on
order_balance, and the rest (the Python around them: session, SQLAlchemy, building the rows). The
baseline is the least the page needs: the first 50 orders by due date, `SELECT * FROM order_header ORDER
BY due_date, order_number LIMIT 50` in plain psycopg2; "raw" is the SQL the service sent for the view
(but the user's), replayed in plain psycopg2. Both are called in turn with the view's calls, so that the
machine's load weighs on all three alike. The plans of each view's count and page queries are printed
(EXPLAIN ANALYZE, BUFFERS; the telling lines unless --full-plans).
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python bench/orders_page.py
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
    scratch_database,
    timed,
)
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import User
from potrack.ops.demo.loader import run_demo
from potrack.orders.listing import OrderFilter, list_orders
from potrack.timeutil import local_today

GOAL_MS = 50.0
PAGE_SIZE = 50  # pages/orders/page.py's
SERIES_BUDGET_S = 8.0  # per view: slow views get fewer runs (at least 5)
PLAN_KEEP = ('Scan', 'Sort', 'Limit', 'Aggregate', 'Rows Removed', 'Index Cond', 'Filter', 'Buffers', 'Gather')
BASELINE_SQL = 'SELECT * FROM order_header ORDER BY due_date, order_number LIMIT 50'
PARTS = ('user & scope', 'count', 'page', 'progress', 'rest')  # rest: the Python around the statements

# The older orders of the book: numbers PO-<year>-NNNNNN of the two years before the demo's, due within
# their year; 90 % closed, 5 % cancelled, 5 % still open (and so late), one in 33 without a due date.
TOP_UP = """
INSERT INTO order_header (order_number, product_code, product_description, planned_quantity, due_date, route,
                          status, source, notes, created_at, updated_at)
SELECT 'PO-' || y || '-' || lpad(n::text, 6, '0'),
       'ITEM-' || lpad((g % 250)::text, 4, '0'),
       (ARRAY['Gear housing', 'Drive shaft', 'Flange', 'Hinge pin', 'Base plate', 'Spacer ring', 'Cover',
              'Bracket', 'Bearing cap', 'Valve body', 'Pump impeller', 'Coupling'])[1 + g % 12]
           || ' size ' || (g % 40) || ' – Ø ' || (10 + g % 90) || ' mm',
       100 + g % 900,
       CASE WHEN g % 33 = 0 THEN NULL ELSE make_date(y, 1, 1) + (g * 7919) % 365 END,
       'WC001>WC002>WC003>WC004>WC005',
       CASE WHEN g % 20 = 0 THEN 'cancelled' WHEN g % 20 = 1 THEN 'open' ELSE 'closed' END,
       'imported', CASE WHEN g % 17 = 0 THEN 'rush' ELSE '' END, now(), now()
FROM (SELECT g, :year - 1 - (g - 1) / :per_year AS y, 1 + (g - 1) % :per_year AS n
      FROM generate_series(1, :count) AS g) AS s
"""


@dataclass
class View:
    label: str
    flt: OrderFilter
    offset: int = 0


@dataclass
class Result:
    view: View
    rows: int
    total: int
    service: Timings
    parts_ms: dict[str, float]  # p50 of each part, by PARTS
    raw: Timings
    baseline: Timings  # measured in turn with the view's calls
    plans: dict[str, list[str]] = field(default_factory=dict)


class StatementClock:
    """Times every statement the engine sends while active, by the part of list_orders it belongs to."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sent: list[tuple[str, str, Any]] = []  # (part, sql, parameters) of the last call
        self.calls: list[dict[str, float]] = []  # per call: seconds by part

    def __enter__(self) -> StatementClock:
        event.listen(self.db.engine, 'before_cursor_execute', self._before)
        event.listen(self.db.engine, 'after_cursor_execute', self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.db.engine, 'before_cursor_execute', self._before)
        event.remove(self.db.engine, 'after_cursor_execute', self._after)

    def call(self, fn: Callable[[], Any]) -> Any:
        self.sent = []
        self.calls.append(defaultdict(float))
        started = time.perf_counter()
        result = fn()
        spent = self.calls[-1]
        spent['rest'] = time.perf_counter() - started - sum(spent.values())
        return result

    @staticmethod
    def part(sql: str) -> str:
        if 'order_header' in sql:  # (a filter may read order_balance too)
            return 'count' if 'count(*)' in sql else 'page'
        return 'progress' if 'order_balance' in sql else 'user & scope'

    def _before(self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        conn.info['bench_started'] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        part = self.part(sql)
        if self.calls:
            self.calls[-1][part] += time.perf_counter() - conn.info.pop('bench_started')
        self.sent.append((part, sql, params))

    def p50_ms(self) -> dict[str, float]:
        return {p: statistics.median(c.get(p, 0.0) for c in self.calls) * 1000 for p in PARTS}


def fill(db: Database, url: str, orders: int, movements: int) -> float:
    """The demo's movements and orders, then older orders up to `orders`; VACUUM ANALYZE. Returns seconds."""
    started = time.monotonic()
    run_demo(db, movements=movements, fast=True, out=lambda s: print('  demo: ' + s, flush=True), seed=20261207)
    with db.engine.connect() as conn:
        booked = conn.execute(text('SELECT count(*) FROM order_header')).scalar_one()
    missing = max(0, orders - booked)
    print(f'  the demo booked {booked:,} orders; adding {missing:,} older ones …', flush=True)
    if missing:
        with db.engine.begin() as conn:
            conn.execute(text(TOP_UP), {'year': local_today().year, 'per_year': (missing + 1) // 2, 'count': missing})
    conn = raw_connection(url)
    try:
        conn.autocommit = True
        print('  VACUUM ANALYZE …', flush=True)
        conn.cursor().execute('VACUUM ANALYZE')
    finally:
        conn.close()
    return time.monotonic() - started


def views() -> list[View]:
    """The typical views: a first page, the searches the page offers, a status, late, a far page, a due range."""
    today = local_today()
    year, month = today.year, today.replace(day=1)  # the demo numbers its orders PO-<this year>-NNNNNN
    return [
        View('first page, no filter', OrderFilter()),
        View(f'prefix PO-{year}-01', OrderFilter(text=f'PO-{year}-01')),
        View(f'prefix PO-{year}-0123', OrderFilter(text=f'PO-{year}-0123')),
        View('contains "shaft"', OrderFilter(text='shaft', match='contains')),
        View('contains "42 mm"', OrderFilter(text='42 mm', match='contains')),
        View('status open', OrderFilter(status='open')),
        View('late only', OrderFilter(late_only=True)),
        View('page 1000, no filter', OrderFilter(), offset=999 * PAGE_SIZE),
        View(f'due {month:%d %b}–{today:%d %b %Y}', OrderFilter(due_from=month, due_to=today)),
        View(
            'status closed, due last year',
            OrderFilter(status='closed', due_from=date(today.year - 1, 1, 1), due_to=date(today.year - 1, 12, 31)),
        ),
    ]


def interleaved(labelled: dict[str, Callable[[], Any]], runs: int) -> dict[str, Timings]:
    """`runs` rounds calling each in turn (a change in the machine's load hits all alike), after one untimed
    round; fewer rounds (at least 5) when a round is slow, so the bench stays bounded."""
    first = sum(timed(fn)[1] for fn in labelled.values())
    n = max(5, min(runs, int(SERIES_BUDGET_S / max(first, 1e-6))))
    result = {label: Timings(label, []) for label in labelled}
    for _ in range(n):
        for label, fn in labelled.items():
            _, seconds = timed(fn)
            result[label].latencies.append(seconds)
            result[label].wall_s += seconds
    return result


def replay(conn: Any, statements: list[tuple[str, str, Any]]) -> Callable[[], None]:
    cur = conn.cursor()

    def run() -> None:
        for _, sql, params in statements:
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
    return [ln for ln in lines if any(k in ln for k in PLAN_KEEP)] + [ln for ln in lines if 'Execution Time' in ln]


def measure(db: Database, conn: Any, actor: Actor, view: View, runs: int, full_plans: bool) -> Result:
    def call() -> Any:
        return list_orders(actor, view.flt, offset=view.offset, limit=PAGE_SIZE, db=db)

    with StatementClock(db) as clock:
        page = clock.call(call)
        sent = clock.sent
        clock.calls.clear()
        timings = interleaved(
            {
                'service': lambda: clock.call(call),
                'raw': replay(conn, [s for s in sent if s[0] != 'user & scope']),
                'baseline': replay(conn, [('', BASELINE_SQL, None)]),
            },
            runs,
        )
        parts = clock.p50_ms()
    plans = {part: explain(conn, sql, params, full_plans) for part, sql, params in sent if part in ('count', 'page')}
    return Result(
        view, len(page.rows), page.total, timings['service'], parts, timings['raw'], timings['baseline'], plans
    )


def measure_all(db: Database, url: str, args: Any) -> tuple[list[Result], tuple[int, int]]:
    """Every view on a filled database; and (orders, movements) in it."""
    with db.read() as s:
        manager = s.exec(select(User).where(User.username == 'demo-engineering')).one()
    actor = Actor(manager.id or 0)
    conn = raw_connection(url)
    try:
        results = [measure(db, conn, actor, v, args.runs, args.full_plans) for v in views()]
    finally:
        conn.close()
    with db.engine.connect() as c:
        counts = c.execute(text('SELECT (SELECT count(*) FROM order_header), (SELECT count(*) FROM production_order)'))
        orders, movements = counts.one()
    return results, (orders, movements)


def print_results(results: list[Result], counts: tuple[int, int]) -> None:
    for r in results:
        print(f'\n--- {r.view.label}: {r.rows} rows of {r.total:,}')
        for part, lines in r.plans.items():
            print(f'  plan of the {part} query:')
            for line in lines:
                print('    ' + line)
    print(f'\n{counts[0]:,} orders in the book, {counts[1]:,} movements; {machine_note()}')
    print(f"baseline: {BASELINE_SQL} in psycopg2, in turn with each view's calls")
    headers = ['list_orders, page of 50', 'matches', 'runs', 'p50 ms', 'p95 ms', *(f'{p} p50' for p in PARTS)]
    print_table(
        [*headers, 'raw p50', 'baseline p50', '÷ baseline', 'goal'],
        [
            [
                r.view.label,
                r.total,
                r.service.ops,
                r.service.p50,
                r.service.p95,
                *(r.parts_ms[p] for p in PARTS),
                r.raw.p50,
                r.baseline.p50,
                f'{r.service.p50 / r.baseline.p50:.1f}',
                'met' if r.service.p50 <= GOAL_MS else 'NOT met',
            ]
            for r in results
        ],
    )
    worst = max(results, key=lambda r: r.service.p50)
    label = f'slowest view p50 ms ({worst.view.label})'
    print(ratio_line(label, worst.service.p50, f'≤ {GOAL_MS:g}', worst.service.p50 <= GOAL_MS))


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--orders', type=int, default=100_000, help='orders in the book (default 100,000)')
    parser.add_argument('--movements', type=int, default=1_000_000, help='movements to load (default 1,000,000)')
    parser.add_argument('--runs', type=int, default=30, help='timed calls per view (default 30)')
    parser.add_argument('--full-plans', action='store_true', help='print whole plans, not only the telling lines')
    parser.add_argument('--filled', help='measure this database, filled by a run with --keep (kept as it is)')
    args = parser.parse_args(argv)
    print(machine_note())
    with contextlib.ExitStack() as stack:
        url = args.filled or stack.enter_context(scratch_database(args.url, 'orders_page', keep=args.keep))
        db = Database(url, pool_size=2) if args.filled else prepared_database(url, pool_size=2)
        try:
            if not args.filled:
                fill_s = fill(db, url, args.orders, args.movements)
                print(f'filled in {fill_s:.0f} s; measuring ({machine_note()})', flush=True)
            results, counts = measure_all(db, url, args)
        finally:
            db.dispose()
    print_results(results, counts)
    return 0


if __name__ == '__main__':
    sys.exit(main())
