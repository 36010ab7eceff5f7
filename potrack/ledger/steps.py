"""The ledger's steps, each one round trip of a statement from `statements`: check the entry, lock
the balance row, insert the movement and apply it, keep the order's activity time, find a request id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Row

from potrack.common import audit
from potrack.common.actors import Actor, refuse_unless_live
from potrack.common.site_settings import ON, REFUSE
from potrack.config import settings
from potrack.db.compiled import sqlite_stamp
from potrack.db.models import ACTIVITY_STEP, ORDER_CANCELLED, ORDER_CLOSED, ORDER_OPEN
from potrack.db.types import utcnow
from potrack.errors import NotAllowed, NotFound, OrderNotOpen, UnknownOrder
from potrack.i18n import N_
from potrack.ledger.flow import Effect, FlowFacts, centers_of
from potrack.ledger.statements import (
    AUDIT_INSERT,
    AUTO_CLOSE_KEY,
    ENTRY_AND_LOCK_PG,
    FIND_REQUEST,
    INSERT,
    INSERT_AND_APPLY_PG,
    INSERT_APPLY_AND_COMMIT_PG,
    LOCK,
    LOCK_TRANSIT,
    MOVEMENT_COLUMNS,
    OFF_ROUTE_KEY,
    OPEN_TRANSIT,
    OVER_RECEIPT_KEY,
    SENT_ON_FROM,
    SQLITE_ACTIVITY_UPSERT,
    SQLITE_BALANCE_UPSERT,
    SQLITE_ENTRY,
    SQLITE_HOUR_UPSERT,
    SQLITE_INSERT,
    SQLITE_TRANSIT_UPSERT,
    START_ORDER,
    UNKNOWN_ORDERS_KEY,
)
from potrack.ledger.tallies import tally_params
from potrack.live import feed


@dataclass(frozen=True)
class EntryContext:
    """The acting user and the work center of an entry, both checked."""

    user_id: int
    work_center_id: int
    work_center_code: str
    order_status: str | None = None  # the order's status in the book; None: not in the book
    policy: str | None = None  # the site's unknown-order policy as stored; None: the configured default
    flow: Any = None  # the flow's facts as read (a row with route, planned, transit, …); None: a reversal
    site: dict[str, str] = field(default_factory=dict)  # the site's settings the write obeys, as stored
    activity_text: str | None = None  # SQLite: the order's activity time as stored (text); None: none, or not read

    @property
    def closes_finished(self) -> bool:
        """The site closes finished orders by themselves, and this one has a route and a plan to finish."""
        row = self.flow
        return row is not None and self.site.get(AUTO_CLOSE_KEY) == ON and bool(row.route) and row.planned is not None

    def facts(self, qty_in: int) -> FlowFacts:
        """The flow's facts at this work center, its balance row's qty_in as locked."""
        row = self.flow
        return FlowFacts(
            code=self.work_center_code,
            route=row.route or '',
            planned=row.planned,
            qty_in=qty_in,
            transit_sent=int(row.t_sent or 0),
            transit_received=int(row.t_received or 0),
            centers=centers_of(row.route_centers),
            tolerance_pct=int(self.site.get(OVER_RECEIPT_KEY) or 0),
            off_route=self.site.get(OFF_ROUTE_KEY) or REFUSE,
            reason_kind=row.reason_kind,
            target_code=row.target_code,
        )


@dataclass(frozen=True)
class FlowAsked:
    """What an entry asks of the flow, which the first statement looks up: the movement type (an IN reads
    its transit), the reason chosen and the rework target."""

    movement_type: str
    reason_id: int | None = None
    rework_to: int | None = None


@dataclass(frozen=True)
class Drawn:
    """PostgreSQL, from entry_and_lock: the new movement's id, and the id stored under the request id."""

    new_id: int
    taken_id: int | None


