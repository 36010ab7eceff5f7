"""Recording IN/OUT: `record_movement` as it is now, against the write path before a change and the raw transaction.

    python bench/record.py [--url postgresql://postgres@127.0.0.1:5432/test] [--ops 2000] [--threads 8]
                           [--book-orders 100000] [--issue {15,14}] [--before REV] [--no-sqlite] [--keep]
    (or python -m bench.record …)

--issue 15 (the default), the flow between work centers: recording with the route check and the transit
update costs ≤ 1.15× the record path before it, on 1 connection and from 8 threads. The orders recorded have
the route WC001>WC002>WC003 and a planned quantity of a million, and each is moved as bench/record_runs.py's
FLOW plan says: IN 2 at WC001 (bounded by the planned quantity), OUT 1 sent on (into transit to WC002),
IN 1 at WC002 (taken out of that transit, bounded by it), OUT 1 sent on (into transit to WC003).
--issue 14, the order book: recording with the order look-up costs ≤ 1.1× the path before the book; orders
without a route, IN 2 then OUT 1 at WC001 (the IN_OUT plan).

Measured in one run, on a fresh scratch PostgreSQL database (dropped at the end unless --keep), then on an
SQLite file in a temporary folder; each has --book-orders orders in the book besides the ones recorded, and
the site's unknown-order policy 'refuse', so that every write reads the book (the orders recorded are open in
it). The sides, all recording the same operations on orders of their own:
- now (flow, or order book): `record_movement` as it is now;
- before: the write path before the issue's change: potrack/ledger/{statements,steps,writer}.py of git
  revision --before (default: the parent of the first commit whose statements.py has the issue's mark,
  bench/ledger_before.MARKS; HEAD while it is not committed), loaded under another module name by
  bench/ledger_before.py, on a pool of its own. It ignores routes, and records OUTs without a disposition;
- first statement alone: the write's first statement (PostgreSQL: check + lock; SQLite: the check, and today
  the balance row and the order's activity time read with it), before and now, each as its ledger runs it,
  each call rolled back: the change's share without the commit's wait for the disk, which is most
  of a movement's time and most of the noise between runs;
- raw (PostgreSQL): one psycopg2 connection doing the bare write path: INSERT … ON CONFLICT DO NOTHING of
  the balance row, SELECT … FOR UPDATE, INSERT of the movement, UPDATE of the balance, COMMIT (no book, no
  transit); and the same with the ledger's pg_notify inside the transaction ("raw + NOTIFY");
- best raw (PostgreSQL; the strongest raw, issue 19): the same locked, refuse-if-negative write in 2 round trips,
  one statement (the balance added to where it stays ≥ 0, inserted for a first IN, and the movement inserted only
  if that row came back: record_sides.BEST_RAW; BEGIN sent along with it, not as psycopg2's round trip of its
  own) and COMMIT, no NOTIFY. Issue 19's lines compare throughput:
  today from N threads ÷ best raw from N threads (≥ 0.6), today from N threads ÷ today on 1 connection (≥ 1.5),
  today on 1 connection ÷ best raw on 1 connection (≥ 0.7; these two take turns call by call).
- today's statements alone (PostgreSQL): the ledger's two prepared statements replayed on a psycopg2 connection
  without potrack's Python (record_sides.statements_op: the parameters record_movement sent for each move of
  the plan on one order, with this order, a new request id and the movement id drawn); beside the best raw
  write, on 1 connection and from threads: the ceiling any change on the client's side could reach.
- raw sqlite3, same work (SQLite; the strongest raw for issue 19's item 2, in the issue's words "raw sqlite3
  doing the same work"): record_sides.raw_sqlite_same_op, the best hand-written sqlite3 code for what today's
  path does (its checks read in one statement, the same rules in Python, the movement, the balance upsert,
  the transit, the activity time when a step behind). Issue 19's line: today ÷ it, throughput (≥ 0.6).
- raw sqlite3, bare write (SQLite): record_sides.raw_sqlite_op, the bare write path without the checks or the
  flow, printed beside it as the stricter ratio.
Each runs on 1 connection (one call after the other) and from N threads on a pool of N connections, the
sides compared taking turns (in pairs call by call on one connection, the raw transaction paired with today's
path; from threads every side in the same rounds, the raw ones too: bench/record_runs.py); the run takes a
minute or two. The
ratio "now ÷ before" is of the time per movement (wall seconds / movements), with its range over the rounds,
then the ratio of the p50 latencies (less moved by other processes' bursts), of this process's CPU and, on
PostgreSQL, of the CPU the sides' server processes used (read from /proc: the server runs on this machine),
and of both CPUs together: what the change costs whatever else the machine is doing. The
service does more than the raw transaction (loads the acting user, checks the work center is visible to the
user's department, reads the order book, the policies and the transit, looks up the request id, keeps the
transit and the order's activity, sends a NOTIFY); the ratio service/raw says what that and SQLAlchemy cost.
Afterwards `check_consistency` judges the ledger (the routes of the sides that ignore them cleared first).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

if __package__ in (None, ''):  # run as a script: python bench/record.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.common import (
    base_parser,
    database_backends,
    machine_note,
    prepared_database,
    print_table,
    ratio_line,
    raw_connection,
    scratch_database,
)
from bench.ledger_before import MARKS, default_revision, load_writer
from bench.record_runs import FLOW, IN_OUT, Maker, Op, Plan, Series, order_numbers, round_ratios, sequential, threaded
from bench.record_sides import (
    Templates,
    adopt_raw_orders,
    best_raw_op,
    book,
    captured_statements,
    raw_op,
    raw_sqlite_connection,
    raw_sqlite_op,
    raw_sqlite_same_op,
    service_op,
    setup,
    statements_op,
    unroute,
)
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.ledger.integrity import check_consistency
from potrack.ledger.statements import ENTRY_AND_LOCK_PG, SQLITE_ENTRY

ALONE = 'first statement alone'
CAPTURED = 'CAPTURE-000'  # the order whose statements' parameters the statements-alone side replays


@dataclass(frozen=True)
class Target:
    """An issue's goal for the record path: today's side, its ratio to the path before, what is recorded."""

    now: str  # today's side, as the tables name it
    goal: float  # now ÷ before, time per movement, at most
    plan: Plan
    route: str = ''  # of the orders recorded
    planned: int | None = None


TARGETS = {
    15: Target('flow', 1.15, FLOW, 'WC001>WC002>WC003', 1_000_000),
    14: Target('order book', 1.1, IN_OUT),
}


@dataclass(frozen=True)
class Run:
    """One run's choices: the command line, the issue's target and the older ledger's writer."""

    args: Any
    target: Target
    writer: ModuleType


