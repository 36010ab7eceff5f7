"""The Settings tab: choices that hold for the whole site (orders not in the book, the flow between work
centers, products' default routes), each saved (and audited) by its service."""

from __future__ import annotations

from nicegui import ui

from potrack.common import site_settings
from potrack.errors import PotrackError
from potrack.live import feed
from potrack.orders.book import set_unknown_order_policy, unknown_order_policy
from potrack.pages.admin.flow_settings import FlowSettingsSection
from potrack.pages.admin.product_routes import ProductRoutesSection
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext

POLICIES = {
    site_settings.REFUSE: 'Refuse: only orders in the order book can be recorded',
    site_settings.CONFIRM: 'Ask: the kiosk asks "Start it here?" and one more tap adds the order to the book',
    site_settings.ALLOW: 'Allow: any order number is recorded and added to the book (as before the order book)',
}


class SettingsTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        ui.label('Orders not in the order book').classes('text-xl font-bold').props('role=heading aria-level=2')
        ui.label(
            'What happens when an operator or the API records an order number the book does not know — '
            'usually a typo or a scanner burst.'
        ).classes('text-base')
        self.policy = ui.radio(POLICIES).props('size=lg').mark('setting-unknown-orders')
        with ui.row().classes('gap-3'):
            ui.button('Save', on_click=self.save).props('unelevated no-caps size=lg color=teal-8').mark('setting-save')
        self.flow = FlowSettingsSection(ctx)
        self.product_routes = ProductRoutesSection(ctx)

    async def load(self) -> None:
        try:
            self.policy.value = await self.ctx.call(unknown_order_policy)
        except PotrackError as exc:
            show_refusal(exc)
            return
        await self.flow.load()
        await self.product_routes.load()

    async def save(self) -> None:
        try:
            chosen = await self.ctx.call(set_unknown_order_policy, self.policy.value)
        except PotrackError as exc:
            show_refusal(exc)
            return
        ui.notify(f'Saved: {POLICIES[chosen].split(":")[0]}.', type='positive')

    async def on_change(self, change: feed.Change) -> None:
        if change.kind in ('settings', 'resync'):
            await self.load()