def entry_and_lock(
    conn: Connection, postgres: bool, actor: Actor, work_center_id: int, order: str, request_id: str, flow: FlowAsked
) -> tuple[EntryContext, tuple[int, int], Drawn | None]:
    """The user (active, session live), the work center (exists, active, in the user's scope, pinned to the
    kiosk), the order's status and flow in the book and the site's policies, and the balance row's numbers,
    locked, in one statement; on PostgreSQL it also inserts a missing balance row, draws the
    movement's id and looks the request id up (Drawn), and locks an IN's transit row after the balance
    row. Returns (entry, (in, out), drawn or None)."""
    if not postgres:
        # SQLite: one writer at a time (BEGIN IMMEDIATE), so the balance row read is as good as locked; a missing
        # one is inserted by the movement's balance upsert.
        row = SQLITE_ENTRY.first(conn, {**_entry_params(actor, work_center_id, flow), 'order': order})
        return _checked_entry(row, actor), (int(row.qty_in or 0), int(row.qty_out or 0)), None
    params = {**_entry_params(actor, work_center_id, flow), 'order': order, 'rid': request_id}
    row = ENTRY_AND_LOCK_PG.first(conn, params)
    entry = _checked_entry(row, actor)
    assert row is not None and row.qty_in is not None  # the work center exists, so the row was locked
    return entry, (int(row.qty_in), int(row.qty_out)), Drawn(int(row.new_id), row.taken_id)


def _entry_params(actor: Actor, work_center_id: int, flow: FlowAsked) -> dict[str, Any]:
    # '' is never a session id: one statement whether or not the actor has a session.
    return {
        'session_id': actor.session_id or '',
        'work_center_id': work_center_id,
        'user_id': actor.user_id,
        'mtype': flow.movement_type,
        'reason_id': flow.reason_id,
        'rework_to': flow.rework_to,
    }


def _checked_entry(row: Any, actor: Actor) -> EntryContext:
    """Refuse an inactive user, a session that is not live, an unknown, foreign or inactive work center."""
    refuse_unless_live(actor, row)
    if row.wc_id is None:
        raise NotFound(N_('That work center does not exist.'), field='work_center', params={})
    named = {'work_center': f'{row.code} {row.name}'}
    if not (row.is_admin or row.linked):
        raise NotAllowed(
            N_("{work_center} is not one of your department's work centers; nothing was recorded."),
            field='work_center',
            params=named,
        )
    if not row.pinned:
        raise NotAllowed(
            N_("{work_center} is not one of this kiosk's work centers; nothing was recorded."),
            field='work_center',
            params=named,
        )
    if not row.wc_active:
        raise NotAllowed(N_('{work_center} is deactivated; nothing was recorded.'), field='work_center', params=named)
    site = site_values(row.site)
    policy = site.get(UNKNOWN_ORDERS_KEY)
    activity_text = getattr(row, 'activity_text', None)
    return EntryContext(actor.user_id, row.wc_id, row.code, row.order_status, policy, row, site, activity_text)


def site_values(lines: str | None) -> dict[str, str]:
    """The first statement's site settings ('key=value' lines) by key; a setting never changed is absent."""
    return dict(line.split('=', 1) for line in (lines or '').split('\n') if '=' in line)


