"""Building blocks of the admin console: form dialogs, a selectable table, paging and date fields.

A form dialog is built when it opens and deleted when it closes, so a closed dialog leaves nothing
behind (and tests never find stale fields). Save runs a service; a refusal appears under the field it
names, or above the buttons when it concerns no field; nothing is kept when Cancel is pressed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from nicegui import context, ui

from potrack.errors import InvalidFields, InvalidInput, PotrackError, SignedOut
from potrack.pages import forms
from potrack.pages.forms import clear_errors, set_field_error

Handler = Callable[[], Awaitable[None]]
ALL = ''  # the "all" choice of a filter select


class FormDialog:
    """A persistent dialog with a title, fields, an error line, Cancel and Save.

    `marker` names the dialog; its parts are `<marker>-save`, `<marker>-cancel` and `<marker>-error`.
    """

    def __init__(self, title: str, marker: str, *, save_label: str = 'Save', save_color: str = 'teal-8') -> None:
        self.fields: dict[str, ui.element] = {}
        self.on_save: Handler | None = None
        # Where the dialog was opened from: what Save creates (a follow-up dialog, a notification) goes
        # there, since anything created inside this dialog is deleted with it.
        self.home = context.slot
        self.dialog = forms.dialog(title)
        with self.dialog, ui.card().classes('w-[34rem] max-w-full gap-3 p-5').mark(marker):
            ui.label(title).classes('text-xl font-bold').mark(f'{marker}-title')
            self.body = ui.column().classes('w-full gap-2')
            self.error = ui.label('').classes('potrack-error text-base').props('role=alert').mark(f'{marker}-error')
            self.error.set_visibility(False)
            with ui.row().classes('w-full justify-end gap-3 pt-2'):
                ui.button('Cancel', on_click=self.close).props('flat size=lg no-caps').mark(f'{marker}-cancel')
                self.save_button = (
                    ui.button(save_label, on_click=self.save)
                    .props(f'unelevated size=lg no-caps color={save_color}')
                    .mark(f'{marker}-save')
                )
        self.dialog.open()

    def value(self, name: str) -> Any:
        """What the person entered in field `name`."""
        return getattr(self.fields[name], 'value', None)

    def close(self) -> None:
        self.dialog.close()
        self.dialog.delete()

    def refuse(self, exc: PotrackError) -> None:
        """Show a refusal next to its field, or on the dialog's error line."""
        if isinstance(exc, SignedOut):
            return  # the page is already on its way to sign-in
        if isinstance(exc, InvalidFields):
            for each in exc.errors:
                self.refuse(each)
            return
        target = self.fields.get(exc.field or '')
        if target is not None:
            set_field_error(target, exc.message)
        else:
            self.error.set_text(exc.message)
            self.error.set_visibility(True)

    async def save(self) -> None:
        if self.on_save is None:
            return
        clear_errors(self.fields)
        self.error.set_visibility(False)
        self.save_button.props('loading')
        try:
            with self.home:
                await self.on_save()
        except PotrackError as exc:
            self.refuse(exc)
            return
        finally:
            if not self.dialog.is_deleted:
                self.save_button.props(remove='loading')
        self.close()


def text_field(label: str, marker: str, value: str = '', *, hint: str = '') -> ui.input:
    field = ui.input(label, value=value).props('outlined autocomplete=off').classes('w-full').mark(marker)
    if hint:
        field.props['hint'] = hint  # set as it is: a quote in the text would break a props string
    return field


def choice_field(label: str, options: dict[Any, str], marker: str, value: Any = None) -> ui.select:
    return ui.select(options, label=label, value=value).props('outlined').classes('w-full').mark(marker)


def show_once(title: str, message: str, secret: str, marker: str) -> None:
    """A dialog showing a password to hand over; it is not stored anywhere the admin can see it again."""
    with forms.dialog(title) as dialog, ui.card().classes('w-[30rem] max-w-full gap-3 p-5').mark(marker):
        ui.label(title).classes('text-xl font-bold')
        ui.label(message).classes('text-base')
        ui.label(secret).classes('text-3xl font-mono tracking-wider select-all py-2').mark(f'{marker}-secret')
        ui.label('It is shown only this once. The user must choose a new one at first sign-in.').classes(
            'text-sm opacity-80'
        )

        done_row(dialog, f'{marker}-done')
    dialog.open()


def done_row(dialog: ui.dialog, marker: str) -> None:
    """The Done button of a dialog that shows a secret once: closing it deletes the dialog, and the secret with it."""

    def done() -> None:
        dialog.close()
        dialog.delete()

    with ui.row().classes('w-full justify-end'):
        ui.button('Done', on_click=done).props('unelevated size=lg no-caps color=teal-8').mark(marker)


