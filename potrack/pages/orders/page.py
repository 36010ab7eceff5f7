"""The orders page at /orders: search the order book, see how far each order has come, act on it.

The search, status, due dates, "late only" and the page are in the URL (?q=&match=&status=&due_from=
&due_to=&late=&page=), so a view can be bookmarked and shared. Rows come a page at a time from the
server. Admins add orders, import the ERP's file and print route cards for a selection; the detail
page (/orders/{number}) closes, cancels and reopens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from potrack.common.paging import Page
from potrack.db.models import ORDER_STATUSES
from potrack.errors import PotrackError
from potrack.live import feed
from potrack.orders.listing import OrderFilter, OrderRow, list_orders
from potrack.pages import live_bridge
from potrack.pages.admin.widgets import Pager, date_field, parse_day
from potrack.pages.forms import clear_errors, show_refusal
from potrack.pages.guard import PageContext, open_page
from potrack.pages.layout import frame
from potrack.pages.orders.dialogs import open_add_dialog
from potrack.pages.orders.import_dialog import open_import_dialog

PAGE_SIZE = 50
DEFAULT_STATUS, EVERY_STATUS = 'open', 'all'
MATCHES = {'prefix': 'Starts with', 'contains': 'Contains'}
# Left out below 1024 px (a tablet upright), where the row would scroll sideways; the detail page shows them.
NARROW_HIDDEN = {'classes': 'gt-sm', 'headerClasses': 'gt-sm'}
COLUMNS: list[dict[str, Any]] = [
    {'name': 'order', 'label': 'Order', 'field': 'order', 'align': 'left', 'sortable': False},
    {'name': 'product', 'label': 'Product', 'field': 'product', 'align': 'left', 'style': 'white-space: normal'},
    {'name': 'planned', 'label': 'Planned', 'field': 'planned'},
    {'name': 'started', 'label': 'Started', 'field': 'started', **NARROW_HIDDEN},
    {'name': 'wip', 'label': 'In progress', 'field': 'wip', **NARROW_HIDDEN},
    {'name': 'finished', 'label': 'Finished', 'field': 'finished', **NARROW_HIDDEN},  # the percentage stays
    {'name': 'progress', 'label': 'Progress', 'field': 'progress', 'align': 'left'},
    {'name': 'due', 'label': 'Due', 'field': 'due', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
]
# Static templates (no data in them): values arrive as props and Vue escapes them.
PROGRESS_SLOT = r"""
<q-td :props="props">
  <div v-if="props.row.percent !== null" class="row items-center no-wrap q-gutter-sm">
    <q-linear-progress :value="props.row.percent / 100" size="14px" rounded color="teal-5" track-color="grey-7"
      style="min-width: 6rem" role="progressbar" :aria-valuenow="props.row.percent" aria-valuemin="0"
      aria-valuemax="100" :aria-label="props.row.progress_label"/>
    <span class="potrack-num">{{ props.row.percent }}%</span>
  </div>
  <span v-else>—</span>
</q-td>
"""
DUE_SLOT = r"""
<q-td :props="props">
  <span class="potrack-nowrap">{{ props.row.due }}</span>
  <q-badge v-if="props.row.late" class="q-ml-sm potrack-late" label="Late"/>
</q-td>
"""
# "Can be closed" in words, not only as a colour: the planned quantity is finished or scrapped.
STATUS_SLOT = r"""
<q-td :props="props">
  <span>{{ props.row.status }}</span>
  <q-badge v-if="props.row.closable" class="q-ml-sm" color="teal-9" text-color="white" label="Can be closed"/>
</q-td>
"""
ORDER_SLOT = r"""
<q-td :props="props">
  <a :href="props.row.href" class="potrack-link text-weight-bold potrack-nowrap">{{ props.row.order }}</a>
