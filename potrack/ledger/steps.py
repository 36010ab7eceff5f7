"""The ledger's steps, each one round trip of a statement from `statements`: check the entry, lock
the balance row, insert the movement and apply it, keep the order's activity time, find a request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Row

from potrack.common import audit
from potrack.common.actors import SIGNED_OUT_MESSAGE, Actor, session_is_live
from potrack.config import settings
from potrack.db.models import ACTIVITY_STEP, ORDER_OPEN
from potrack.errors import NotAllowed, NotFound, OrderNotOpen, SignedOut, UnknownOrder
from potrack.ledger.statements import (
    ACTIVITY_UPSERT,
    AUDIT_INSERT,
    BALANCE_UPDATE,
    ENTRY_AND_LOCK_PG,
    ENTRY_QUERY,
    FIND_REQUEST,
    INSERT,
    INSERT_AND_APPLY_PG,
    INSERT_APPLY_AND_COMMIT_PG,
    LOCK,
    MOVEMENT_COLUMNS,
    START_ORDER,
)
from potrack.live import feed


@dataclass(frozen=True)
class EntryContext:
    """The acting user and the work center of an entry, both checked."""

    user_id: int
    work_center_id: int
    work_center_code: str
    order_status: str | None = None  # the order's status in the book; None: not in the book
    policy: str | None = None  # the site's unknown-order policy as stored; None: the configured default


def entry_context(conn: Connection, actor: Actor, work_center_id: int, order: str) -> EntryContext:
    """One query: the user (active, session live), the work center (exists, active, in the user's scope),
    the order's status in the book and the site's unknown-order policy."""
    row = conn.execute(ENTRY_QUERY, {**_entry_params(actor, work_center_id), 'order': order}).first()
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
        entry = entry_context(conn, actor, work_center_id, order)
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
    return EntryContext(actor.user_id, row.wc_id, row.code, row.order_status, row.policy)


def admit_order(
    conn: Connection, postgres: bool, entry: EntryContext, order: str, *, start: bool, source: str, at: datetime
) -> None:
    """The order book's rule for a new movement: an open order passes; a closed or cancelled one is refused;
    one not in the book is refused, or started (source `source`) under 'allow', or under 'confirm' when the
    person confirmed the start (`start`). Inside the write's transaction, so a refusal writes nothing."""
    status = entry.order_status
    if status == ORDER_OPEN:
        return
    if status is not None:
        raise OrderNotOpen(
            f'{order} is {status}: it takes no new movements, nothing was recorded. An administrator can reopen it.',
            field='order_number',
        )
    policy = entry.policy or settings().unknown_orders
    if policy == 'refuse':
        raise UnknownOrder(
            f'{order} is not in the order book — check the number or ask the office. Nothing was recorded.',
            order_number=order,
            can_start=False,
        )
    if policy == 'confirm' and not start:
        raise UnknownOrder(
            f'{order} is not in the order book. Start it here? Nothing was recorded yet.',
            order_number=order,
            can_start=True,
        )
    params = {'order': order, 'source': source, 'uid': entry.user_id, 'at': at}
    if conn.execute(START_ORDER[postgres], params).scalar_one_or_none() is not None:
        conn.execute(
            AUDIT_INSERT,
            {
                'at': at,
                'actor_id': entry.user_id,
                'action': 'order.create',
                'entity': 'order',
                'entity_id': order,
                'before': None,
                'after': audit.dump_json({'source': source, 'policy': policy}),
            },
        )


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


def touch_activity(conn: Connection, order: str, at: datetime) -> None:
    """SQLite: the order's activity time, as the PostgreSQL statement keeps it (one writer: no lock to spare)."""
    conn.execute(ACTIVITY_UPSERT, {'order': order, 'at': at, 'a_stale': at - ACTIVITY_STEP})


def find_request(conn: Connection, request_id: str) -> Row[Any] | None:
    """The movement stored under a request id (its columns by name), or None."""
    return conn.execute(FIND_REQUEST, {'request_id': request_id}).first()
