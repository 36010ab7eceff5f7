"""Balances and movement search at 100,000 or a million movements, each next to the best hand-written SQL.

    python bench/queries.py [--url postgresql://postgres@127.0.0.1:5432/test] [--movements 1000000] [--keep]
    python bench/queries.py --database bench_search_1m   (a database an earlier --keep run loaded: no load)
    (or python -m bench.queries …)

On a fresh scratch database (dropped at the end unless --keep) loaded through the demo's bulk path:
(a) `balances.work_center_totals` for a department that sees 5 work centers, against the same
    aggregation over order_balance in plain psycopg2 (goal, issue 19: service p50 ≤ 1.5× raw p50);
(b) `search.search_movements` (limit 500, newest first) for a sweep of order-number prefixes (from all
    orders to one) × date ranges, and the cases issue 19 names. Per case: the rows (what the Reports page
    waits for; goal p50 ≤ 25 ms, p99 ≤ 100 ms), `movement_totals` (the totals line it counts next; goal
    ≤ 50 ms), both in one call (the REST API's GET /movements; goal p50 ≤ 60 ms).

Baselines are the best hand-written psycopg2 SQL per case, not the service's SQL. For the rows, three
shapes each give the same rows (checked), and the fastest p50 of the case is the baseline:
  walk   ORDER BY created_at DESC, id DESC LIMIT 500, left to the planner (it walks the created_at index);
  sort   the same ordered by `created_at + interval '0'`: every match read through the
         (order_number text_pattern_ops, created_at) index, then a top-N sort;
  bound  the walk below `max(order_activity.last_movement_at) + slack` of the prefix, read first (2 statements).
For the totals: the plain count and sums over the same conditions, the best hand-written count over the ledger
itself (the service adds up the tallies the ledger keeps instead, ledger/totals.py: whole hours, whole
(work center, order) pairs and the movements a range's ends cut through; "same" checks it gives the plain
count's numbers, case by case). Raw and service calls are interleaved
round by round (each round calls every contender once), so a load spike hits both sides alike; a raw
shape more than 10× slower than the best after 3 rounds leaves the race (it cannot be the best).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python bench/queries.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
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
from potrack.common.actors import Actor, load_user, scoped_work_center_ids
from potrack.config import normalize_database_url
from potrack.db import Database
from potrack.db.models import User
from potrack.ledger.balances import work_center_totals
from potrack.ledger.newest_first import BOUND_SLACK
from potrack.ledger.search import MovementFilter, movement_totals, search_movements
from potrack.ops.demo.loader import run_demo
from potrack.timeutil import day_range_utc, local_today, to_local

SEARCH_P50_GOAL_MS = 25.0
SEARCH_P99_GOAL_MS = 100.0
TOTALS_GOAL_MS = 50.0
ONE_CALL_GOAL_MS = 60.0
BALANCES_GOAL_RATIO = 1.5  # issue 19, item 4 (it was 2 before)
CASE_BUDGET_S = 4.0  # per case, all contenders together: slow cases get fewer rounds (at least 5)
MIN_ROUNDS = 5
DROP_AFTER_ROUNDS = 3
DROP_FACTOR = 10.0
LIMIT = 500
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


@dataclass
class Contender:
    label: str
    fn: Callable[[], Any]
    raw: bool = False  # a raw shape that may leave the race
    latencies: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def timings(self) -> Timings:
        return Timings(self.label, self.latencies, sum(self.latencies))


def race(contenders: list[Contender], runs: int) -> None:
    """Rounds in which every contender runs once (after one untimed warm-up each), up to `runs` rounds or
    CASE_BUDGET_S; raw shapes far behind the best raw shape of their group leave after DROP_AFTER_ROUNDS."""
    for c in contenders:
        c.result = c.fn()
    started = time.monotonic()
    rounds = 0
    while rounds < runs and (rounds < MIN_ROUNDS or time.monotonic() - started < CASE_BUDGET_S):
        for c in contenders:
            if c.raw and rounds >= DROP_AFTER_ROUNDS and _far_behind(c, contenders):
                continue
            _, seconds = timed(c.fn)
            c.latencies.append(seconds)
        rounds += 1


def _far_behind(c: Contender, contenders: list[Contender]) -> bool:
    group = c.label.split(':')[0]
    best = min(x.timings.p50 for x in contenders if x.raw and x.label.split(':')[0] == group)
    return c.timings.p50 > DROP_FACTOR * max(best, 1.0)


def best_raw(contenders: list[Contender], group: str) -> Contender:
    return min((c for c in contenders if c.raw and c.label.startswith(group + ':')), key=lambda c: c.timings.p50)


def explain(conn: Any, sql: str, params: Any, full: bool) -> list[str]:
    cur = conn.cursor()
    cur.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)
    lines = [r[0] for r in cur.fetchall()]
    conn.rollback()
    if full:
        return lines
    keep = [ln for ln in lines if any(k in ln for k in PLAN_KEEP) and 'Memoize' not in ln and 'pkey' not in ln]
    return keep + [ln for ln in lines if ln.startswith('Execution Time')]


def statement(conn: Any, sql: str, params: Any) -> Callable[[], list[Any]]:
    cur = conn.cursor()

    def run() -> list[Any]:
        cur.execute(sql, params)
        rows = cur.fetchall()
        conn.rollback()
        return rows

    return run


def bench_balances(db: Database, conn: Any, actor: Actor, runs: int) -> tuple[Timings, Timings]:
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
    service = Contender('work_center_totals (service)', lambda: work_center_totals(actor, db=db))
    raw = Contender('same aggregation, raw SQL', statement(conn, sql, {'ids': ids}))
    race([service, raw], runs)
    return service.timings, raw.timings


@dataclass
class SearchCase:
    label: str
    flt: MovementFilter
    show_plan: bool = False
    user: str = 'demo-engineering'  # sees every work center; demo-quality-control sees WC005 only


# The hand-written rows query (psycopg2 parameters): `{key}` and `{bound}` make the three shapes.
RAW_ROWS = """
SELECT po.id, po.created_at, po.order_number, po.work_center_id, wc.code, wc.name, po.movement_type,
       po.quantity, po.user_id, u.username, u.full_name, d.name, po.reverses_id, po.reason
