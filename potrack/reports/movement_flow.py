"""What the OUT movements of a page of search results did with their pieces: sent on (to which work center),
scrapped or sent back for rework, and why; one query for the page, so the reports page's movement search
(`ledger.search`) stays as fast as it is."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from potrack.common.actors import Actor, load_user, visible_work_center_ids
from potrack.common.paging import MAX_PAGE_SIZE
from potrack.db.engine import Database, database
from potrack.db.models import OUT, REWORK, SCRAP, SENT
from potrack.db.tables import CENTERS, MOVEMENTS, REASONS
from potrack.errors import InvalidInput

WORDS = {SENT: 'sent on', SCRAP: 'scrap', REWORK: 'rework'}


@dataclass(frozen=True)
class MovementFlow:
    disposition: str  # sent / scrap / rework ('sent' for an OUT recorded before the flow was tracked)
    to_code: str | None  # the work center the pieces went to (sent on, rework)
    reason: str | None  # the scrap or rework reason's label

    def describe(self) -> str:
        """In words: "sent on → WC003", "scrap: Surface defect", "rework → WC001: Dimension out of tolerance"."""
        text = WORDS.get(self.disposition, self.disposition)
        if self.to_code:
            text += f' → {self.to_code}'
        return f'{text}: {self.reason}' if self.reason else text


def movement_flows(actor: Actor, movement_ids: list[int], *, db: Database | None = None) -> dict[int, MovementFlow]:
    """The flow of those of `movement_ids` that are OUTs at work centers the actor may see, by movement id.

    Raises SignedOut, InvalidInput (more ids than a page holds).
    """
    if len(movement_ids) > MAX_PAGE_SIZE:
        raise InvalidInput(f'Ask for at most {MAX_PAGE_SIZE} movements at a time.')
    db = db or database()
    with db.read() as session:
        user = load_user(session, actor)
        visible = visible_work_center_ids(session, user)
        if not movement_ids or not visible:
            return {}
        m = MOVEMENTS.c
        query = (
            select(m.id, m.disposition, CENTERS.c.code, REASONS.c.label)
            .select_from(
                MOVEMENTS.outerjoin(CENTERS, CENTERS.c.id == m.to_work_center_id).outerjoin(
                    REASONS, REASONS.c.id == m.reason_id
                )
            )
            .where(m.id.in_(movement_ids), m.movement_type == OUT, m.work_center_id.in_(visible))
        )
        return {
            mid: MovementFlow(disposition or SENT, to_code, reason)
            for mid, disposition, to_code, reason in session.connection().execute(query)
        }
