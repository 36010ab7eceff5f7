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

from sqlalchemy import Integer, String, bindparam, cast, exists, func, literal, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from potrack.db.models import ORDER_OPEN
from potrack.db.prepared import Prepared
from potrack.db.tables import (
    ACTIVITY,
    AUDIT,
    BALANCES,
    CENTERS,
    DEPARTMENTS,
    LINKS,
    MOVEMENTS,
    ORDERS,
    SESSIONS,
    SETTINGS,
    USERS,
)

UNKNOWN_ORDERS_KEY = 'unknown_orders'  # common.site_settings.UNKNOWN_ORDERS, read here in the write's own statement


def _entry_query() -> Any:
    linked = exists().where(
        LINKS.c.work_center_id == CENTERS.c.id,
        LINKS.c.department_id == USERS.c.department_id,
        DEPARTMENTS.c.id == LINKS.c.department_id,
        DEPARTMENTS.c.is_active,
    )
    # The order book and the site's unknown-order policy, read in the same round trip as the user: the
    # ledger enforces the policy at the moment of the write, whatever a kiosk looked up before.
    order_status = select(ORDERS.c.status).where(ORDERS.c.order_number == bindparam('order', type_=String))
    policy = select(SETTINGS.c.value).where(SETTINGS.c.key == UNKNOWN_ORDERS_KEY)
    return (
        select(
            USERS.c.is_admin,
            USERS.c.is_active.label('user_active'),
            SESSIONS.c.user_id.label('session_user_id'),
            SESSIONS.c.ended_at,
            SESSIONS.c.expires_at,
            SESSIONS.c.last_seen_at,
            CENTERS.c.id.label('wc_id'),
            CENTERS.c.code,
            CENTERS.c.name,
            CENTERS.c.is_active.label('wc_active'),
            linked.label('linked'),
            order_status.scalar_subquery().label('order_status'),
            policy.scalar_subquery().label('policy'),
        )
        .select_from(
            USERS.outerjoin(SESSIONS, SESSIONS.c.id == bindparam('session_id')).outerjoin(
                CENTERS, CENTERS.c.id == bindparam('work_center_id')
            )
        )
        .where(USERS.c.id == bindparam('user_id'))
    )


# Built once: constructing SQLAlchemy statements per call cost more client CPU than running them.
ENTRY_QUERY = _entry_query()
BALANCE_UPDATE = (
    update(BALANCES)
    .where(BALANCES.c.work_center_id == bindparam('wc'), BALANCES.c.order_number == bindparam('order'))
    .values(
        qty_in=BALANCES.c.qty_in + bindparam('d_in'),
        qty_out=BALANCES.c.qty_out + bindparam('d_out'),
        last_movement_at=bindparam('at', type_=BALANCES.c.last_movement_at.type),
        last_user_id=bindparam('uid'),
    )
)


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
    entry = ENTRY_QUERY.subquery('e')
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
            last_movement_at=bindparam('at', type_=BALANCES.c.last_movement_at.type),
            last_user_id=bindparam('uid'),
        )
        .returning(BALANCES.c.work_center_id)
        .cte('b')
    )
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
    return select(movement.c.id, notify).select_from(movement.join(balance, true())).add_cte(first_seen, moved_on)


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
