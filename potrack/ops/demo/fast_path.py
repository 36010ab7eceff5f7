"""The fast bulk path: the planned movements bulk-loaded, and their balances and transit rows built from
the ledger sums.

PostgreSQL streams one COPY, SQLite runs executemany; either way the balances of the touched (work
center, order) pairs, and the transit rows of the touched (order, receiving work center) pairs, are
upserted from the new rows in the same transaction. Each movement carries the flow columns the ledger
would have given it (disposition, reason, where it sent its pieces, what it put into transit or took out
of it, replayed by `flow.TransitTracker`). It assumes nobody else records movements of the demo's
brand-new orders meanwhile.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

from potrack.db.engine import Database
from potrack.db.models import IN, SENT
from potrack.db.types import UTCDateTime
from potrack.ledger.integrity import catch_up_activity
from potrack.ledger.tallies import WRITERS_OUT, tally_sql
from potrack.ops.demo.book import book_released
from potrack.ops.demo.bulk_sql import PENDING_SINCE, WAITING_SINCE, balances_sql, for_psycopg2, transit_sql
from potrack.ops.demo.flow import TransitTracker
from potrack.ops.demo.orders import Line, Plan, timeline
from potrack.ops.demo.progress import Progress, elapsed

COPY_COLUMNS = (
    'order_number, work_center_id, quantity, movement_type, user_id, created_at, request_id, '
    'disposition, reason_id, to_work_center_id, transit_qty'
)


def _waiting_since(plan: Plan, line: Line, transit: TransitTracker) -> list[dict[str, Any]]:
    """The plan's own "since when" of the transit rows still waiting at the end (the ledger's: when the
    transit last rose above nothing: the time of one of the sends, to the microsecond as its row was written),
    as parameters of WAITING_SINCE."""
    return [
        {'o': plan.order_number(order), 'wc': line.work_center_ids[wc], 'since': _as_written(since)}
        for order, wc, since in transit.pending()
    ]


def _as_written(at: float) -> datetime:
    """A planned time as `_bulk_batches` writes it: microseconds cut, not rounded."""
    whole = int(at)
    return datetime.fromtimestamp(whole, UTC) + timedelta(microseconds=int((at - whole) * 1_000_000))


def _bulk_batches(
    plan: Plan, line: Line, released: list[tuple[int, int, float]], transit: TransitTracker, *, postgres: bool
) -> Iterator[tuple[list[Any], int]]:
    """The planned movements as rows to bulk-load, in time order, one timeline batch at a time.

    Yields (rows, orders so far). PostgreSQL: COPY text lines of COPY_COLUMNS; SQLite: tuples of them.
    Times are written as text the database reads directly: timestamptz with +00 for PostgreSQL, naive
    UTC 'YYYY-MM-DD HH:MM:SS.ffffff' as UTCDateTime stores it in SQLite. This is `planned_movements` done
    inline, and the date part is formatted once per minute: at a million rows the Python per row is
    what the load time is made of. `transit` replays the ledger's transit as the rows are made.
    """
    pick = random.Random(plan.seed + 1).random
    wc_ids = line.work_center_ids
    candidates = line.candidates
    reason_of = line.reasons.reason_id
    offset, scale = plan.end_at - plan.t_end * plan.scale, plan.scale
    suffix = '+00' if postgres else ''
    null = '\\N' if postgres else None
    rid = f'demo-{plan.token}-'  # + a zero-padded counter: appends at the end of the unique index
    minute_at, minute_text = -1, ''
    number, number_of = '', -1
    counter, orders = 0, 0
    for batch in timeline(plan.seed, plan.movements, plan.gap_s, len(wc_ids), released, plan.mix):
        rows: list[Any] = []
        for t, order, wc, kind, qty, disposition, reason in batch:
            counter += 1
            ids, cum = candidates[wc]
            user_id = ids[0] if len(ids) == 1 else ids[bisect_right(cum, pick() * cum[-1])]
            if order != number_of:
                number, number_of = plan.order_number(order), order
                orders = max(orders, order + 1)
            at = offset + t * scale
            if kind == IN:
                flow: tuple[Any, ...] = (null, null, null, transit.receive(order, wc, qty))
            else:
                to = transit.send(order, wc, disposition, qty, at)
                why = null if disposition == SENT else (reason_of(disposition, reason) or null)
                flow = (disposition, why, null, 0) if to is None else (disposition, why, wc_ids[to], qty)
            whole = int(at)
            minute, sec = divmod(whole, 60)
            if minute != minute_at:
                minute_at = minute
                minute_text = datetime.fromtimestamp(minute * 60, UTC).strftime('%Y-%m-%d %H:%M:')
            stamp = f'{minute_text}{sec:02d}.{int((at - whole) * 1_000_000):06d}{suffix}'
            if postgres:
                rows.append(
                    f'{number}\t{wc_ids[wc]}\t{qty}\t{kind}\t{user_id}\t{stamp}\t{rid}{counter:08d}\t'
                    f'{flow[0]}\t{flow[1]}\t{flow[2]}\t{flow[3]}\n'
                )
            else:
                rows.append((number, wc_ids[wc], qty, kind, user_id, stamp, f'{rid}{counter:08d}', *flow))
        yield rows, orders


def load_bulk(db: Database, plan: Plan, line: Line, out: Callable[[str], None]) -> int:
    """Bulk-load the planned movements and build their balances in one transaction. Returns the order count."""
    started = time.monotonic()
    progress = Progress(plan.movements, started, out)
    released: list[tuple[int, int, float]] = []  # the orders, for the book: filled as the batches are made
    if db.is_postgres:
        orders = _load_bulk_postgres(db, plan, line, progress, released)
    else:
        orders = _load_bulk_sqlite(db, plan, line, progress, released)
    with db.engine.begin() as conn:  # the orders in the book, and their activity times from the new balances
        book_released(conn, plan, line, released)
        catch_up_activity(conn)
    out(f'  built the balances and the transit rows and committed, {elapsed(started)}')
    if db.is_postgres:
        _vacuum_analyze(db)
        out(f'  vacuumed and analyzed the tables, {elapsed(started)}')
    return orders


class _CopySource:
    """A file for `copy_expert` to read from, filled batch by batch as PostgreSQL asks for more.

    One COPY streams all rows: the server parses and indexes a batch while Python makes the next one
    (a COPY per chunk would leave each side idle while the other works), and memory holds one batch.
    """

    def __init__(self, batches: Iterator[tuple[list[str], int]], progress: Progress) -> None:
        self.batches, self.progress = batches, progress
        self.orders = 0

    def read(self, size: int = -1) -> str:
        for lines, orders in self.batches:
            self.orders = orders
            if lines:
                self.progress.add(len(lines))
                return ''.join(lines)
        return ''

    def readline(self, size: int = -1) -> str:  # part of the file protocol psycopg2 checks for
        return self.read(size)


def _load_bulk_postgres(
    db: Database, plan: Plan, line: Line, progress: Progress, released: list[tuple[int, int, float]]
) -> int:
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        # Demo bulk load only: one long transaction, beyond the app's statement timeout.
        cur.execute('SET LOCAL statement_timeout = 0')
        cur.execute("SET LOCAL work_mem = '128MB'")
        # No movement of anyone else may commit during the load: the hours it adds up are those of every
        # movement above first_id (and its own are counted nowhere else).
        cur.execute(WRITERS_OUT)
        cur.execute('SELECT COALESCE(MAX(id), 0) FROM production_order')
        first_id = cur.fetchone()[0]  # type: ignore[index]  # an aggregate without GROUP BY: always a row
        transit = TransitTracker(len(line.work_center_ids), keep_all=False)
        source = _CopySource(_bulk_batches(plan, line, released, transit, postgres=True), progress)
        cur.copy_expert(f'COPY production_order ({COPY_COLUMNS}) FROM STDIN', source, size=1 << 20)
        progress.out(f'  COPY finished, {elapsed(progress.started)}')
        for sql in (balances_sql(postgres=True), transit_sql(postgres=True), *tally_sql(postgres=True)):
            cur.execute(for_psycopg2(sql), {'first_id': first_id})
        cur.execute(PENDING_SINCE)
        waiting = _waiting_since(plan, line, transit)
        if waiting:
            cur.executemany(for_psycopg2(WAITING_SINCE), waiting)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    return source.orders


def _vacuum_analyze(db: Database) -> None:
    """Fresh statistics (and a visibility map, as autovacuum would make soon) so plans fit the new data."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level='AUTOCOMMIT')
        conn.exec_driver_sql('SET statement_timeout = 0')
        conn.exec_driver_sql('VACUUM (ANALYZE) production_order')
        conn.exec_driver_sql('VACUUM (ANALYZE) order_balance')
        conn.exec_driver_sql('VACUUM (ANALYZE) order_activity')
        conn.exec_driver_sql('VACUUM (ANALYZE) order_transit')
        conn.exec_driver_sql('VACUUM (ANALYZE) movement_hour')
        conn.exec_driver_sql('RESET statement_timeout')


