"""The Work centers tab: create, edit, deactivate / reactivate; what each holds and who sees it."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.errors import NeedsConfirmation, PotrackError
from potrack.live import feed
from potrack.masters.catalog import create_work_center
from potrack.masters.work_centers import (
    WorkCenterOverview,
    list_work_centers_admin,
    set_work_center_active,
    update_work_center,
)
from potrack.pages.admin.widgets import FormDialog, SelectTable, confirm, text_field
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext

COLUMNS = [
    {'name': 'code', 'label': 'Code', 'field': 'code', 'align': 'left'},
    {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
    {'name': 'description', 'label': 'Description', 'field': 'description', 'align': 'left'},
    {'name': 'pieces', 'label': 'Pieces held', 'field': 'pieces'},
    {'name': 'orders', 'label': 'Open orders', 'field': 'orders'},
    {'name': 'departments', 'label': 'Seen by', 'field': 'departments', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
]


def work_center_row(o: WorkCenterOverview) -> dict[str, Any]:
    return {
        'id': o.info.id,
        'code': o.info.code,
        'name': o.info.name,
        'description': o.info.description,
        'pieces': o.pieces,
        'orders': o.open_orders,
        'departments': ', '.join(o.departments) or '—',
        'is_active': o.info.is_active,
        'status': 'active' if o.info.is_active else 'deactivated',
    }


class WorkCentersTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.table: SelectTable
        with ui.row().classes('w-full items-center gap-2'):
            ui.button('New work center', icon='add', on_click=lambda: self.open_form(None)).props(
                'unelevated size=lg no-caps color=teal-8'
            ).mark('wc-new')
            self.edit_button = (
                ui.button('Edit', icon='edit', on_click=lambda: self.open_form(self.table.chosen))
                .props('outline size=lg no-caps')
                .mark('wc-edit')
            )
            self.active_button = (
                ui.button('Deactivate', icon='block', on_click=self.toggle_active)
                .props('outline size=lg no-caps')
                .mark('wc-active')
            )
        ui.label('A deactivated work center takes no more entries; its history, balances and reports stay.').classes(
            'text-sm opacity-70'
        )
        self.table = SelectTable(COLUMNS, 'work-centers-table', self.chose)

    def chose(self) -> None:
        row = self.table.chosen
        self.edit_button.set_enabled(row is not None)
        self.active_button.set_enabled(row is not None)
        self.active_button.set_text('Deactivate' if row is None or row['is_active'] else 'Reactivate')

    async def load(self) -> None:
        try:
            overview = await self.ctx.call(list_work_centers_admin)
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.table.show([work_center_row(o) for o in overview])

    async def on_change(self, change: feed.Change) -> None:
        if change.kind in ('masters', 'resync'):
            await self.load()

    def open_form(self, row: dict[str, Any] | None) -> None:
        dlg = FormDialog('New work center' if row is None else f'Edit {row["code"]}', 'wc-dialog')
        with dlg.body:
            dlg.fields['code'] = text_field('Code', 'wc-code', row['code'] if row else '', hint='For example WC006')
            dlg.fields['name'] = text_field('Name', 'wc-name', row['name'] if row else '')
            dlg.fields['description'] = text_field(
                'Description (optional)', 'wc-description', row['description'] if row else ''
            )

        async def save() -> None:
            values = {key: dlg.value(key) for key in dlg.fields}
            if row is None:
                info = await self.ctx.call(create_work_center, **values)
            else:
                info = await self.ctx.call(update_work_center, work_center_id=row['id'], **values)
            await self.load()
            self.table.choose(info.id)
            ui.notify(f'Work center {info.code} saved.', type='positive')

        dlg.on_save = save

    async def toggle_active(self) -> None:
        """Reactivate, or deactivate at once when it is empty; when it holds pieces, ask first."""
        row = self.table.chosen
        if row is None:
            return
        active = not row['is_active']
        try:
            await self.ctx.call(set_work_center_active, work_center_id=row['id'], active=active)
        except NeedsConfirmation as exc:
            self.ask_to_deactivate(row, exc.message)
            return
        except PotrackError as exc:
            show_refusal(exc)
            return
        await self.done(row, active)

    def ask_to_deactivate(self, row: dict[str, Any], message: str) -> None:
        async def act() -> None:
            await self.ctx.call(set_work_center_active, work_center_id=row['id'], active=False, confirm=True)
            await self.done(row, False)

        confirm(f'Deactivate {row["code"]}?', message, 'Deactivate anyway', 'wc-confirm', act, danger=True)

    async def done(self, row: dict[str, Any], active: bool) -> None:
        await self.load()
        ui.notify(f'Work center {row["code"]} {"reactivated" if active else "deactivated"}.', type='positive')
