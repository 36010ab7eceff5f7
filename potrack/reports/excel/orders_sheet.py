"""The Orders sheet of the export: every order of the book that the report covers, with how far it has come.

An order is covered when at least one movement of the report's selection (its filters, within the exporting
user's scope) is of that order. Its progress is the orders page's: started, in progress and finished as of
now, at the work centers the user may see, read in the export's one transaction. The orders arrive from a
server-side cursor 500 at a time, each batch with one query for its balances, so memory stays flat however
many orders the book holds.

Called by `workbook.export_workbook`: `covered_orders` before the Summary sheet (which names the count),
`orders_sheet` last.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func, select
from sqlmodel import Session

from potrack.common.actors import Actor, load_user, visible_work_center_ids
from potrack.db.tables import MOVEMENTS, ORDERS
from potrack.ledger.search import MovementFilter, movement_conditions
from potrack.orders.progress import Progress, seen_progress, steps_by_order
from potrack.reports.excel.cells import LATE_FILL, LATE_FONT, TextColumn, finish_table, fit_width, safe_text
from potrack.reports.excel.cells import table_sheet as start_table

ORDER_TITLES = (
    *('Order', 'Product code', 'Product', 'Planned', 'Started', 'In progress', 'Finished', '% finished'),
    *(
        'Due',
        'Status',
        'Late',
        'In transit',
        'Scrapped',
        'Yield',
    ),  # the flow's, last: earlier columns keep their places
)
ORDERS_BATCH = 500  # orders per fetch, and per balances query (steps_by_order)
COUNT_FORMAT = '#,##0'
PERCENT_FORMAT = '0%'
DATE_FORMAT = 'yyyy-mm-dd'  # the ISO order of the other sheets' times
QUANTITY_WIDTH = 10  # pieces up to 9,999,999 with their separators
STATUS_WIDTH = len('cancelled')  # the longest status
LATE = 'Late'


@dataclass(frozen=True)
class CoveredOrders:
    """The orders of the book that a selection covers: how many, the longest texts, the condition on ORDERS."""

    count: int
    longest: tuple[int, int, int, int]  # order number, product code, description, planned (as written)
    where: Any = None  # None: the selection cannot match anything


NONE_COVERED = CoveredOrders(0, (0, 0, 0, 0))


def covered_orders(session: Session, actor: Actor, flt: MovementFilter) -> CoveredOrders:
    """The orders of the book with at least one movement that `flt` selects within the actor's scope.

    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput (filters).
    """
    movements = movement_conditions(session, actor, flt)
    if movements is None:
        return NONE_COVERED
    where = ORDERS.c.order_number.in_(select(MOVEMENTS.c.order_number).where(*movements))
    texts = (ORDERS.c.order_number, ORDERS.c.product_code, ORDERS.c.product_description)
    query = select(func.count(), *(func.max(func.length(c)) for c in texts), func.max(ORDERS.c.planned_quantity))
    query = query.where(where)
    count, order, code, product, planned = session.connection().execute(query).one()
    planned_width = len(f'{planned:,}') if planned else 0
    return CoveredOrders(int(count), (order or 0, code or 0, product or 0, planned_width), where)


class FormattedColumn:
    """Numbers or dates in one number format: one styled cell reused for every row, as `DateTimeColumn` does
    (a write-only sheet writes each row out when it is appended)."""

    def __init__(self, ws: WriteOnlyWorksheet, number_format: str) -> None:
        self.cell = WriteOnlyCell(ws)
        self.cell.number_format = number_format

    def __call__(self, value: float | date | None) -> Cell | None:
        if value is None:
            return None
        self.cell.value = value
        return self.cell


def orders_sheet(ws: WriteOnlyWorksheet, session: Session, actor: Actor, covered: CoveredOrders, today: date) -> int:
    """Write the covered orders, soonest due first (no due date last), then by number; the rows written.

    `today` (the export's local date) decides which orders are late. Raises SignedOut.
    """
    user = load_user(session, actor)
    visible = None if user.is_admin else visible_work_center_ids(session, user)
    order, code, product, planned = covered.longest
    quantities = (QUANTITY_WIDTH,) * 3  # started, in progress, finished
    flow = (QUANTITY_WIDTH, QUANTITY_WIDTH, len('100%'))  # in transit, scrapped, yield
    longest = [
        order,
        code,
        product,
        planned,
        *quantities,
        len('100%'),
        len(DATE_FORMAT),
        STATUS_WIDTH,
        len(LATE),
        *flow,
    ]
    start_table(ws, ORDER_TITLES, [fit_width(t, n) for t, n in zip(ORDER_TITLES, longest, strict=True)])
    write = _RowWriter(ws)
    count = 0
    for batch in _order_batches(session, covered):
        steps = steps_by_order(session, [r.order_number for r in batch])
        for r in batch:
            progress, late = seen_progress(r, steps.get(r.order_number, []), visible, today)
            ws.append(write(r, progress, late))
            count += 1
    finish_table(ws, len(ORDER_TITLES), count)
    return count


def _order_batches(session: Session, covered: CoveredOrders) -> Iterator[Sequence[Any]]:
    if covered.where is None:
        return iter(())
    o = ORDERS.c
    query = (
        select(o.order_number, o.product_code, o.product_description, o.planned_quantity, o.due_date, o.route, o.status)
        .where(covered.where)
        .order_by(o.due_date.is_(None), o.due_date, o.order_number)
        .execution_options(yield_per=ORDERS_BATCH)
    )
    return session.connection().execute(query).partitions()


class _RowWriter:
    """One order as a row of typed cells."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.quantities = [FormattedColumn(ws, COUNT_FORMAT) for _ in range(6)]
        self.percent = FormattedColumn(ws, PERCENT_FORMAT)
        self.made = FormattedColumn(ws, PERCENT_FORMAT)  # a cell of its own: a row holds both percentages
        self.due = FormattedColumn(ws, DATE_FORMAT)
        self.status = TextColumn(ws)
        self.late = WriteOnlyCell(ws, LATE)
        self.late.font = LATE_FONT
        self.late.fill = LATE_FILL

    def __call__(self, r: Any, progress: Progress, late: bool) -> Sequence[Any]:
        planned, started, wip, finished, in_transit, scrapped = self.quantities
        share = progress.percent(r.planned_quantity)
        made = progress.finished / progress.started if progress.started > 0 else None  # Excel's 0% shows it
        return (
            safe_text(self.ws, r.order_number),
            safe_text(self.ws, r.product_code or None),  # an empty cell, not an empty string
            safe_text(self.ws, r.product_description or None),
            planned(r.planned_quantity),
            started(progress.started),
            wip(progress.wip),
            finished(progress.finished),
            self.percent(None if share is None else share / 100),
            self.due(r.due_date),
            self.status(r.status),
            self.late if late else None,
            in_transit(progress.in_transit),
            scrapped(progress.scrapped),
            self.made(made),
        )
