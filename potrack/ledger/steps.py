"""The ledger's SQL steps, as single Core statements: the write path is the floor's hot path.

Each step is one round trip and builds no ORM objects, which keeps a recorded movement close to the
cost of the raw locked transaction (see bench/record.py). On PostgreSQL the steps are folded further,
into two statements: (check the user and the work center + insert-or-lock the balance row) and
(insert the movement + update the balance + NOTIFY). Each statement cost a round trip and ~0.15 ms of
SQLAlchemy's client time, which at 8 writers is what one Python process runs out of first; both are
server-side prepared statements (`potrack.db.prepared`), because planning them cost more than running them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, exists, func, literal, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from potrack.common.actors import SIGNED_OUT_MESSAGE, Actor, session_is_live
from potrack.db.models import ACTIVITY_STEP
from potrack.db.prepared import Prepared
from potrack.db.tables import ACTIVITY, BALANCES, CENTERS, DEPARTMENTS, LINKS, MOVEMENTS, SESSIONS, USERS
from potrack.errors import NotAllowed, NotFound, SignedOut
from potrack.live import feed


@dataclass(frozen=True)
class EntryContext:
    """The acting user and the work center of an entry, both checked."""

    user_id: int
    work_center_id: int
    work_center_code: str


def _entry_query() -> Any:
    linked = exists().where(
        LINKS.c.work_center_id == CENTERS.c.id,
        LINKS.c.department_id == USERS.c.department_id,
        DEPARTMENTS.c.id == LINKS.c.department_id,
        DEPARTMENTS.c.is_active,
    )
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


def entry_context(conn: Connection, actor: Actor, work_center_id: int) -> EntryContext:
    """One query: the user (active, session live), the work center (exists, active, in the user's scope)."""
    row = conn.execute(ENTRY_QUERY, _entry_params(actor, work_center_id)).first()
    return _checked_entry(row, actor)


@dataclass(frozen=True)
class Drawn:
    """PostgreSQL, from entry_and_lock: the new movement's id, and the id stored under the request id."""

    new_id: int
    taken_id: int | None


def entry_and_lock(
    conn: Connection, postgres: bool, actor: Actor, work_center_id: int, order: str, request_id: str
) -> tuple[EntryContext, tuple[int, int], Drawn | None]:
    """entry_context, then lock_balance; on PostgreSQL both in one statement, which also draws the
    movement's id and looks the request id up (Drawn). Returns (entry, (in, out), drawn or None)."""
    if not postgres:
        entry = entry_context(conn, actor, work_center_id)
        return entry, lock_balance(conn, postgres, entry.work_center_id, order), None
    params = {**_entry_params(actor, work_center_id), 'order': order, 'rid': request_id}
    row = ENTRY_AND_LOCK_PG.first(conn, params)
    entry = _checked_entry(row, actor)
    assert row is not None and row.qty_in is not None  # the work center exists, so the row was locked
    return entry, (int(row.qty_in), int(row.qty_out)), Drawn(int(row.new_id), row.taken_id)


def _entry_params(actor: Actor, work_center_id: int) -> dict[str, Any]:
    # '' is never a session id: one statement whether or not the actor has a session.
    return {'session_id': actor.session_id or '', 'work_center_id': work_center_id, 'user_id': actor.user_id}


def _checked_entry(row: Any, actor: Actor) -> EntryContext:
    """Refuse an inactive user, a session that is not live, an unknown, foreign or inactive work center."""
    if row is None or not row.user_active:
        raise SignedOut(SIGNED_OUT_MESSAGE)
    if actor.session_id is not None and not session_is_live(
        actor.user_id, row.is_admin, row.session_user_id, row.ended_at, row.expires_at, row.last_seen_at
    ):
        raise SignedOut(SIGNED_OUT_MESSAGE)
    if row.wc_id is None:
        raise NotFound('That work center does not exist.', field='work_center')
    if not (row.is_admin or row.linked):
        raise NotAllowed(
            f"{row.code} {row.name} is not one of your department's work centers; nothing was recorded.",
            field='work_center',
        )
    if not row.wc_active:
        raise NotAllowed(f'{row.code} {row.name} is deactivated; nothing was recorded.', field='work_center')
    return EntryContext(actor.user_id, row.wc_id, row.code)


def lock_balance(conn: Connection, postgres: bool, wc_id: int, order: str) -> tuple[int, int]:
    """Create the balance row if missing and lock it, in one statement; returns (qty_in, qty_out).

    Row locks only serialize rows that exist, so the row is inserted first (never two first rows).
    """
    qty_in, qty_out = conn.execute(LOCK[postgres], {'wc': wc_id, 'order': order}).one()
    return int(qty_in), int(qty_out)


def insert_movement(conn: Connection, postgres: bool, values: dict[str, Any]) -> int | None:
    """Insert a movement; None when its request id is already taken (the caller replays the first one)."""
    return conn.execute(INSERT[postgres], values).scalar_one_or_none()


def insert_and_apply(conn: Connection, postgres: bool, values: dict[str, Any], d_in: int, d_out: int) -> int | None:
    """Insert a movement and add it to its (locked) balance row; PostgreSQL also queues its change notice.

    None when the request id is already taken: then nothing was written (the caller replays the first one).
    """
    if not postgres:
        movement_id = insert_movement(conn, postgres, values)
        if movement_id is not None:
            apply_to_balance(
                conn,
                values['work_center_id'],
                values['order_number'],
                d_in,
                d_out,
                values['created_at'],
                values['user_id'],
            )
            touch_activity(conn, values['order_number'], values['created_at'])
        return movement_id
    row = INSERT_AND_APPLY_PG.first(conn, _insert_params(values, d_in, d_out))
    return None if row is None else int(row.id)


def insert_apply_and_commit(conn: Connection, values: dict[str, Any], d_in: int, d_out: int, movement_id: int) -> None:
    """PostgreSQL: insert_and_apply with the id drawn by entry_and_lock, and COMMIT in the same round trip.

    For a request id entry_and_lock found unused. Taken meanwhile by a concurrent replay, it fails with a
    unique violation (the caller runs the whole write again, and then finds it taken).
    """
    INSERT_APPLY_AND_COMMIT_PG.run_and_commit(conn, {**_insert_params(values, d_in, d_out), 'm_id': movement_id})


def _insert_params(values: dict[str, Any], d_in: int, d_out: int) -> dict[str, Any]:
    change = feed.Change(values['work_center_id'], values['order_number'])
    return {
        **{f'm_{name}': values[name] for name in MOVEMENT_COLUMNS},
        'wc': values['work_center_id'],
        'order': values['order_number'],
        'd_in': d_in,
        'd_out': d_out,
        'at': values['created_at'],
        'uid': values['user_id'],
        'a_stale': values['created_at'] - ACTIVITY_STEP,
        'channel': feed.CHANNEL,
        'payload': change.to_json(),
    }


def apply_to_balance(
    conn: Connection, wc_id: int, order: str, d_in: int, d_out: int, at: datetime, user_id: int
) -> None:
    conn.execute(BALANCE_UPDATE, {'wc': wc_id, 'order': order, 'd_in': d_in, 'd_out': d_out, 'at': at, 'uid': user_id})


ACTIVITY_UPSERT = (
    sqlite_insert(ACTIVITY)
    .values(order_number=bindparam('order'), last_movement_at=bindparam('at'))
    .on_conflict_do_update(
        index_elements=['order_number'],
        set_={'last_movement_at': sqlite_insert(ACTIVITY).excluded.last_movement_at},
        where=ACTIVITY.c.last_movement_at < bindparam('a_stale', type_=ACTIVITY.c.last_movement_at.type),
    )
)


def touch_activity(conn: Connection, order: str, at: datetime) -> None:
    """SQLite: the order's activity time, as the PostgreSQL statement keeps it (one writer: no lock to spare)."""
    conn.execute(ACTIVITY_UPSERT, {'order': order, 'at': at, 'a_stale': at - ACTIVITY_STEP})


FIND_REQUEST = select(MOVEMENTS).where(MOVEMENTS.c.request_id == bindparam('request_id'))


def find_request(conn: Connection, request_id: str) -> Row[Any] | None:
    """The movement stored under a request id (its columns by name), or None."""
    return conn.execute(FIND_REQUEST, {'request_id': request_id}).first()
