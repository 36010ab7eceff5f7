"""Balances: totals per work center and the open orders at each, live."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from potrack.errors import PotrackError
from potrack.ledger.balances import WorkCenterTotal, work_center_totals
from potrack.live import feed
from potrack.pages import live_bridge
from potrack.pages.balances.grid import OpenOrdersGrid
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext, open_page
from potrack.pages.layout import frame

ALL = 0


def totals_row(t: WorkCenterTotal) -> dict[str, object]:
    return {
        'id': t.work_center_id,
        'wc': t.code,
        'name': t.name + ('' if t.is_active else ' (deactivated)'),
        'qty_in': t.qty_in,
        'qty_out': t.qty_out,
        'balance': t.balance,
        'open': t.open_orders,
    }


class BalancesPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.visible: set[int] = set()
        self.totals = (
            ui.table(
                columns=[
                    {'name': 'wc', 'label': 'Work center', 'field': 'wc', 'align': 'left'},
                    {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
                    {'name': 'qty_in', 'label': 'IN', 'field': 'qty_in'},
                    {'name': 'qty_out', 'label': 'OUT', 'field': 'qty_out'},
                    {'name': 'balance', 'label': 'Balance (WIP)', 'field': 'balance'},
                    {'name': 'open', 'label': 'Open orders', 'field': 'open'},
                ],
                rows=[],
                row_key='id',
                title='Totals per work center',
            )
            .props('flat bordered')
            .classes('w-full')
            .mark('totals-table')
        )
        with ui.row().classes('w-full items-center gap-3'):
            ui.label('Open orders at').classes('text-lg font-bold')
            self.choice = (
                ui.select({ALL: 'All my work centers'}, value=ALL, on_change=self.choose)
                .props('outlined dense')
                .classes('w-72')
                .mark('wc-choice')
            )
        self.grid = OpenOrdersGrid(ctx)

    async def load(self) -> None:
        await self.load_totals()
        await self.grid.show(None)

    async def load_totals(self) -> None:
        try:
            totals = await self.ctx.call(work_center_totals)
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.visible = {t.work_center_id for t in totals}
        self.totals.rows = [totals_row(t) for t in totals]
        self.choice.set_options(
            {ALL: 'All my work centers', **{t.work_center_id: f'{t.code} {t.name}' for t in totals}},
            value=self.choice.value if self.choice.value in self.visible else ALL,
        )

    async def choose(self) -> None:
        await self.grid.show(None if self.choice.value == ALL else [self.choice.value])

    async def on_change(self, change: feed.Change) -> None:
        if change.kind in ('masters', 'resync'):
            await self.load()
        elif change.work_center_id in self.visible:
            await self.load_totals()
            await self.grid.apply_change(change.work_center_id, change.order_number)


def register() -> None:
    @ui.page('/balances')
    async def balances_page(request: Request) -> Response | None:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        with frame(ctx, 'Balances'):
            page = BalancesPage(ctx)
            await page.load()
            live_bridge.subscribe(page.on_change)
        return None
