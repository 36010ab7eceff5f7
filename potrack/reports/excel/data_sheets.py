"""The Balances and Movements sheets of the export: rows streamed from a server-side cursor.

Called by `workbook.export_workbook` inside its one read transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from potrack.common.actors import Actor
from potrack.config import settings
from potrack.db.models import Department, OrderBalance, ProductionOrder, User, WorkCenter
from potrack.ledger.balances import order_filter
from potrack.ledger.search import MovementFilter, movement_conditions
from potrack.reports.excel.cells import DATETIME_WIDTH, DateTimeColumn, TextColumn, finish_table, fit_width, safe_text
from potrack.reports.excel.cells import table_sheet as start_table
from potrack.timeutil import zone_label

if TYPE_CHECKING:  # workbook imports this module; its request type is needed for annotations only
    from potrack.reports.excel.workbook import ExportRequest

STREAM_BATCH = 2000  # rows per fetch from the server-side cursor
PROGRESS_EVERY = 1000
Progress = Callable[[int, int], None]  # (movements written, movements in the selection)


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
    *('Name', 'Department'),
)


def balances_sheet(ws: WriteOnlyWorksheet, session: Session, ids: set[int], request: ExportRequest) -> int:
    w = _widths(session, ids)
    titles = list(BALANCE_TITLES)
    titles[6] = f'Last movement ({zone_label()})'
    longest = [w['code'], w['wc_name'], w['order'], 10, 10, 10, DATETIME_WIDTH, w['username'], w['full_name']]
    longest.append(w['department'])
    start_table(ws, titles, [fit_width(t, n) for t, n in zip(titles, longest, strict=True)])
    when, code, name, uname, full, dept = (DateTimeColumn(ws, settings().tz), *(TextColumn(ws) for _ in range(5)))
    count = 0
    for r in balance_rows(session, ids, request):
        ws.append(
            (
                code(r[0]),
                name(r[1]),
                safe_text(ws, r[2]),
                r[3],
                r[4],
                r[3] - r[4],
                when(r[5]),
                uname(r[6]),
                full(r[7]),
                dept(r[8]),
            )
        )
        count += 1
    finish_table(ws, len(titles), count)
    return count


def balance_rows(session: Session, ids: set[int], request: ExportRequest) -> Iterator[Any]:
    if not ids:
        return iter(())
    where: list[Any] = [col(OrderBalance.work_center_id).in_(ids)]
    if request.open_only:
        where.append(col(OrderBalance.qty_in) > col(OrderBalance.qty_out))
    if request.flt.order.strip():
        where.append(order_filter(col(OrderBalance.order_number), request.flt.order, request.flt.match))
    query = (
        columns(
            col(WorkCenter.code),
            col(WorkCenter.name),
            col(OrderBalance.order_number),
            col(OrderBalance.qty_in),
            col(OrderBalance.qty_out),
            col(OrderBalance.last_movement_at),
            col(User.username),
            col(User.full_name),
            col(Department.name),
        )
        .join(WorkCenter, col(WorkCenter.id) == col(OrderBalance.work_center_id))
        .outerjoin(User, col(User.id) == col(OrderBalance.last_user_id))
        .outerjoin(Department, col(Department.id) == col(User.department_id))
        .where(*where)
        .order_by(WorkCenter.code, OrderBalance.order_number)
        .execution_options(yield_per=STREAM_BATCH)
    )
    return iter(session.execute(query))


MOVEMENT_TITLES = (
    *('Time', 'Order', 'Work center', 'Work center name', 'Type', 'Quantity', 'User', 'Name'),
    *('Department', 'Reverses movement', 'Reason', 'Movement id'),
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
    longest += [w['department'], 10, reason, 10]
    start_table(ws, titles, [fit_width(t, n) for t, n in zip(titles, longest, strict=True)])
    when = DateTimeColumn(ws, settings().tz)
    code, name, kind, uname, full, dept = (TextColumn(ws) for _ in range(6))
    count = 0
    for r in movement_rows(session, actor, flt):
        ws.append(
            (
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
        )
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(count, total)
    if progress:
        progress(count, total)
    finish_table(ws, len(titles), count)
    return count


def movement_rows(session: Session, actor: Actor, flt: MovementFilter) -> Iterator[Any]:
    """The selection as plain tuples, newest first: a column query streams several times faster than
    ORM objects, which matters at a million rows."""
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
        )
        .join(WorkCenter, col(WorkCenter.id) == col(m.work_center_id))
        .join(User, col(User.id) == col(m.user_id))
        .outerjoin(Department, col(Department.id) == col(User.department_id))
        .where(*where)
        .order_by(col(m.created_at).desc(), col(m.id).desc())
        .execution_options(yield_per=STREAM_BATCH)
    )
    return iter(session.execute(query))
