"""The kiosk's side panels: where an order's pieces are, and the last entries at this work center."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nicegui import ui

from potrack.balances import OrderBalanceRow, order_balances
from potrack.db.types import utcnow
from potrack.errors import PotrackError
from potrack.ledger import UNDO_WINDOW_S
from potrack.masters import WorkCenterInfo
from potrack.movements import MovementFilter, MovementRow, search_movements
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, to_local

RECENT_ROWS = 10


class OrderCard:
    """As soon as an order number is entered: its balance here and at the other work centers you see."""

    def __init__(self, ctx: PageContext, work_centers: dict[int, WorkCenterInfo]) -> None:
        self.ctx = ctx
        self.work_centers = work_centers
        self.order = ''
        self.here: int | None = None
        with ui.card().classes('w-full gap-2').mark('order-card'):
            self.title = ui.label('Scan or type an order number').classes('text-lg font-bold')
            self.summary = ui.label('').classes('text-2xl potrack-num').mark('order-available')
            self.table = (
                ui.table(
                    columns=[
                        {'name': 'wc', 'label': 'Work center', 'field': 'wc', 'align': 'left'},
                        {'name': 'qty_in', 'label': 'IN', 'field': 'qty_in'},
                        {'name': 'qty_out', 'label': 'OUT', 'field': 'qty_out'},
                        {'name': 'balance', 'label': 'Here now', 'field': 'balance'},
                    ],
                    rows=[],
                    row_key='wc',
                )
                .props('dense flat')
                .classes('w-full')
                .mark('order-table')
            )
            self.table.set_visibility(False)

    async def show(self, order: str, here: int | None) -> None:
        self.order, self.here = order, here
        await self.refresh()

    async def refresh(self) -> None:
        if not self.order:
            self.title.set_text('Scan or type an order number')
            self.summary.set_text('')
            self.table.set_visibility(False)
            return
        try:
            page = await self.ctx.call(order_balances, order=self.order, match='exact', open_only=False, limit=100)
        except PotrackError as exc:
            show_refusal(exc)
            return
        rows: list[OrderBalanceRow] = sorted(page.rows, key=lambda r: r.work_center_code)
        self.title.set_text(self.order)
        here = next((r for r in rows if r.work_center_id == self.here), None)
        wc = self.work_centers.get(self.here or 0)
        where = wc.code if wc else 'this work center'
        self.summary.set_text(f'{here.balance if here else 0} available to send at {where}')
        self.table.rows = [
            {'wc': r.work_center_code, 'qty_in': r.qty_in, 'qty_out': r.qty_out, 'balance': r.balance} for r in rows
        ]
        self.table.set_visibility(bool(rows))
        if not rows:
            self.summary.set_text(f'No pieces of {self.order} recorded yet')


@dataclass
class UndoCandidate:
    movement_id: int
    text: str
    deadline: datetime


class RecentEntries:
    """The last entries at the chosen work center, with Undo for your own latest one for 2 minutes."""

    def __init__(self, ctx: PageContext, on_undo: Callable[[int], Awaitable[None]]) -> None:
        self.ctx = ctx
        self.work_center_id: int | None = None
        self.on_undo = on_undo
        self.candidate: UndoCandidate | None = None
        with ui.card().classes('w-full gap-2'):
            ui.label(f'Last {RECENT_ROWS} entries here').classes('text-lg font-bold')
            self.undo_button = (
                ui.button('Undo', icon='undo', on_click=self._undo)
                .props('color=amber-8 no-caps size=lg')
                .classes('w-full')
                .mark('undo')
            )
            self.undo_button.set_visibility(False)
            self.table = (
                ui.table(
                    columns=[
                        {'name': 'time', 'label': 'Time (IST)', 'field': 'time', 'align': 'left'},
                        {'name': 'order', 'label': 'Order', 'field': 'order', 'align': 'left'},
                        {'name': 'type', 'label': 'Type', 'field': 'type'},
                        {'name': 'qty', 'label': 'Qty', 'field': 'qty'},
                        {'name': 'user', 'label': 'By', 'field': 'user', 'align': 'left'},
                    ],
                    rows=[],
                    row_key='id',
                )
                .props('dense flat')
                .classes('w-full')
                .mark('recent-table')
            )

    async def show(self, work_center_id: int | None) -> None:
        self.work_center_id = work_center_id
        await self.refresh()

    async def refresh(self) -> None:
        if self.work_center_id is None:
            self.table.rows = []
            self.undo_button.set_visibility(False)
            return
        flt = MovementFilter(work_center_ids=(self.work_center_id,))
        try:
            page = await self.ctx.call(search_movements, flt, limit=RECENT_ROWS, with_totals=False)
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.table.rows = [_recent_row(m) for m in page.rows]
        self.candidate = _undo_candidate(page.rows, self.ctx.actor.user_id)
        self.undo_button.set_visibility(self.candidate is not None)
        if self.candidate:
            self.undo_button.set_text(self.candidate.text)

    def _expire(self) -> None:
        if self.candidate and self.candidate.deadline <= utcnow():
            self.candidate = None
            self.undo_button.set_visibility(False)

    async def _undo(self) -> None:
        if self.candidate:
            await self.on_undo(self.candidate.movement_id)


def _recent_row(m: MovementRow) -> dict[str, object]:
    kind = m.movement_type if m.reverses_id is None else f'{m.movement_type} undone'
    return {
        'id': m.id,
        'time': to_local(m.created_at).strftime('%H:%M:%S'),
        'order': m.order_number,
        'type': kind,
        'qty': m.quantity,
        'user': m.user_full_name or m.username,
    }


def _undo_candidate(rows: list[MovementRow], user_id: int) -> UndoCandidate | None:
    """Your newest entry here, if not yet undone and still within the window (the ledger decides for real)."""
    reversed_ids = {m.reverses_id for m in rows if m.reverses_id is not None}
    mine = next((m for m in rows if m.user_id == user_id and m.reverses_id is None), None)
    if mine is None or mine.id in reversed_ids:
        return None
    deadline = mine.created_at + timedelta(seconds=UNDO_WINDOW_S)
    if deadline <= utcnow():
        return None
    return UndoCandidate(
        mine.id,
        f'Undo {mine.movement_type} {mine.quantity} of {mine.order_number} '
        f'(until {format_local(deadline, with_seconds=True)[-8:]})',
        deadline,
    )
