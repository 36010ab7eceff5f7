"""Admin → Orders → Import…: upload the ERP's order file, see every problem by line, then import all of it.

The dialog only shows what the service says: `preview_import` reads the file and lists its problems (or
what importing would change), `import_orders` saves it whole or not at all. Both run off the event loop;
while the import saves, a timer shows the progress the worker thread leaves in `Progress`, so the page
and every kiosk stay responsive.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import events, ui

from potrack.common.actors import Actor
from potrack.errors import InvalidInput, PotrackError, SignedOut
from potrack.orders.import_columns import LABELS
from potrack.orders.import_sheet import MAX_FILE_BYTES, MAX_FILE_MB, check_size
from potrack.orders.importing import ImportOutcome, import_orders, preview_import
from potrack.pages import forms
from potrack.pages.guard import PageContext, offload
from potrack.pages.orders.import_view import show_outcome

Done = Callable[[], Awaitable[None] | None]
PROGRESS_POLL_S = 0.25
NOT_READ = ''  # a column select's choice "this field is not in the file"


@dataclass
class Progress:
    """What the import's worker thread has done; written there, read by the dialog's timer."""

    stage: str = ''
    done: int = 0
    total: int = 0

    def update(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    @property
    def text(self) -> str:
        if self.stage == 'saving':
            return f'Saving: {self.done:,} of {self.total:,} orders'
        return f'Reading the file: {self.done:,} lines' if self.done else 'Reading the file…'


def open_import_dialog(caller: PageContext | Actor, on_done: Done) -> None:
    """Open the import dialog. `caller`: the page's context (or its actor); `on_done` runs after an import."""
    ImportDialog(caller, on_done)