Comparison = tuple[str, Series, Series]  # what, before, now


def entry_statements(url: str, run: Run, actor: Actor, centers: tuple[int, ...]) -> dict[str, Series]:
    """The write's first statement alone, before and now, on one connection, each call rolled back."""
    db = Database(url, pool_size=1)
    old = run.writer.statements
    base = {'session_id': '', 'user_id': actor.user_id, 'rid': 'none', 'reason_id': None, 'rework_to': None}

    def params(order: str, kind: str, step: int) -> dict[str, Any]:
        return {**base, 'order': order, 'mtype': kind, 'work_center_id': centers[step]}

    if db.is_postgres:
        runs = {
            'BEFORE': lambda conn, p: old.ENTRY_AND_LOCK_PG.first(conn, p),
            'NOW': lambda conn, p: ENTRY_AND_LOCK_PG.first(conn, p),
        }
    else:
        runs = {  # each as its ledger runs it: the one before through SQLAlchemy, today's on the cursor
            'BEFORE': lambda conn, p: conn.execute(old.ENTRY_QUERY, p).first(),
            'NOW': lambda conn, p: SQLITE_ENTRY.first(conn, p),
        }
    try:
        with db.engine.connect() as conn:

            def alone(statement: Any) -> Op:
                def op(order: str, kind: str, qty: int, step: int = 0) -> None:
                    statement(conn, params(order, kind, step))
                    conn.rollback()

                return op

            labels = {'BEFORE': f'{ALONE}, before', 'NOW': f'{ALONE}, {run.target.now}'}
            # Five times as many: a call is a twentieth of a movement, and the difference sought a few µs.
            phases = {key: (labels[key], alone(statement)) for key, statement in runs.items()}
            return sequential(phases, 5 * run.args.ops, run.args.max_seconds, run.target.plan)
    finally:
        db.dispose()


