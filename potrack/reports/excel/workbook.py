"""The Excel export: exactly what the report filters select, as a formatted workbook, streamed from the database.

Three sheets: Summary (filters, who and when, totals per work center, a native bar chart), Balances
(per work center and order, now) and Movements (the selection, newest first). openpyxl's write-only
mode keeps memory flat: rows go to disk as they arrive from a server-side cursor. Everything is read
in one transaction (REPEATABLE READ on PostgreSQL), so the totals on the Summary sheet are the sums of
the Movements sheet even while kiosks keep recording. No nicegui here: the page runs this in a worker
process (`export_job`), the CLI in its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func, text
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from potrack.common.actors import Actor, load_user, scoped_work_center_ids
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import Department, OrderBalance, ProductionOrder, User, WorkCenter
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotFound
from potrack.ledger.balances import order_filter
from potrack.ledger.search import MovementFilter, movement_conditions
from potrack.reports.excel.cells import DATETIME_WIDTH, DateTimeColumn, TextColumn, finish_table, fit_width, safe_text
from potrack.reports.excel.cells import table_sheet as start_table
from potrack.reports.excel.summary_sheet import SummaryInfo, write_summary
from potrack.reports.summaries import summary_in
from potrack.timeutil import zone_label

MAX_SHEET_ROWS = 1_048_575  # Excel's row limit, less the header
STREAM_BATCH = 2000  # rows per fetch from the server-side cursor
PROGRESS_EVERY = 1000
IDLE_IN_EXPORT_S = 600
Progress = Callable[[int, int], None]  # (movements written, movements in the selection)


@dataclass(frozen=True)
class ExportRequest:
    flt: MovementFilter = field(default_factory=MovementFilter)
    open_only: bool = True  # the Balances sheet: open orders only, or closed ones too
    period: str | None = None  # the preset the dates came from, shown on the Summary sheet


@dataclass(frozen=True)
class ExportResult:
    path: Path
    filename: str
    movements: int
    balances: int


def export_filename(now: datetime, work_center_codes: tuple[str, ...] = ()) -> str:
    """potrack-<what>-<YYYYMMDD-HHMM>-IST.xlsx, local time; <what> names a single work center when there is one."""
    what = 'report'
    if len(work_center_codes) == 1:
        what += '-' + (re.sub(r'[^A-Za-z0-9_-]', '', work_center_codes[0]) or 'wc')
    local = now.astimezone(settings().tz)
    return f'potrack-{what}-{local:%Y%m%d-%H%M}-{re.sub(r"[^A-Za-z0-9]", "", zone_label(now))}.xlsx'


def actor_by_username(username: str, *, db: Database | None = None) -> Actor:
    """The active user named `username` as an actor, for the command line. Raises NotFound."""
    db = db or database()
    with db.read() as session:
        user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
        if user is None or not user.is_active:
            raise NotFound(f'There is no active user "{username}".')
        return Actor(user.id or 0)


def export_workbook(
    actor: Actor,
    request: ExportRequest,
    path: Path,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
    db: Database | None = None,
) -> ExportResult:
    """Write the workbook of `request`'s selection, within the actor's scope, to `path`.

    Raises SignedOut, NotAllowed (a work center asked for is not visible), InvalidInput (filters, or more
    movements than a sheet holds), NotSaved (database unreachable).
    """
    db = db or database()
    now = now or utcnow()
    with db.read() as session:
        if session.get_bind().dialect.name == 'postgresql':
            session.connection(execution_options={'isolation_level': 'REPEATABLE READ'})
            # At the lowest priority on a busy server, writing one batch of rows may take longer than the
            # idle-in-transaction limit that is meant for stuck kiosk transactions.
            session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = '{IDLE_IN_EXPORT_S}s'"))
        user = load_user(session, actor)
        summary = summary_in(session, actor, request.flt)
        total = sum(row.movements for row in summary)
        if total > MAX_SHEET_ROWS:
            raise InvalidInput(
                f'These filters select {total:,} movements; an Excel sheet holds at most {MAX_SHEET_ROWS:,}. '
                'Choose fewer days or work centers.'
            )
        if progress:
            progress(0, total)
        info = SummaryInfo(
            user, request.flt, request.open_only, request.period, now, summary, _username(session, request.flt.user_id)
        )
        wb = Workbook(write_only=True)
        write_summary(wb.create_sheet('Summary'), info)
        ids = {row.work_center_id for row in summary}
        balances = _balances_sheet(wb.create_sheet('Balances'), session, ids, request)
        movements = _movements_sheet(wb.create_sheet('Movements'), session, actor, request.flt, ids, total, progress)
    wb.save(path)
    return ExportResult(path, path.name, movements, balances)


def _username(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return None if user is None else f'{user.full_name or user.username} ({user.username})'


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


def _balances_sheet(ws: WriteOnlyWorksheet, session: Session, ids: set[int], request: ExportRequest) -> int:
    w = _widths(session, ids)
    titles = list(BALANCE_TITLES)
    titles[6] = f'Last movement ({zone_label()})'
    longest = [w['code'], w['wc_name'], w['order'], 10, 10, 10, DATETIME_WIDTH, w['username'], w['full_name']]
    longest.append(w['department'])
    start_table(ws, titles, [fit_width(t, n) for t, n in zip(titles, longest, strict=True)])
    when, code, name, uname, full, dept = (DateTimeColumn(ws, settings().tz), *(TextColumn(ws) for _ in range(5)))
    count = 0
    for r in _balance_rows(session, ids, request):
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


def _balance_rows(session: Session, ids: set[int], request: ExportRequest) -> Iterator[Any]:
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


def _movements_sheet(
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
    titles = list(MOVEMENT_TITLES)
    titles[0] = f'Time ({zone_label()})'
    longest = [DATETIME_WIDTH, w['order'], w['code'], w['wc_name'], 4, 9, w['username'], w['full_name']]
    longest += [w['department'], 10, reason, 10]
    start_table(ws, titles, [fit_width(t, n) for t, n in zip(titles, longest, strict=True)])
    when = DateTimeColumn(ws, settings().tz)
    code, name, kind, uname, full, dept = (TextColumn(ws) for _ in range(6))
    count = 0
    for r in _movement_rows(session, actor, flt):
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


def _movement_rows(session: Session, actor: Actor, flt: MovementFilter) -> Iterator[Any]:
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


def scope_check(actor: Actor, flt: MovementFilter, *, db: Database | None = None) -> tuple[str, ...]:
    """Refuse at once what an export would refuse later; the codes of the work centers asked for.

    Raises SignedOut, NotAllowed (a work center asked for is not visible).
    """
    db = db or database()
    with db.read() as session:
        user = load_user(session, actor)
        ids = scoped_work_center_ids(session, user, list(flt.work_center_ids) or None)
        if not flt.work_center_ids:
            return ()
        query = select(WorkCenter.code).where(col(WorkCenter.id).in_(ids)).order_by(WorkCenter.code)
        return tuple(session.exec(query).all())
