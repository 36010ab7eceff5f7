"""Scrap and rework of what the report's filters select: pieces per reason and per work center.

Net of reversals: an undone scrap is stored as the same disposition and reason with the quantity negated,
so the sums are what is scrapped now. Read by the export's Scrap sheet and the reports page's charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from potrack.common.actors import Actor
from potrack.db.engine import Database, database
from potrack.db.models import REWORK, SCRAP
from potrack.db.tables import CENTERS, MOVEMENTS, REASONS
from potrack.ledger.search import MovementFilter, movement_conditions


@dataclass(frozen=True)
class ReasonPieces:
    """Pieces of one disposition with one reason, per work center id."""

    code: str
    label: str
    by_center: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_center.values())


@dataclass(frozen=True)
class Center:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class ScrapFigures:
    scrap: list[ReasonPieces]  # most pieces first
    rework: list[ReasonPieces]
    centers: list[Center]  # the work centers with scrap or rework, by code
    movements: int  # scrap and rework movements selected (reversals included)

    @property
    def empty(self) -> bool:
        return not self.movements

    @property
    def scrapped(self) -> int:
        return sum(r.total for r in self.scrap)

    @property
    def reworked(self) -> int:
        return sum(r.total for r in self.rework)


NO_FIGURES = ScrapFigures([], [], [], 0)


def scrap_figures(actor: Actor, flt: MovementFilter, *, db: Database | None = None) -> ScrapFigures:
    """Scrapped and reworked pieces per reason and work center of the movements `flt` selects in scope.

    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput.
    """
    db = db or database()
    with db.read() as session:
        return figures_in(session, actor, flt)


def figures_in(session: Session, actor: Actor, flt: MovementFilter) -> ScrapFigures:
    """`scrap_figures` inside the caller's session (the export reads everything in one snapshot)."""
    where = movement_conditions(session, actor, flt)
    if where is None:
        return NO_FIGURES
    return _figures(session, where)


def _figures(session: Session, where: list[Any]) -> ScrapFigures:
    m = MOVEMENTS.c
    query = (
        select(m.disposition, REASONS.c.code, REASONS.c.label, CENTERS.c.id, CENTERS.c.code, CENTERS.c.name)
        .add_columns(func.sum(m.quantity), func.count())
        .select_from(
            MOVEMENTS.join(REASONS, REASONS.c.id == m.reason_id).join(CENTERS, CENTERS.c.id == m.work_center_id)
        )
        .where(*where, m.disposition.in_((SCRAP, REWORK)))
        .group_by(m.disposition, REASONS.c.code, REASONS.c.label, CENTERS.c.id, CENTERS.c.code, CENTERS.c.name)
    )
    kinds: dict[str, dict[str, ReasonPieces]] = {SCRAP: {}, REWORK: {}}
    centers: dict[int, Center] = {}
    movements = 0
    for disposition, code, label, wc_id, wc_code, wc_name, pieces, count in session.connection().execute(query):
        reason = kinds[disposition].setdefault(code, ReasonPieces(code, label))
        reason.by_center[wc_id] = int(pieces)
        centers[wc_id] = Center(wc_id, wc_code, wc_name)
        movements += int(count)

    def ranked(found: dict[str, ReasonPieces]) -> list[ReasonPieces]:
        return sorted(found.values(), key=lambda r: (-r.total, r.code))

    return ScrapFigures(
        ranked(kinds[SCRAP]), ranked(kinds[REWORK]), sorted(centers.values(), key=lambda c: c.code), movements
    )
