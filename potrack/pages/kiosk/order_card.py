"""The kiosk's order card: where an order's pieces are, as soon as its number is entered."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from potrack.common import site_settings
from potrack.errors import PotrackError
from potrack.i18n import Translator
from potrack.ledger.balances import OrderBalanceRow, order_balances
from potrack.ledger.writer import MovementResult
from potrack.masters.catalog import WorkCenterInfo
from potrack.orders.listing import OrderLookup, look_up
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext

# Every icon names its colour (a name alone keeps the last one: a green "?"); each is ≥ 3:1 on both themes' cards.
BOOK_ICONS = {
    'known': 'name=inventory_2 color=green-7',
    'refused': 'name=report color=red-6',
    'asks': 'name=help color=orange-9',
    'new': 'name=info color=grey-6',
}


class OrderCard:
    """As soon as an order number is entered: its balance here and at the other work centers you see."""

    def __init__(
        self,
        ctx: PageContext,
        work_centers: dict[int, WorkCenterInfo],
        on_found: Callable[[OrderLookup | None], None],
        t: Translator,
    ) -> None:
        self.ctx = ctx
        self.t = t
        self.work_centers = work_centers
        self.on_found = on_found  # told what the order book says (its route, for rework), or None
        self.order = ''
        self.here: int | None = None
        with ui.card().classes('w-full gap-2').mark('order-card'):
            self.title = ui.label(t.gettext('Scan or type an order number')).classes('text-lg font-bold')
            # What the order book says: product and plan, or the site's answer for an unknown order.
            with ui.row().classes('items-center gap-2 no-wrap') as self.book_row:
                self.book_icon = ui.icon('inventory_2').classes('text-2xl')
                self.book = ui.label('').classes('text-lg').mark('order-book')
            self.book_row.set_visibility(False)
            self.summary = ui.label('').classes('text-2xl potrack-num').mark('order-available')
            self.table = (
                ui.table(
                    columns=[
                        {'name': 'wc', 'label': t.gettext('Work center'), 'field': 'wc', 'align': 'left'},
                        {'name': 'qty_in', 'label': t.gettext('IN'), 'field': 'qty_in'},
                        {'name': 'qty_out', 'label': t.gettext('OUT'), 'field': 'qty_out'},
                        {'name': 'balance', 'label': t.gettext('Here now'), 'field': 'balance'},
                    ],
                    rows=[],
                    row_key='wc',
                )
                .props('dense flat')
                .classes('w-full')
                .mark('order-table')
            )
            self.table.props['no-data-label'] = t.gettext('No pieces of this order at your work centers yet')
            self.table.set_visibility(False)

    def available_text(self, balance: int, where: str | None) -> str:
        t = self.t
        if where is None:
            return t.gettext('{balance} available to send at this work center').format(balance=t.number(balance))
        return t.gettext('{balance} available to send at {where}').format(balance=t.number(balance), where=where)

    async def show(self, order: str, here: int | None) -> None:
        self.order, self.here = order, here
        await self.refresh()

    def apply(self, result: MovementResult) -> bool:
        """Show a save's new balance here without reading; False when the card shows another order or place.

        The change notice of the save refreshes the whole card moments later (kiosk.on_change).
        """
        if result.order_number != self.order or result.work_center_id != self.here:
            return False
        rows = [dict(r) for r in self.table.rows if r['wc'] != result.work_center_code]
        rows.append(
            {
                'wc': result.work_center_code,
                'qty_in': result.qty_in,
                'qty_out': result.qty_out,
                'balance': result.balance,
            }
        )
        self.title.set_text(self.order)
        self.summary.set_text(self.available_text(result.balance, result.work_center_code))
        self.table.rows = sorted(rows, key=lambda r: str(r['wc']))
        self.table.set_visibility(True)
        return True

    def show_book(self, found: OrderLookup) -> None:
        order = found.order
        if order is None or found.message:
            refused = found.policy == site_settings.REFUSE or order is not None  # not in the book, or not open
            asks = found.policy == site_settings.CONFIRM
            self.book_icon.props(BOOK_ICONS['refused' if refused else 'asks' if asks else 'new'])
            self.book.set_text(self.t.gettext(found.message_template).format(order=found.order_number))
        else:
            t = self.t
            self.book_icon.props(BOOK_ICONS['known'])
            product = ' · '.join(p for p in (order.product_code, order.product_description) if p)
            planned = (
                t.gettext('planned {n}').format(n=t.number(order.planned_quantity))
                if order.planned_quantity
                else t.gettext('planned quantity not known')
            )
            due = t.gettext('due {date}').format(date=t.date(order.due_date)) if order.due_date else ''
            self.book.set_text(' · '.join(p for p in (product, planned, due) if p))
        self.book_row.set_visibility(True)

    async def refresh(self) -> None:
        if not self.order:
            self.title.set_text(self.t.gettext('Scan or type an order number'))
            self.summary.set_text('')
            self.table.set_visibility(False)
            self.book_row.set_visibility(False)
            self.on_found(None)
            return
        try:
            found = await self.ctx.call(look_up, self.order)
            page = await self.ctx.call(order_balances, order=self.order, match='exact', open_only=False, limit=100)
        except PotrackError as exc:
            show_refusal(exc, t=self.t)
            self.on_found(None)
            return
        self.show_book(found)
        self.on_found(found)
        rows: list[OrderBalanceRow] = sorted(page.rows, key=lambda r: r.work_center_code)
        self.title.set_text(self.order)
        here = next((r for r in rows if r.work_center_id == self.here), None)
        wc = self.work_centers.get(self.here or 0)
        self.summary.set_text(self.available_text(here.balance if here else 0, wc.code if wc else None))
        self.table.rows = [
            {'wc': r.work_center_code, 'qty_in': r.qty_in, 'qty_out': r.qty_out, 'balance': r.balance} for r in rows
        ]
        self.table.set_visibility(bool(rows))
        if not rows:
            self.summary.set_text(self.t.gettext('No pieces of {order} recorded yet').format(order=self.order))
