"""The admin's corrections: find movements and reverse a wrong one, always through the ledger.

History is never edited or deleted: a correction is a reversal movement with a reason, written by
`ledger.reverse_movement` (which also writes the audit event and refuses a reversal that would take a
balance below zero, with the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from potrack.common.actors import Actor, require_admin
from potrack.db.engine import Database, database
from potrack.db.models import ProductionOrder
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.search import MovementFilter, MovementRow, search_movements
from potrack.ledger.writer import MovementResult


@dataclass(frozen=True)
class CorrectionsPage:
    """One page of movements, how many the filter selects, and which of them were already reversed."""

    rows: list[MovementRow]
    total: int
    offset: int
    limit: int
    reversed_by: dict[int, int]  # movement id -> id of the reversal that cancelled it


def find_movements(
    actor: Actor, flt: MovementFilter, *, offset: int = 0, limit: int = 25, db: Database | None = None
) -> CorrectionsPage:
    """Admin only: movements matching the filter, newest first, marked when already reversed.

    Raises NotAllowed, SignedOut, InvalidInput (dates, paging).
    """
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
    page = search_movements(actor, flt, offset=offset, limit=limit, db=db)
    ids = [row.id for row in page.rows if row.reverses_id is None]
    reversed_by: dict[int, int] = {}
    if ids:
        with db.read() as session:
            query = select(ProductionOrder.reverses_id, ProductionOrder.id).where(
                col(ProductionOrder.reverses_id).in_(ids)
            )
            reversed_by = {orig: rev for orig, rev in session.exec(query).all() if orig is not None and rev}
    return CorrectionsPage(page.rows, page.totals.count, offset, limit, reversed_by)


def correct_movement(
    actor: Actor, *, movement_id: int, reason: Any, request_id: str | None = None, db: Database | None = None
) -> MovementResult:
    """Admin only: reverse a movement with a reason (the same request id makes a repeat harmless).

    Raises NotAllowed, SignedOut, InvalidInput (reason), NotFound, Conflict (already reversed, or a
    reversal itself), InsufficientBalance (the pieces have moved on), NotSaved.
    """
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
    return reverse_movement(actor, movement_id=movement_id, reason=reason, request_id=request_id, db=db)
