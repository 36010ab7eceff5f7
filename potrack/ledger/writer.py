"""The ledger's one write path: record IN/OUT and reverse a movement.

Each call is one transaction following DESIGN.md's write path: validate, check the actor and the
work center, make sure the balance row exists and lock it, refuse an OUT above the balance, insert
the movement under its request id (a replay returns the first result), update the balance, queue
the change notice, commit. Nothing else in potrack writes `production_order` or `order_balance`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from potrack.common import audit, metrics
from potrack.common.actors import Actor, load_user
from potrack.common.validation import (
    clean_reason,
    normalize_order_number,
    normalize_request_id,
    parse_movement_type,
    parse_quantity,
)
from potrack.db.engine import Database, RetryableWrite, database
from potrack.db.models import (
    IN,
    OUT,
    Department,
    ProductionOrder,
    User,
    WorkCenter,
    WorkCenterDepartment,
)
from potrack.db.types import utcnow
from potrack.errors import Conflict, InsufficientBalance, NotAllowed, NotFound
from potrack.ledger import steps
from potrack.live import announce, feed

log = logging.getLogger(__name__)
UNDO_WINDOW_S = 120
UNDO_REASON = 'undone at kiosk'


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
    request_id: str | None = None,
    db: Database | None = None,
) -> MovementResult:
    """Record that `quantity` pieces of an order came IN to or went OUT of a work center.

    Raises InvalidInput (nothing written), SignedOut, NotAllowed / NotFound (work center not usable by
    the actor), InsufficientBalance (OUT above the balance), Conflict (request id reused for other
    content) and NotSaved (database unreachable or too busy).
    """
    order = normalize_order_number(order_number)
    qty = parse_quantity(quantity)
    mtype = parse_movement_type(movement_type)
    rid = normalize_request_id(request_id)
    db = db or database()

    def unit(conn: Connection) -> MovementResult:
        entry, locked, drawn = steps.entry_and_lock(conn, db.is_postgres, actor, work_center_id, order, rid)
        return _write(conn, db, entry, order, mtype, qty, rid, locked=locked, drawn=drawn)

    result = db.write_core(unit)
    _announce(db, result)
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


@metrics.counted_movements
def reverse_movement(
    actor: Actor, *, movement_id: int, reason: Any, request_id: str | None = None, db: Database | None = None
) -> MovementResult:
    """Cancel a movement by recording its opposite, with a reason; history is never edited.

    Admins may reverse any movement they can see; other users only their own latest entry at that
    work center within UNDO_WINDOW_S. Raises InvalidInput, SignedOut, NotAllowed, NotFound, Conflict
    (already reversed, or a reversal itself), InsufficientBalance (the pieces have moved on) and NotSaved.
    """
    why = clean_reason(reason)
    rid = normalize_request_id(request_id)
    db = db or database()

    def unit(session: Session) -> MovementResult:
        user = load_user(session, actor)
        original = session.get(ProductionOrder, movement_id)
        if original is None or not _may_see(session, user, original.work_center_id):
            raise NotFound(f'There is no movement #{movement_id} that you can see.')
        wc = session.get(WorkCenter, original.work_center_id)
        assert wc is not None
        if original.reverses_id is not None:
            raise Conflict(f'Movement #{movement_id} is itself a correction; record a new entry instead.')
        earlier = session.exec(select(ProductionOrder).where(ProductionOrder.reverses_id == original.id)).first()
        if earlier is not None and earlier.request_id != rid:
            raise Conflict(f'Movement #{movement_id} was already reversed (by movement #{earlier.id}).')
        if not user.is_admin and earlier is None:
            _check_undo_allowed(session, user, original)
        assert user.id is not None and wc.id is not None
        result = _write(
            session.connection(),
            db,
            steps.EntryContext(user.id, wc.id, wc.code),
            original.order_number,
            original.movement_type,
            original.quantity,
            rid,
            reverses=original,
            reason=why,
        )
        if not result.already_recorded:
            audit.record(
                session,
                actor_id=user.id,
                action='movement.reverse',
                entity='production_order',
                entity_id=original.id,
                before=_movement_summary(original),
                after={'reversal_id': result.movement_id, 'reason': why},
            )
            # Besides the movement: admin tables follow corrections without reloading on every movement.
            announce.queue_in_transaction(db, session, announce.CORRECTIONS)
        return result

    result = db.write(unit)
    _announce(db, result)
    if not result.already_recorded:
        announce.deliver_after_commit(db, announce.CORRECTIONS)
    return result


def _write(
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
) -> MovementResult:
    """Steps 3–6 of the write path, shared by recording and reversing. `qty` is always positive.

    `locked`: the balance row's (qty_in, qty_out) when the caller has locked it already. `drawn`
    (PostgreSQL, recording): the movement's id drawn and the request id looked up with the lock; then a
    replay is answered at once, and a new movement is inserted and committed in one round trip.
    """
    wc_id, code = entry.work_center_id, entry.work_center_code
    qty_in, qty_out = locked or steps.lock_balance(conn, db.is_postgres, wc_id, order)
    stored_qty = -qty if reverses is not None else qty
    expected = (order, wc_id, mtype, stored_qty, entry.user_id, reverses.id if reverses else None)
    if drawn is not None and drawn.taken_id is not None:  # the request id was used before: a replay
        previous = steps.find_request(conn, rid)
        assert previous is not None
        return _replayed(previous, expected, code, qty_in, qty_out)
    d_in = stored_qty if mtype == IN else 0
    d_out = stored_qty if mtype == OUT else 0
    available = qty_in - qty_out
    refusal: InsufficientBalance | None = None
    if mtype == OUT and d_out > available:
        refusal = InsufficientBalance(
            f'Only {available} pieces of {order} are at {code}; you tried to send {qty}.',
            available=available,
            requested=qty,
        )
    elif mtype == IN and reverses is not None and qty > available:
        refusal = InsufficientBalance(
            f'Cannot reverse the IN of {qty} pieces of {order} at {code}: only {available} are still there '
            f'({qty_out} have been sent on).',
            available=available,
            requested=qty,
        )
    if refusal is not None:
        # A replay of an OUT that already took these pieces is "already recorded", not a refusal.
        # Looked up again even when entry_and_lock found it unused: that statement's snapshot predates its
        # wait for the lock, so a retry queued behind its own original sees the balance after it, not it.
        previous = steps.find_request(conn, rid)
        if previous is None:
            raise refusal
        return _replayed(previous, expected, code, qty_in, qty_out)

    now = utcnow()
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
    }
    try:
        if drawn is not None:
            steps.insert_apply_and_commit(conn, values, d_in, d_out, drawn.new_id)
            movement_id: int | None = drawn.new_id
        else:
            movement_id = steps.insert_and_apply(conn, db.is_postgres, values, d_in, d_out)
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
    )


def _replayed(previous: Row[Any], expected: tuple[object, ...], code: str, qty_in: int, qty_out: int) -> MovementResult:
    """The first result of a request sent again; refused if the request id now carries other content."""
    stored = (
        previous.order_number,
        previous.work_center_id,
        previous.movement_type,
        previous.quantity,
        previous.user_id,
        previous.reverses_id,
    )
    if stored != expected:
        raise Conflict(
            'This entry was already used for a different movement; nothing was recorded. Start a new entry.',
            field='request_id',
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
    )


def _may_see(session: Session, user: User, work_center_id: int) -> bool:
    if user.is_admin:
        return True
    if user.department_id is None:
        return False
    link = session.exec(
        select(WorkCenterDepartment.work_center_id)
        .join(Department, col(Department.id) == col(WorkCenterDepartment.department_id))
        .where(
            WorkCenterDepartment.work_center_id == work_center_id,
            WorkCenterDepartment.department_id == user.department_id,
            Department.is_active,
        )
    ).first()
    return link is not None


def _check_undo_allowed(session: Session, user: User, original: ProductionOrder) -> None:
    if original.user_id != user.id:
        raise NotAllowed('You can only undo your own entries; ask an administrator to correct this one.')
    if utcnow() - original.created_at > timedelta(seconds=UNDO_WINDOW_S):
        raise NotAllowed(
            f'Undo is possible for {UNDO_WINDOW_S // 60} minutes after an entry; ask an administrator to correct it.'
        )
    latest = session.exec(
        select(ProductionOrder.id)
        .where(
            ProductionOrder.user_id == user.id,
            ProductionOrder.work_center_id == original.work_center_id,
            col(ProductionOrder.reverses_id).is_(None),
        )
        .order_by(col(ProductionOrder.id).desc())
        .limit(1)
    ).first()
    if latest != original.id:
        raise NotAllowed('Only your latest entry at this work center can be undone.')


def _movement_summary(m: ProductionOrder) -> dict[str, Any]:
    return {
        'order_number': m.order_number,
        'work_center_id': m.work_center_id,
        'movement_type': m.movement_type,
        'quantity': m.quantity,
        'user_id': m.user_id,
        'created_at': m.created_at.isoformat(),
    }


def _announce(db: Database, result: MovementResult) -> None:
    # PostgreSQL already sent its NOTIFY with the commit; the listener delivers it to this process too.
    if not db.is_postgres and not result.already_recorded:
        feed.deliver(feed.Change(result.work_center_id, result.order_number))
