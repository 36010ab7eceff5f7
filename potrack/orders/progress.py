"""How far an order has come: started, work in progress, finished, from its balance rows.

Read from order_balance (the ledger's per-work-center totals, exact in the write's transaction), one
query for a whole page of orders. The route says which work center is first and last; an order without a
route (until the flow issue gives every order one) counts its work centers in the order of their codes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from potrack.db.models import ORDER_OPEN
from potrack.db.tables import BALANCES, CENTERS


@dataclass(frozen=True)
class StepPieces:
    """One work center's numbers for one order."""

    work_center_id: int
    code: str
    name: str
    qty_in: int
    qty_out: int

    @property
    def held(self) -> int:
        return self.qty_in - self.qty_out


@dataclass(frozen=True)
class Progress:
    started: int  # received at the first work center
    wip: int  # held at any work center
    finished: int  # sent on from the last work center reached
    steps: tuple[StepPieces, ...]  # in route order (then by code)

    def percent(self, planned: int | None) -> float | None:
        """Finished of planned, 0-100; None when the planned quantity is unknown."""
        if not planned:
            return None
        return min(100.0, 100.0 * self.finished / planned)


NO_PROGRESS = Progress(0, 0, 0, ())


def route_codes(route: str) -> list[str]:
    return [code for code in route.split('>') if code]


def progress_of(steps: Iterable[StepPieces], route: str) -> Progress:
    order = {code: i for i, code in enumerate(route_codes(route))}
    ranked = sorted(steps, key=lambda s: (order.get(s.code, len(order)), s.code))
    if not ranked:
        return NO_PROGRESS
    reached = [s for s in ranked if s.qty_in > 0] or ranked
    return Progress(
        started=ranked[0].qty_in,
        wip=sum(s.held for s in ranked),
        finished=reached[-1].qty_out,
        steps=tuple(ranked),
    )


def steps_by_order(session: Session, numbers: list[str]) -> dict[str, list[StepPieces]]:
    """The balance rows of these orders with their work centers, by order number (one query)."""
    found: dict[str, list[StepPieces]] = defaultdict(list)
    if not numbers:
        return found
    columns = (BALANCES.c.order_number, CENTERS.c.id, CENTERS.c.code, CENTERS.c.name)
    query = (
        select(*columns, BALANCES.c.qty_in, BALANCES.c.qty_out)
        .join(CENTERS, CENTERS.c.id == BALANCES.c.work_center_id)
        .where(BALANCES.c.order_number.in_(numbers))
    )
    for number, wc_id, code, name, qty_in, qty_out in session.connection().execute(query):
        found[number].append(StepPieces(wc_id, code, name, int(qty_in), int(qty_out)))
    return found


def is_done(planned: int | None, steps: Iterable[StepPieces]) -> bool:
    """Every planned piece sent on and none left at any work center (as `done_condition` says in SQL)."""
    held = list(steps)
    return (
        planned is not None
        and bool(held)
        and all(s.held == 0 for s in held)
        and max(s.qty_out for s in held) >= planned
    )


def is_late(status: str, due: date | None, planned: int | None, steps: Iterable[StepPieces], today: date) -> bool:
    """Open, past its due date and not done. `steps`: all of the order's work centers, whoever looks (lateness
    is a fact about the order, not about what a user may see)."""
    if status != ORDER_OPEN or due is None or due >= today:
        return False
    return not is_done(planned, steps)


def done_condition(orders: Any) -> Any:
    """`is_done` as an SQL condition on a row of `orders` (order_header), for the "late only" filter: one
    look at the order's balance rows (an aggregate without GROUP BY gives one row, kept by HAVING)."""
    sums = (
        select(func.count())  # an aggregate to select: SQLite refuses HAVING without one
        .where(BALANCES.c.order_number == orders.c.order_number)
        .having(
            and_(
                func.sum(BALANCES.c.qty_in - BALANCES.c.qty_out) == 0,
                func.max(BALANCES.c.qty_out) >= orders.c.planned_quantity,
            )
        )
    )
    return and_(orders.c.planned_quantity.is_not(None), sums.exists())


def seen_progress(order: Any, steps: list[StepPieces], visible: set[int] | None, today: date) -> tuple[Progress, bool]:
    """An order's progress at the work centers a user may see (`visible`; None: all), and whether it is late
    (from all of them). `order` has route, status, due_date and planned_quantity."""
    mine = [s for s in steps if visible is None or s.work_center_id in visible]
    progress = progress_of(mine, order.route) if mine else NO_PROGRESS
    return progress, is_late(order.status, order.due_date, order.planned_quantity, steps, today)