def raw_makers(
    url: str, actor: Actor, centers: tuple[int, ...], n: int, conns: list[Any], alone: tuple[Templates, Plan]
) -> dict[str, tuple[str, Maker]]:
    """The raw psycopg2 sides from N threads (each thread its own connection, kept in `conns` to be closed), and
    today's statements alone (`alone`: their captured parameters and the plan)."""

    def make(op: Callable[..., Op], **kwargs: Any) -> Maker:
        def made() -> Op:
            conns.append(raw_connection(url))
            return op(conns[-1], centers, actor.user_id, **kwargs)

        return made

    def statements(conn: Any, *_: Any) -> Op:
        return statements_op(conn, alone[0], CAPTURED, alone[1])

    return {
        'RAW': (f'raw psycopg2, {n} threads', make(raw_op)),
        'RAWN': (f'raw + NOTIFY, {n} threads', make(raw_op, notify=True)),
        'BESTRAW': (f'best raw (2 round trips), {n} threads', make(best_raw_op)),
        'STMTS': (f"today's statements alone, {n} threads", make(statements)),
    }


def watcher(url: str) -> Any:
    """A psycopg2 connection (autocommit) that lists the other connections' server processes."""
    conn = raw_connection(url)
    conn.autocommit = True
    return conn


def backend_pid(db: Database) -> list[int]:
    """The server process of the one connection `record_movement` writes on (PostgreSQL: the ledger's pool,
    write_core's), as a list; [] on SQLite."""
    if not db.is_postgres:
        return []
    with db.ledger_engine.connect() as conn:
        return [conn.exec_driver_sql('SELECT pg_backend_pid()').scalar_one()]


def measure(url: str, run: Run) -> tuple[list[Series], list[Comparison], bool]:
    """Every phase on one database: (the table's rows, the before/now pairs, consistent afterwards)."""
    args, target = run.args, run.target
    setup_db = prepared_database(url, pool_size=1)
    postgres = setup_db.is_postgres
    actor, centers = setup(setup_db)
    if postgres:
        keys: tuple[str, ...] = ('NOW', 'NOW2', 'BEFORE', 'RAW', 'RAWN', 'BESTRAW', 'BESTRAW2', 'STMTS')
    else:
        keys = ('NOW', 'NOW2', 'BEFORE', 'RAW', 'SAME')
    numbers = [n for key in keys for n in order_numbers(key, args.threads, target.plan)]
    book(setup_db, [*numbers, CAPTURED], args.book_orders, route=target.route, planned=target.planned)
    templates = captured_statements(setup_db, actor, centers, CAPTURED, target.plan) if postgres else []
    setup_db.dispose()

    single, versus_raw = one_connection(url, run, actor, centers, templates)

    n = args.threads
    pools = [Database(url, pool_size=n), Database(url, pool_size=n)]
    watch = watcher(url) if postgres else None
    conns: list[Any] = []
    try:
        makers: dict[str, tuple[str, Maker]] = {
            'BEFORE': (f'before, {n} threads', lambda: service_op(pools[0], actor, centers, run.writer)),
            'NOW': (f'{target.now}, {n} threads', lambda: service_op(pools[1], actor, centers)),
        }
        if postgres:  # the raw sides take their turns in the same rounds (issue 19, item 6)
            makers |= raw_makers(url, actor, centers, n, conns, (templates, target.plan))
        backends = (lambda: database_backends(watch)) if watch else None
        many = threaded(makers, n, args.ops, args.max_seconds, target.plan, backends)
    finally:
        if watch:
            watch.close()
        for conn in conns:
            conn.close()
        for pool in pools:
            pool.dispose()
    alone = entry_statements(url, run, actor, centers)
    rows = [*single.values(), *versus_raw.values(), *many.values(), *alone.values()]
    if postgres:
        scaling({**single, **versus_raw}, many)

    consistent = judge(url, keys, target)
    compared = [
        ('1 connection', single['BEFORE'], single['NOW']),
        (f'{n} threads', many['BEFORE'], many['NOW']),
        (ALONE, alone['BEFORE'], alone['NOW']),
    ]
    if versus_raw:  # the bare raw write took turns with NOW on PostgreSQL, with NOW2 on SQLite
        compared.append(('raw', versus_raw['RAW'], versus_raw['NOW' if postgres else 'NOW2']))
    return rows, compared, consistent


