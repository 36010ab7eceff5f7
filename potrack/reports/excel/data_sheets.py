"""The Balances and Movements sheets of the export: rows streamed from a server-side cursor.

Called by `workbook.export_workbook` inside its one read transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import case, func
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from potrack.common.actors import Actor
from potrack.config import settings
from potrack.db.models import OUT, REWORK, SENT, Department, OrderBalance, ProductionOrder, User, WorkCenter
from potrack.db.tables import CENTERS, REASONS
from potrack.db.types import utcnow
from potrack.ledger.search import MovementFilter, movement_conditions
from potrack.reports.balances import flow_balance_query, is_old, old_transit_hours
from potrack.reports.excel.cells import (
    DATETIME_WIDTH,
    LATE_FILL,
    LATE_FONT,
    DateTimeColumn,
    TextColumn,
    finish_table,
    fit_width,
    safe_text,
)
from potrack.reports.excel.cells import table_sheet as start_table
from potrack.timeutil import zone_label

if TYPE_CHECKING:  # workbook imports this module; its request type is needed for annotations only
    from potrack.reports.excel.workbook import ExportRequest

STREAM_BATCH = 2000  # rows per fetch from the server-side cursor
PROGRESS_EVERY = 1000
Progress = Callable[[int, int], None]  # (movements written, movements in the selection)
TO_CENTERS = CENTERS.alias('to_center')  # where an OUT sent its pieces


def _longest(session: Session, column: Any, *where: Any) -> int:
    return int(session.exec(select(func.max(func.length(column))).where(*where)).one() or 0)


def _widths(session: Session, ids: set[int]) -> dict[str, int]:
    """Longest values per kind of text, from the small tables (every movement's order has a balance row)."""
    in_scope = col(WorkCenter.id).in_(ids)
    return {
        'order': _longest(session, OrderBalance.order_number, col(OrderBalance.work_center_id).in_(ids)),
        'code': _longest(session, WorkCenter.code, in_scope),
        'wc_name': _longest(session, WorkCenter.name, in_scope),
        'username': _longest(session, User.username),
        'full_name': _longest(session, User.full_name),
        'department': _longest(session, Department.name),
    }


BALANCE_TITLES = (
    *('Work center', 'Work center name', 'Order', 'IN', 'OUT', 'Balance', 'Last movement', 'Last by'),
    *('Name', 'Department', 'In transit', 'In transit since', 'Scrapped', 'Reworked'),
)
LAST_AT, TRANSIT_SINCE = 6, 11  # the titles that name the zone


def balances_sheet(ws: WriteOnlyWorksheet, session: Session, ids: set[int], request: ExportRequest) -> int:
    """The balance rows with their flow (reports.balances), by work center and order; pieces in transit
    longer than the site's TRANSIT_OLD_HOURS get the Orders sheet's "late" colours on their date."""
    w = _widths(session, ids)
    titles = list(BALANCE_TITLES)
    titles[LAST_AT] = f'Last movement ({zone_label()})'
    titles[TRANSIT_SINCE] = f'In transit since ({zone_label()})'
    longest = [w['code'], w['wc_name'], w['order'], 10, 10, 10, DATETIME_WIDTH, w['username'], w['full_name']]
    longest += [w['department'], 10, DATETIME_WIDTH, 10, 10]
    start_table(ws, titles, [fit_width(t, n) for t, n in zip(titles, longest, strict=True)])
    tz = settings().tz
    when, since, old_since = DateTimeColumn(ws, tz), DateTimeColumn(ws, tz), DateTimeColumn(ws, tz)
    old_since.cell.font, old_since.cell.fill = LATE_FONT, LATE_FILL
    old_before = utcnow() - timedelta(hours=old_transit_hours(session))
    code, name, uname, full, dept = (TextColumn(ws) for _ in range(5))
    count = 0
    for r in balance_rows(session, ids, request):
        pending = r.transit_since if r.in_transit > 0 else None  # a stale time of a row with nothing on its way
        ws.append(
            (
                code(r.code),
                name(r.name),
                safe_text(ws, r.order_number),
                r.qty_in,
                r.qty_out,
                r.qty_in - r.qty_out,
                when(r.last_movement_at),
                uname(r.username),
                full(r.full_name),
                dept(r.department),
                r.in_transit,
                (old_since if is_old(r.in_transit, pending, old_before) else since)(pending),
                r.qty_scrap,
                r.qty_rework,
            )
        )
        count += 1
    finish_table(ws, len(titles), count)
    return count


def balance_rows(session: Session, ids: set[int], request: ExportRequest) -> Iterator[Any]:
    if not ids:
        return iter(())
    flt = request.flt
    query = flow_balance_query(ids, flt.order, flt.match, request.open_only)
    c = query.selected_columns
    query = query.order_by(c.code, c.order_number).execution_options(yield_per=STREAM_BATCH)
    return iter(session.connection().execute(query))


MOVEMENT_TITLES = (
    *('Time', 'Order', 'Work center', 'Work center name', 'Type', 'Quantity', 'User', 'Name'),
    *('Department', 'Reverses movement', 'Reason', 'Movement id', 'Disposition', 'To work center'),
    'Scrap/rework reason',
)


def movement_titles() -> tuple[str, ...]:
    """The Movements header as written (this sheet and the CSV export): the time column names the zone."""
    return (f'Time ({zone_label()})', *MOVEMENT_TITLES[1:])


def movements_sheet(
    ws: WriteOnlyWorksheet,
    session: Session,
    actor: Actor,
    flt: MovementFilter,
    ids: set[int],
    total: int,
    progress: Progress | None,
) -> int:
    w = _widths(session, ids)
    reason = _longest(session, ProductionOrder.reason, col(ProductionOrder.reverses_id).is_not(None))
    titles = movement_titles()
    longest = [DATETIME_WIDTH, w['order'], w['code'], w['wc_name'], 4, 9, w['username'], w['full_name']]
    longest += [w['department'], 10, reason, 10, len(REWORK), w['code'], _longest(session, REASONS.c.label)]
    start_table(ws, titles, [fit_width(t, n) for t, n in zip(titles, longest, strict=True)])
    when = DateTimeColumn(ws, settings().tz)
    code, name, kind, uname, full, dept, disposition, to_code, why = (TextColumn(ws) for _ in range(9))
    count = 0
    for r in movement_rows(session, actor, flt):
        row: tuple[Any, ...] = (
            when(r[0]),
            safe_text(ws, r[1]),
            code(r[2]),
            name(r[3]),
            kind(r[4]),
            r[5],
            uname(r[6]),
            full(r[7]),
            dept(r[8]),
            r[9],
            safe_text(ws, r[10]),
            r[11],
        )
        if r[12] is not None:  # an OUT: what became of its pieces (an IN leaves these cells out, at no cost)
            row += (disposition(r[12]), to_code(r[13]), why(r[14]))
        ws.append(row)
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(count, total)
    if progress:
        progress(count, total)
    finish_table(ws, len(titles), count)
    return count


def movement_rows(session: Session, actor: Actor, flt: MovementFilter) -> Iterator[Any]:
    """The selection as plain tuples, newest first: a column query streams several times faster than
    ORM objects, which matters at a million rows. The flow columns come from the same query: an OUT's
    disposition ('sent' for one recorded before the flow was tracked), the work center it sent its pieces
    to, and the scrap or rework reason's label."""
    where = movement_conditions(session, actor, flt)
    if where is None:
        return iter(())
    m = ProductionOrder
    query = (
        columns(
            col(m.created_at),
            col(m.order_number),
            col(WorkCenter.code),
            col(WorkCenter.name),
            col(m.movement_type),
            col(m.quantity),
            col(User.username),
            col(User.full_name),
            col(Department.name),
            col(m.reverses_id),
            col(m.reason),
            col(m.id),
            case((col(m.movement_type) == OUT, func.coalesce(col(m.disposition), SENT))),
            TO_CENTERS.c.code,
            REASONS.c.label,
        )
        .join(WorkCenter, col(WorkCenter.id) == col(m.work_center_id))
        .join(User, col(User.id) == col(m.user_id))
        .outerjoin(Department, col(Department.id) == col(User.department_id))
        .outerjoin(TO_CENTERS, TO_CENTERS.c.id == col(m.to_work_center_id))
        .outerjoin(REASONS, REASONS.c.id == col(m.reason_id))
        .where(*where)
        .order_by(col(m.created_at).desc(), col(m.id).desc())
        .execution_options(yield_per=STREAM_BATCH)
    )
    return iter(session.execute(query))