class ImportDialog:
    def __init__(self, caller: PageContext | Actor, on_done: Done) -> None:
        self.caller, self.on_done = caller, on_done
        self.data: bytes | None = None
        self.filename = ''
        self.mapping: dict[str, str | None] | None = None  # None: the site's remembered choice
        self.progress = Progress()
        self.importable = False  # the last look at the file found nothing against importing it
        self.looks = 0  # previews started: only the latest one's answer is shown
        self.selects: dict[str, ui.select] = {}
        self.dialog = forms.dialog('Import orders')
        with self.dialog, ui.card().classes('w-[64rem] max-w-full gap-3 p-5').mark('import-dialog'):
            ui.label('Import orders').classes('text-xl font-bold')
            ui.label(
                f'An Excel workbook (.xlsx) or a CSV file from the ERP, at most {MAX_FILE_MB} MB: one order a line, '
                'the headers on line 1 (order number, product, planned quantity, due date, route).'
            ).classes('text-base opacity-80')
            self.upload = (
                ui.upload(
                    label='Choose the file',
                    auto_upload=True,
                    max_file_size=MAX_FILE_BYTES,
                    on_upload=self.uploaded,
                    on_rejected=self.rejected,
                )
                .props('accept=".xlsx,.csv" flat bordered')
                .classes('w-full')
                .mark('import-upload')
            )
            self.busy_row = ui.row().classes('items-center gap-3 w-full')
            with self.busy_row:
                ui.spinner(size='md')
                self.busy_text = ui.label('').mark('import-busy')
                self.bar = ui.linear_progress(value=0, show_value=False, size='8px').classes('grow')
                self.bar.mark('import-progress')
            self.busy_row.set_visibility(False)
            self.error = ui.label('').classes('potrack-error text-base').props('role=alert').mark('import-error')
            self.error.set_visibility(False)
            self.columns = ui.column().classes('w-full gap-1').mark('import-columns')
            self.outcome_box = ui.column().classes('w-full gap-2')
            with ui.row().classes('w-full justify-end gap-3 pt-2'):
                self.close_button = (
                    ui.button('Close', on_click=self.close).props('flat size=lg no-caps').mark('import-close')
                )
                self.save_button = (
                    ui.button('Import', on_click=self.run_import)
                    .props('unelevated size=lg no-caps color=teal-8')
                    .mark('import-save')
                )
                self.save_button.disable()
            self.timer = ui.timer(PROGRESS_POLL_S, self.tick, active=False)  # deleted with the dialog
        self.dialog.open()

    async def uploaded(self, e: events.UploadEventArguments) -> None:
        self.upload.reset()
        try:
            check_size(e.file.size())  # the browser's limit is only a courtesy: anything may be posted here
        except InvalidInput as exc:
            self.refuse(exc)
            return
        self.data, self.filename, self.mapping = await e.file.read(), e.file.name, None
        await self.preview()

    def rejected(self) -> None:
        self.refuse(InvalidInput(f'Choose an .xlsx or .csv file of at most {MAX_FILE_MB} MB.'))

    async def preview(self) -> None:
        if self.data is None:
            return
        self.save_button.disable()
        self.looks += 1
        look = self.looks
        outcome = await self.work(preview_import, self.data, self.filename, self.mapping)
        if outcome is not None and look == self.looks:  # not overtaken by another file or column choice
            self.show(outcome, saved=False)

    async def run_import(self) -> None:
        if self.data is None:
            return
        self.save_button.disable()
        self.close_button.disable()
        self.upload.disable()
        self.progress = Progress()
        self.timer.activate()
        try:
            outcome = await self.work(
                import_orders, self.data, self.filename, self.mapping, progress=self.progress.update
            )
        finally:
            self.timer.deactivate()
            self.close_button.enable()
            self.upload.enable()
        if outcome is None:  # not saved (the database did not answer): the same file may be tried again
            self.save_button.set_enabled(self.importable)
            return
        self.show(outcome, saved=outcome.saved)
        if outcome.saved:
            self.data = None  # imported: the same file again needs a new upload, and a new look
            ui.notify(outcome.summary, type='positive', multi_line=True)
            result = self.on_done()
            if inspect.isawaitable(result):
                await result

    async def work(self, fn: Callable[..., ImportOutcome], *args: Any, **kwargs: Any) -> ImportOutcome | None:
        """Run a service off the event loop with the spinner shown; a refusal goes on the error line."""
        self.error.set_visibility(False)
        self.busy_text.set_text(self.progress.text if fn is import_orders else 'Reading the file…')
        self.bar.set_value(0)
        self.bar.set_visibility(fn is import_orders)
        self.busy_row.set_visibility(True)
        try:
            if isinstance(self.caller, PageContext):
                return await self.caller.call(fn, *args, **kwargs)
            return await offload(fn, self.caller, *args, **kwargs)
        except PotrackError as exc:
            self.refuse(exc)
            return None
        finally:
            self.busy_row.set_visibility(False)

    def tick(self) -> None:
        self.busy_text.set_text(self.progress.text)
        if self.progress.total:
            self.bar.set_value(self.progress.done / self.progress.total)

    def show(self, outcome: ImportOutcome, *, saved: bool) -> None:
        self.show_columns(outcome)
        self.outcome_box.clear()
        with self.outcome_box:
            show_outcome(outcome, saved=saved)
        self.importable = outcome.file.ok and not saved and self.data is not None
        self.save_button.set_enabled(self.importable)

    def show_columns(self, outcome: ImportOutcome) -> None:
        """A select per field, offering the file's headers: the choice the import will use."""
        headers = [h for h in dict.fromkeys(outcome.file.headers) if h]
        self.columns.clear()
        self.selects = {}
        if not headers:
            return
        options = {NOT_READ: '— not in the file —', **{h: h for h in headers}}
        with self.columns:
            ui.label('Columns: which column holds what').classes('text-base font-bold')
            with ui.row().classes('w-full gap-2'):
                for name, label in LABELS.items():
                    value = outcome.file.columns.mapping.get(name, NOT_READ)
                    select = ui.select(options, label=label.capitalize(), value=value).props('outlined dense')
                    select.classes('w-56').mark(f'import-column-{name}')
                    select.on_value_change(self.column_changed)
                    self.selects[name] = select

    async def column_changed(self) -> None:
        self.mapping = {name: select.value or None for name, select in self.selects.items()}
        await self.preview()

    def refuse(self, exc: PotrackError) -> None:
        if isinstance(exc, SignedOut):
            return  # the page is already on its way to sign-in
        self.error.set_text(exc.message)
        self.error.set_visibility(True)

    def close(self) -> None:
        self.dialog.close()
        self.dialog.delete()
