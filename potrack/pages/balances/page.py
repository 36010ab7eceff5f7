"""Balances: totals per work center and the open orders at each, live."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from potrack.errors import PotrackError
from potrack.ledger.balances import WorkCenterTotal, work_center_totals
from potrack.ledger.transit import TransitTotal, transit_by_work_center
from potrack.live import feed
from potrack.pages import live_bridge
from potrack.pages.balances import transit
from potrack.pages.balances.grid import OpenOrdersGrid
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext, open_page
from potrack.pages.layout import frame

ALL = 0


def totals_row(t: WorkCenterTotal, in_transit: TransitTotal | None) -> dict[str, object]:
    return {
        'id': t.work_center_id,
        'wc': t.code,
        'name': t.name + ('' if t.is_active else ' (deactivated)'),
        'qty_in': t.qty_in,
        'qty_out': t.qty_out,
        'balance': t.balance,
        'open': t.open_orders,
        **transit.transit_cells(in_transit),
    }


class BalancesPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.visible: set[int] = set()
        self.totals_loading = self.totals_again = False
        self.totals = (
            ui.table(
                columns=[
                    {'name': 'wc', 'label': 'Work center', 'field': 'wc', 'align': 'left'},
                    {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
                    {'name': 'qty_in', 'label': 'IN', 'field': 'qty_in'},
                    {'name': 'qty_out', 'label': 'OUT', 'field': 'qty_out'},
                    {'name': 'balance', 'label': 'Balance (WIP)', 'field': 'balance'},
                    {'name': 'open', 'label': 'Open orders', 'field': 'open'},
                    {'name': 'transit', 'label': 'In transit to it', 'field': 'transit', 'align': 'left'},
                ],
                rows=[],
                row_key='id',
                title='Totals per work center',
            )
            .props('flat bordered')
            .classes('w-full')
            .mark('totals-table')
        )
        self.totals.add_slot('body-cell-transit', transit.TRANSIT_SLOT)
        with ui.row().classes('w-full items-center gap-2'):
            ui.icon('local_shipping').classes('text-2xl')
            self.transit_line = ui.label('').classes('text-base').mark('transit-summary')
        with ui.row().classes('w-full items-center gap-2') as self.old_row:
            ui.icon('schedule', color='amber-9').classes('text-2xl')
            self.old_line = ui.label('').classes('text-base font-bold').mark('transit-old')
        self.old_row.set_visibility(False)
        # Transit turns old with time, not with a change: while some is young, look again now and then.
        # Not immediate: a timer that starts at once waits for the browser, and the page would be sent half built.
        self.old_timer = ui.timer(transit.OLD_RECHECK_S, self.load_totals, active=False, immediate=False)
        with ui.row().classes('w-full items-center gap-3'):
            ui.label('Open orders at').classes('text-lg font-bold')
            self.choice = (
                ui.select({ALL: 'All my work centers'}, value=ALL, on_change=self.choose)
                .props('outlined dense aria-label="Open orders at"')
                .classes('w-72')
                .mark('wc-choice')
            )
        self.grid = OpenOrdersGrid(ctx)

    async def load(self) -> None:
        await self.load_totals()
        await self.grid.show(None)

    async def load_totals(self) -> None:
        """Re-read the totals; notices arriving while a read runs fold into one more read after it."""
        if self.totals_loading:
            self.totals_again = True
            return
        self.totals_loading = True
        try:
            self.totals_again = True
            while self.totals_again and not self.totals.is_deleted:
                self.totals_again = False
                await self.read_totals()
        finally:
            self.totals_loading = False

    async def read_totals(self) -> None:
        try:
            totals = await self.ctx.call(work_center_totals)
            in_transit = await self.ctx.call(transit_by_work_center)
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.visible = {t.work_center_id for t in totals}
        self.totals.rows = [totals_row(t, in_transit.get(t.work_center_id)) for t in totals]
        self.transit_line.set_text(transit.summary_text(in_transit))
        self.old_line.set_text(transit.old_summary(in_transit))
        self.old_row.set_visibility(bool(self.old_line.text))
        self.old_timer.active = not transit.all_old(in_transit)
        self.choice.set_options(
            {ALL: 'All my work centers', **{t.work_center_id: f'{t.code} {t.name}' for t in totals}},
            value=self.choice.value if self.choice.value in self.visible else ALL,
        )

    async def choose(self) -> None:
        await self.grid.show(None if self.choice.value == ALL else [self.choice.value])

    async def on_change(self, change: feed.Change) -> None:
        if change.kind in ('masters', 'resync'):
            await self.load()
        elif change.kind == feed.TRANSIT:
            if change.work_center_id in self.visible:
                await self.load_totals()
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
