"""The Excel export: exactly what the report filters select, as a formatted workbook, streamed from the database.

Three sheets: Summary (filters, who and when, totals per work center, a native bar chart), Balances
(per work center and order, now, with the pieces in transit to it) and Movements (the selection, newest
first, with what each OUT did with its pieces). Scrap (per reason and work center, with a chart) comes
after the Summary when the selection holds scrap or rework, and Orders (the orders of the book that the
selection covers, with their progress) last when there is any. openpyxl's write-only mode keeps memory
flat: rows go to disk as they arrive from a server-side cursor. Everything is read in one transaction
(REPEATABLE READ on PostgreSQL), so the totals on the Summary sheet are the sums of the Movements sheet
even while kiosks keep recording. No nicegui here: the page runs this in a worker process (`job`), the
CLI in its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from potrack.common.actors import Actor, load_user, scoped_work_center_ids
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import User, WorkCenter
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotFound
from potrack.ledger.search import MovementFilter
from potrack.reports.excel.data_sheets import Progress, balances_sheet, movements_sheet
from potrack.reports.excel.orders_sheet import covered_orders, orders_sheet
from potrack.reports.excel.printing import print_setup
from potrack.reports.excel.scrap_sheet import write_scrap
from potrack.reports.excel.summary_sheet import SummaryInfo, write_summary
from potrack.reports.scrap import figures_in
from potrack.reports.summaries import summary_in
from potrack.timeutil import zone_label

MAX_SHEET_ROWS = 1_048_575  # Excel's row limit, less the header
IDLE_IN_EXPORT_S = 600


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
    orders: int = 0  # rows of the Orders sheet; 0: the workbook has no such sheet


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
        # At most one row per order with a selected movement: the check above keeps this sheet in bounds too.
        covered = covered_orders(session, actor, request.flt)
        username = _username(session, request.flt.user_id)
        info = SummaryInfo(user, request.flt, request.open_only, request.period, now, summary, username, covered.count)
        wb = Workbook(write_only=True)
        write_summary(wb.create_sheet('Summary'), info)
        scrap = figures_in(session, actor, request.flt)
        if not scrap.empty:
            write_scrap(wb.create_sheet('Scrap'), scrap, summary, now)
        ids = {row.work_center_id for row in summary}
        balances = balances_sheet(_table_sheet(wb, 'Balances', now), session, ids, request)
        moves = _table_sheet(wb, 'Movements', now)
        movements = movements_sheet(moves, session, actor, request.flt, ids, total, progress)
        orders = 0
        if covered.count:
            today = now.astimezone(settings().tz).date()
            orders = orders_sheet(_table_sheet(wb, 'Orders', now), session, actor, covered, today)
    wb.save(path)
    return ExportResult(path, path.name, movements, balances, orders)


def _table_sheet(wb: Workbook, title: str, now: datetime) -> WriteOnlyWorksheet:
    """A new sheet that prints one page wide with its header row on every page; gridlines on paper, where
    no frozen pane or screen grid separates the rows any more."""
    ws = wb.create_sheet(title)
    print_setup(ws, now, gridlines=True)
    return ws


def _username(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return None if user is None else f'{user.full_name or user.username} ({user.username})'


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