def _load_bulk_sqlite(
    db: Database, plan: Plan, line: Line, progress: Progress, released: list[tuple[int, int, float]]
) -> int:
    marks = ', '.join('?' * len(COPY_COLUMNS.split(',')))
    insert = f'INSERT INTO production_order ({COPY_COLUMNS}) VALUES ({marks})'  # noqa: S608

    def unit(session: Session) -> int:
        progress.done = progress.said = 0
        orders = 0
        conn = session.connection()
        first_id = conn.exec_driver_sql('SELECT COALESCE(MAX(id), 0) FROM production_order').scalar_one()
        transit = TransitTracker(len(line.work_center_ids), keep_all=False)
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for rows, orders in _bulk_batches(plan, line, released, transit, postgres=False):  # noqa: B007 - the last count is kept
                cur.executemany(insert, rows)
                progress.add(len(rows))
        finally:
            cur.close()
        progress.out(f'  inserted, {elapsed(progress.started)}')
        for sql in (balances_sql(postgres=False), transit_sql(postgres=False), *tally_sql(postgres=False)):
            conn.execute(text(sql), {'first_id': first_id})
        conn.execute(text(PENDING_SINCE))
        waiting = _waiting_since(plan, line, transit)
        if waiting:
            since = bindparam('since', type_=UTCDateTime())
            conn.execute(text(WAITING_SINCE).bindparams(since), waiting)
        return orders

    return db.write(unit)
