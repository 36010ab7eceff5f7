"""The admin console at /admin: users, departments, work centers, corrections, the audit trail, API tokens,
kiosk devices, scrap and rework reasons, and site settings.

Only admins get the page (everyone else is sent to "not allowed"), and every service behind it checks
again, since actions arrive over the websocket long after the page was opened. Other admins' changes
arrive through the live feed and re-read the tables they touch.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from potrack.live import feed
from potrack.pages import live_bridge
from potrack.pages.admin.audit import AuditTab
from potrack.pages.admin.corrections import CorrectionsTab
from potrack.pages.admin.departments import DepartmentsTab
from potrack.pages.admin.devices import DevicesTab
from potrack.pages.admin.reasons import ReasonsTab
from potrack.pages.admin.settings import SettingsTab
from potrack.pages.admin.tokens import TokensTab
from potrack.pages.admin.users import UsersTab
from potrack.pages.admin.work_centers import WorkCentersTab
from potrack.pages.guard import PageContext, open_page
from potrack.pages.layout import frame

TABS = [
    ('users', 'Users', 'group'),
    ('departments', 'Departments', 'apartment'),
    ('work-centers', 'Work centers', 'precision_manufacturing'),
    ('corrections', 'Corrections', 'undo'),
    ('audit', 'Audit trail', 'history'),
    ('tokens', 'API tokens', 'key'),
    ('devices', 'Devices', 'tablet'),
    ('reasons', 'Reasons', 'rule'),
    ('settings', 'Settings', 'tune'),
]
TAB_NAMES = {name for name, _, _ in TABS}


class AdminConsole:
    def __init__(self, ctx: PageContext, tab: str) -> None:
        initial: Any = tab  # NiceGUI accepts a tab's name; its type hint names only Tab objects
        tabs = ui.tabs(value=initial, on_change=self.tab_changed).props('align=left inline-label no-caps')
        with tabs:
            for name, label, icon in TABS:
                ui.tab(name, label, icon).mark(f'tab-{name}')
        with ui.tab_panels(tabs, value=tab).props('animated=false').classes('w-full bg-transparent'):
            with ui.tab_panel('users').classes('gap-3 px-0'):
                self.users = UsersTab(ctx)
            with ui.tab_panel('departments').classes('gap-3 px-0'):
                self.departments = DepartmentsTab(ctx)
            with ui.tab_panel('work-centers').classes('gap-3 px-0'):
                self.work_centers = WorkCentersTab(ctx)
            with ui.tab_panel('corrections').classes('gap-3 px-0'):
                self.corrections = CorrectionsTab(ctx)
            with ui.tab_panel('audit').classes('gap-3 px-0'):
                self.audit = AuditTab(ctx)
            with ui.tab_panel('tokens').classes('gap-3 px-0'):
                self.tokens = TokensTab(ctx)
            with ui.tab_panel('devices').classes('gap-3 px-0'):
                self.devices = DevicesTab(ctx)
            with ui.tab_panel('reasons').classes('gap-3 px-0'):
                self.reasons = ReasonsTab(ctx)
            with ui.tab_panel('settings').classes('gap-3 px-0'):
                self.settings = SettingsTab(ctx)
        self.tabs = tabs

    async def load(self) -> None:
        """The small tables at once; corrections and the audit trail when first opened (they can be big)."""
        await self.users.load_departments()
        await self.users.load()
        await self.departments.load()
        await self.work_centers.load()
        await self.open_lazy(str(self.tabs.value))

    async def open_lazy(self, name: str) -> None:
        if name == 'corrections':
            await self.corrections.first_load()
        elif name == 'audit':
            await self.audit.show()
        elif name == 'tokens':
            await self.tokens.load()
        elif name == 'devices':
            await self.devices.load()
        elif name == 'reasons':
            await self.reasons.load()
        elif name == 'settings':
            await self.settings.load()

    async def tab_changed(self) -> None:
        name = str(self.tabs.value)
        if name in TAB_NAMES:  # the value comes from the browser: never put anything else into the URL
            ui.navigate.history.replace(f'/admin?tab={name}')
            await self.open_lazy(name)

    async def on_change(self, change: feed.Change) -> None:
        for tab in (self.users, self.departments, self.work_centers, self.corrections, self.audit, self.tokens):
            await tab.on_change(change)
        await self.reasons.on_change(change)
        await self.devices.on_change(change)
        await self.settings.on_change(change)


def register() -> None:
    @ui.page('/admin')
    async def admin_page(request: Request, tab: str = 'users') -> Response | None:
        ctx = await open_page(request, admin_only=True)
        if isinstance(ctx, Response):
            return ctx
        with frame(ctx, 'Admin'):
            console = AdminConsole(ctx, tab if tab in TAB_NAMES else 'users')
            await console.load()
            live_bridge.subscribe(console.on_change)
        return None
