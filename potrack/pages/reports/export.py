"""The Export buttons: Excel (the workbook) and CSV (its Movements), each written by an export job in a
worker process, while a bar shows the progress.

The page polls the job from a timer (reading two counters costs nothing), so neither the event loop nor
a thread of its pool waits on the export. The finished file is served once from an unguessable URL and
deleted after KEEP_EXPORT_S, or when the page goes away.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from nicegui import app, context, ui

from potrack.errors import PotrackError, SignedOut
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext, signin_url
from potrack.reports.csv_export import start_csv_export
from potrack.reports.excel.job import KEEP_EXPORT_S, remove_export, start_export
from potrack.reports.excel.workbook import ExportRequest

POLL_S = 0.3
MEDIA_TYPES = {
    '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    '.csv': 'text/csv; charset=utf-8',
}


class Exported(Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def filename(self) -> str: ...
    @property
    def movements(self) -> int: ...


class Job(Protocol):
    """What the panel needs of an export: an `excel.job.ExportJob`, whichever file it writes."""

    error: PotrackError | None

    @property
    def result(self) -> Exported | None: ...
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int | None: ...
    def poll(self) -> str: ...
    def cancel(self) -> None: ...


class ExportPanel:
    def __init__(self, ctx: PageContext, current: Callable[[], ExportRequest]) -> None:
        self.ctx = ctx
        self.current = current
        self.job: Job | None = None
        # The buttons first, Stop after them and the progress below: nothing moves under the finger when an
        # export starts, at any width. teal-8: white on it is 5.3:1 (teal-8 was 4.3:1, under 4.5).
        with ui.column().classes('gap-1'):
            with ui.row().classes('items-center gap-3 no-wrap'):
                self.button = (
                    ui.button('Export to Excel', icon='download', on_click=self.start_excel)
                    .props('unelevated size=lg no-caps color=teal-8')
                    .mark('export-button')
                )
                # "CSV" on screen; its accessible name says what it does and still contains the visible word.
                self.csv_button = (
                    ui.button('CSV', icon='download', on_click=self.start_csv)
                    .props('unelevated size=lg no-caps color=teal-8 aria-label="Export the movements to CSV"')
                    .tooltip('The movements as a CSV file, for other systems')
                    .mark('export-csv-button')
                )
                self.stop = ui.button('Stop', icon='close', on_click=self.cancel)
                self.stop.props('flat size=lg no-caps').mark('export-stop')
            self.bar = ui.linear_progress(value=0, show_value=False, size='10px').mark('export-progress')
            self.status = ui.label('').classes('text-sm opacity-80 break-all').mark('export-status')
        self.bar.set_visibility(False)
        self.show_stop(False)
        self.timer = ui.timer(POLL_S, self.tick, active=False)
        context.client.on_delete(self.abandon)

    async def start_excel(self) -> None:
        await self.start(start_export, self.current())

    async def start_csv(self) -> None:
        await self.start(start_csv_export, self.current().flt)

    async def start(self, starter: Callable[..., Job], *args: object) -> None:
        self.enable_buttons(False)  # at once: a second tap while the first is on its way starts nothing
        try:
            self.job = await self.ctx.call(starter, *args)
        except PotrackError as exc:
            self.enable_buttons(True)
            show_refusal(exc)
            return
        self.bar.set_visibility(True)
        self.show_stop(True)
        self.bar.set_value(0)
        self.status.set_text('Starting the export…')
        self.timer.activate()

    def show_stop(self, shown: bool) -> None:
        # Hidden but holding its place (visibility, not display): a right-aligned panel keeps its buttons still.
        if shown:
            self.stop.classes(remove='invisible')
        else:
            self.stop.classes(add='invisible')

    def enable_buttons(self, enabled: bool) -> None:
        for button in (self.button, self.csv_button):
            button.set_enabled(enabled)

    def tick(self) -> None:
        job = self.job
        if job is None:
            return
        state = job.poll()
        if state == 'waiting':
            self.status.set_text('Waiting for other exports to finish…')
        elif state == 'running':
            total = job.total
            if total is None:
                self.status.set_text('Counting the movements…')
            else:
                self.bar.set_value(min(job.done / total, 1) if total else 1)
                self.status.set_text(f'Writing {job.done:,} of {total:,} movements…')
        else:
            self.finish(job)

    def finish(self, job: Job) -> None:
        self.timer.deactivate()
        self.job = None
        self.enable_buttons(True)
        self.bar.set_visibility(False)
        self.show_stop(False)
        if job.result is not None:
            self.status.set_text(f'Ready: {job.result.filename} ({job.result.movements:,} movements).')
            self.hand_over(job)
        elif isinstance(job.error, SignedOut):
            ui.navigate.to(signin_url(self.ctx.path, 'ended'))
        elif job.error is not None:
            self.status.set_text('Not exported.')
            show_refusal(job.error)
        else:
            self.status.set_text('Export stopped.')

    def hand_over(self, job: Job) -> None:
        """Serve the file once, from a URL only this page knows; what `ui.download.file` does, spelled
        out so the route and the file can be dropped on our own schedule."""
        assert job.result is not None
        path = job.result.path
        url = app.add_static_file(local_file=path, single_use=True)
        ui.download.from_url(url, job.result.filename, MEDIA_TYPES[path.suffix])
        forget = partial(self.forget, urllib.parse.unquote(url), job)
        ui.timer(KEEP_EXPORT_S, forget, once=True)
        context.client.on_delete(forget)

    @staticmethod
    def forget(route: str, job: Job) -> None:
        app.remove_route(route)
        if job.result is not None:
            remove_export(job.result.path)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.finish(self.job)

    def abandon(self) -> None:
        """The page is gone: stop the worker; there is no UI left to update."""
        if self.job is not None:
            self.job.cancel()
