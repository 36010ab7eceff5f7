"""What bench/record.py compares, and the data it records on: the operator, the work centers, the book.

- today's `record_movement`, or an older ledger's (bench/ledger_before.py's copy), called alike;
- the raw transaction: one psycopg2 connection doing the bare write path (balance row inserted if missing
  and locked, movement inserted, balance updated, COMMIT), without the order book or the flow; the best raw
  write (the same in 2 round trips); today's two statements alone, replayed without potrack's Python;
- the orders the sides record, open in the book (with a route and a planned quantity when the flow is
  measured), and filler orders the look-up searches among.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import select

from bench.record_runs import Op, Plan
from potrack.accounts.users import insert_user
from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import Department, WorkCenter
from potrack.db.prepared import Prepared
from potrack.db.tables import ORDERS
from potrack.db.types import UTCDateTime, utcnow
from potrack.ledger.statements import ENTRY_AND_LOCK_PG, INSERT_APPLY_AND_COMMIT_PG
from potrack.ledger.tallies import pairs_sql, tally_sql
from potrack.ledger.writer import record_movement

ROUTE_CODES = ('WC001', 'WC002', 'WC003')  # the work centers a plan's steps 0, 1, 2 record at

# Filler orders, as an ERP import would leave them: the look-up searches an index of this many.
FILL_BOOK = """
INSERT INTO order_header (order_number, product_code, product_description, route, status, source, notes,
                          created_at, updated_at)
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :orders)
SELECT 'FILL-' || (10000000 + n), 'ITEM', '', :route, 'open', 'imported', '', :now, :now FROM g
"""


def setup(db: Database) -> tuple[Actor, tuple[int, ...]]:
    """An operator of Production and the ids of ROUTE_CODES' work centers (all visible to Production)."""

    def unit(session: Any) -> tuple[Actor, tuple[int, ...]]:
        dept = session.exec(select(Department).where(Department.name == 'Production')).one()
        user = insert_user(
            session,
            username='bench-operator',
            password='Bench-Operator-2026',
            department_id=dept.id,
            must_change_password=False,
        )
        ids = {wc.code: wc.id for wc in session.exec(select(WorkCenter).where(WorkCenter.code.in_(ROUTE_CODES)))}
        return Actor(user.id), tuple(ids[code] for code in ROUTE_CODES)

    return db.write(unit)


def book(db: Database, numbers: list[str], filler: int, *, route: str = '', planned: int | None = None) -> None:
    """These orders open in the book (with `route` and `planned` quantity), `filler` others, and the site's
    policy 'refuse', so that every write reads the book."""
    now = utcnow()
    rows = [
        {
            'order_number': n,
            'status': 'open',
            'source': 'imported',
            'route': route,
            'planned_quantity': planned,
            'created_at': now,
            'updated_at': now,
        }
        for n in numbers
    ]
    with db.engine.begin() as conn:
        conn.execute(ORDERS.insert(), rows)
        if filler:
            fill = text(FILL_BOOK).bindparams(bindparam('now', now, type_=UTCDateTime()), orders=filler, route=route)
            conn.execute(fill)
    db.write(
        lambda s: site_settings.put(s, actor_id=None, key=site_settings.UNKNOWN_ORDERS, value=site_settings.REFUSE)
    )
    if db.is_postgres:
        with db.engine.connect().execution_options(isolation_level='AUTOCOMMIT') as conn:
            conn.execute(text('VACUUM ANALYZE order_header'))


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
        tally_untallied(conn)


def tally_untallied(conn: Any) -> None:
    """The tallies (ledger/tallies.py) of what the sides that keep none wrote: the ledger before them and the
    raw transactions. Their pairs are the ones with no movement counted; the hours, shared by every side, are
    counted anew. The pairs of today's side keep what its writes counted, so the check still judges those (and
    the test suite's concurrency tests judge its hours)."""
    hours, _ = tally_sql(conn.dialect.name == 'postgresql')
    conn.execute(text(pairs_sql(movements='', pairs='AND order_balance.moves_in + order_balance.moves_out = 0')))
    conn.execute(text('DELETE FROM movement_hour'))
    conn.execute(text(hours), {'first_id': 0})


