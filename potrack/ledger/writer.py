"""The ledger's one write path: record IN/OUT (and, for `reversal`, its opposite).

Each call is one transaction following DESIGN.md's write path: validate, check the actor and the
work center, make sure the balance row exists and lock it, refuse an OUT above the balance, insert
the movement under its request id (a replay returns the first result), update the balance, queue
the change notice, commit. Nothing else in potrack writes `production_order` or `order_balance`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.exc import DBAPIError, IntegrityError

from potrack.common import metrics
from potrack.common.actors import Actor
from potrack.common.validation import (
    normalize_order_number,
    normalize_request_id,
    parse_movement_type,
    parse_quantity,
)
from potrack.db.engine import NOT_SAVED_MESSAGE, Database, RetryableWrite, database
from potrack.db.models import (
    IN,
    OUT,
    ProductionOrder,
)
from potrack.db.types import utcnow
from potrack.errors import (
    BeyondTransit,
    Conflict,
    InsufficientBalance,
    InvalidInput,
    NotSaved,
    OrderNotOpen,
    OutcomeUnknown,
    UnknownOrder,
)
from potrack.i18n import N_
from potrack.ledger import closing, flow, statements, steps
from potrack.live import feed

log = logging.getLogger(__name__)
IN_DOUBT = (
    'It may or may not be saved: the connection broke while it was being saved. Send it again with the same '
    'key (the same entry): it will not be booked twice.'
)


@dataclass(frozen=True)
class MovementResult:
    """What a write left behind: the movement and the balance at its work center right after it."""

    movement_id: int
    request_id: str
    order_number: str
    work_center_id: int
    work_center_code: str
    movement_type: str
    quantity: int  # as stored: negative for a reversal
    qty_in: int
    qty_out: int
    created_at: datetime
    reverses_id: int | None = None
    already_recorded: bool = False
    disposition: str | None = None  # an OUT's: 'sent', 'scrap' or 'rework'
    to_work_center_id: int | None = None  # where it put pieces in transit
    to_work_center_code: str | None = None
    transit_qty: int = 0  # put into transit (OUT) or taken out of it (IN); signed like quantity
    reason_id: int | None = None
    flag: str | None = None  # flow.OVER_RECEIPT / flow.OFF_ROUTE: a receipt the audit remembers
    may_finish: bool = False  # an OUT that can have finished its order, at a site that closes finished orders

    @property
    def balance(self) -> int:
        return self.qty_in - self.qty_out


@metrics.counted_movements
def record_movement(
    actor: Actor,
    *,
    work_center_id: int,
    order_number: Any,
    quantity: Any,
    movement_type: Any,
    disposition: Any = None,
    reason_id: int | None = None,
    rework_to: int | None = None,
    request_id: str | None = None,
    start_order: bool = False,
    source: str = 'kiosk',
    db: Database | None = None,
) -> MovementResult:
    """Record that `quantity` pieces of an order came IN to or went OUT of a work center.

    An OUT's `disposition` (flow.py): 'sent' on (the default), 'scrap' (with `reason_id`) or 'rework' (with
    `reason_id` and `rework_to`, an earlier work center of the route). An IN is bounded by the flow.

    An order not in the book is refused or started as the site's policy says (steps.admit_order);
    `start_order` is the person's confirmation under 'confirm', `source` what a started order records
    ('kiosk' or 'api').

    Raises InvalidInput (nothing written), SignedOut, NotAllowed / NotFound (work center not usable by
    the actor), UnknownOrder / OrderNotOpen (the order book's refusals), InsufficientBalance (OUT above
    the balance), BeyondTransit (an IN above what was sent), Conflict (request id reused for other content)
    and NotSaved (database unreachable or
    too busy; its OutcomeUnknown when the connection broke during the commit and the outcome could not be
    read back: the same request id, sent again, is safe).
    """
    order = normalize_order_number(order_number)
    qty = parse_quantity(quantity)
    mtype = parse_movement_type(movement_type)
    disp = flow.parse_disposition(disposition, mtype)
    asked = steps.FlowAsked(mtype, parse_id(reason_id, 'reason'), parse_id(rework_to, 'rework_to'))
    rid = normalize_request_id(request_id)
    db = db or database()

    def unit(conn: Connection) -> MovementResult:
        entry, locked, drawn = steps.entry_and_lock(conn, db.is_postgres, actor, work_center_id, order, rid, asked)
        return write_entry(
            conn,
            db,
            entry,
            order,
            mtype,
            qty,
            rid,
            locked=locked,
            drawn=drawn,
            admission=(start_order, source),
            asked=(disp, asked),
        )

    try:
        result = db.write_core(unit)
    except OutcomeUnknown as doubt:  # the connection broke with the COMMIT on its way: look before answering
        result = settle(db, doubt, rid, (order, work_center_id, mtype, qty, actor.user_id, None, disp))
    announce_result(db, result)
    if result.may_finish and not result.already_recorded:
        closing.close_if_done(db, order, actor.user_id)
    if not result.already_recorded:
        # DEBUG: the ledger itself is the record of every movement; at hundreds a second from the API a
        # log line each cost 4% of an instance's CPU and buried the warnings that matter.
        log.debug(
            'recorded %s %d of %s at %s by user %d (request %s)',
            mtype,
            qty,
            order,
            result.work_center_code,
            actor.user_id,
            rid,
        )
    return result


def write_entry(
    conn: Connection,
    db: Database,
    entry: steps.EntryContext,
    order: str,
    mtype: str,
    qty: int,
    rid: str,
    *,
    locked: tuple[int, int] | None = None,
    drawn: steps.Drawn | None = None,
    reverses: ProductionOrder | None = None,
    reason: str | None = None,
    admission: tuple[bool, str] | None = None,
    asked: tuple[str | None, steps.FlowAsked] | None = None,
) -> MovementResult:
    """Steps 3–6 of the write path, shared by recording and reversing. `qty` is always positive.

    `locked`: the balance row's (qty_in, qty_out) when the caller has locked it already. `drawn`
    (PostgreSQL, recording): the movement's id drawn and the request id looked up with the lock; then a
    replay is answered at once, and a new movement is inserted and committed in one round trip.
    `admission` (recording, not reversing): (start_order, source) for the order book's rule. `asked`
    (recording): the OUT's disposition and what the flow was asked (reason, rework target).
    """
    wc_id, code = entry.work_center_id, entry.work_center_code
    qty_in, qty_out = locked or steps.lock_balance(conn, db.is_postgres, wc_id, order)
    stored_qty = -qty if reverses is not None else qty
    disposition = reverses.disposition if reverses is not None else (asked[0] if asked else None)
    expected = (order, wc_id, mtype, stored_qty, entry.user_id, reverses.id if reverses else None, disposition)
    if drawn is not None and drawn.taken_id is not None:  # the request id was used before: a replay
        previous = steps.find_request(conn, rid)
        assert previous is not None
        return _replayed(previous, expected, code, qty_in, qty_out)
    now = utcnow()
    if admission is not None:
        try:
            steps.admit_order(conn, db.is_postgres, entry, order, start=admission[0], source=admission[1], at=now)
        except (UnknownOrder, OrderNotOpen):
            # A replay of an entry saved before its order was closed is "already recorded", not a refusal.
            previous = steps.find_request(conn, rid)
            if previous is None:
                raise
            return _replayed(previous, expected, code, qty_in, qty_out)
    d_in = stored_qty if mtype == IN else 0
    d_out = stored_qty if mtype == OUT else 0
    available = qty_in - qty_out
    refusal: InsufficientBalance | InvalidInput | None = None
    effect = flow.NO_EFFECT
    if mtype == OUT and d_out > available:
        refusal = InsufficientBalance(
            N_('Only {available} pieces of {order} are at {code}; you tried to send {qty}.'),
            available=available,
            requested=qty,
            params={'available': available, 'order': order, 'code': code, 'qty': qty},
        )
    elif mtype == IN and reverses is not None and qty > available:
        refusal = InsufficientBalance(
            N_(
                'Cannot reverse the IN of {qty} pieces of {order} at {code}: only {available} are still there '
                '({qty_out} have been sent on).'
            ),
            available=available,
            requested=qty,
            params={'qty': qty, 'order': order, 'code': code, 'available': available, 'qty_out': qty_out},
        )
    else:
        try:
            effect = _effect(conn, db, entry, order, mtype, qty, qty_in, reverses, asked)
        except (BeyondTransit, InvalidInput) as exc:  # the flow's refusals (the rows and lists as they are now)
            refusal = exc
    if refusal is not None:
        # A replay of an OUT that already took these pieces (or of an entry whose reason was retired or route
        # changed since) is "already recorded", not a refusal.
        # Looked up again even when entry_and_lock found it unused: that statement's snapshot predates its
        # wait for the lock, so a retry queued behind its own original sees the balance after it, not it.
        previous = steps.find_request(conn, rid)
        if previous is None:
            raise refusal
        return _replayed(previous, expected, code, qty_in, qty_out)

    values = {
        'order_number': order,
        'work_center_id': wc_id,
        'quantity': stored_qty,
        'movement_type': mtype,
        'user_id': entry.user_id,
        'created_at': now,
        'request_id': rid,
        'reverses_id': reverses.id if reverses else None,
        'reason': reason,
        'disposition': effect.disposition,
        'to_work_center_id': effect.to_work_center_id,
        'reason_id': effect.reason_id,
        'transit_qty': effect.transit_qty,
    }
    try:
        if drawn is not None:
            if effect.flag:  # before the last statement: it commits
                steps.audit_flag(conn, values, effect.flag, drawn.new_id)
            steps.insert_apply_and_commit(conn, values, d_in, d_out, effect, drawn.new_id)
            movement_id: int | None = drawn.new_id
        else:
            movement_id = steps.insert_and_apply(conn, db.is_postgres, values, d_in, d_out, effect, entry.activity_text)
            if movement_id is not None and effect.flag:
                steps.audit_flag(conn, values, effect.flag, movement_id)
    except IntegrityError as exc:
        # A concurrent reversal of the same movement, or a concurrent replay of the same request,
        # committed first: run again to see it.
        if 'reverses_id' in str(exc.orig) or 'request_id' in str(exc.orig):
            raise RetryableWrite from exc
        raise
    if movement_id is None:  # the request id was used before: this is a replay
        previous = steps.find_request(conn, rid)
        assert previous is not None
        return _replayed(previous, expected, code, qty_in, qty_out)
    return MovementResult(
        movement_id=movement_id,
        request_id=rid,
        order_number=order,
        work_center_id=wc_id,
        work_center_code=code,
        movement_type=mtype,
        quantity=stored_qty,
        qty_in=qty_in + d_in,
        qty_out=qty_out + d_out,
        created_at=now,
        reverses_id=values['reverses_id'],  # type: ignore[arg-type]
        disposition=effect.disposition,
        to_work_center_id=effect.to_work_center_id,
        to_work_center_code=effect.to_code,
        transit_qty=effect.transit_qty,
        reason_id=effect.reason_id,
        flag=effect.flag,
        may_finish=mtype == OUT and entry.closes_finished and effect.transit_qty == 0 and reverses is None,
    )


def _effect(
    conn: Connection,
    db: Database,
    entry: steps.EntryContext,
    order: str,
    mtype: str,
    qty: int,
    qty_in: int,
    reverses: ProductionOrder | None,
    asked: tuple[str | None, steps.FlowAsked] | None,
) -> flow.Effect:
    """What the movement does to the flow (flow.py). Raises BeyondTransit, InvalidInput."""
    if reverses is not None:
        effect = flow.reversed_effect(reverses)
        if mtype == OUT and effect.to_work_center_id is not None and effect.transit_qty:
            row = steps.lock_transit(conn, order, effect.to_work_center_id)
            sent, received = (int(row.qty_sent), int(row.qty_received)) if row is not None else (0, 0)
            if sent + effect.transit_qty < received:
                to_code = row.code if row is not None else '?'
                raise BeyondTransit(
                    N_(
                        'Cannot undo sending {qty} pieces of {order} to {to_code}: {to_code} has already received '
                        '{received} of the {sent} sent to it. Correct that receipt at {to_code} first.'
                    ),
                    available=max(sent - received, 0),
                    requested=qty,
                    params={'qty': qty, 'order': order, 'to_code': to_code, 'received': received, 'sent': sent},
                )
        return effect
    if asked is None or entry.flow is None:
        return flow.NO_EFFECT
    facts = entry.facts(qty_in)
    if mtype == IN:
        try:
            return flow.receipt(order, qty, facts)
        except BeyondTransit:
            # Refused on the first statement's numbers: look at the transit row again, locked, for its sender's
            # code (the refusal names it) and, PostgreSQL, for a row the first send here inserted while this
            # entry queued for the balance row's lock (not in that statement's snapshot). With no row at all,
            # the route may have been set after the step before sent its pieces on: their opening transit.
            row = steps.lock_transit(conn, order, entry.work_center_id)
            if row is None:
                row = steps.open_untracked_transit(conn, db.is_postgres, order, entry, facts)
            if row is None:
                raise
            facts = dataclasses.replace(
                facts, transit_sent=int(row.qty_sent), transit_received=int(row.qty_received), transit_from=row.sender
            )
            return flow.receipt(order, qty, facts)
    disposition, wanted = asked
    assert disposition is not None
    return flow.dispatch(order, qty, disposition, wanted.reason_id, wanted.rework_to, facts)


def parse_id(raw: Any, field: str) -> int | None:
    """An optional id from a form or a request: None, or a positive whole number. Raises InvalidInput."""
    if raw is None or raw == '':
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
        raise InvalidInput(f'{field.replace("_", " ")} must be a number.', field=field)
    return int(raw)


def _replayed(previous: Row[Any], expected: tuple[object, ...], code: str, qty_in: int, qty_out: int) -> MovementResult:
    """The first result of a request sent again; refused if the request id now carries other content."""
    # An OUT recorded before the flow was tracked has no disposition: it was sent on.
    legacy_out = previous.movement_type == OUT and previous.reverses_id is None and previous.disposition is None
    stored = (
        previous.order_number,
        previous.work_center_id,
        previous.movement_type,
        previous.quantity,
        previous.user_id,
        previous.reverses_id,
        flow.SENT if legacy_out else previous.disposition,
    )
    if stored != expected:
        raise Conflict(
            N_('This entry was already used for a different movement; nothing was recorded. Start a new entry.'),
            field='request_id',
            params={},
        )
    assert previous.id is not None
    return MovementResult(
        movement_id=previous.id,
        request_id=previous.request_id,
        order_number=previous.order_number,
        work_center_id=previous.work_center_id,
        work_center_code=code,
        movement_type=previous.movement_type,
        quantity=previous.quantity,
        qty_in=qty_in,
        qty_out=qty_out,
        created_at=previous.created_at,
        reverses_id=previous.reverses_id,
        already_recorded=True,
        disposition=previous.disposition,
        to_work_center_id=previous.to_work_center_id,
        transit_qty=previous.transit_qty,
        reason_id=previous.reason_id,
    )


def settle(db: Database, doubt: OutcomeUnknown, rid: str, expected: tuple[object, ...]) -> MovementResult:
    """After an in-doubt commit: the movement it saved, as this request's own result (not "already
    recorded": the person never saw it saved). Raises NotSaved when it surely was not saved, OutcomeUnknown
    when that cannot be told (the database still unreachable, or the broken connection's server
    process still running, whose transaction could yet commit), Conflict as a replay would."""
    unknown = OutcomeUnknown(IN_DOUBT, backend_pid=doubt.backend_pid)
    try:
        if not db.backend_ended(doubt.backend_pid):
            raise unknown from doubt
        with db.engine.connect() as conn:
            row = conn.execute(statements.SETTLE, {'request_id': rid}).first()
    except DBAPIError:
        raise unknown from doubt
    if row is None:
        log.warning('in-doubt commit of request %s: not saved', rid)
        raise NotSaved(NOT_SAVED_MESSAGE, params={}) from doubt.__cause__
    log.warning('in-doubt commit of request %s: saved as movement %d', rid, row.id)
    return dataclasses.replace(
        _replayed(row, expected, row.wc_code, row.b_in or 0, row.b_out or 0), already_recorded=False
    )


def announce_result(db: Database, result: MovementResult) -> None:
    # PostgreSQL already sent its NOTIFY with the commit; the listener delivers it to this process too.
    if not db.is_postgres and not result.already_recorded:
        arrival = result.to_work_center_id if result.movement_type == OUT else result.work_center_id
        feed.deliver(
            feed.Change(result.work_center_id, result.order_number, arrival=arrival if result.transit_qty else None)
        )