</q-td>
"""
# The selection checkboxes (inside Quasar's own cells), named for a screen reader: Quasar's have no name.
SELECT_SLOT = r"""
<q-checkbox v-model="props.selected" :aria-label="'Select ' + props.row.order"/>
"""
SELECT_ALL_SLOT = r"""
<q-checkbox v-model="props.selected" aria-label="Select every order shown"/>
<span class="potrack-sr-only">Select</span>
"""


def order_row(r: OrderRow) -> dict[str, Any]:
    percent = r.progress.percent(r.planned_quantity)
    return {
        'id': r.order_number,
        'order': r.order_number,
        'href': f'/orders/{quote(r.order_number, safe="")}',
        'product': ' · '.join(p for p in (r.product_code, r.product_description) if p) or '—',
        'planned': r.planned_quantity if r.planned_quantity is not None else '—',
        'started': r.progress.started,
        'wip': r.progress.wip,
        'finished': r.progress.finished,
        'percent': None if percent is None else round(percent),
        'progress_label': f'{r.progress.finished:,} of {r.planned_quantity:,} planned pieces finished'
        if r.planned_quantity
        else '',
        'closable': r.status == 'open' and r.progress.closable(r.planned_quantity),
        'due': r.due_date.strftime('%d %b %Y') if r.due_date else '—',
        'late': r.late,
        'status': r.status,
    }


class OrdersPage:
    def __init__(self, ctx: PageContext, params: dict[str, str]) -> None:
        self.ctx = ctx
        self.shown: set[str] = set()
        with ui.row().classes('w-full items-start gap-3'):
            self.text = (
                ui.input('Order or product', value=params.get('q', ''), on_change=self.reload)
                .props('outlined dense clearable debounce=400 autocomplete=off')
                .classes('w-64')
                .mark('orders-search')
            )
            match = params.get('match', 'prefix')
            self.match = (
                ui.toggle(MATCHES, value=match if match in MATCHES else 'prefix', on_change=self.reload)
                .props('no-caps toggle-color=teal-8 role=group aria-label="Order or product match"')
                .mark('orders-match')
            )
            # Open orders by default (the soonest due, so the late ones, first): what the floor works on.
            status = params.get('status', DEFAULT_STATUS)
            statuses = {**{s: s.capitalize() for s in ORDER_STATUSES}, EVERY_STATUS: 'Every status'}
            self.status = (
                ui.select(statuses, value=status if status in statuses else DEFAULT_STATUS, on_change=self.reload)
                .props('outlined dense aria-label="Status"')
                .classes('w-44')
                .mark('orders-status')
            )
            self.due_from = date_field('Due from', 'orders-due-from')
            self.due_to = date_field('Due to', 'orders-due-to')
            for field, name in ((self.due_from, 'due_from'), (self.due_to, 'due_to')):
                field.value = params.get(name, '')
                field.on_value_change(self.reload)  # after the value from the URL, which must not reload
            self.late = ui.checkbox('Late only', value=params.get('late') == '1', on_change=self.reload).mark(
                'orders-late'
            )
        if ctx.is_admin:
            with ui.row().classes('w-full gap-3'):
                ui.button('Add order', icon='add', on_click=lambda: open_add_dialog(ctx, self.load)).props(
                    'unelevated no-caps color=teal-8 size=lg'
                ).mark('orders-add')
                ui.button('Import…', icon='upload_file', on_click=lambda: open_import_dialog(ctx, self.load)).props(
                    'outline no-caps size=lg'
                ).mark('orders-import')
                self.print_button = (
                    ui.button('Print route cards', icon='print', on_click=self.print_cards)
                    .props('outline no-caps size=lg')
                    .mark('orders-print')
                )
        self.fields: dict[str, ui.element] = {'due_from': self.due_from, 'due_to': self.due_to}
        self.table = (
            ui.table(columns=COLUMNS, rows=[], row_key='id', selection='multiple' if ctx.is_admin else None)
            .props('flat bordered wrap-cells no-data-label="No orders match this search"')
            .classes('w-full')
            .mark('orders-table')
        )
        self.table.add_slot('body-cell-progress', PROGRESS_SLOT)
        self.table.add_slot('body-cell-due', DUE_SLOT)
        self.table.add_slot('body-cell-order', ORDER_SLOT)
        self.table.add_slot('body-cell-status', STATUS_SLOT)
        if ctx.is_admin:
            self.table.add_slot('body-selection', SELECT_SLOT)
            self.table.add_slot('header-selection', SELECT_ALL_SLOT)
        self.pager = Pager('orders', PAGE_SIZE, self.turned)
        page = params.get('page', '1')
        self.pager.offset = (int(page) - 1) * PAGE_SIZE if page.isdigit() and 0 < int(page) < 100_000 else 0

    def filter(self) -> OrderFilter:
        return OrderFilter(
            text=self.text.value or '',
            match=self.match.value if self.match.value in MATCHES else 'prefix',
            status=None if self.status.value == EVERY_STATUS else self.status.value or DEFAULT_STATUS,
            due_from=parse_day(self.due_from, 'due_from'),
            due_to=parse_day(self.due_to, 'due_to'),
            late_only=bool(self.late.value),
        )

    def url(self, flt: OrderFilter) -> str:
        params: dict[str, str] = {}
        if flt.text:
            params['q'] = flt.text
        if flt.match != 'prefix':
            params['match'] = flt.match
        if flt.status != DEFAULT_STATUS:
            params['status'] = flt.status or EVERY_STATUS
        for name, day in (('due_from', flt.due_from), ('due_to', flt.due_to)):
            if day is not None:
                params[name] = day.isoformat()
        if flt.late_only:
            params['late'] = '1'
        if self.pager.offset:
            params['page'] = str(self.pager.offset // PAGE_SIZE + 1)
        return '/orders' + (f'?{urlencode(params)}' if params else '')

    async def reload(self) -> None:
        self.pager.offset = 0
        await self.load()

    async def turned(self) -> None:
        await self.load()

    async def load(self) -> None:
        clear_errors(self.fields)
        try:
            flt = self.filter()
            page: Page[OrderRow] = await self.ctx.call(list_orders, flt, offset=self.pager.offset, limit=PAGE_SIZE)
        except PotrackError as exc:
            show_refusal(exc, self.fields)
            return
        ui.navigate.history.replace(self.url(flt))
        self.shown = {r.order_number for r in page.rows}
        kept = {r['id'] for r in self.table.selected}
        self.table.rows = [order_row(r) for r in page.rows]
        self.table.selected = [r for r in self.table.rows if r['id'] in kept]
        self.table.update()
        self.pager.shown(len(page.rows), page.total)

    def print_cards(self) -> None:
        chosen = [r['id'] for r in self.table.selected] or [r['id'] for r in self.table.rows]
        if not chosen:
            ui.notify('No orders to print: search for some first.', type='warning')
            return
        ui.navigate.to(f'/orders/cards?{urlencode({"orders": ",".join(chosen)})}', new_tab=True)

    def on_change(self, change: feed.Change) -> Any:
        if change.kind in ('orders', 'masters', 'resync') or (
            change.kind == 'movement' and change.order_number in self.shown
        ):
            return self.load()
        return None


def register() -> None:
    @ui.page('/orders')
    async def orders_page(request: Request) -> Response | None:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        with frame(ctx, 'Orders', title_is_heading=False):
            ui.label('Orders').classes('text-2xl font-bold').props('role=heading aria-level=1')
            page = OrdersPage(ctx, dict(request.query_params))
            await page.load()
            live_bridge.subscribe(page.on_change)
        return None