def raw_sqlite_pairs(url: str, run: Run, actor: Actor, centers: tuple[int, ...], now_op: Op) -> dict[str, Series]:
    """SQLite: today's path taking turns call by call with raw sqlite3 doing the same work (issue 19, item 2's
    goal: ≥ 0.6 of its throughput), then with raw sqlite3 doing the bare write (the stricter, for reference)."""
    args, target = run.args, run.target
    lite = raw_sqlite_connection(url)
    try:
        sides = sequential(
            {
                'NOW': (f'{target.now}, 1 connection, with same-work raw', now_op),
                'SAME': ('raw sqlite3, same work, 1 connection', raw_sqlite_same_op(lite, centers, actor.user_id)),
            },
            args.ops,
            args.max_seconds,
            target.plan,
        )
        sides |= sequential(
            {
                'NOW2': (f'{target.now}, 1 connection, with bare raw', now_op),
                'RAW': ('raw sqlite3, bare write, 1 connection', raw_sqlite_op(lite, centers, actor.user_id)),
            },
            args.ops,
            args.max_seconds,
            target.plan,
        )
    finally:
        lite.close()
    same = sides['SAME'].ms_per_op / sides['NOW'].ms_per_op
    line = 'issue 19, SQLite, throughput, today ÷ raw sqlite3 doing the same work'
    print(ratio_line(line, same, '≥ 0.6', same >= 0.6))
    bare = sides['RAW'].ms_per_op / sides['NOW2'].ms_per_op
    print(f'SQLite, throughput, today ÷ raw sqlite3 doing the bare write (no checks, no flow): {bare:.2f}')
    return sides


def scaling(one: dict[str, Series], many: dict[str, Series]) -> None:
    """Issue 19, item 1, in throughput (movements a second): today's path from N threads against the best raw
    write from N threads (≥ 0.6) and against its own 1-connection rate (≥ 1.5); on 1 connection against the
    best raw write on 1 connection (≥ 0.7). The 1-connection sides took turns with each other call by call.
    Then the same ratios for today's two statements alone (no potrack Python): the most that any change on the
    client's side could reach, what is left being the statements' own cost."""
    checks = (
        ('today from threads ÷ best raw from threads', many['NOW'].ops_per_s / many['BESTRAW'].ops_per_s, 0.6),
        ('today from threads ÷ today on 1 connection', many['NOW'].ops_per_s / one['NOW'].ops_per_s, 1.5),
        ('today on 1 connection ÷ best raw on 1 connection', one['BESTRAW'].ms_per_op / one['NOW2'].ms_per_op, 0.7),
    )
    for label, ratio, goal in checks:
        print(ratio_line(f'issue 19, throughput, {label}', ratio, f'≥ {goal}', ratio >= goal))
    threads = many['STMTS'].ops_per_s / many['BESTRAW'].ops_per_s
    single = one['BESTRAW2'].ms_per_op / one['STMTS'].ms_per_op
    print(
        "the ceiling: today's statements alone ÷ best raw, throughput, from threads "
        f'{threads:.2f}, on 1 connection {single:.2f} (client CPU a movement {many["STMTS"].cpu_ms_per_op:.2f} ms '
        f'from threads, today {many["NOW"].cpu_ms_per_op:.2f}, best raw {many["BESTRAW"].cpu_ms_per_op:.2f})'
    )