def unroute(db: Database, keys: Sequence[str]) -> None:
    """Clear the route of the orders of the sides `keys` that ignore it (the ledger before the flow, the raw
    transaction): their receipts took nothing out of transit, which `check_consistency` would report as
    receipts beyond what was sent. The flow's own orders keep theirs, so the check still judges those."""
    with db.engine.begin() as conn:
        for key in keys:
            conn.execute(text("UPDATE order_header SET route = '' WHERE order_number LIKE :p"), {'p': f'{key}-%'})


def service_op(db: Database, actor: Actor, centers: Sequence[int], writer: ModuleType | None = None) -> Op:
    """`record_movement` of today's ledger, or of `writer` (bench/ledger_before.py's copy of an older one), at
    `centers[step]`. Today's sends every OUT on (the default disposition); the older one knows no disposition."""
    record = writer.record_movement if writer is not None else record_movement

    def run(order: str, kind: str, qty: int, step: int = 0) -> None:
        record(actor, work_center_id=centers[step], order_number=order, quantity=qty, movement_type=kind, db=db)

    return run


def raw_op(conn: Any, centers: Sequence[int], user_id: int, *, notify: bool = False) -> Op:
    """The bare write path on a psycopg2 connection, at `centers[step]`; with the ledger's NOTIFY if `notify`."""
    cur = conn.cursor()

    def run(order: str, kind: str, qty: int, step: int = 0) -> None:
        wc_id = centers[step]
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


# The strongest raw write (issue 19's "best raw"): the same locked, refuse-if-negative write in 2 round trips.
# One statement adds to the balance row only where the result stays ≥ 0 (a first IN inserts it: the row
# proposed for the insert must itself pass the CHECK, which PostgreSQL tests before it sees the conflict), and
# inserts the movement only if that row came back and was not made by an OUT; then COMMIT. No row back: refused.
BEST_RAW = (
    'WITH b AS ('
    '  INSERT INTO order_balance AS ob (work_center_id, order_number, qty_in, qty_out, last_movement_at, last_user_id)'
    '  VALUES (%(wc)s, %(order)s, %(d_in)s, 0, now(), %(uid)s)'
    '  ON CONFLICT (work_center_id, order_number) DO UPDATE SET qty_in = ob.qty_in + %(d_in)s,'
    '    qty_out = ob.qty_out + %(d_out)s, last_movement_at = now(), last_user_id = %(uid)s'
    '  WHERE ob.qty_in + %(d_in)s - ob.qty_out - %(d_out)s >= 0'
    '  RETURNING xmax = 0 AS inserted)'
    ' INSERT INTO production_order (order_number, work_center_id, quantity, movement_type, user_id, created_at,'
    '  request_id) SELECT %(order)s, %(wc)s, %(qty)s, %(kind)s, %(uid)s, now(), %(rid)s FROM b'
    '  WHERE NOT (b.inserted AND %(d_out)s > 0) RETURNING id'
)


def best_raw_op(conn: Any, centers: Sequence[int], user_id: int) -> Op:
    """BEST_RAW at `centers[step]` on a psycopg2 connection: 2 round trips a movement, no NOTIFY. In
    autocommit, with BEGIN sent along with the statement: psycopg2's own BEGIN would be a round trip of its own
    (the ledger sends its BEGIN the same way, db/engine.py)."""
    conn.autocommit = True
    cur = conn.cursor()

    def run(order: str, kind: str, qty: int, step: int = 0) -> None:
        d_in, d_out = (qty, 0) if kind == 'IN' else (0, qty)
        params = {'wc': centers[step], 'order': order, 'd_in': d_in, 'd_out': d_out, 'uid': user_id}
        cur.execute('BEGIN; ' + BEST_RAW, {**params, 'qty': qty, 'kind': kind, 'rid': uuid.uuid4().hex})
        if cur.fetchone() is None:
            cur.execute('ROLLBACK')
            raise RuntimeError(f'best raw {kind} refused for {order}')
        cur.execute('COMMIT')

    return run


Templates = list[tuple[dict[str, Any], dict[str, Any]]]  # a plan's moves: each statement's parameters


