"""Reports: search every movement a person may see, balances now, charts, and the Excel export.

The filters live in the URL (see `query`), so a report can be bookmarked and shared; each tab
loads its data when it is shown after the filters changed.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from potrack.errors import PotrackError
from potrack.ledger.search import MovementFilter
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext, open_page
from potrack.pages.layout import frame
from potrack.pages.reports.charts import ChartsView
from potrack.pages.reports.export import ExportPanel
from potrack.pages.reports.filters import FilterBar
from potrack.pages.reports.query import TABS, ReportQuery, parse_query, query_string, to_filter, within_choices
from potrack.pages.reports.tables import MovementsTable, OrderBalancesTable, TotalsBar, column
from potrack.reports.excel.workbook import ExportRequest
from potrack.reports.filters import FilterChoices, filter_choices
from potrack.reports.scrap import scrap_figures
from potrack.reports.summaries import WorkCenterSummary, daily_flow, work_center_summary
from potrack.timeutil import format_local, local_today, zone_label

PATH = '/reports'


def summary_row(r: WorkCenterSummary) -> dict[str, Any]:
    return {
        'id': r.work_center_id,
        'wc': r.code,
        'name': r.name + ('' if r.is_active else ' (deactivated)'),
        'qty_in': f'{r.qty_in:,}',
        'qty_out': f'{r.qty_out:,}',
        'net': f'{r.net:+,}' if r.net else '0',
        'balance': f'{r.balance:,}',
        'open': f'{r.open_orders:,}',
        'scrap': f'{r.qty_scrap:,}',
        'rework': f'{r.qty_rework:,}',
        'transit': f'{r.in_transit:,}',
        'last': format_local(r.last_movement_at, with_seconds=True),
        'user': r.last_user_name or r.last_username or '',
    }


def summary_table() -> ui.table:
    columns = [
        column('wc', 'Work center', 'wc', sortable=False),
        column('name', 'Name', 'name', sortable=False),
        column('qty_in', 'IN (filtered)', 'qty_in', sortable=False, left=False),
        column('qty_out', 'OUT (filtered)', 'qty_out', sortable=False, left=False),
        column('net', 'Net (filtered)', 'net', sortable=False, left=False),
        column('balance', 'Balance now', 'balance', sortable=False, left=False),
        column('open', 'Open orders', 'open', sortable=False, left=False),
        column('scrap', 'Scrapped (filtered)', 'scrap', sortable=False, left=False),
        column('rework', 'Reworked (filtered)', 'rework', sortable=False, left=False),
        column('transit', 'In transit now', 'transit', sortable=False, left=False),
        column('last', f'Last movement ({zone_label()})', 'last', sortable=False),
        column('user', 'Last by', 'user', sortable=False),
    ]
    return ui.table(columns=columns, rows=[], row_key='id').props('flat bordered').classes('w-full').mark('wc-summary')


class ReportsPage:
    def __init__(self, ctx: PageContext, choices: FilterChoices, query: ReportQuery) -> None:
        self.ctx = ctx
        self.choices = choices
        self.query = query
        self.flt = to_filter(query, choices, local_today())
        self.stale = set(TABS)
        self.generation = 0  # counts filter changes: answers for older filters are not shown
        self.summary: list[WorkCenterSummary] | None = None
        with ui.row().classes('w-full items-center gap-3'):
            ui.label('Everything you may see, filtered, summed and charted.').classes('text-base opacity-80')
            ui.space()
            ExportPanel(ctx, self.export_request)
        self.filters = FilterBar(choices, query, local_today(), self.apply)
        self.totals = TotalsBar()
        with ui.tabs(value=query.tab, on_change=self.tab_changed).classes('w-full').props('align=left') as tabs:
            ui.tab('movements', 'Movements', icon='list').mark('tab-movements')
            ui.tab('balances', 'Balances', icon='inventory_2').mark('tab-balances')
            ui.tab('charts', 'Charts', icon='bar_chart').mark('tab-charts')
        self.tabs = tabs
        with ui.tab_panels(tabs, value=query.tab).classes('w-full bg-transparent'):
            with ui.tab_panel('movements').classes('px-0'):
                self.movements = MovementsTable(ctx, lambda: self.flt, self.totals)
            with ui.tab_panel('balances').classes('px-0 gap-3'):
                self._balances_tab()
            with ui.tab_panel('charts').classes('px-0'):
                self.charts = ChartsView()

    def _balances_tab(self) -> None:
        with ui.row().classes('w-full items-center gap-4'):
            self.open_only = (
                ui.switch('Open orders only', value=self.query.open_only)
                .on_value_change(self.open_only_changed)
                .mark('open-only')
            )
            ui.label(
                'Balances and pieces in transit are as of now; the date, type and user filters do not apply to them.'
            ).classes('text-sm opacity-70')
        ui.label('Per work center').classes('text-lg font-bold')
        self.wc_table = summary_table()
        ui.label('Per order').classes('text-lg font-bold')
        self.orders = OrderBalancesTable(self.ctx, lambda: (self.flt, self.open_only.value))

    def export_request(self) -> ExportRequest:
        return ExportRequest(self.flt, open_only=self.query.open_only, period=self.query.period)

    async def apply(self, query: ReportQuery) -> None:
        """New filters: keep them in the URL, forget loaded tabs, load the one in view."""
        query = query.with_(tab=self.query.tab, open_only=self.query.open_only)
        try:
            flt: MovementFilter = to_filter(query, self.choices, local_today())
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.query, self.flt = query, flt
        self.sync_url()
        self.generation += 1
        self.stale = set(TABS)
        self.summary = None
        await self.load_tab()

    def sync_url(self) -> None:
        params = query_string(self.query)
        ui.navigate.history.replace(f'{PATH}?{params}' if params else PATH)

    async def tab_changed(self) -> None:
        self.query = self.query.with_(tab=self.tabs.value)
        self.sync_url()
        await self.load_tab()

    async def open_only_changed(self) -> None:
        self.query = self.query.with_(open_only=bool(self.open_only.value))
        self.sync_url()
        await self.orders.reload()

    async def load_tab(self) -> None:
        """Load the tab in view if the filters changed since; the movements always, for their totals."""
        for tab in dict.fromkeys(('movements', self.query.tab)):
            if tab in self.stale:
                await self.load(tab)

    async def load(self, tab: str) -> None:
        self.stale.discard(tab)
        generation = self.generation
        try:
            if tab == 'movements':
                await self.movements.reload()
            elif tab == 'balances':
                summary = await self.load_summary()
                if generation == self.generation:  # else newer filters are loading their own
                    self.wc_table.rows = [summary_row(r) for r in summary]
                await self.orders.reload()
            else:
                flow = await self.ctx.call(daily_flow, self.flt)
                scrap = await self.ctx.call(scrap_figures, self.flt)
                summary = await self.load_summary()
                if generation == self.generation:
                    self.charts.show(flow, summary, scrap)
        except PotrackError as exc:
            self.stale.add(tab)
            show_refusal(exc)

    async def load_summary(self) -> list[WorkCenterSummary]:
        """Totals per work center of the current filters, read once for the balances and the charts."""
        generation, summary = self.generation, self.summary
        if summary is None:
            summary = await self.ctx.call(work_center_summary, self.flt)
            if generation == self.generation:
                self.summary = summary
        return summary


def register() -> None:
    @ui.page(PATH)
    async def reports_page(request: Request) -> Response | None:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        with frame(ctx, 'Reports'):
            try:
                choices = await ctx.call(filter_choices)
            except PotrackError as exc:
                show_refusal(exc)
                return None
            query = within_choices(parse_query(dict(request.query_params)), choices)
            for note in query.notes:
                ui.notify(note, type='warning', multi_line=True, timeout=8000)
            page = ReportsPage(ctx, choices, query)
            ui.timer(0.01, page.load_tab, once=True)  # data after the page is on screen: builders must answer fast
        return None
