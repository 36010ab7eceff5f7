"""Products' default routes in Admin → Settings: the route a new order of a product gets without one."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.common.routes import shown_route
from potrack.errors import PotrackError
from potrack.orders.product_routes import (
    ProductRouteInfo,
    delete_product_route,
    list_product_routes,
    set_product_route,
)
from potrack.pages.admin.widgets import FormDialog, Pager, SelectTable, confirm, text_field
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, zone_label

PAGE_SIZE = 20


def columns() -> list[dict[str, str]]:
    """The table's columns; the times are in the site's zone (POTRACK_TIMEZONE), named as such."""
    return [
        {'name': 'product', 'label': 'Product code', 'field': 'id', 'align': 'left'},
        {'name': 'route', 'label': 'Default route', 'field': 'shown', 'align': 'left'},
        {'name': 'updated', 'label': f'Changed ({zone_label()})', 'field': 'updated', 'align': 'left'},
    ]


ROUTE_HINT = 'Work center codes in order, like WC001>WC002>WC005'


def product_route_row(p: ProductRouteInfo) -> dict[str, Any]:
    shown, updated = shown_route(p.route), format_local(p.updated_at)
    return {'id': p.product_code, 'route': p.route, 'shown': shown, 'updated': updated}


class ProductRoutesSection:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        ui.label('Default routes of products').classes('text-xl font-bold pt-4').props('role=heading aria-level=2')
        ui.label('A new order of one of these products that comes without a route gets this one.').classes('text-base')
        with ui.row().classes('w-full items-center gap-2'):
            self.search = (
                ui.input('Search product code', on_change=self.searched)
                .props('outlined clearable debounce=300')  # not dense: 56 px, a finger's height
                .classes('w-64')
                .mark('product-routes-search')
            )
            ui.button('New default route', icon='add', on_click=lambda: self.open_form(None)).props(
                'unelevated size=lg no-caps color=teal-8'  # white on teal-8 is 4.3:1, under the 4.5 text needs
            ).mark('product-route-new')
            self.edit_button = self._action('Edit', 'edit', self.edit_chosen, 'product-route-edit')
            self.remove_button = self._action('Remove', 'delete', self.ask_remove, 'product-route-remove')
        self.table = SelectTable(columns(), 'product-routes-table', self.chose)
        self.table.table.props['no-data-label'] = 'No product has a default route of its own.'
        self.pager = Pager('product-routes', PAGE_SIZE, self.load)

    def _action(self, label: str, icon: str, handler: Any, marker: str) -> ui.button:
        return ui.button(label, icon=icon, on_click=handler).props('outline size=lg no-caps').mark(marker)

    def chose(self) -> None:
        self.edit_button.set_enabled(self.table.chosen is not None)
        self.remove_button.set_enabled(self.table.chosen is not None)

    async def searched(self) -> None:
        self.pager.offset = 0
        await self.load()

    async def load(self) -> None:
        try:
            page = await self.ctx.call(
                list_product_routes, text=self.search.value or '', offset=self.pager.offset, limit=PAGE_SIZE
            )
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.table.show([product_route_row(p) for p in page.rows])
        self.pager.shown(len(page.rows), page.total)

    def edit_chosen(self) -> None:
        self.open_form(self.table.chosen)

    def open_form(self, row: dict[str, Any] | None) -> None:
        title = 'New default route' if row is None else f'Default route of {row["id"]}'
        dlg = FormDialog(title, 'product-route-dialog')
        with dlg.body:
            if row is None:
                dlg.fields['product_code'] = text_field('Product code', 'product-route-product')
            route = row['route'] if row else ''
            dlg.fields['route'] = text_field('Route', 'product-route-route', route, hint=ROUTE_HINT)

        async def save() -> None:
            product = row['id'] if row else dlg.value('product_code')
            info = await self.ctx.call(set_product_route, product_code=product, route=dlg.value('route'))
            await self.load()
            self.table.choose(info.product_code)
            ui.notify(f'{info.product_code}: new orders get the route {shown_route(info.route)}.', type='positive')

        dlg.on_save = save

    def ask_remove(self) -> None:
        row = self.table.chosen
        if row is None:
            return

        async def remove() -> None:
            await self.ctx.call(delete_product_route, product_code=row['id'])
            await self.load()
            ui.notify(f'{row["id"]} has no default route of its own now.', type='positive')

        message = f'New orders of {row["id"]} without a route will get the site’s default route instead.'
        confirm(f'Remove the default route of {row["id"]}?', message, 'Remove', 'product-route-confirm', remove)