FROM production_order po JOIN work_center wc ON wc.id = po.work_center_id
     JOIN "user" u ON u.id = po.user_id LEFT JOIN department d ON d.id = u.department_id
WHERE po.work_center_id IN %(ids)s {where} {bound}
ORDER BY {key} DESC, po.id DESC LIMIT %(limit)s"""
RAW_TOTALS = """
SELECT count(*), coalesce(sum(CASE WHEN movement_type = 'IN' THEN quantity ELSE 0 END), 0),
       coalesce(sum(CASE WHEN movement_type = 'OUT' THEN quantity ELSE 0 END), 0)
FROM production_order po WHERE po.work_center_id IN %(ids)s {where}"""
RAW_NEWEST = 'SELECT max(last_movement_at) + %(slack)s FROM order_activity WHERE order_number LIKE %(p)s'


def raw_contenders(conn: Any, ids: tuple[int, ...], flt: MovementFilter) -> list[Contender]:
    start, end = day_range_utc(flt.date_from, flt.date_to)
    params: dict[str, Any] = {'ids': ids, 'limit': LIMIT, 'p': flt.order + '%', 's': start, 'e': end}
    where = ' '.join(
        cond
        for cond, on in (
            ('AND po.order_number LIKE %(p)s', bool(flt.order)),
            ('AND po.created_at >= %(s)s', start is not None),
            ('AND po.created_at < %(e)s', end is not None),
        )
        if on
    )
    walk = statement(conn, RAW_ROWS.format(where=where, bound='', key='po.created_at'), params)
    shapes = [Contender('rows:walk', walk, raw=True)]
    if flt.order:
        sort_key = "po.created_at + interval '0'"
        shapes.append(
            Contender(
                'rows:sort', statement(conn, RAW_ROWS.format(where=where, bound='', key=sort_key), params), raw=True
            )
        )
        bounded = RAW_ROWS.format(where=where, bound='AND po.created_at <= %(b)s', key='po.created_at')
        cur = conn.cursor()

        def bound() -> list[Any]:
            cur.execute(RAW_NEWEST, {'slack': BOUND_SLACK, 'p': flt.order + '%'})
            newest = cur.fetchone()[0]
            cur.execute(bounded, {**params, 'b': newest or datetime.max})
            rows = cur.fetchall()
            conn.rollback()
            return rows

        shapes.append(Contender('rows:bound', bound, raw=True))
    totals = Contender('totals:plain', statement(conn, RAW_TOTALS.format(where=where), params), raw=True)
    return [*shapes, totals]


def named_flt(prefix: str, digits: str, date_from: date | None, date_to: date | None) -> MovementFilter:
    return MovementFilter(order=prefix + digits, date_from=date_from, date_to=date_to)


def search_cases(db: Database, prefix: str) -> list[SearchCase]:
    """Issue 19's cases, then a sweep: prefixes of 0–6 digits cut from the number of an order a quarter of the
    way into the data (older than most, so a prefix selects a block of orders from the same few days, as real
    sequential numbers do) × no range, the last 7 and 30 days, the block's first 3 days and the day before."""

    def one(sql: str, p: str) -> Any:
        with db.read() as s:
            return s.connection().execute(text(sql), {'p': p + '%'}).one()

    last = int(one('SELECT MAX(order_number) FROM order_balance WHERE order_number LIKE :p', prefix)[0][len(prefix) :])
    digits = f'{max(1, last // 4):06d}'
    born = to_local(one('SELECT MIN(created_at) FROM production_order WHERE order_number LIKE :p', prefix + digits)[0])
    today = local_today()
    year = today.year
    issue = [
        (f'{prefix}0129 + 16–19 Nov', named_flt(prefix, '0129', date(year, 11, 16), date(year, 11, 19))),
        (f'{prefix}00 + last 30 days', named_flt(prefix, '00', today - timedelta(days=30), today)),
        (f'{prefix} + last 7 days', named_flt(prefix, '', today - timedelta(days=6), None)),
    ]
    named = [
        *(SearchCase(label, flt, show_plan=True) for label, flt in issue),
        SearchCase('no filter (newest of all)', MovementFilter(), show_plan=True),
        # A scope of one work center: the newest match comes from its balance rows, the walk skips 4 rows in 5.
        *(
            SearchCase(f'{label}, WC005 only', flt, user='demo-quality-control')
            for label, flt in [*issue[:2], (f'{prefix}01', named_flt(prefix, '01', None, None))]
        ),
    ]
    ranges: list[tuple[str, date | None, date | None]] = [
        ('', None, None),
        (' + last 7 days', today - timedelta(days=6), None),
        (' + last 30 days', today - timedelta(days=30), today),
        (f' + {born:%d %b}–{born + timedelta(days=2):%d %b}', born.date(), born.date() + timedelta(days=2)),
        (f' + {born - timedelta(days=1):%d %b}', born.date() - timedelta(days=1), born.date() - timedelta(days=1)),
    ]
    sweep = [
        SearchCase(f'{prefix + digits[:n]}{label}', MovementFilter(order=prefix + digits[:n], date_from=lo, date_to=hi))
        for n in range(7)
        for label, lo, hi in ranges
    ]
    return named + [c for c in sweep if c.label not in {n.label for n in named}]