NOT_OPEN = {  # the order book's status (a CHECK allows only these besides 'open') -> the refusal
    ORDER_CLOSED: N_(
        '{order} is closed: it takes no new movements, nothing was recorded. An administrator can reopen it.'
    ),
    ORDER_CANCELLED: N_(
        '{order} is cancelled: it takes no new movements, nothing was recorded. An administrator can reopen it.'
    ),
}


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
        raise OrderNotOpen(NOT_OPEN[status], field='order_number', params={'order': order})
    policy = entry.policy or settings().unknown_orders
    if policy == 'refuse':
        raise UnknownOrder(
            N_('{order} is not in the order book — check the number or ask the office. Nothing was recorded.'),
            order_number=order,
            can_start=False,
            params={'order': order},
        )
    if policy == 'confirm' and not start:
        raise UnknownOrder(
            N_('{order} is not in the order book. Start it here? Nothing was recorded yet.'),
            order_number=order,
            can_start=True,
            params={'order': order},
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


def audit_flag(conn: Connection, values: dict[str, Any], flag: str, movement_id: int) -> None:
    """A receipt beyond what was sent (inside the tolerance) or off the route: allowed, and remembered."""
    after = {
        'order_number': values['order_number'],
        'work_center_id': values['work_center_id'],
        'quantity': values['quantity'],
        'from_transit': values['transit_qty'],
        'request_id': values['request_id'],
    }
    row = {
        'at': values['created_at'],
        'actor_id': values['user_id'],
        'action': f'movement.{flag}',
        'entity': 'production_order',
        'entity_id': str(movement_id),
        'before': None,
        'after': audit.dump_json(after),
    }
    conn.execute(AUDIT_INSERT, row)


def lock_balance(conn: Connection, postgres: bool, wc_id: int, order: str) -> tuple[int, int]:
    """Create the balance row if missing and lock it, in one statement; returns (qty_in, qty_out).

    Row locks only serialize rows that exist, so the row is inserted first (never two first rows).
    """
    qty_in, qty_out = conn.execute(LOCK[postgres], {'wc': wc_id, 'order': order}).one()
    return int(qty_in), int(qty_out)


def insert_movement(conn: Connection, postgres: bool, values: dict[str, Any]) -> int | None:
    """Insert a movement; None when its request id is already taken (the caller replays the first one)."""
    if not postgres:
        row = SQLITE_INSERT.run(conn, values)
        return None if row is None else row[0]
    return conn.execute(INSERT[postgres], values).scalar_one_or_none()


def insert_and_apply(
    conn: Connection,
    postgres: bool,
    values: dict[str, Any],
    d_in: int,
    d_out: int,
    effect: Effect,
    activity_text: str | None = None,
) -> int | None:
    """Insert a movement, add it to its (locked) balance row and its flow to its transit row; PostgreSQL also
    queues the change notices. `activity_text` (SQLite): the order's activity time as the entry read it, as
    stored.

    None when the request id is already taken: then nothing was written (the caller replays the first one).
    """
    if not postgres:
        movement_id = insert_movement(conn, postgres, values)
        if movement_id is not None:
            tally = tally_params(values)
            apply_to_balance(conn, values, d_in, d_out, effect, tally)
            SQLITE_HOUR_UPSERT.run(conn, {**tally, 'wc': values['work_center_id']})
            at = values['created_at']
            # The upsert's own rule (SQLite compares the stored texts), a statement saved when it would do nothing.
            if activity_text is None or activity_text < sqlite_stamp(at - ACTIVITY_STEP):
                touch_activity(conn, values['order_number'], at)
            t_wc, t_sent, t_recv = effect.transit_change(values['movement_type'], values['work_center_id'])
            if t_wc is not None:
                SQLITE_TRANSIT_UPSERT.run(conn, _transit_params(values, t_wc, t_sent, t_recv))
        return movement_id
    row = INSERT_AND_APPLY_PG.first(conn, _insert_params(values, d_in, d_out, effect))
    return None if row is None else int(row.id)


def insert_apply_and_commit(
    conn: Connection, values: dict[str, Any], d_in: int, d_out: int, effect: Effect, movement_id: int
) -> None:
    """PostgreSQL: insert_and_apply with the id drawn by entry_and_lock, and COMMIT in the same round trip.

    For a request id entry_and_lock found unused. Taken meanwhile by a concurrent replay, it fails with a
    unique violation (the caller runs the whole write again, and then finds it taken).
    """
    params = {**_insert_params(values, d_in, d_out, effect), 'm_id': movement_id}
    INSERT_APPLY_AND_COMMIT_PG.run_and_commit(conn, params)


_MOVEMENT_KEYS = tuple((f'm_{name}', name) for name in MOVEMENT_COLUMNS)  # the statement's names for them


def _insert_params(values: dict[str, Any], d_in: int, d_out: int, effect: Effect) -> dict[str, Any]:
    t_wc, t_sent, t_recv = effect.transit_change(values['movement_type'], values['work_center_id'])
    change = feed.Change(values['work_center_id'], values['order_number'], arrival=t_wc)
    return {
        **{key: values[name] for key, name in _MOVEMENT_KEYS},
        **_transit_params(values, t_wc, t_sent, t_recv),
        'd_in': d_in,
        'd_out': d_out,
        'd_scrap': effect.d_scrap,
        'd_rework': effect.d_rework,
        'uid': values['user_id'],
        'a_stale': values['created_at'] - ACTIVITY_STEP,
        **tally_params(values),
        'channel': feed.CHANNEL,
        'payload': change.to_json(),
    }


def _transit_params(values: dict[str, Any], t_wc: int | None, t_sent: int, t_recv: int) -> dict[str, Any]:
    return {
        'wc': values['work_center_id'],
        'order': values['order_number'],
        'at': values['created_at'],
        't_wc': t_wc,
        't_sent': t_sent,
        't_recv': t_recv,
    }


def apply_to_balance(
    conn: Connection, values: dict[str, Any], d_in: int, d_out: int, effect: Effect, tally: dict[str, Any]
) -> None:
    params = {
        **tally,
        'wc': values['work_center_id'],
        'order': values['order_number'],
        'd_in': d_in,
        'd_out': d_out,
        'd_scrap': effect.d_scrap,
        'd_rework': effect.d_rework,
        'at': values['created_at'],
        'uid': values['user_id'],
    }
    SQLITE_BALANCE_UPSERT.run(conn, params)


def lock_transit(conn: Connection, order: str, work_center_id: int) -> Row[Any] | None:
    """The transit row to a work center, locked (a reversal that takes pieces back out of it), with the
    work center's code; None when there is none."""
    return conn.execute(LOCK_TRANSIT, {'order': order, 'wc': work_center_id}).first()


def touch_activity(conn: Connection, order: str, at: datetime) -> None:
    """SQLite: the order's activity time, as the PostgreSQL statement keeps it (one writer: no lock to spare)."""
    SQLITE_ACTIVITY_UPSERT.run(conn, {'order': order, 'at': at, 'a_stale': at - ACTIVITY_STEP})


def find_request(conn: Connection, request_id: str) -> Row[Any] | None:
    """The movement stored under a request id (its columns by name), or None."""
    return conn.execute(FIND_REQUEST, {'request_id': request_id}).first()


def open_untracked_transit(
    conn: Connection, postgres: bool, order: str, entry: EntryContext, facts: FlowFacts
) -> Row[Any] | None:
    """A later route step that no transit ever reached, refusing a receipt: the pieces its step before sent on
    without a route to follow (the route was set after they left) and it has not received are in transit
    to it, as migration 0007 opened them for the orders running then. Made as that row's opening transit
    (audited), and returned locked; None when there are none."""
    steps = facts.steps
    if facts.code not in steps or steps[0] == facts.code:
        return None
    before = steps[steps.index(facts.code) - 1]
    found = conn.execute(SENT_ON_FROM, {'order': order, 'code': before}).first()
    gap = 0 if found is None else int(found.sent_on) - facts.qty_in
    if found is None or gap <= 0:
        return None
    at = utcnow()
    opening = {'order': order, 'wc': entry.work_center_id, 'qty': gap, 'at': at, 'sender': found.id}
    conn.execute(OPEN_TRANSIT[postgres], opening)
    after = {'work_center': facts.code, 'from': before, 'pieces': gap}
    event = {'at': at, 'actor_id': entry.user_id, 'action': 'order.transit_opened', 'entity': 'order'}
    conn.execute(AUDIT_INSERT, {**event, 'entity_id': order, 'before': None, 'after': audit.dump_json(after)})
    return lock_transit(conn, order, entry.work_center_id)
