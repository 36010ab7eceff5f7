"""The Corrections tab: find movements and reverse a wrong one with a reason, through the ledger."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from nicegui import ui

from potrack.accounts.user_list import user_choices
from potrack.config import REASON_MAX_LEN
from potrack.errors import PotrackError
from potrack.ledger.corrections import CorrectionsPage, correct_movement, find_movements
from potrack.ledger.search import MovementFilter, MovementRow
from potrack.live import feed
from potrack.masters.catalog import list_work_centers
from potrack.pages.admin.widgets import ALL, FormDialog, Pager, SelectTable, date_field, parse_day, text_field
from potrack.pages.forms import clear_errors, show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, local_today, zone_label

PAGE_SIZE = 25
DEFAULT_DAYS = 7  # a correction is nearly always about the last few days; the filter can widen it


def columns() -> list[dict[str, str]]:
    """The table's columns; times are in the site's zone (POTRACK_TIMEZONE), named as such."""
    zone = zone_label()
    return [
        {'name': 'id', 'label': '#', 'field': 'id', 'align': 'left'},
        {'name': 'time', 'label': f'Time ({zone})', 'field': 'time', 'align': 'left'},
        {'name': 'order', 'label': 'Order', 'field': 'order', 'align': 'left'},
        {'name': 'wc', 'label': 'Work center', 'field': 'wc', 'align': 'left'},
        {'name': 'type', 'label': 'Type', 'field': 'type'},
        {'name': 'qty', 'label': 'Qty', 'field': 'qty'},
        {'name': 'user', 'label': 'By', 'field': 'user', 'align': 'left'},
        {'name': 'note', 'label': 'Correction', 'field': 'note', 'align': 'left'},
    ]


def movement_row(m: MovementRow, reversed_by: dict[int, int]) -> dict[str, Any]:
    if m.reverses_id is not None:
        note = f'reverses #{m.reverses_id}: {m.reason or ""}'
    elif m.id in reversed_by:
        note = f'reversed by #{reversed_by[m.id]}'
    else:
        note = ''
    return {
        'id': m.id,
        'time': format_local(m.created_at, with_seconds=True),
        'order': m.order_number,
        'wc': m.work_center_code,
        'type': m.movement_type,
        'qty': m.quantity,
        'user': m.user_full_name or m.username,
        'note': note,
        'reversible': m.reverses_id is None and m.id not in reversed_by,
    }


class CorrectionsTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.loaded = False
        with ui.row().classes('w-full items-start gap-3'):
            self.order = text_field('Order number', 'corr-order').props('dense clearable').classes(replace='w-56')
            self.order.on('keydown.enter', self.search)
            self.wc = (
                ui.select({ALL: 'All work centers'}, value=ALL)
                .props('outlined dense aria-label="Work center"')
                .classes('w-56')
            )
            self.user = (
                ui.select({ALL: 'All users'}, value=ALL).props('outlined dense aria-label="User"').classes('w-56')
            )
            self.date_from = date_field('From', 'corr-from')
            self.date_from.value = (local_today() - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
            self.date_to = date_field('To', 'corr-to')
            ui.button('Search', icon='search', on_click=self.search).props(
                'unelevated size=lg no-caps color=teal-8'
            ).mark('corr-search')
        self.wc.mark('corr-wc')
        self.user.mark('corr-user')
        self.fields: dict[str, ui.element] = {'date_from': self.date_from, 'date_to': self.date_to}
        with ui.row().classes('w-full items-center gap-2'):
            self.reverse_button = (
                ui.button('Reverse…', icon='undo', on_click=self.open_reverse)
                .props('outline size=lg no-caps color=amber-8')
                .mark('corr-reverse')
            )
            ui.label('Choose a movement, then Reverse. History is never edited: a reversal is a new entry.').classes(
                'text-sm opacity-70'
            )
        self.table = SelectTable(columns(), 'corrections-table', self.chose, lambda row: f'movement {row["id"]}')
        self.pager = Pager('corr', PAGE_SIZE, self.load)
        self.shown_filter: MovementFilter | None = None  # what the table shows, for a live refresh

    def chose(self) -> None:
        row = self.table.chosen
        self.reverse_button.set_enabled(bool(row and row['reversible']))

    async def load_choices(self) -> None:
        try:
            work_centers = await self.ctx.call(list_work_centers)
            users = await self.ctx.call(user_choices)
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.wc.set_options({ALL: 'All work centers', **{wc.id: wc.label for wc in work_centers}}, value=self.wc.value)
        self.user.set_options({ALL: 'All users', **dict(users)}, value=self.user.value)

    async def first_load(self) -> None:
        if not self.loaded:
            self.loaded = True
            await self.load_choices()
            await self.search()

    async def search(self) -> None:
        self.pager.offset = 0
        await self.load()

    async def load(self) -> None:
        clear_errors(self.fields)
        try:
            flt = MovementFilter(
                order=self.order.value or '',
                work_center_ids=(self.wc.value,) if self.wc.value != ALL else (),
                user_id=self.user.value if self.user.value != ALL else None,
                date_from=parse_day(self.date_from, 'date_from'),
                date_to=parse_day(self.date_to, 'date_to'),
            )
        except PotrackError as exc:
            show_refusal(exc, self.fields)
            return
        await self.show(flt)

    async def show(self, flt: MovementFilter) -> None:
        try:
            page: CorrectionsPage = await self.ctx.call(find_movements, flt, offset=self.pager.offset, limit=PAGE_SIZE)
        except PotrackError as exc:
            show_refusal(exc, self.fields)
            return
        self.shown_filter = flt
        self.table.show([movement_row(m, page.reversed_by) for m in page.rows])
        self.pager.shown(len(page.rows), page.total)

    async def on_change(self, change: feed.Change) -> None:
        if not self.loaded:
            return
        if change.kind in ('masters', 'users', 'resync'):
            await self.load_choices()
        # Not on every movement (kiosks record many a second): only when one was reversed. The filter
        # last searched stays, not what may be half-typed into the fields meanwhile.
        if change.kind in ('corrections', 'resync') and self.shown_filter is not None:
            await self.show(self.shown_filter)

    def open_reverse(self) -> None:
        row = self.table.chosen
        if row is None or not row['reversible']:
            return
        request_id = uuid.uuid4().hex  # one per dialog: a double tap on Reverse records one reversal
        dlg = FormDialog(f'Reverse movement #{row["id"]}', 'reverse-dialog', save_label='Reverse', save_color='red-8')
        with dlg.body:
            ui.label(f'{row["type"]} {row["qty"]} of {row["order"]} at {row["wc"]}, {row["time"]} by {row["user"]}')
            ui.label('A reversal of the same quantity is recorded; the original stays in the history.').classes(
                'text-sm opacity-80'
            )
            dlg.fields['reason'] = text_field('Reason (required)', 'reverse-reason').props(
                f'maxlength={REASON_MAX_LEN} counter'
            )

        async def save() -> None:
            result = await self.ctx.call(
                correct_movement, movement_id=row['id'], reason=dlg.value('reason'), request_id=request_id
            )
            await self.load()
            self.table.choose(result.movement_id)
            ui.notify(
                f'Reversed #{row["id"]}: {result.movement_type} {-result.quantity} of {result.order_number}. '
                f'Balance at {result.work_center_code} now {result.balance}.',
                type='positive',
            )

        dlg.on_save = save