@dataclass
class SearchResult:
    case: SearchCase
    rows: int
    total: int
    rounds: int
    search: Timings
    totals_after: Timings
    one_call: Timings
    raw_rows: Contender
    raw_totals: Contender
    same: bool

    @property
    def met(self) -> bool:
        return (
            self.search.p50 <= SEARCH_P50_GOAL_MS
            and self.search.p(99) <= SEARCH_P99_GOAL_MS
            and self.totals_after.p50 <= TOTALS_GOAL_MS
            and self.one_call.p50 <= ONE_CALL_GOAL_MS
        )


def bench_search(db: Database, conn: Any, case: SearchCase, runs: int, full_plans: bool) -> SearchResult:
    with db.read() as session:
        actor = Actor(session.exec(select(User.id).where(User.username == case.user)).one() or 0)
        ids = tuple(sorted(scoped_work_center_ids(session, load_user(session, actor), None)))
    flt = case.flt

    search = Contender('search', lambda: search_movements(actor, flt, limit=LIMIT, with_totals=False, db=db))
    totals = Contender('totals after', lambda: movement_totals(actor, flt, db=db))
    one_call = Contender('one call', lambda: search_movements(actor, flt, limit=LIMIT, db=db))
    raws = raw_contenders(conn, ids, flt)
    race([search, totals, one_call, *raws], runs)
    rows, total = best_raw(raws, 'rows'), best_raw(raws, 'totals')
    page = one_call.result
    same = (
        [r.id for r in page.rows] == [r[0] for r in rows.result]
        and all(
            [r.id for r in search.result.rows] == [x[0] for x in c.result] for c in raws if c.label.startswith('rows')
        )
        and (page.totals.count, page.totals.qty_in, page.totals.qty_out) == tuple(total.result[0])
        and page.totals == totals.result
    )
    print(
        f'--- {case.label}: {len(page.rows)} rows of {page.totals.count:,}; best raw {rows.label}'
        f'{"" if same else "   ROWS OR TOTALS DIFFER FROM THE RAW SQL"}',
        flush=True,
    )
    if case.show_plan or full_plans:
        with Capture(db) as cap:
            search_movements(actor, flt, limit=LIMIT, with_totals=False, db=db)
        for sql, params in cap.statements:
            if 'production_order' in sql and 'work_center.id' not in sql[:40]:
                print('  plan of: ' + ' '.join(sql.split())[:100] + ' …')
                for line in explain(conn, sql, params, full=full_plans):
                    print('    ' + line)
    return SearchResult(
        case,
        len(page.rows),
        page.totals.count,
        search.timings.ops,
        search.timings,
        totals.timings,
        one_call.timings,
        rows,
        total,
        same,
    )


