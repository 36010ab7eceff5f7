"""'Sent to you, not yet received': the orders in transit to the kiosk's work center, oldest first, live.

One tap on an order fills the form for its IN. Transit that has waited long is marked with an icon and
the words "Waiting long", not by colour alone. The list re-reads only when the transit to this work
center changes (a `transit` notice for it, or a resync); while a read runs, further notices fold into
one more read after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

from potrack.db.types import utcnow
from potrack.errors import PotrackError
from potrack.ledger.transit import Incoming, IncomingList, incoming
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import local_today, to_local, zone_label

SHOWN_FIRST = 5  # rows shown before "N more": the rest of the kiosk stays on screen
READ_LIMIT = 50  # the oldest this many are read; an order beyond them is scanned as usual
OLD_RECHECK_S = 300.0  # transit turns old with time, not with a change: re-read this often while some is young


def counted(count: int, noun: str) -> str:
    return f'{count} {noun}{"" if count == 1 else "s"}'


def since_text(since: datetime) -> str:
    """When the pieces were sent, in the site's zone: the time today, else the day and time."""
    local = to_local(since)
    shown = local.strftime('%H:%M') if local.date() == local_today() else local.strftime('%d %b %H:%M')
    return f'{shown} {zone_label(since)}'


def waited_text(since: datetime) -> str:
    minutes = max(int((utcnow() - since).total_seconds() // 60), 0)
    return f'{minutes // 60} h {minutes % 60:02d} min' if minutes >= 60 else f'{minutes} min'


class IncomingPanel:
    """The orders sent to this work center and not yet received, each one tap from its IN."""

    def __init__(self, ctx: PageContext, on_pick: Callable[[Incoming], Awaitable[None]]) -> None:
        self.ctx = ctx
        self.on_pick = on_pick
        self.work_center_id: int | None = None
        self.items: list[Incoming] = []
        self.total = 0  # orders on their way here, also those beyond READ_LIMIT
        self.expanded = False
        self.reading = False
        self.again = False
        with ui.card().classes('w-full gap-2').mark('incoming') as self.card:
            # A heading, so that a screen reader can jump to the list.
            ui.label('Sent to you, not yet received').classes('text-lg font-bold').props('role=heading aria-level=2')
            self.summary = ui.label('').classes('text-base').mark('incoming-summary')
            self.empty = ui.label('Nothing is on its way here.').classes('text-base').mark('incoming-empty')
            self.rows = ui.column().classes('w-full gap-2').mark('incoming-rows')
            self.more = (
                ui.button(on_click=self.expand).props('flat no-caps icon=expand_more').classes('potrack-key w-full')
            ).mark('incoming-more')
            self.capped = ui.label('').classes('text-sm opacity-80').mark('incoming-capped')
        self.card.set_visibility(False)
        # Not immediate: a timer that starts at once waits for the browser, and the page would be sent half built.
        self.recheck = ui.timer(OLD_RECHECK_S, self.refresh, active=False, immediate=False)

    async def show(self, work_center_id: int | None) -> None:
        self.work_center_id, self.expanded, self.items, self.total = work_center_id, False, [], 0
        self.card.set_visibility(work_center_id is not None)
        self.render()
        await self.refresh()

    async def refresh(self) -> None:
        if self.work_center_id is None:
            return
        if self.reading:
            self.again = True  # a notice that came while reading: one more read once this one is done
            return
        self.reading = True
        try:
            self.again = True
            while self.again and not self.card.is_deleted:
                self.again = False
                reading_for = self.work_center_id
                try:
                    found: IncomingList = await self.ctx.call(incoming, reading_for, limit=READ_LIMIT)
                except PotrackError as exc:
                    with self.card:
                        show_refusal(exc)
                    return
                if reading_for == self.work_center_id:
                    self.items, self.total = found.rows, found.total
                    self.summary.set_text(
                        f'{counted(found.total, "order")}, {counted(found.quantity, "piece")} on their way here.'
                    )
                    self.render()
        finally:
            self.reading = False

    async def expand(self) -> None:
        self.expanded = True
        self.render()

    def render(self) -> None:
        shown = self.items if self.expanded else self.items[:SHOWN_FIRST]
        self.rows.clear()
        with self.rows:
            for item in shown:
                self.row(item)
        hidden = len(self.items) - len(shown)
        self.empty.set_visibility(not self.items)
        self.summary.set_visibility(bool(self.items))
        self.more.set_text(f'{hidden} more')
        self.more.set_visibility(hidden > 0)
        capped = self.total > len(self.items) and (self.expanded or not hidden)
        self.capped.set_text(
            f'The {len(self.items)} oldest of {self.total} are listed; scan the order number of any other to '
            'receive it.'
            if capped
            else ''
        )
        self.capped.set_visibility(capped)
        self.recheck.active = any(not item.is_old for item in self.items)

    def row(self, item: Incoming) -> None:
        origin = f'from {item.from_code}' if item.from_code else 'sender not recorded'
        if item.is_rework:
            origin = f'back for rework {origin}'
        when = since_text(item.since)
        old = f'Waiting long: {waited_text(item.since)}' if item.is_old else ''
        button = (
            ui.button(on_click=lambda i=item: self.on_pick(i))
            .props('outline no-caps align=left')
            .classes('w-full potrack-key')
            .mark(f'incoming-{item.order_number}')
        )
        if item.is_old:
            # Filled amber with black text (≥ 8:1 on both themes), plus the icon and words: never colour alone.
            button.props('unelevated color=amber-9 text-color=black', remove='outline')
        # The button's name for a screen reader, in one sentence (its icons are hidden from it).
        pieces = counted(item.quantity, 'piece')
        button.props['aria-label'] = ' '.join(
            p for p in (f'Receive {item.order_number}: {pieces} {origin}, sent {when}.', old) if p
        )
        with button, ui.column().classes('w-full gap-0 items-start text-left'):
            with ui.row().classes('w-full items-baseline gap-3'):
                ui.label(item.order_number).classes('text-xl font-bold')
                ui.label(pieces).classes('text-xl potrack-num')
            ui.label(f'{origin}, sent {when}').classes('text-base')  # the words of its name (aria-label)
            if item.is_old:
                with ui.row().classes('items-center gap-1 no-wrap'):
                    ui.icon('schedule').classes('text-xl')
                    ui.label(old).classes('text-base font-bold')
