"""The ledger's SQL statements, built once as Core statements: the write path is the floor's hot path.

Each step (`steps`) is one round trip and builds no ORM objects, which keeps a recorded movement close
to the cost of the raw locked transaction (see bench/record.py). On PostgreSQL the steps are folded
further, into two statements: (check the user and the work center + insert-or-lock the balance row)
and (insert the movement + update the balance + NOTIFY). Each statement cost a round trip and ~0.15 ms
of SQLAlchemy's client time, which at 8 writers is what one Python process runs out of first; both are
server-side prepared statements (`potrack.db.prepared`), because planning them cost more than running them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from potrack.common.actors import ACTOR_AND_CENTER_COLUMNS, linked_to_department
from potrack.db.compiled import CompiledSqlite
from potrack.db.models import ORDER_OPEN
from potrack.db.prepared import Prepared
from potrack.db.tables import (
    ACTIVITY,
    AUDIT,
    BALANCES,
    CENTERS,
    DEVICE_PINS,
    MOVEMENTS,
    ORDERS,
    REASONS,
    SESSIONS,
    SETTINGS,
    TRANSIT,
    USERS,
)
from potrack.ledger.tallies import hour_upsert, pair_tally_set

# common.site_settings' keys, read here in the write's own statement
UNKNOWN_ORDERS_KEY, OVER_RECEIPT_KEY, OFF_ROUTE_KEY = 'unknown_orders', 'over_receipt_pct', 'off_route_receipts'
DEFAULT_ROUTE_KEY, AUTO_CLOSE_KEY = 'default_route', 'auto_close'
SITE_KEYS = (UNKNOWN_ORDERS_KEY, OVER_RECEIPT_KEY, OFF_ROUTE_KEY, AUTO_CLOSE_KEY)


def _setting(key: str) -> Any:
    return select(SETTINGS.c.value).where(SETTINGS.c.key == key).scalar_subquery()


def _entry_query(postgres: bool, order: Any, transit: Any) -> Any:
    """The user, their session, the work center, the order (`order`: order_header's row) and the transit to
    the work center (`transit`), the site's flow settings, and what the flow needs to know by name."""
    linked = linked_to_department()
    # A session opened on a kiosk device (badge or PIN) books only at the work centers the device is pinned to,
    # if it is pinned at all: the kiosk offers no others, and the ledger holds to it whatever a page sends.
    pinned = or_(
        SESSIONS.c.device_id.is_(None),
        ~exists().where(DEVICE_PINS.c.device_id == SESSIONS.c.device_id),
        exists().where(DEVICE_PINS.c.device_id == SESSIONS.c.device_id, DEVICE_PINS.c.work_center_id == CENTERS.c.id),
    )
    # The route's work centers, as 'id:code:active' joined by ',' (codes hold neither): the flow finds the
    # next step and the rework target among them by position (flow.py), whatever the route's shape.
    member = CENTERS.alias('member')
    position = func.strpos if postgres else func.instr
    gt = literal_column("'>'")  # written into the statement: as a parameter its type is unknown to PREPARE
    joined = func.string_agg if postgres else func.group_concat
    described = (
        cast(member.c.id, String)
        + literal_column("':'")
        + member.c.code
        + case((member.c.is_active, literal_column("':1'")), else_=literal_column("':0'"))
    )
    route_centers = select(joined(described, literal_column("','"))).where(
        position(gt + order.c.route + gt, gt + member.c.code + gt) > 0
    )
    # The site's settings the write obeys, as 'key=value' lines in one look (SITE_KEYS; steps.site_settings).
    site = select(joined(SETTINGS.c.key + literal_column("'='") + SETTINGS.c.value, literal_column("'\n'"))).where(
        SETTINGS.c.key.in_([literal_column(f"'{key}'") for key in SITE_KEYS])  # constants: no expanding IN
    )
    target = CENTERS.alias('target')
    reason = bindparam('reason_id', type_=Integer)
    reason_kind = select(REASONS.c.kind).where(REASONS.c.id == reason, REASONS.c.is_active)
    return (
        select(
            *ACTOR_AND_CENTER_COLUMNS,
            linked.label('linked'),
            pinned.label('pinned'),
            # The order book and the site's policies, read in the same round trip as the user: the ledger
            # enforces them at the moment of the write, whatever a kiosk looked up before.
            order.c.status.label('order_status'),
            order.c.route,
            order.c.planned_quantity.label('planned'),
            site.scalar_subquery().label('site'),
            # Only an OUT goes on to another work center (a subquery in a CASE runs only when its branch does).
            case((bindparam('mtype', type_=String) == literal_column("'OUT'"), route_centers.scalar_subquery())).label(
                'route_centers'
            ),
            reason_kind.scalar_subquery().label('reason_kind'),
            select(target.c.code)
            .where(target.c.id == bindparam('rework_to', type_=Integer))
            .scalar_subquery()
            .label('target_code'),
            transit.c.qty_sent.label('t_sent'),
            transit.c.qty_received.label('t_received'),  # its sender's code only for a refusal (LOCK_TRANSIT)
        )
        .select_from(
            USERS.outerjoin(SESSIONS, SESSIONS.c.id == bindparam('session_id'))
            .outerjoin(CENTERS, CENTERS.c.id == bindparam('work_center_id'))
            .outerjoin(order, true())
            .outerjoin(transit, true())
        )
        .where(USERS.c.id == bindparam('user_id'))
    )


def _order_row(postgres: bool) -> Any:
    """The order's row in the book, read, not locked: a FOR SHARE lock (so that a close would wait for the
    movements being written) cost every movement 4-6 % (bench/record.py), for a race of one write's length
    with an admin closing an order; movements lock the rows they change, the balance and transit rows."""
    row = select(ORDERS.c.status, ORDERS.c.route, ORDERS.c.planned_quantity).where(
        ORDERS.c.order_number == bindparam('order', type_=String)
    )
    return row.cte('o') if postgres else row.subquery('o')


def _transit_row(postgres: bool, after: Any = None) -> Any:
    """The transit to the entry's work center, read for an IN (it bounds the receipt). PostgreSQL: locked
    FOR UPDATE after the balance row (`after`), the fixed order every writer takes its locks in."""
    row = select(TRANSIT.c.qty_sent, TRANSIT.c.qty_received, TRANSIT.c.last_from_id).where(
        TRANSIT.c.order_number == bindparam('order', type_=String),
        TRANSIT.c.work_center_id == bindparam('work_center_id', type_=Integer),
        bindparam('mtype', type_=String) == literal_column("'IN'"),
    )
    if postgres:
        return row.where(exists(select(after.c.qty_in))).with_for_update(of=TRANSIT).cte('t')
    return row.subquery('t')


def _entry_query_sqlite() -> Any:
    """SQLite: the entry query, the balance row's numbers (NULL: no row yet) and the order's activity time (NULL:
    none yet) in the same statement. The write
    holds SQLite's one write lock from its BEGIN IMMEDIATE, so a row read here stays as read until the commit."""
    entry = _entry_query(False, _order_row(False), _transit_row(False))
    balance = select(BALANCES.c.qty_in, BALANCES.c.qty_out).where(
        BALANCES.c.work_center_id == CENTERS.c.id, BALANCES.c.order_number == bindparam('order', type_=String)
    )
    # The order's activity time: the write moves it on only when it is more than ACTIVITY_STEP behind.
    activity = select(ACTIVITY.c.last_movement_at).where(ACTIVITY.c.order_number == bindparam('order', type_=String))
    return entry.add_columns(
        balance.with_only_columns(BALANCES.c.qty_in).scalar_subquery().label('qty_in'),
        balance.with_only_columns(BALANCES.c.qty_out).scalar_subquery().label('qty_out'),
        type_coerce(activity.scalar_subquery(), String).label('activity_text'),  # as stored: compared as text
    )


# Built once: constructing SQLAlchemy statements per call cost more client CPU than running them.
ENTRY_QUERY = _entry_query_sqlite()
# SQLite: a movement added to its balance row, which a first IN inserts. The row proposed for the insert holds at
# most the IN, never an OUT: SQLite checks it against the CHECK constraints before it sees the conflict, and
# every other movement finds its row there (a refusal stops an OUT, a reversal, any entry with nothing to take).
_BALANCE_INSERT = sqlite_insert(BALANCES).values(
    work_center_id=bindparam('wc'),
    order_number=bindparam('order'),
    qty_in=func.max(bindparam('d_in', type_=BigInteger), literal_column('0')),
    qty_out=literal_column('0'),
    qty_scrap=literal_column('0'),
    qty_rework=literal_column('0'),
    last_movement_at=bindparam('at', type_=BALANCES.c.last_movement_at.type),
    last_user_id=bindparam('uid'),
    moves_in=bindparam('n_in'),
    moves_out=bindparam('n_out'),
    first_movement_at=bindparam('at', type_=BALANCES.c.first_movement_at.type),
)
BALANCE_UPSERT = _BALANCE_INSERT.on_conflict_do_update(
    index_elements=['work_center_id', 'order_number'],
    set_={
        'qty_in': BALANCES.c.qty_in + bindparam('d_in'),
        'qty_out': BALANCES.c.qty_out + bindparam('d_out'),
        'qty_scrap': BALANCES.c.qty_scrap + bindparam('d_scrap'),
        'qty_rework': BALANCES.c.qty_rework + bindparam('d_rework'),
        'last_user_id': _BALANCE_INSERT.excluded.last_user_id,
        **pair_tally_set(postgres=False),
    },
)
HOUR_UPSERT = hour_upsert(postgres=False)


def _lock_statement(insert: Any) -> Any:
    # The no-op DO UPDATE takes the row lock on an existing row and hands back its current numbers.
    return (
        insert(BALANCES)
        .values(work_center_id=bindparam('wc'), order_number=bindparam('order'), qty_in=0, qty_out=0)
        .on_conflict_do_update(index_elements=['work_center_id', 'order_number'], set_={'qty_in': BALANCES.c.qty_in})
        .returning(BALANCES.c.qty_in, BALANCES.c.qty_out)
    )


def _insert_statement(insert: Any) -> Any:
    return insert(MOVEMENTS).on_conflict_do_nothing(index_elements=['request_id']).returning(MOVEMENTS.c.id)


LOCK = {True: _lock_statement(pg_insert), False: _lock_statement(sqlite_insert)}
INSERT = {True: _insert_statement(pg_insert), False: _insert_statement(sqlite_insert)}
MOVEMENT_COLUMNS = (
    'order_number',
    'work_center_id',
    'quantity',
    'movement_type',
    'user_id',
    'created_at',
    'request_id',
    'reverses_id',
    'reason',
    'disposition',
    'to_work_center_id',
    'reason_id',
    'transit_qty',
)


def _entry_and_lock_pg() -> Any:
    """PostgreSQL: ENTRY_QUERY's row plus the balance row's numbers, inserted if missing and locked.

    The lock is taken before the checks are read in Python; a refused entry rolls it back with the rest.
    """
    wc = bindparam('work_center_id', type_=Integer)
    locked = (
        pg_insert(BALANCES)
        .from_select(
            ['work_center_id', 'order_number', 'qty_in', 'qty_out'],
            select(wc, bindparam('order', type_=String), literal(0), literal(0)).where(
                exists().where(CENTERS.c.id == wc)  # an unknown work center: no row, and NotFound below
            ),
        )
        .on_conflict_do_update(index_elements=['work_center_id', 'order_number'], set_={'qty_in': BALANCES.c.qty_in})
        .returning(BALANCES.c.qty_in, BALANCES.c.qty_out)
        .cte('locked')
    )
    entry = _entry_query(True, _order_row(True), _transit_row(True, locked)).subquery('e')
    # The movement's id drawn now, so that the insert needs no answer back; and the movement already
    # stored under the request id, if any (a replay), read in the same round trip.
    new_id = func.nextval(func.pg_get_serial_sequence('production_order', 'id')).label('new_id')
    taken = select(MOVEMENTS.c.id).where(MOVEMENTS.c.request_id == bindparam('rid')).scalar_subquery()
    return select(entry, locked.c.qty_in, locked.c.qty_out, new_id, taken.label('taken_id')).select_from(
        entry.outerjoin(locked, true())
    )


def _insert_and_apply_pg(*, fresh: bool) -> Any:
    """PostgreSQL: insert the movement; only if its request id was new, add it to the balance and NOTIFY.

    No row comes back for a request id used before (a replay): nothing was changed. `fresh`: the caller
    found the request id unused and drew the movement's id (entry_and_lock); the insert takes that id and
    a request id taken meanwhile fails it (unique violation) instead of doing nothing, so nothing needs
    to come back and the COMMIT can go with it (insert_apply_and_commit).
    """
    # Parameters named like order_balance's columns would be taken as values to SET by its UPDATE.
    values = {name: bindparam(f'm_{name}', type_=MOVEMENTS.c[name].type) for name in MOVEMENT_COLUMNS}
    if fresh:
        insert = pg_insert(MOVEMENTS).values({**values, 'id': bindparam('m_id', type_=MOVEMENTS.c.id.type)})
    else:
        insert = pg_insert(MOVEMENTS).values(values).on_conflict_do_nothing(index_elements=['request_id'])
    movement = insert.returning(MOVEMENTS.c.id).cte('m')
    balance = (
        update(BALANCES)
        .where(
            BALANCES.c.work_center_id == bindparam('wc'),
            BALANCES.c.order_number == bindparam('order'),
            exists(select(movement.c.id)),
        )
        .values(
            qty_in=BALANCES.c.qty_in + bindparam('d_in'),
            qty_out=BALANCES.c.qty_out + bindparam('d_out'),
            qty_scrap=BALANCES.c.qty_scrap + bindparam('d_scrap', type_=BigInteger),
            qty_rework=BALANCES.c.qty_rework + bindparam('d_rework', type_=BigInteger),
            last_user_id=bindparam('uid'),
            **pair_tally_set(postgres=True),
        )
        .returning(BALANCES.c.work_center_id)
        .cte('b')
    )
    transit = _transit_upsert(pg_insert, exists(select(movement.c.id))).cte('tr')
    hour = hour_upsert(postgres=True, movement=movement).cte('h')
    # The order's activity time (OrderActivity): inserted for a new order, moved on only when more than
    # ACTIVITY_STEP behind. An UPDATE locks only the rows its WHERE keeps, so two work centers recording the
    # same order do not queue on this row; ON CONFLICT DO UPDATE would lock it every time.
    moved = exists(select(movement.c.id))
    at = bindparam('at', type_=ACTIVITY.c.last_movement_at.type)
    first_seen = (
        pg_insert(ACTIVITY)
        .from_select(
            ['order_number', 'last_movement_at'],
            select(cast(bindparam('order'), ACTIVITY.c.order_number.type), cast(at, at.type)).where(moved),
        )
        .on_conflict_do_nothing(index_elements=['order_number'])
        .cte('a_new')
    )
    moved_on = (
        update(ACTIVITY)
        .where(ACTIVITY.c.order_number == bindparam('order'), ACTIVITY.c.last_movement_at < bindparam('a_stale'), moved)
        .values(last_movement_at=at)
        .cte('a_on')
    )
    # pg_notify in the outer select list: evaluated once, for the one row there is when both wrote.
    notify = func.pg_notify(bindparam('channel'), bindparam('payload')).label('notified')
    # Data-modifying CTEs run to completion whether or not the outer select reads them.
    return (
        select(movement.c.id, notify)
        .select_from(movement.join(balance, true()))
        .add_cte(first_seen, moved_on, transit, hour)
    )


def _transit_upsert(insert: Any, moved: Any = None) -> Any:
    """Add a movement's transit change to its transit row (`t_wc`: the receiving work center; NULL: none),
    inserted on a first send. pending_since: when the transit last rose above 0; NULL while it is 0.

    The row to insert holds only a send: SQLite checks the CHECK constraint on it before it sees the
    conflict, and a receipt or an undone send always finds its row there (it read it, locked)."""
    t_wc = bindparam('t_wc', type_=Integer)
    # Cast: PREPARE types a parameter by its first use, and `$n > 0` alone would make it text.
    t_sent = cast(bindparam('t_sent', type_=BigInteger), BigInteger)
    t_recv = cast(bindparam('t_recv', type_=BigInteger), BigInteger)
    at: Any = bindparam('at', type_=TRANSIT.c.pending_since.type)
    if moved is not None:  # PostgreSQL: PREPARE needs the type (SQLite would turn the cast text into a number)
        at = cast(at, TRANSIT.c.pending_since.type)
    wc = cast(bindparam('wc', type_=Integer), Integer)
    statement = insert(TRANSIT)
    added = statement.excluded
    sent, received = TRANSIT.c.qty_sent + t_sent, TRANSIT.c.qty_received + t_recv
    wanted = t_wc.is_not(None) if moved is None else and_(t_wc.is_not(None), moved)
    row = select(
        cast(bindparam('order', type_=String), String),
        cast(t_wc, Integer),
        case((t_sent > 0, t_sent), else_=0),
        literal_column('0'),
        case((t_sent > 0, at)),
        case((t_sent > 0, wc)),
        case((t_sent > 0, at)),
    ).where(wanted)
    columns = ['order_number', 'work_center_id', 'qty_sent', 'qty_received', 'pending_since', 'last_from_id']
    columns.append('last_sent_at')
    return statement.from_select(columns, row).on_conflict_do_update(
        index_elements=['order_number', 'work_center_id'],
        set_={
            'qty_sent': sent,
            'qty_received': received,
            'pending_since': case(
                (sent - received <= 0, None),
                (TRANSIT.c.qty_sent - TRANSIT.c.qty_received <= 0, at),
                else_=TRANSIT.c.pending_since,
            ),
            'last_from_id': func.coalesce(added.last_from_id, TRANSIT.c.last_from_id),
            'last_sent_at': func.coalesce(added.last_sent_at, TRANSIT.c.last_sent_at),
        },
    )


TRANSIT_UPSERT = _transit_upsert(sqlite_insert)  # SQLite's step; PostgreSQL's is in INSERT_AND_APPLY_PG


ENTRY_AND_LOCK_PG = Prepared('potrack_entry_and_lock', _entry_and_lock_pg())
INSERT_AND_APPLY_PG = Prepared('potrack_insert_and_apply', _insert_and_apply_pg(fresh=False))
INSERT_APPLY_AND_COMMIT_PG = Prepared('potrack_insert_and_apply_fresh', _insert_and_apply_pg(fresh=True))


ACTIVITY_UPSERT = (
    sqlite_insert(ACTIVITY)
    .values(order_number=bindparam('order'), last_movement_at=bindparam('at'))
    .on_conflict_do_update(
        index_elements=['order_number'],
        set_={'last_movement_at': sqlite_insert(ACTIVITY).excluded.last_movement_at},
        where=ACTIVITY.c.last_movement_at < bindparam('a_stale', type_=ACTIVITY.c.last_movement_at.type),
    )
)


# An order started by an entry (policy 'allow', or 'confirm' with the start confirmed), and its audit event.
START_ORDER = {
    postgres: insert(ORDERS)
    .values(
        order_number=bindparam('order'),
        status=ORDER_OPEN,
        source=bindparam('source'),
        route=func.coalesce(_setting(DEFAULT_ROUTE_KEY), ''),  # the site's route for orders that come without one
        created_by_id=bindparam('uid'),
        created_at=bindparam('at'),
        updated_by_id=bindparam('uid'),
        updated_at=bindparam('at'),
    )
    .on_conflict_do_nothing(index_elements=['order_number'])
    .returning(ORDERS.c.id)
    for postgres, insert in ((True, pg_insert), (False, sqlite_insert))
}
AUDIT_INSERT = AUDIT.insert()


FIND_REQUEST = select(MOVEMENTS).where(MOVEMENTS.c.request_id == bindparam('request_id'))


# After an in-doubt commit (writer.settle): the movement under a request id, its work center's code and
# its balance row now, in one look.
SETTLE = (
    select(
        MOVEMENTS, CENTERS.c.code.label('wc_code'), BALANCES.c.qty_in.label('b_in'), BALANCES.c.qty_out.label('b_out')
    )
    .select_from(
        MOVEMENTS.join(CENTERS, CENTERS.c.id == MOVEMENTS.c.work_center_id).outerjoin(
            BALANCES,
            (BALANCES.c.work_center_id == MOVEMENTS.c.work_center_id)
            & (BALANCES.c.order_number == MOVEMENTS.c.order_number),
        )
    )
    .where(MOVEMENTS.c.request_id == bindparam('request_id'))
)


# A reversal of a movement that put pieces in transit takes them back out, and a receipt that found no
# transit row may look again: the transit row, locked (after the balance row, as every writer locks), with
# the receiving work center's code for the refusal, and its latest sender's.
_SENDER = CENTERS.alias('sender')
LOCK_TRANSIT = (
    select(TRANSIT.c.qty_sent, TRANSIT.c.qty_received, CENTERS.c.code, _SENDER.c.code.label('sender'))
    .join(CENTERS, CENTERS.c.id == TRANSIT.c.work_center_id)
    .outerjoin(_SENDER, _SENDER.c.id == TRANSIT.c.last_from_id)
    .where(TRANSIT.c.order_number == bindparam('order'), TRANSIT.c.work_center_id == bindparam('wc'))
    .with_for_update(of=TRANSIT)
)


# What a work center (by code) has sent on of an order: its OUTs that were neither scrap nor rework.
SENT_ON_FROM = (
    select(CENTERS.c.id, (BALANCES.c.qty_out - BALANCES.c.qty_scrap - BALANCES.c.qty_rework).label('sent_on'))
    .join(CENTERS, CENTERS.c.id == BALANCES.c.work_center_id)
    .where(BALANCES.c.order_number == bindparam('order'), CENTERS.c.code == bindparam('code'))
)
# A step's opening transit (steps.open_untracked_transit); a concurrent entry that made it first wins.
OPEN_TRANSIT = {
    postgres: insert(TRANSIT)
    .values(
        order_number=bindparam('order'),
        work_center_id=bindparam('wc'),
        qty_sent=bindparam('qty'),
        qty_opening=bindparam('qty'),
        qty_received=0,
        pending_since=bindparam('at', type_=TRANSIT.c.pending_since.type),
        last_from_id=bindparam('sender'),
    )
    .on_conflict_do_nothing(index_elements=['order_number', 'work_center_id'])
    for postgres, insert in ((True, pg_insert), (False, sqlite_insert))
}


# SQLite's write steps run on the cursor (db/compiled.py): SQLAlchemy's execute cost as much as SQLite's work.
SQLITE_INSERT = CompiledSqlite(
    sqlite_insert(MOVEMENTS)
    .values({name: bindparam(name, type_=MOVEMENTS.c[name].type) for name in MOVEMENT_COLUMNS})
    .on_conflict_do_nothing(index_elements=['request_id'])
    .returning(MOVEMENTS.c.id)
)
SQLITE_BALANCE_UPSERT = CompiledSqlite(BALANCE_UPSERT)
SQLITE_ENTRY = CompiledSqlite(ENTRY_QUERY, 'entry')
SQLITE_ACTIVITY_UPSERT = CompiledSqlite(ACTIVITY_UPSERT)
SQLITE_TRANSIT_UPSERT = CompiledSqlite(TRANSIT_UPSERT)
SQLITE_HOUR_UPSERT = CompiledSqlite(HOUR_UPSERT)