def confirm(title: str, message: str, action_label: str, marker: str, action: Handler, *, danger: bool = False) -> None:
    """A yes/no dialog whose action runs a service; a refusal stays in the dialog."""
    dlg = FormDialog(title, marker, save_label=action_label, save_color='red-8' if danger else 'teal-8')
    with dlg.body:
        ui.label(message).classes('text-base').mark(f'{marker}-message')
    dlg.on_save = action


# Static templates (values arrive as props; Vue escapes them). Quasar leaves the choice column unnamed: a
# screen reader would read "checkbox, not checked" on every row and an empty column header.
SELECT_HEADER_SLOT = r"""
<q-tr :props="props">
  <q-th auto-width><span class="potrack-sr-only">Select</span></q-th>
  <q-th v-for="col in props.cols" :key="col.name" :props="props">{{ col.label }}</q-th>
</q-tr>
"""
SELECT_CELL_SLOT = r"""
<q-checkbox v-model="props.selected" :aria-label="props.row.select_label" dense />
"""


class SelectTable:
    """A `ui.table` whose rows are chosen by a tap (or the checkbox column); actions above it act on the choice.

    Each row's checkbox is named "Select <name>", the name from `name_of(row)` (default: the first column).
    """

    def __init__(
        self,
        columns: list[dict[str, Any]],
        marker: str,
        on_choose: Callable[[], None],
        name_of: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.on_choose = on_choose
        first = columns[0]['field']
        self.name_of = name_of or (lambda row: str(row.get(first, '')))
        self.table = (
            ui.table(columns=columns, rows=[], row_key='id', selection='single', on_select=lambda _: on_choose())
            .props('flat bordered wrap-cells')
            .classes('w-full')
            .mark(marker)
        )
        self.table.add_slot('header', SELECT_HEADER_SLOT)
        self.table.add_slot('body-selection', SELECT_CELL_SLOT)
        self.table.on('rowClick', self._row_clicked)

    def _row_clicked(self, e: Any) -> None:
        row = e.args[1] if isinstance(e.args, list) and len(e.args) > 1 else None
        if isinstance(row, dict) and 'id' in row:
            self.choose(row['id'])

    def choose(self, row_id: Any) -> None:
        self.table.selected = [r for r in self.table.rows if r['id'] == row_id]
        self.on_choose()

    @property
    def chosen(self) -> dict[str, Any] | None:
        return self.table.selected[0] if self.table.selected else None

    def show(self, rows: list[dict[str, Any]]) -> None:
        """Replace the rows, keeping the choice when its row is still there (with its new values)."""
        kept = self.chosen['id'] if self.chosen else None
        for row in rows:
            row['select_label'] = f'Select {self.name_of(row)}'
        self.table.rows = rows
        self.table.selected = [r for r in rows if r['id'] == kept]
        self.table.update()
        self.on_choose()


class Pager:
    """Previous / Next and "Showing X–Y of Z" under a server-paged table (markers `<prefix>-prev` etc.)."""

    def __init__(self, prefix: str, page_size: int, on_turn: Handler) -> None:
        self.page_size = page_size
        self.offset = 0
        self.total = 0
        self.on_turn = on_turn
        with ui.row().classes('w-full items-center gap-3'):
            self.prev = (
                ui.button('Previous', icon='chevron_left', on_click=lambda: self.turn(-1))
                .props('flat size=lg no-caps')
                .mark(f'{prefix}-prev')
            )
            self.next = (
                ui.button('Next', icon='chevron_right', on_click=lambda: self.turn(1))
                .props('flat size=lg no-caps')
                .mark(f'{prefix}-next')
            )
            self.label = ui.label('').mark(f'{prefix}-showing')

    async def turn(self, direction: int) -> None:
        last = max(self.total - 1, 0) // self.page_size * self.page_size
        self.offset = max(0, min(self.offset + direction * self.page_size, last))
        await self.on_turn()

    def shown(self, count: int, total: int) -> None:
        self.total = total
        first = self.offset + 1 if count else 0
        self.label.set_text(f'Showing {first:,}–{self.offset + count:,} of {total:,}')
        self.prev.set_enabled(self.offset > 0)
        self.next.set_enabled(self.offset + self.page_size < total)


def date_field(label: str, marker: str, on_change: Handler | None = None) -> ui.input:
    field = ui.input(label, on_change=on_change) if on_change else ui.input(label)
    return field.props('outlined dense type=date stack-label clearable').classes('w-44').mark(marker)


def parse_day(field: ui.input, name: str) -> date | None:
    """The calendar day in a date field; raises InvalidInput for the field when it is not one."""
    text = (field.value or '').strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput('Enter a date like 2026-03-31.', field=name) from None