def captured_statements(db: Database, actor: Actor, centers: Sequence[int], order: str, plan: Plan) -> Templates:
    """The parameters of today's two PostgreSQL statements (the entry and lock, the insert and commit) for each
    of the plan's moves, as `record_movement` sends them when it records the plan once on `order`."""
    seen: list[dict[str, Any]] = []
    first, commit = Prepared.first, Prepared.run_and_commit

    def kept_first(self: Prepared, conn: Any, params: dict[str, Any]) -> Any:
        seen.append(dict(params))
        return first(self, conn, params)

    def kept_commit(self: Prepared, conn: Any, params: dict[str, Any]) -> None:
        seen.append(dict(params))
        commit(self, conn, params)

    Prepared.first, Prepared.run_and_commit = kept_first, kept_commit  # type: ignore[method-assign]
    try:
        run = service_op(db, actor, centers)
        for kind, qty, step in plan.moves:
            run(order, kind, qty, step)
    finally:
        Prepared.first, Prepared.run_and_commit = first, commit  # type: ignore[method-assign]
    if len(seen) != 2 * plan.cycle:
        raise RuntimeError(f'expected two statements a move, saw {len(seen)} for {plan.cycle} moves')
    return [(seen[2 * i], seen[2 * i + 1]) for i in range(plan.cycle)]


def statements_op(conn: Any, templates: Templates, captured_order: str, plan: Plan) -> Op:
    """Today's two statements alone on a psycopg2 connection, without potrack's Python: each move sends the
    captured parameters of its kind with this order, a new request id and the movement id the first statement
    drew; BEGIN rides along with the first, COMMIT with the second, as in the ledger. What the statements cost
    the client and the server, and so the most any change on the client's side could gain."""
    conn.autocommit = True
    cur = conn.cursor()
    for statement in (ENTRY_AND_LOCK_PG, INSERT_APPLY_AND_COMMIT_PG):
        cur.execute(statement.prepare_sql)
    moves = {move: n for n, move in enumerate(plan.moves)}

    def run(order: str, kind: str, qty: int, step: int = 0) -> None:
        entry, insert = templates[moves[(kind, qty, step)]]
        rid = uuid.uuid4().hex
        first = ENTRY_AND_LOCK_PG
        cur.execute('BEGIN; ' + first.execute_sql, first.values_of({**entry, 'order': order, 'rid': rid}))
        row = first.Row(*cur.fetchone())
        values = {
            **insert,
            'm_order_number': order,
            'order': order,
            'm_request_id': rid,
            'm_id': row.new_id,
            'payload': insert['payload'].replace(captured_order, order),
        }
        cur.execute(INSERT_APPLY_AND_COMMIT_PG.execute_sql + '; COMMIT', INSERT_APPLY_AND_COMMIT_PG.values_of(values))

    return run