def judge(url: str, keys: tuple[str, ...], target: Target) -> bool:
    """check_consistency after the run, and what today's side left in transit (it must have kept some)."""
    db = Database(url, pool_size=1)
    try:
        adopt_raw_orders(db)  # the raw sides' orders (PostgreSQL's, and SQLite's raw sqlite3)
        if target.route:
            unroute(db, [key for key in keys if key not in ('NOW', 'NOW2', 'SAME', 'STMTS')])  # these keep the flow
        report = check_consistency(db)
        with db.engine.connect() as conn:
            transit = conn.execute(
                text(
                    'SELECT COUNT(*), COALESCE(SUM(qty_sent), 0), COALESCE(SUM(qty_received), 0) FROM order_transit '
                    "WHERE order_number LIKE 'NOW-%'"
                )
            ).one()
    finally:
        db.dispose()
    print(
        f'consistency afterwards: {"consistent" if report.consistent else "INCONSISTENT"} '
        f"({report.movements:,} movements, {report.balance_rows:,} balance rows); today's side: "
        f'{transit[0]:,} transit rows, {transit[1]:,} pieces sent on, {transit[2]:,} received out of transit'
    )
    for finding in report.mismatches[:5]:
        print('  ' + finding.describe())
    return report.consistent


def one_connection(
    url: str, run: Run, actor: Actor, centers: tuple[int, ...], templates: Templates
) -> tuple[dict[str, Series], dict[str, Series]]:
    """On one connection each, taking turns call by call: before and now; then (PostgreSQL) now and raw, now and
    best raw, today's statements alone and best raw. In pairs only: a third side would always run second, after
    another side's code, and cost about a tenth more CPU for that (colder caches) than when it follows itself,
    as each side of a pair half the time does."""
    args, target = run.args, run.target
    dbs = [Database(url, pool_size=1), Database(url, pool_size=1)]
    raw_conns = [raw_connection(url)] if dbs[0].is_postgres else []
    try:
        now_op = service_op(dbs[1], actor, centers)
        pids = {'BEFORE': backend_pid(dbs[0]), 'NOW': backend_pid(dbs[1])}
        pair = sequential(
            {
                'BEFORE': ('before, 1 connection', service_op(dbs[0], actor, centers, run.writer)),
                'NOW': (f'{target.now}, 1 connection', now_op),
            },
            args.ops,
            args.max_seconds,
            target.plan,
            pids,
        )
        versus_raw = {}
        if not dbs[0].is_postgres:  # issue 19, item 2: the same work on plain sqlite3, and the bare write
            versus_raw = raw_sqlite_pairs(url, run, actor, centers, now_op)
        if raw_conns:
            raw = raw_op(raw_conns[0], centers, actor.user_id)
            versus_raw = sequential(
                {
                    'NOW': (f'{target.now}, 1 connection, with raw', now_op),
                    'RAW': ('raw psycopg2, 1 connection', raw),
                },
                args.ops,
                args.max_seconds,
                target.plan,
                {'NOW': pids['NOW'], 'RAW': [raw_conns[0].get_backend_pid()]},
            )
            best = best_raw_op(raw_conns[0], centers, actor.user_id)
            versus_raw |= sequential(
                {
                    'NOW2': (f'{target.now}, 1 connection, with best raw', now_op),
                    'BESTRAW': ('best raw (2 round trips), 1 connection', best),
                },
                args.ops,
                args.max_seconds,
                target.plan,
                {'NOW2': pids['NOW'], 'BESTRAW': [raw_conns[0].get_backend_pid()]},
            )
            raw_conns.append(raw_connection(url))
            alone = statements_op(raw_conns[1], templates, CAPTURED, target.plan)
            versus_raw |= sequential(
                {
                    'STMTS': ("today's statements alone, 1 connection", alone),
                    'BESTRAW2': ('best raw, 1 connection, with the statements alone', best),
                },
                args.ops,
                args.max_seconds,
                target.plan,
                {'STMTS': [raw_conns[1].get_backend_pid()], 'BESTRAW2': [raw_conns[0].get_backend_pid()]},
            )
        return pair, versus_raw
    finally:
        for db in dbs:
            db.dispose()
        for conn in raw_conns:
            conn.close()


