"""The Departments tab: create, rename, deactivate / reactivate, and choose the work centers each sees."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.errors import PotrackError
from potrack.live import feed
from potrack.masters.catalog import (
    DepartmentInfo,
    WorkCenterInfo,
    create_department,
    list_departments,
    list_work_centers,
)
from potrack.masters.departments import set_department_active, set_department_work_centers, update_department
from potrack.pages.admin.widgets import FormDialog, SelectTable, confirm, text_field
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext

COLUMNS = [
    {'name': 'name', 'label': 'Department', 'field': 'name', 'align': 'left'},
    {'name': 'description', 'label': 'Description', 'field': 'description', 'align': 'left'},
    {'name': 'work_centers', 'label': 'Sees work centers', 'field': 'work_centers', 'align': 'left'},
    {'name': 'users', 'label': 'Users', 'field': 'users'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
]


def department_row(d: DepartmentInfo, codes: dict[int, str]) -> dict[str, Any]:
    return {
        'id': d.id,
        'name': d.name,
        'description': d.description,
        'work_centers': ', '.join(sorted(codes.get(i, f'#{i}') for i in d.work_center_ids)) or '—',
        'work_center_ids': list(d.work_center_ids),
        'users': d.user_count,
        'is_active': d.is_active,
        'status': 'active' if d.is_active else 'deactivated',
    }


class DepartmentsTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.work_centers: list[WorkCenterInfo] = []
        self.table: SelectTable
        with ui.row().classes('w-full items-center gap-2'):
            ui.button('New department', icon='add', on_click=lambda: self.open_form(None)).props(
                'unelevated size=lg no-caps color=teal-8'
            ).mark('dept-new')
            self.edit_button = self._action('Rename', 'edit', lambda: self.open_form(self.table.chosen), 'dept-edit')
            self.links_button = self._action('Work centers', 'account_tree', self.open_links, 'dept-links')
            self.active_button = self._action('Deactivate', 'block', self.open_set_active, 'dept-active')
        self.table = SelectTable(COLUMNS, 'departments-table', self.chose)

    def _action(self, label: str, icon: str, handler: Any, marker: str) -> ui.button:
        return ui.button(label, icon=icon, on_click=handler).props('outline size=lg no-caps').mark(marker)

    def chose(self) -> None:
        row = self.table.chosen
        for button in (self.edit_button, self.links_button, self.active_button):
            button.set_enabled(row is not None)
        self.active_button.set_text('Deactivate' if row is None or row['is_active'] else 'Reactivate')

    async def load(self) -> None:
        try:
            departments = await self.ctx.call(list_departments)
            self.work_centers = await self.ctx.call(list_work_centers)
        except PotrackError as exc:
            show_refusal(exc)
            return
        codes = {wc.id: wc.code for wc in self.work_centers}
        self.table.show([department_row(d, codes) for d in departments])

    async def on_change(self, change: feed.Change) -> None:
        if change.kind in ('masters', 'users', 'resync'):
            await self.load()

    def open_form(self, row: dict[str, Any] | None) -> None:
        dlg = FormDialog('New department' if row is None else f'Rename {row["name"]}', 'dept-dialog')
        with dlg.body:
            dlg.fields['name'] = text_field('Name', 'dept-name', row['name'] if row else '')
            dlg.fields['description'] = text_field(
                'Description (optional)', 'dept-description', row['description'] if row else ''
            )

        async def save() -> None:
            name, description = dlg.value('name'), dlg.value('description')
            if row is None:
                info = await self.ctx.call(create_department, name=name, description=description)
            else:
                info = await self.ctx.call(
                    update_department, department_id=row['id'], name=name, description=description
                )
            await self.load()
            self.table.choose(info.id)
            ui.notify(f'Department {info.name} saved.', type='positive')

        dlg.on_save = save

    def open_links(self) -> None:
        row = self.table.chosen
        if row is None:
            return
        dlg = FormDialog(f'Work centers {row["name"]} sees', 'links-dialog')
        boxes: dict[int, ui.checkbox] = {}
        with dlg.body:
            ui.label('Its users can record and see only these work centers. The change is immediate.').classes(
                'opacity-80'
            )
            for wc in self.work_centers:
                label = wc.label if wc.is_active else f'{wc.label} (deactivated)'
                boxes[wc.id] = ui.checkbox(label, value=wc.id in row['work_center_ids']).mark(f'link-{wc.code}')

        async def save() -> None:
            chosen = [wc_id for wc_id, box in boxes.items() if box.value]
            await self.ctx.call(set_department_work_centers, department_id=row['id'], work_center_ids=chosen)
            await self.load()
            count = f'{len(chosen)} work center' + ('' if len(chosen) == 1 else 's')
            ui.notify(f'{row["name"]} now sees {count}.', type='positive')

        dlg.on_save = save

    def open_set_active(self) -> None:
        row = self.table.chosen
        if row is None:
            return
        active = not row['is_active']

        async def act() -> None:
            await self.ctx.call(set_department_active, department_id=row['id'], active=active)
            await self.load()
            ui.notify(f'Department {row["name"]} {"reactivated" if active else "deactivated"}.', type='positive')

        if active:
            message = f'Its {row["users"]} users see their work centers again.'
            confirm(f'Reactivate {row["name"]}?', message, 'Reactivate', 'dept-active-dialog', act)
        else:
            message = (
                f'Its {row["users"]} users will see no work centers and cannot record anything until it is '
                'reactivated. History stays as it is.'
            )
            confirm(f'Deactivate {row["name"]}?', message, 'Deactivate', 'dept-active-dialog', act, danger=True)