def raw_sqlite_connection(url: str) -> Any:
    """A plain sqlite3 connection to the file of `url`, set up as potrack sets up its own (WAL, foreign keys, the
    site's `synchronous`), with transaction control left to the caller."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from potrack.config import settings

    conn = sqlite3.connect(make_url(url).database, isolation_level=None, check_same_thread=False)
    for pragma in ('journal_mode=WAL', 'foreign_keys=ON', f'synchronous={settings().sqlite_synchronous}'):
        conn.execute(f'PRAGMA {pragma}')
    return conn


def raw_sqlite_op(conn: Any, centers: Sequence[int], user_id: int) -> Op:
    """The bare write path on sqlite3 (issue 19, item 2's raw side): BEGIN IMMEDIATE, the balance row made if new
    and read, refused if an OUT would overdraw it, the movement inserted, the balance updated, COMMIT."""

    def run(order: str, kind: str, qty: int, step: int = 0) -> None:
        wc_id = centers[step]
        conn.execute('BEGIN IMMEDIATE')
        conn.execute(
            'INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out) VALUES (?, ?, 0, 0) '
            'ON CONFLICT (work_center_id, order_number) DO NOTHING',
            (wc_id, order),
        )
        qty_in, qty_out = conn.execute(
            'SELECT qty_in, qty_out FROM order_balance WHERE work_center_id = ? AND order_number = ?', (wc_id, order)
        ).fetchone()
        if kind == 'OUT' and qty > qty_in - qty_out:
            conn.execute('ROLLBACK')
            raise RuntimeError(f'raw OUT refused for {order}')
        conn.execute(
            'INSERT INTO production_order (order_number, work_center_id, quantity, movement_type, user_id, '
            "created_at, request_id) VALUES (?, ?, ?, ?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'), ?)",
            (order, wc_id, qty, kind, user_id, uuid.uuid4().hex),
        )
        d_in, d_out = (qty, 0) if kind == 'IN' else (0, qty)
        conn.execute(
            'UPDATE order_balance SET qty_in = qty_in + ?, qty_out = qty_out + ?, last_movement_at = strftime('
            "'%Y-%m-%d %H:%M:%f', 'now'), last_user_id = ? WHERE work_center_id = ? AND order_number = ?",
            (d_in, d_out, user_id, wc_id, order),
        )
        conn.execute('COMMIT')

    return run


# Issue 19, item 2's raw side "doing the same work": the best hand-written sqlite3 code for what potrack's write
# does on SQLite. One statement reads what the checks need (the user and their session, the work center, its
# department link and the kiosk pins, the order in the book, the site's settings, the transit to here for an IN,
# the balance row, the order's activity time and, for an OUT, the route's work centers); Python applies the
# same rules (active, linked, pinned, open; an OUT within the balance; an IN within what was sent to it, or at
# the route's first step within the planned quantity); then the movement, the balance upsert, the transit to the
# next step (an OUT) or out of transit (an IN), the activity time when a step behind, COMMIT.
SAME_CHECK = """
SELECT u.is_active, u.is_admin, s.user_id, s.ended_at, s.expires_at, s.last_seen_at, w.id, w.code, w.is_active,
  EXISTS (SELECT 1 FROM workcenter_department l JOIN department d ON d.id = l.department_id
          WHERE l.work_center_id = w.id AND l.department_id = u.department_id AND d.is_active),
  (s.device_id IS NULL OR NOT EXISTS (SELECT 1 FROM kiosk_device_work_center p WHERE p.device_id = s.device_id)
   OR EXISTS (SELECT 1 FROM kiosk_device_work_center p WHERE p.device_id = s.device_id AND p.work_center_id = w.id)),
  o.status, o.route, o.planned_quantity,
  (SELECT group_concat(key || '=' || value, char(10)) FROM site_setting
   WHERE key IN ('unknown_orders', 'over_receipt_pct', 'off_route_receipts', 'auto_close')),
  t.qty_sent, t.qty_received, b.qty_in, b.qty_out,
  (SELECT last_movement_at FROM order_activity WHERE order_number = :order),
  CASE WHEN :mtype = 'OUT' THEN (SELECT group_concat(m.code || ':' || m.id, ',') FROM work_center m
                                 WHERE instr('>' || o.route || '>', '>' || m.code || '>') > 0) END
FROM user u
LEFT JOIN user_session s ON s.id = :session
LEFT JOIN work_center w ON w.id = :wc
LEFT JOIN order_header o ON o.order_number = :order
LEFT JOIN order_transit t ON t.order_number = :order AND t.work_center_id = :wc AND :mtype = 'IN'
LEFT JOIN order_balance b ON b.work_center_id = :wc AND b.order_number = :order
WHERE u.id = :uid
"""
SAME_MOVEMENT = (
    'INSERT INTO production_order (order_number, work_center_id, quantity, movement_type, user_id, created_at, '
    'request_id, disposition, to_work_center_id, transit_qty) '
    'VALUES (:order, :wc, :qty, :mtype, :uid, :at, :rid, :disposition, :to_wc, :transit) RETURNING id'
)
SAME_BALANCE = (
    'INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out, qty_scrap, qty_rework, '
    'last_movement_at, last_user_id, moves_in, moves_out, first_movement_at) '
    'VALUES (:wc, :order, :d_in, 0, 0, 0, :at, :uid, :n_in, :n_out, :at) '
    'ON CONFLICT (work_center_id, order_number) DO UPDATE SET qty_in = qty_in + :d_in, qty_out = qty_out + :d_out, '
    'last_movement_at = max(last_movement_at, :at), last_user_id = :uid, moves_in = moves_in + :n_in, '
    'moves_out = moves_out + :n_out, first_movement_at = min(first_movement_at, :at)'
)
# The hour's tally (ledger/tallies.py): one row per work center and hour on SQLite.
SAME_HOUR = (
    'INSERT INTO movement_hour (work_center_id, hour, shard, moves_in, moves_out, qty_in, qty_out) '
    'VALUES (:wc, :hour, 0, :n_in, :n_out, :d_in, :d_out) '
    'ON CONFLICT (work_center_id, hour, shard) DO UPDATE SET moves_in = moves_in + :n_in, '
    'moves_out = moves_out + :n_out, qty_in = qty_in + :d_in, qty_out = qty_out + :d_out'
)
SAME_SEND = (
    'INSERT INTO order_transit (order_number, work_center_id, qty_sent, qty_received, pending_since, last_from_id, '
    'last_sent_at) VALUES (:order, :to_wc, :qty, 0, :at, :wc, :at) '
    'ON CONFLICT (order_number, work_center_id) DO UPDATE SET qty_sent = qty_sent + :qty, '
    'pending_since = CASE WHEN qty_sent - qty_received <= 0 THEN :at ELSE pending_since END, '
    'last_from_id = :wc, last_sent_at = :at'
)
SAME_RECEIVE = (
    'UPDATE order_transit SET qty_received = qty_received + :transit, '
    'pending_since = CASE WHEN qty_sent - qty_received - :transit <= 0 THEN NULL ELSE pending_since END '
    'WHERE order_number = :order AND work_center_id = :wc'
)
SAME_ACTIVITY = (
    'INSERT INTO order_activity (order_number, last_movement_at) VALUES (:order, :at) '
    'ON CONFLICT (order_number) DO UPDATE SET last_movement_at = :at'
)


def raw_sqlite_same_op(conn: Any, centers: Sequence[int], user_id: int) -> Op:
    """SAME_CHECK and the writes after it on sqlite3, at `centers[step]`, as potrack's write on SQLite does them
    (for the bench's plans: orders open in the book, OUTs sent on along their route)."""
    from datetime import UTC, datetime

    from potrack.db.models import ACTIVITY_STEP

    step_text = ACTIVITY_STEP.total_seconds()

    def refused(why: str) -> None:
        conn.execute('ROLLBACK')
        raise RuntimeError(f'raw sqlite3 (same work) refused: {why}')

    def run(order: str, kind: str, qty: int, step: int = 0) -> None:
        wc_id = centers[step]
        now = datetime.now(UTC)
        at = now.strftime('%Y-%m-%d %H:%M:%S.%f')
        conn.execute('BEGIN IMMEDIATE')
        row = conn.execute(SAME_CHECK, {'order': order, 'mtype': kind, 'session': '', 'wc': wc_id, 'uid': user_id})
        (u_active, admin, _, _, _, _, w_id, code, w_active, linked, pinned, status, route, planned, _, t_sent,
         t_recv, b_in, b_out, activity, members) = row.fetchone()  # fmt: skip
        if not u_active or w_id is None or not (admin or linked) or not pinned or not w_active or status != 'open':
            refused(f'{order} at {wc_id}')
        b_in, b_out = b_in or 0, b_out or 0
        codes = route.split('>') if route else []
        to_wc, transit, d_in, d_out = None, 0, 0, 0
        if kind == 'IN':
            d_in = qty
            transit = min(qty, max((t_sent or 0) - (t_recv or 0), 0))
            if qty > transit and codes and codes[0] == code and b_in - (t_recv or 0) + qty - transit > planned:
                refused(f'{order}: beyond the planned quantity')
        else:
            d_out = qty
            if qty > b_in - b_out:
                refused(f'{order}: only {b_in - b_out} at {code}')
            ids = dict(member.split(':') for member in members.split(',')) if members else {}
            at_step = codes.index(code) if code in codes else -1
            if 0 <= at_step < len(codes) - 1:
                to_wc, transit = int(ids[codes[at_step + 1]]), qty
        params = {'order': order, 'wc': wc_id, 'qty': qty, 'mtype': kind, 'uid': user_id, 'at': at,
                  'rid': uuid.uuid4().hex, 'disposition': 'sent' if kind == 'OUT' else None, 'to_wc': to_wc,
                  'transit': transit, 'd_in': d_in, 'd_out': d_out, 'n_in': int(kind == 'IN'),
                  'n_out': int(kind == 'OUT'), 'hour': at[:13] + ':00:00.000000'}  # fmt: skip
        conn.execute(SAME_MOVEMENT, params).fetchone()
        conn.execute(SAME_BALANCE, params)
        conn.execute(SAME_HOUR, params)
        if to_wc is not None:
            conn.execute(SAME_SEND, params)
        elif transit:
            conn.execute(SAME_RECEIVE, params)
        if activity is None or (now - datetime.fromisoformat(activity).replace(tzinfo=UTC)).total_seconds() > step_text:
            conn.execute(SAME_ACTIVITY, params)
        conn.execute('COMMIT')

    return run