def print_results(name: str, target: Target, rows: list[Series], compared: list[Comparison]) -> None:
    print()
    print(f'{name}: {machine_note()}')
    headers = [f'recording IN/OUT, {name}', 'ops', 'seconds', 'ms/op', 'ops/s', 'p50 ms', 'p95 ms']
    print_table(
        [*headers, 'client CPU ms/op', 'server CPU ms/op'],
        [
            [t.label, t.ops, t.wall_s, t.ms_per_op, t.ops_per_s, t.p50, t.p95, t.cpu_ms_per_op, server_cpu(t)]
            for t in rows
        ],
    )
    for what, before, now in compared:
        ratio = now.ms_per_op / before.ms_per_op
        rounds = round_ratios(now, before)
        cpu = now.cpu_ms_per_op / before.cpu_ms_per_op
        spread = f'rounds {min(rounds):.2f}–{max(rounds):.2f}; p50 {now.p50 / before.p50:.2f}; client CPU {cpu:.2f}'
        if now.server_cpu_s and before.server_cpu_s:
            both = (now.cpu_ms_per_op + now.server_ms_per_op) / (before.cpu_ms_per_op + before.server_ms_per_op)
            spread += f'; server CPU {now.server_ms_per_op / before.server_ms_per_op:.2f}; both {both:.2f}'
        if what == 'raw':  # the older goal: the service keeps at least half the raw transaction's throughput
            label = f'{name}, {target.now} ÷ raw throughput, 1 connection'
            print(f'{ratio_line(label, 1 / ratio, "≥ 0.5", 1 / ratio >= 0.5)}; time per movement {spread}')
        elif what == ALONE:  # where the change's cost shows; the goal is for whole movements
            print(f'{name}, {target.now} ÷ before, time per call, {what}: {ratio:.2f}; {spread}')
        else:
            label = f'{name}, {target.now} ÷ before, time per movement, {what}'
            print(f'{ratio_line(label, ratio, f"≤ {target.goal}", ratio <= target.goal)}; {spread}')


def server_cpu(t: Series) -> float | str:
    return t.server_ms_per_op if t.server_cpu_s else '-'


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=2000, help='operations per phase (default 2000)')
    parser.add_argument('--threads', type=int, default=8, help='threads for the concurrent phases (default 8)')
    parser.add_argument('--max-seconds', type=float, default=10.0, help='stop a phase after this long (default 10)')
    parser.add_argument('--book-orders', type=int, default=100_000, help='other orders in the book (default 100000)')
    parser.add_argument('--issue', type=int, choices=sorted(TARGETS), default=15, help='whose target (default 15)')
    parser.add_argument('--before', help="git revision of the write path before the issue's change (default: git)")
    parser.add_argument('--no-sqlite', action='store_true', help='PostgreSQL only')
    args = parser.parse_args(argv)
    target = TARGETS[args.issue]
    revision = args.before or default_revision(MARKS[args.issue])
    run = Run(args, target, load_writer(revision, MARKS[args.issue]))
    print(f'issue {args.issue}: {target.now} ÷ before ≤ {target.goal}; plan: {target.plan.name}')
    print(f'before: potrack/ledger/{{statements,steps,writer}}.py of {revision}; {machine_note()}')
    results = []
    with scratch_database(args.url, 'record', keep=args.keep) as url:
        results.append(('PostgreSQL', *measure(url, run)))
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix='potrack-bench-record-') as folder:
            results.append(('SQLite', *measure(f'sqlite:///{Path(folder) / "bench.db"}', run)))
    for name, rows, compared, _ in results:
        print_results(name, target, rows, compared)
    return 0 if all(consistent for *_, consistent in results) else 1


if __name__ == '__main__':
    sys.exit(main())
