"""How far an order has come, per route step and in all: received, work in progress, in transit, scrapped,
sent back for rework, finished, started and the yield.

The numbers are read by `order_steps` (order_balance and order_transit, one statement for a page of
orders). The route says which step is first and last; an order without a route counts its work centers
in the order of their codes, as before routes existed.

A user sees the numbers of their own work centers only. Someone who sees part of the route sees the
progress of that part: started is what came into its first step reached, finished what left its last.
Whether an order is done or late is a fact about the order, decided from every work center.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from potrack.common.routes import route_codes
from potrack.db.models import ORDER_OPEN
from potrack.orders.order_steps import StepPieces, done_condition, steps_by_order

__all__ = [
    'NO_PROGRESS',
    'Progress',
    'StepPieces',
    'done_condition',
    'is_done',
    'is_late',
    'progress_of',
    'seen_progress',
    'steps_by_order',
]


@dataclass(frozen=True)
class Progress:
    started: int  # released into the route at its first step (what came back to it for rework excluded)
    wip: int  # held at the work centers
    finished: int  # sent on from the route's last step
    steps: tuple[StepPieces, ...]  # the route's steps in order, then work centers off the route by code
    in_transit: int = 0  # on the way between work centers
    scrapped: int = 0
    reworked: int = 0  # sent back to an earlier step

    def percent(self, planned: int | None) -> float | None:
        """Finished of planned, 0-100; None when the planned quantity is unknown."""
        if not planned:
            return None
        return min(100.0, 100.0 * self.finished / planned)

    @property
    def yield_percent(self) -> float | None:
        """Finished of started, 0-100; None before anything started."""
        return 100.0 * self.finished / self.started if self.started > 0 else None

    def closable(self, planned: int | None) -> bool:
        """The planned quantity is finished or scrapped: an admin may close the order."""
        return bool(planned) and self.finished + self.scrapped >= (planned or 0)


NO_PROGRESS = Progress(0, 0, 0, ())


def _ranked(steps: Iterable[StepPieces], route: str) -> list[StepPieces]:
    """Route steps in route order (each once), then the others by code, flagged off the route."""
    codes = list(dict.fromkeys(route_codes(route)))
    by_code = {s.code: s for s in steps}
    on_route = [by_code.get(code) or StepPieces(None, code, '') for code in codes]
    others = sorted((s for s in by_code.values() if s.code not in codes), key=lambda s: s.code)
    return on_route + [replace(s, on_route=False) for s in others] if codes else others


def progress_of(steps: Iterable[StepPieces], route: str) -> Progress:
    """Progress from the steps given (those a user sees; a hidden route step has `shown=False`)."""
    ranked = _ranked(steps, route)
    seen = [s for s in ranked if s.shown]
    if not seen:
        return replace(NO_PROGRESS, steps=tuple(ranked))
    codes = list(dict.fromkeys(route_codes(route)))
    reached = [s for s in seen if s.qty_in > 0]
    first, last = (ranked[0], ranked[len(codes) - 1]) if codes else (None, None)
    # The route's own first and last steps when the reader sees them; else the part of it they see.
    part_start = reached[0].qty_in if reached else 0
    part_end = reached[-1].sent_on if reached else 0
    started = first.qty_in - first.transit_received if first is not None and first.shown else part_start
    finished = last.sent_on if last is not None and last.shown else part_end
    return Progress(
        started=started,
        wip=sum(s.held for s in seen),
        finished=finished,
        steps=tuple(ranked),
        in_transit=sum(s.in_transit for s in seen),
        scrapped=sum(s.qty_scrap for s in seen),
        reworked=sum(s.qty_rework for s in seen),
    )


def _finished_all(route: str, steps: list[StepPieces]) -> int:
    codes = route_codes(route)
    if not codes:
        return max((s.sent_on for s in steps), default=0)
    return sum(s.sent_on for s in steps if s.code == codes[-1])


def is_done(planned: int | None, route: str, steps: Iterable[StepPieces]) -> bool:
    """The planned quantity finished or scrapped, nothing left at a work center or in transit (as
    `done_condition` says in SQL). `steps`: all of the order's work centers."""
    every = list(steps)
    if planned is None or not any(s.qty_in or s.qty_out for s in every):
        return False
    if any(s.held or s.in_transit for s in every):
        return False
    return _finished_all(route, every) + sum(s.qty_scrap for s in every) >= planned


def is_late(
    status: str, due: date | None, planned: int | None, route: str, steps: Iterable[StepPieces], today: date
) -> bool:
    """Open, past its due date and not done. `steps`: all of the order's work centers, whoever looks (lateness
    is a fact about the order, not about what a user may see)."""
    if status != ORDER_OPEN or due is None or due >= today:
        return False
    return not is_done(planned, route, steps)


def _as_seen(step: StepPieces, visible: set[int] | None, old_before: datetime | None) -> StepPieces:
    if visible is not None and step.work_center_id is not None and step.work_center_id not in visible:
        return StepPieces(step.work_center_id, step.code, step.name, shown=False)
    old = old_before is not None and step.transit_since is not None and step.transit_since < old_before
    return replace(step, transit_old=step.in_transit > 0 and old)


def seen_progress(
    order: Any, steps: list[StepPieces], visible: set[int] | None, today: date, old_before: datetime | None = None
) -> tuple[Progress, bool]:
    """An order's progress at the work centers a user may see (`visible`; None: all), and whether it is late
    (from all of them). `order` has route, status, due_date and planned_quantity. Transit that began to wait
    before `old_before` is flagged old."""
    codes = set(route_codes(order.route))
    mine = [_as_seen(s, visible, old_before) for s in steps]
    mine = [s for s in mine if s.shown or s.code in codes]  # a hidden route step keeps its place, no numbers
    progress = progress_of(mine, order.route) if mine or codes else NO_PROGRESS
    return progress, is_late(order.status, order.due_date, order.planned_quantity, order.route, steps, today)
