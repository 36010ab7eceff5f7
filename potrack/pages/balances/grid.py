"""The open-orders grid of the balances page: server-side search and paging, live row updates.

A change elsewhere re-reads only the affected (work center, order) row and applies it to the grid
with AG Grid's `applyTransaction`, so the person's scroll position and search stay where they were.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from nicegui import background_tasks, ui

from potrack.common.paging import Page
from potrack.db.types import utcnow
from potrack.errors import PotrackError
from potrack.ledger.balances import OrderBalanceRow, order_balances
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, zone_label

PAGE_SIZE = 100
RECOUNT_EVERY_S = 1.0  # "of Y" after changes off this page: a count at most this often per open grid


def columns() -> list[dict[str, Any]]:
    return [
        {'headerName': 'Work center', 'field': 'wc', 'width': 120},
        {'headerName': 'Order', 'field': 'order', 'flex': 2, 'minWidth': 160},
        {'headerName': 'IN', 'field': 'qty_in', 'type': 'numericColumn', 'width': 100},
        {'headerName': 'OUT', 'field': 'qty_out', 'type': 'numericColumn', 'width': 100},
        {'headerName': 'Balance', 'field': 'balance', 'type': 'numericColumn', 'width': 110},
        {'headerName': f'Last movement ({zone_label()})', 'field': 'last', 'width': 180},
        {'headerName': 'User', 'field': 'user', 'flex': 1, 'minWidth': 120},
        {'headerName': 'Department', 'field': 'department', 'flex': 1, 'minWidth': 120},
    ]


SORTS = {'Latest movement': 'last_movement_at', 'Order number': 'order_number', 'Balance': 'balance'}


def grid_row(r: OrderBalanceRow) -> dict[str, Any]:
    return {
        'key': f'{r.work_center_id}:{r.order_number}',
        'wc': r.work_center_code,
        'order': r.order_number,
        'qty_in': r.qty_in,
        'qty_out': r.qty_out,
        'balance': r.balance,
        'last': format_local(r.last_movement_at),
        'user': r.last_user_name or r.last_username or '',
        'department': r.last_user_department or '',
    }


class OpenOrdersGrid:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.work_center_ids: list[int] | None = None
        self.offset = 0
        self.total = 0
        self.keys: set[str] = set()
        self.updated: datetime | None = None
        self.count_stale = False
        self.counting = False
        self.counted_at = 0.0
        with ui.row().classes('w-full items-center gap-3'):
            self.search = (
                ui.input('Search order number', on_change=self.reload)
                .props('outlined dense clearable debounce=300')
                .classes('w-64')
                .mark('balance-search')
            )
            self.match = ui.toggle(
                {'prefix': 'starts with', 'contains': 'contains'}, value='prefix', on_change=self.reload
            ).props('no-caps toggle-color=teal-8 role=group aria-label="Order number match"')
            self.open_only = ui.switch('Open orders only', value=True, on_change=self.reload).mark('open-only')
            self.sort = (
                ui.select(list(SORTS), value='Latest movement', label='Sort by', on_change=self.reload)
                .props('outlined dense')
                .classes('w-48')
            )
        self.grid = (
            ui.aggrid(
                {
                    'columnDefs': columns(),
                    'rowData': [],
                    ':getRowId': '(params) => params.data.key',
                    'defaultColDef': {'sortable': False, 'resizable': True},
                    'suppressCellFocus': True,
                }
            )
            .classes('w-full h-[60vh]')
            .mark('balance-grid')
        )
        with ui.row().classes('w-full items-center gap-3'):
            self.prev = ui.button('Previous', icon='chevron_left', on_click=lambda: self.turn(-1)).props('flat')
            self.next = ui.button('Next', icon='chevron_right', on_click=lambda: self.turn(1)).props('flat')
            self.showing = ui.label('').mark('showing')
            ui.space()
            self.stamp = ui.label('').classes('text-sm opacity-70').mark('last-updated')

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.grid.options['rowData']

    def quietly(self) -> AbstractContextManager[None]:
        """Keep the server's copy of the rows in step without sending it: a live change reaches the browser as
        an AG Grid transaction only. Sent as well, the changed rows rebuild the whole grid (losing the scroll)
        and a transaction's added row then lands a second time: each new order showed twice."""
        return self.grid.props.suspend_updates()

    async def show(self, work_center_ids: list[int] | None) -> None:
        self.work_center_ids = work_center_ids
        await self.reload()

    async def reload(self) -> None:
        self.offset = 0
        await self.load()

    async def turn(self, direction: int) -> None:
        self.offset = max(0, min(self.offset + direction * PAGE_SIZE, max(self.total - 1, 0) // PAGE_SIZE * PAGE_SIZE))
        await self.load()

    def selection(self) -> dict[str, Any]:
        """The filters as order_balances takes them."""
        return {
            'work_center_ids': self.work_center_ids,
            'order': self.search.value or '',
            'match': self.match.value,
            'open_only': self.open_only.value,
            'sort': SORTS[self.sort.value],
        }

    async def load(self) -> None:
        try:
            page: Page[OrderBalanceRow] = await self.ctx.call(
                order_balances, **self.selection(), offset=self.offset, limit=PAGE_SIZE
            )
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.total = page.total
        self.grid.options['rowData'] = [grid_row(r) for r in page.rows]
        self.keys = {row['key'] for row in self.rows}
        self.grid.update()
        self.after_change()

    def after_change(self) -> None:
        self.updated = utcnow()
        first = self.offset + 1 if self.rows else 0
        self.showing.set_text(f'Showing {first:,}–{self.offset + len(self.rows):,} of {self.total:,}')
        self.prev.set_enabled(self.offset > 0)
        self.next.set_enabled(self.offset + PAGE_SIZE < self.total)
        self.stamp.set_text(f'Last updated {format_local(self.updated, with_seconds=True)} {zone_label()}')

    def matches(self, row: OrderBalanceRow) -> bool:
        if self.work_center_ids and row.work_center_id not in self.work_center_ids:
            return False
        if self.open_only.value and row.balance <= 0:
            return False
        needle = (self.search.value or '').strip().upper()
        if not needle:
            return True
        return row.order_number.startswith(needle) if self.match.value == 'prefix' else needle in row.order_number

    async def apply_change(self, work_center_id: int, order_number: str) -> None:
        """Re-read one (work center, order) row and add, update or remove it in place."""
        if self.work_center_ids and work_center_id not in self.work_center_ids:
            return
        try:
            page = await self.ctx.call(
                order_balances,
                work_center_ids=[work_center_id],
                order=order_number,
                match='exact',
                open_only=False,
                limit=1,
            )
        except PotrackError:
            return  # not visible to this user (or signed out: already handled)
        key = f'{work_center_id}:{order_number}'
        row = page.rows[0] if page.rows else None
        if row is not None and self.matches(row):
            data = grid_row(row)
            if key in self.keys:
                with self.quietly():
                    self.rows[:] = [data if r['key'] == key else r for r in self.rows]
                self.grid.run_grid_method('applyTransaction', {'update': [data]})
            else:
                if self.offset == 0 and self.sort.value == 'Latest movement':
                    self.show_on_top(key, data)
                self.recount_soon()  # new to the selection, or moved here from another page: only a count tells
        elif key in self.keys:
            with self.quietly():
                self.rows[:] = [r for r in self.rows if r['key'] != key]
            self.keys.discard(key)
            self.total -= 1  # shown at once; the count below settles it if another change raced this one
            self.grid.run_grid_method('applyTransaction', {'remove': [{'key': key}]})
            self.recount_soon()
        else:
            self.recount_soon()  # it may have left the selection from another page
        self.after_change()

    def show_on_top(self, key: str, data: dict[str, Any]) -> None:
        """The newest movement goes first on page 1; the page keeps PAGE_SIZE rows (its last moves on)."""
        with self.quietly():
            self.rows.insert(0, data)
        self.keys.add(key)
        self.grid.run_grid_method('applyTransaction', {'add': [data], 'addIndex': 0})
        if len(self.rows) > PAGE_SIZE:
            with self.quietly():
                last = self.rows.pop()
            self.keys.discard(last['key'])
            self.grid.run_grid_method('applyTransaction', {'remove': [{'key': last['key']}]})

    def recount_soon(self) -> None:
        """Count the selection again, at most once per RECOUNT_EVERY_S however many changes arrive."""
        self.count_stale = True
        if not self.counting:
            self.counting = True
            background_tasks.create(self._recount(), name='balances recount')

    async def _recount(self) -> None:
        try:
            while self.count_stale and not self.grid.is_deleted:
                self.count_stale = False
                await asyncio.sleep(max(0.0, self.counted_at + RECOUNT_EVERY_S - time.monotonic()))
                self.counted_at = time.monotonic()
                try:
                    page = await self.ctx.call(order_balances, **self.selection(), offset=0, limit=1)
                except PotrackError:
                    return
                self.total = page.total
                self.after_change()
        finally:
            self.counting = False
