"""The Reasons tab: why pieces are scrapped or sent back for rework, as kiosks offer them.

Reasons are retired (deactivated), never deleted: the movements that name one keep its code.
The list is short (tens of reasons), so it is read whole and searched and paged here.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.errors import PotrackError
from potrack.live import feed
from potrack.masters.reasons import KIND_LABELS, Reason, add_reason, edit_reason, list_reasons, set_reason_active
from potrack.pages.admin.widgets import FormDialog, Pager, SelectTable, choice_field, text_field
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext

PAGE_SIZE = 20
COLUMNS = [
    {'name': 'code', 'label': 'Code', 'field': 'code', 'align': 'left'},
    {'name': 'label', 'label': 'Reason', 'field': 'label', 'align': 'left'},
    {'name': 'kind', 'label': 'Used for', 'field': 'kind_label', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
]


def reason_row(r: Reason) -> dict[str, Any]:
    return {
        'id': r.id,
        'code': r.code,
        'label': r.label,
        'kind': r.kind,
        'kind_label': KIND_LABELS.get(r.kind, r.kind),
        'is_active': r.is_active,
        'status': 'active' if r.is_active else 'retired',
    }


def matches(row: dict[str, Any], text: str) -> bool:
    wanted = text.strip().lower()
    return not wanted or wanted in row['code'].lower() or wanted in row['label'].lower()


class ReasonsTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []
        ui.label(
            'Operators choose one of these when they scrap pieces or send them back for rework. '
            'A retired reason is no longer offered; the movements that name it keep it.'
        ).classes('text-base')
        with ui.row().classes('w-full items-center gap-2'):
            self.search = (
                ui.input('Search code or reason', on_change=self.searched)
                .props('outlined clearable debounce=300')  # not dense: 56 px, a finger's height
                .classes('w-64')
                .mark('reasons-search')
            )
            ui.button('New reason', icon='add', on_click=lambda: self.open_form(None)).props(
                'unelevated size=lg no-caps color=teal-8'  # white on teal-8 is 4.3:1, under the 4.5 text needs
            ).mark('reason-new')
            self.edit_button = self._action('Edit', 'edit', lambda: self.open_form(self.table.chosen), 'reason-edit')
            self.active_button = self._action('Retire', 'block', self.toggle_active, 'reason-active')
        self.table = SelectTable(COLUMNS, 'reasons-table', self.chose)
        self.table.table.props['no-data-label'] = 'No reason matches this search.'
        self.pager = Pager('reasons', PAGE_SIZE, self.show)

    def _action(self, label: str, icon: str, handler: Any, marker: str) -> ui.button:
        return ui.button(label, icon=icon, on_click=handler).props('outline size=lg no-caps').mark(marker)

    def chose(self) -> None:
        row = self.table.chosen
        self.edit_button.set_enabled(row is not None)
        self.active_button.set_enabled(row is not None)
        self.active_button.set_text('Retire' if row is None or row['is_active'] else 'Bring back')

    async def load(self) -> None:
        try:
            reasons = await self.ctx.call(list_reasons, include_inactive=True)
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.rows = [reason_row(r) for r in reasons]
        await self.show()

    async def searched(self) -> None:
        self.pager.offset = 0
        await self.show()

    async def show(self) -> None:
        found = [row for row in self.rows if matches(row, self.search.value or '')]
        page = found[self.pager.offset : self.pager.offset + PAGE_SIZE]
        self.table.show(page)
        self.pager.shown(len(page), len(found))

    async def on_change(self, change: feed.Change) -> None:
        if change.kind in ('masters', 'resync'):
            await self.load()

    def open_form(self, row: dict[str, Any] | None) -> None:
        dlg = FormDialog('New reason' if row is None else f'Edit reason {row["code"]}', 'reason-dialog')
        with dlg.body:
            if row is None:
                dlg.fields['code'] = text_field('Code', 'reason-code', hint='1 to 20 letters or digits, like DIM')
            dlg.fields['label'] = text_field('Reason', 'reason-label', row['label'] if row else '')
            dlg.fields['kind'] = choice_field('Used for', KIND_LABELS, 'reason-kind', row['kind'] if row else 'both')

        async def save() -> None:
            label, kind = dlg.value('label'), dlg.value('kind')
            if row is None:
                reason = await self.ctx.call(add_reason, code=dlg.value('code'), label=label, kind=kind)
            else:
                reason = await self.ctx.call(edit_reason, reason_id=row['id'], label=label, kind=kind)
            await self.load()
            self.table.choose(reason.id)
            ui.notify(f'Reason {reason.code} saved.', type='positive')

        dlg.on_save = save

    async def toggle_active(self) -> None:
        row = self.table.chosen
        if row is None:
            return
        active = not row['is_active']
        try:
            await self.ctx.call(set_reason_active, reason_id=row['id'], active=active)
        except PotrackError as exc:
            show_refusal(exc)
            return
        await self.load()
        ui.notify(f'Reason {row["code"]} {"is offered again" if active else "retired"}.', type='positive')
