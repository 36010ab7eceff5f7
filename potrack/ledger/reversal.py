"""Reversing a movement: its opposite recorded through the ledger's one write path, with a reason.

Admins correct any movement they can see; an operator undoes only their own latest entry at a work
center, within UNDO_WINDOW_S. History is never edited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from potrack.common import audit, metrics
from potrack.common.actors import Actor, load_user
from potrack.common.validation import clean_reason, normalize_request_id
from potrack.db.engine import Database, database
from potrack.db.models import Department, ProductionOrder, User, WorkCenter, WorkCenterDepartment
from potrack.db.types import utcnow
from potrack.errors import Conflict, NotAllowed, NotFound
from potrack.i18n import N_
from potrack.ledger import steps
from potrack.ledger.writer import MovementResult, announce_result, write_entry
from potrack.live import announce

UNDO_WINDOW_S = 120
UNDO_REASON = 'undone at kiosk'


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
            raise NotFound(
                N_('There is no movement #{movement} that you can see.'), params={'movement': str(movement_id)}
            )
        wc = session.get(WorkCenter, original.work_center_id)
        assert wc is not None
        if original.reverses_id is not None:
            raise Conflict(
                N_('Movement #{movement} is itself a correction; record a new entry instead.'),
                params={'movement': str(movement_id)},
            )
        earlier = session.exec(select(ProductionOrder).where(ProductionOrder.reverses_id == original.id)).first()
        if earlier is not None and earlier.request_id != rid:
            raise Conflict(
                N_('Movement #{movement} was already reversed (by movement #{by}).'),
                params={'movement': str(movement_id), 'by': str(earlier.id)},  # ids: never grouped
            )
        if not user.is_admin and earlier is None:
            _check_undo_allowed(session, user, original)
        assert user.id is not None and wc.id is not None
        result = write_entry(
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
    announce_result(db, result)
    if not result.already_recorded:
        announce.deliver_after_commit(db, announce.CORRECTIONS)
    return result


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
        raise NotAllowed(N_('You can only undo your own entries; ask an administrator to correct this one.'), params={})
    if utcnow() - original.created_at > timedelta(seconds=UNDO_WINDOW_S):
        raise NotAllowed(
            N_('Undo is possible for {minutes} minutes after an entry; ask an administrator to correct it.'),
            params={'minutes': UNDO_WINDOW_S // 60},
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
        raise NotAllowed(N_('Only your latest entry at this work center can be undone.'), params={})


def _movement_summary(m: ProductionOrder) -> dict[str, Any]:
    return {
        'order_number': m.order_number,
        'work_center_id': m.work_center_id,
        'movement_type': m.movement_type,
        'quantity': m.quantity,
        'user_id': m.user_id,
        'created_at': m.created_at.isoformat(),
    }
