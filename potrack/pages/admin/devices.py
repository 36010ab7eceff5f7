"""The Devices tab: kiosk browsers, each with a name, its pinned work centers and its ways; a one-time
enrollment code to enroll (or re-enroll) one; revoking one.

The services (accounts/devices.py) decide and audit; this tab shows and asks.
"""

from __future__ import annotations

from typing import Any

from nicegui import context, ui

from potrack.accounts.devices import (
    ENROLL_CODE_TTL_S,
    DeviceInfo,
    IssuedCode,
    create_device,
    issue_enroll_code,
    list_devices,
    revoke_device,
    update_device,
)
from potrack.errors import PotrackError
from potrack.i18n import LANGUAGES
from potrack.live import feed
from potrack.masters.catalog import list_work_centers
from potrack.pages import forms
from potrack.pages.admin.widgets import FormDialog, SelectTable, choice_field, confirm, done_row, text_field
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, zone_label

ACTIONS = {'IN': 'IN (receive)', 'OUT': 'OUT (send on)'}
SIGN_OUT = {'idle': 'After the idle limit', 'entry': 'After each saved entry'}


def columns() -> list[dict[str, str]]:
    zone = zone_label()
    return [
        {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
        {'name': 'work_centers', 'label': 'Work centers', 'field': 'work_centers', 'align': 'left'},
        {'name': 'action', 'label': 'Enter presses', 'field': 'default_action', 'align': 'left'},
        {'name': 'sign_out', 'label': 'Signs out', 'field': 'sign_out', 'align': 'left'},
        {'name': 'language', 'label': 'Language', 'field': 'language_name', 'align': 'left'},
        {'name': 'sound', 'label': 'Sound', 'field': 'sound', 'align': 'left'},
        {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
        {'name': 'last_seen', 'label': f'Last seen ({zone})', 'field': 'last_seen', 'align': 'left'},
    ]


def device_row(d: DeviceInfo, codes: dict[int, str]) -> dict[str, Any]:
    return {
        'id': d.id,
        'name': d.name,
        'work_center_ids': list(d.work_center_ids),
        'work_centers': ', '.join(codes.get(i, '?') for i in d.work_center_ids) or 'all of the operator’s',
        'default_action': d.default_action,
        'sign_out_after': d.sign_out_after,
        'sign_out': SIGN_OUT[d.sign_out_after],
        'language': d.language,
        'language_name': LANGUAGES.get(d.language, d.language),
        'muted': d.muted,
        'sound': 'off' if d.muted else 'on',
        'status': d.status,
        'revoked': d.revoked_at is not None,
        'last_seen': format_local(d.last_seen_at) or 'never',
    }


def show_code(home: Any, issued: IssuedCode) -> None:
    """The enrollment code, large, once; closing the dialog forgets it."""
    minutes = ENROLL_CODE_TTL_S // 60
    title = f'Enroll "{issued.info.name}"'
    with home, forms.dialog(title) as dialog, ui.card().classes('w-[34rem] max-w-full gap-3 p-5'):
        ui.label(title).classes('text-xl font-bold')
        ui.label('On the kiosk browser, open /enroll and type or scan this code:').classes('text-base')
        ui.label(issued.code).classes('text-6xl font-mono font-bold tracking-widest py-4 select-all').mark(
            'enroll-code-shown'
        )
        ui.label(
            f'It works once, until {format_local(issued.expires_at)} ({minutes} minutes). It is shown only now.'
        ).classes('text-sm opacity-80')
        done_row(dialog, 'enroll-code-done')
    dialog.open()


class DevicesTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.home = context.slot  # where a code's dialog opens: the tab, which outlives any dialog
        self.loaded = False
        self.codes: dict[int, str] = {}
        with ui.row().classes('w-full items-center gap-2'):
            ui.button('New device', icon='add', on_click=lambda: self.open_form(None)).props(
                'unelevated size=lg no-caps color=teal-8'
            ).mark('device-new')
            self.edit_button = self._action('Edit', 'edit', lambda: self.open_form(self.table.chosen), 'device-edit')
            self.code_button = self._action('New enrollment code', 'qr_code', self.new_code, 'device-code')
            self.revoke_button = self._action('Revoke', 'block', self.open_revoke, 'device-revoke')
            ui.space()
            self.search = (
                ui.input('Search devices', on_change=self.load)
                .props('outlined dense clearable')
                .classes('w-64')
                .mark('device-search')
            )
        ui.label(
            'An enrolled browser opens straight to its operators’ sign-in (badge, or name and PIN) and shows only '
            'its work centers that the operator’s department sees.'
        ).classes('text-sm opacity-80')
        self.table = SelectTable(columns(), 'devices-table', self.chose)
        self.chose()

    def _action(self, label: str, icon: str, handler: Any, marker: str) -> ui.button:
        return ui.button(label, icon=icon, on_click=handler).props('outline size=lg no-caps').mark(marker)

    def chose(self) -> None:
        row = self.table.chosen
        live = row is not None and not row['revoked']
        for button in (self.edit_button, self.code_button, self.revoke_button):
            button.set_enabled(live)

    async def load(self) -> None:
        try:
            work_centers = await self.ctx.call(list_work_centers)
            devices = await self.ctx.call(list_devices, search=self.search.value or '')
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.codes = {wc.id: wc.code for wc in work_centers}
        self.loaded = True
        self.table.show([device_row(d, self.codes) for d in devices])

    async def on_change(self, change: feed.Change) -> None:
        if self.loaded and change.kind in ('users', 'masters', 'resync'):
            await self.load()

    def open_form(self, row: dict[str, Any] | None) -> None:
        dlg = FormDialog(f'Edit {row["name"]}' if row else 'New kiosk device', 'device-dialog')
        with dlg.body:
            dlg.fields['name'] = text_field(
                'Name', 'device-name', row['name'] if row else '', hint='Where it stands, e.g. "Line 2 – Welding"'
            )
            dlg.fields['work_center_ids'] = (
                choice_field('Work centers', self.codes, 'device-work-centers', row['work_center_ids'] if row else [])
                .props('multiple use-chips clearable')
                .tooltip('None chosen: every work center the operator’s department sees')
            )
            dlg.fields['default_action'] = choice_field(
                'Enter in the quantity presses', ACTIONS, 'device-action', row['default_action'] if row else 'IN'
            )
            dlg.fields['sign_out_after'] = choice_field(
                'Sign the operator out', SIGN_OUT, 'device-sign-out', row['sign_out_after'] if row else 'idle'
            )
            dlg.fields['language'] = choice_field(
                'Language', dict(LANGUAGES), 'device-language', row['language'] if row else 'en'
            )
            dlg.fields['muted'] = ui.checkbox('Sound off', value=row['muted'] if row else False).mark('device-muted')

        async def save() -> None:
            fields = {name: dlg.value(name) for name in dlg.fields}
            fields['work_center_ids'] = list(fields['work_center_ids'] or [])
            if row is None:
                issued = await self.ctx.call(create_device, **fields)
                await self.load()
                self.table.choose(issued.info.id)
                show_code(dlg.home, issued)
            else:
                await self.ctx.call(update_device, device_id=row['id'], **fields)
                await self.load()
                ui.notify(f'Device "{fields["name"]}" saved.', type='positive')

        dlg.on_save = save

    async def new_code(self) -> None:
        row = self.table.chosen
        if row is None:
            return
        try:
            issued = await self.ctx.call(issue_enroll_code, device_id=row['id'])
        except PotrackError as exc:
            show_refusal(exc)
            return
        await self.load()
        show_code(self.home, issued)

    def open_revoke(self) -> None:
        row = self.table.chosen
        if row is None:
            return

        async def act() -> None:
            await self.ctx.call(revoke_device, device_id=row['id'])
            await self.load()
            ui.notify(f'Device "{row["name"]}" revoked.', type='positive')

        message = (
            'Its operators are signed out at once and the browser returns to the enrollment page. '
            'This cannot be undone: to use the browser again, create a new device.'
        )
        confirm(f'Revoke "{row["name"]}"?', message, 'Revoke', 'device-revoke-dialog', act, danger=True)
