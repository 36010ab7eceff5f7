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
from potrack.i18n import Translator
from potrack.ledger.transit import Incoming, IncomingList, incoming
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import local_today, to_local, zone_label

SHOWN_FIRST = 5  # rows shown before "N more": the rest of the kiosk stays on screen
READ_LIMIT = 50  # the oldest this many are read; an order beyond them is scanned as usual
OLD_RECHECK_S = 300.0  # transit turns old with time, not with a change: re-read this often while some is young


def pieces_text(count: int, t: Translator) -> str:
    return t.ngettext('{n} piece', '{n} pieces', count).format(n=t.number(count))


def since_text(since: datetime, t: Translator) -> str:
    """When the pieces were sent, in the site's zone: the time today, else the day and time."""
    local = to_local(since)
    shown = local.strftime('%H:%M') if local.date() == local_today() else t.datetime(local, 'dd MMM HH:mm')
    return f'{shown} {zone_label(since)}'


def waited_text(since: datetime, t: Translator) -> str:
    minutes = max(int((utcnow() - since).total_seconds() // 60), 0)
    if minutes >= 60:
        return t.gettext('{hours} h {minutes} min').format(hours=minutes // 60, minutes=f'{minutes % 60:02d}')
    return t.gettext('{minutes} min').format(minutes=minutes)


class IncomingPanel:
    """The orders sent to this work center and not yet received, each one tap from its IN."""

    def __init__(self, ctx: PageContext, on_pick: Callable[[Incoming], Awaitable[None]], t: Translator) -> None:
        self.ctx = ctx
        self.t = t
        self.on_pick = on_pick
        self.work_center_id: int | None = None
        self.items: list[Incoming] = []
        self.total = 0  # orders on their way here, also those beyond READ_LIMIT
        self.expanded = False
        self.reading = False
        self.again = False
        with ui.card().classes('w-full gap-2').mark('incoming') as self.card:
            # A heading, so that a screen reader can jump to the list.
            ui.label(t.gettext('Sent to you, not yet received')).classes('text-lg font-bold').props(
                'role=heading aria-level=2'
            )
            self.summary = ui.label('').classes('text-base').mark('incoming-summary')
            self.empty = ui.label(t.gettext('Nothing is on its way here.')).classes('text-base').mark('incoming-empty')
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
                        show_refusal(exc, t=self.t)
                    return
                if reading_for == self.work_center_id:
                    self.items, self.total = found.rows, found.total
                    self.summary.set_text(self.summary_text(found))
                    self.render()
        finally:
            self.reading = False

    def summary_text(self, found: IncomingList) -> str:
        t = self.t
        orders = t.ngettext('{n} order', '{n} orders', found.total).format(n=t.number(found.total))
        return t.gettext('{orders}, {pieces} on their way here.').format(
            orders=orders, pieces=pieces_text(found.quantity, t)
        )

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
        self.more.set_text(self.t.gettext('{n} more').format(n=self.t.number(hidden)))
        self.more.set_visibility(hidden > 0)
        capped = self.total > len(self.items) and (self.expanded or not hidden)
        self.capped.set_text(
            self.t.gettext(
                'The {shown} oldest of {total} are listed; scan the order number of any other to receive it.'
            ).format(shown=self.t.number(len(self.items)), total=self.t.number(self.total))
            if capped
            else ''
        )
        self.capped.set_visibility(capped)
        self.recheck.active = any(not item.is_old for item in self.items)

    def origin_text(self, item: Incoming) -> str:
        t = self.t
        if item.is_rework:
            if item.from_code:
                return t.gettext('back for rework from {code}').format(code=item.from_code)
            return t.gettext('back for rework, sender not recorded')
        return (
            t.gettext('from {code}').format(code=item.from_code) if item.from_code else t.gettext('sender not recorded')
        )

    def row(self, item: Incoming) -> None:
        t = self.t
        origin = self.origin_text(item)
        when = since_text(item.since, t)
        old = t.gettext('Waiting long: {waited}').format(waited=waited_text(item.since, t)) if item.is_old else ''
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
        pieces = pieces_text(item.quantity, t)
        sent = t.gettext('{origin}, sent {when}').format(origin=origin, when=when)
        receive = t.gettext('Receive {order}: {pieces} {sent}.').format(
            order=item.order_number, pieces=pieces, sent=sent
        )
        button.props['aria-label'] = ' '.join(p for p in (receive, old) if p)
        with button, ui.column().classes('w-full gap-0 items-start text-left'):
            with ui.row().classes('w-full items-baseline gap-3'):
                ui.label(item.order_number).classes('text-xl font-bold')
                ui.label(pieces).classes('text-xl potrack-num')
            ui.label(sent).classes('text-base')  # the words of its name (aria-label)
            if item.is_old:
                with ui.row().classes('items-center gap-1 no-wrap'):
                    ui.icon('schedule').classes('text-xl')
                    ui.label(old).classes('text-base font-bold')