def print_results(results: list[SearchResult]) -> None:
    print(
        '\n(b) movement search, limit 500, ms. search: search_movements(with_totals=False), the rows the Reports page'
    )
    print('    shows as they come; raw rows: the best hand-written shape of the case (walk / sort / bound, see the')
    print('    docstring); totals after: movement_totals, the totals line counted next; raw totals: the plain count;')
    print('    one call: rows and totals at once (the REST API). Raw and service interleaved round by round.')
    print(
        f'    Goals: search p50 ≤ {SEARCH_P50_GOAL_MS:.0f}, p99 ≤ {SEARCH_P99_GOAL_MS:.0f}; totals after p50 ≤ '
        f'{TOTALS_GOAL_MS:.0f}; one call p50 ≤ {ONE_CALL_GOAL_MS:.0f}.'
    )
    headers = [
        'case',
        'matches',
        'rounds',
        'search',
        'p99',
        'raw rows',
        'p99',
        'shape',
        'totals after',
        'raw totals',
        'one call',
        'p99',
        'same',
        'goals',
    ]
    print_table(
        headers,
        [
            [
                r.case.label,
                r.total,
                r.rounds,
                r.search.p50,
                r.search.p(99),
                r.raw_rows.timings.p50,
                r.raw_rows.timings.p(99),
                r.raw_rows.label.split(':')[1],
                r.totals_after.p50,
                r.raw_totals.timings.p50,
                r.one_call.p50,
                r.one_call.p(99),
                'yes' if r.same else 'NO',
                'met' if r.met else 'NOT met',
            ]
            for r in results
        ],
    )
    worst = max(results, key=lambda r: r.search.p50)
    print(
        f'\nworst search p50: {worst.search.p50:.1f} ms ({worst.case.label}); '
        f'max search p99: {max(r.search.p(99) for r in results):.1f} ms; '
        f'max totals after p50: {max(r.totals_after.p50 for r in results):.1f} ms; '
        f'max one call p50: {max(r.one_call.p50 for r in results):.1f} ms'
    )
    print(
        f'cases meeting every goal: {sum(r.met for r in results)} of {len(results)}; '
        f'same rows and totals as the raw SQL: {sum(r.same for r in results)} of {len(results)}'
    )


def run(url: str, args: Any, load: bool) -> None:
    db = prepared_database(url, pool_size=2) if load else Database(url, pool_size=2)
    try:
        if load:
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
            count = s.connection().execute(text('SELECT count(*) FROM production_order')).scalar_one()
        print(f'{count:,} movements in the ledger')
        actor = Actor(manager.id or 0)
        conn = raw_connection(url)
        try:
            print(f'\n(a) balances for a department with 5 work centers ({machine_note()})')
            svc, raw = bench_balances(db, conn, actor, 4 * args.runs)  # a few ms a call: more rounds, steadier p50
            prefix = f'PO-{local_today().year}-'
            cases = search_cases(db, prefix)
            results = [bench_search(db, conn, case, args.runs, args.full_plans) for case in cases]
        finally:
            conn.close()
    finally:
        db.dispose()
    print(f'\n{machine_note()}   ({count:,} movements)')
    print('\n(a) balances of 5 work centers')
    print_table(['', 'runs', 'p50 ms', 'p95 ms'], [[t.label, t.ops, t.p50, t.p95] for t in (svc, raw)])
    ratio = svc.p50 / raw.p50 if raw.p50 else 0.0
    print(ratio_line('service/raw p50', ratio, f'≤ {BALANCES_GOAL_RATIO:g}×', ratio <= BALANCES_GOAL_RATIO))
    print_results(results)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--movements', type=int, default=1_000_000, help='movements to load (default 1,000,000)')
    parser.add_argument('--runs', type=int, default=30, help='rounds per case at most (default 30)')
    parser.add_argument('--database', help='bench this already loaded database on the --url server; no load, no drop')
    parser.add_argument('--full-plans', action='store_true', help='print whole plans of every case')
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(machine_note())
    if args.database:
        run(make_url(normalize_database_url(args.url)).set(database=args.database).render_as_string(False), args, False)
    else:
        with scratch_database(args.url, 'queries', keep=args.keep) as url:
            run(url, args, True)
    print(f'\nwhole bench: {time.monotonic() - started:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
