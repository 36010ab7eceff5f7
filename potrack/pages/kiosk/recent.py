"""The kiosk's last entries at this work center, live, with undo of one's own latest entry."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from nicegui import ui

from potrack.accounts.sessions import TOUCH_EVERY_S
from potrack.common.actors import Actor
from potrack.db.types import utcnow
from potrack.errors import PotrackError, SignedOut
from potrack.i18n import Translator
from potrack.ledger.reversal import UNDO_WINDOW_S
from potrack.ledger.search import MovementFilter, MovementRow, search_movements
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, to_local, zone_label

RECENT_ROWS = 10
# On a narrow screen (assets/kiosk.css) who booked an entry gives way, so that the table never scrolls sideways.
NARROW_HIDE = {'classes': 'potrack-narrow-hide', 'headerClasses': 'potrack-narrow-hide'}
# A busy work center's list of last entries is re-read at most this often: each read re-sends the table to every
# kiosk there; at 0.5 s those updates were the largest share of the event loop's sending (bench/kiosk_load.py).
FEED_MIN_INTERVAL_S = 1.0
CLAIM_EXPIRES_S = 30.0  # a claimed read that has not gone round for this long is taken as lost
FeedKey = tuple[int, int | None, bool]  # work center, department, admin: the same key sees the same rows


@dataclass
class UndoCandidate:
    movement_id: int
    text: str
    deadline: datetime


class RecentFeed:
    """The last entries at one work center, read once for every kiosk there whose user sees the same rows.

    Each movement asks every kiosk at its work center to refresh. Read per kiosk, 12 kiosks at a work
    center made 12 identical queries per entry, and at 50 kiosks the thread pool fell far behind
    (bench/kiosk_load.py). Users with the same department and role see the same rows, so one read
    serves them all. One read runs at a time per feed; requests arriving meanwhile fold into one more
    read after it, at most one per FEED_MIN_INTERVAL_S. The read runs as one of the kiosks' users, in
    turn, so that every kiosk's session is still checked at least every TOUCH_EVERY_S while the feed
    is busy.
    """

    feeds: ClassVar[dict[FeedKey, RecentFeed]] = {}

    def __init__(self, work_center_id: int) -> None:
        self.work_center_id = work_center_id
        self.panels: weakref.WeakSet[RecentEntries] = weakref.WeakSet()
        self.requester: RecentEntries | None = None
        self.running = False
        self.read_started = False  # set by the worker thread once the read is about to query
        self.again = False
        self.last_start = 0.0
        self.alive_at = 0.0  # when the running read was claimed or last went round

    @classmethod
    def reset(cls) -> None:
        """Forget every feed (at app start: pages of an earlier app lifetime must not be read for)."""
        cls.feeds = {}

    @classmethod
    def of(cls, key: FeedKey) -> RecentFeed:
        feed = cls.feeds.get(key)
        if feed is None:
            feed = cls.feeds[key] = cls(key[0])
        return feed

    def request(self, requester: RecentEntries) -> Awaitable[None] | None:
        """A refresh asked for by `requester`: the read to await, or None when a read already claimed takes it in.

        Synchronous, so that the notices of one change to the dozen kiosks at a work center claim one read and
        start one task, not one task each: at 50 kiosks the tasks were the largest share of the event loop
        (bench/kiosk_load.py --profile). A claim whose read never started (its task dropped) expires.
        """
        self.requester = requester
        if self.running and time.monotonic() - self.alive_at < CLAIM_EXPIRES_S:
            # A change committed before the read starts is in it; only later ones need one more read.
            self.again = self.again or self.read_started
            return None
        self.running = True
        self.alive_at = time.monotonic()
        return self._run()

    async def refresh(self, requester: RecentEntries) -> None:
        run = self.request(requester)
        if run is not None:
            await run

    async def _run(self) -> None:
        try:
            self.again = True
            refused = 0
            while self.again and refused < 3:
                self.alive_at = time.monotonic()
                self.again = False
                self.read_started = False
                # A burst of entries: at most one read per FEED_MIN_INTERVAL_S; notices meanwhile fold into it.
                await asyncio.sleep(max(0.0, self.last_start + FEED_MIN_INTERVAL_S - time.monotonic()))
                reader = self._reader()
                if reader is None:
                    break
                self.last_start = time.monotonic()
                try:
                    rows = await reader.read(self.work_center_id, self._started)
                except SignedOut:  # that page is on its way to sign-in: read for another one
                    self.panels.discard(reader)
                    self.again, refused = True, refused + 1
                    continue
                except PotrackError:
                    break
                shown: dict[str, list[dict[str, object]]] = {}  # the rows as each language shows them
                for panel in list(self.panels):
                    language = panel.t.language
                    if language not in shown:
                        shown[language] = [_recent_row(m, panel.t) for m in rows]
                    panel.show_rows(self.work_center_id, rows, shown[language])
        finally:
            self.running = False
            self.requester = None

    def _started(self) -> None:
        self.read_started = True

    def _reader(self) -> RecentEntries | None:
        alive = [p for p in self.panels if p.shows(self.work_center_id)]
        if not alive:
            return None
        stalest = min(alive, key=lambda p: p.last_read)
        if self.requester in alive and time.monotonic() - stalest.last_read <= TOUCH_EVERY_S:
            return self.requester
        return stalest


class RecentEntries:
    """The last entries at the chosen work center, with Undo for your own latest one for 2 minutes."""

    def __init__(self, ctx: PageContext, on_undo: Callable[[int], Awaitable[None]], t: Translator) -> None:
        self.ctx = ctx
        self.t = t
        self.work_center_id: int | None = None
        self.on_undo = on_undo
        self.candidate: UndoCandidate | None = None
        self.feed: RecentFeed | None = None
        self.last_read = 0.0  # when the feed last read as this page's user
        with ui.card().classes('w-full gap-2'):
            # One timer per page, created once and ticking only while Undo is offered: a timer per offer
            # cost 2.6 ms of server CPU per entry and 120 kB per kiosk (bench/kiosk_load.py).
            self.expiry = ui.timer(1.0, self._expire, active=False)
            ui.label(t.gettext('Last {n} entries here').format(n=RECENT_ROWS)).classes('text-lg font-bold')
            self.undo_button = (
                ui.button(t.gettext('Undo'), icon='undo', on_click=self._undo)
                .props('color=amber-8 text-color=black no-caps')  # black on amber: 9:1; a normal size, not the biggest
                .classes('self-start')
                .mark('undo')
            )
            self.undo_button.set_visibility(False)
            self.table = (
                ui.table(
                    columns=[
                        {
                            'name': 'time',
                            'label': t.gettext('Time ({zone})').format(zone=zone_label()),
                            'field': 'time',
                            'align': 'left',
                        },
                        {'name': 'order', 'label': t.gettext('Order'), 'field': 'order', 'align': 'left'},
                        {'name': 'type', 'label': t.gettext('Type'), 'field': 'type'},
                        {'name': 'qty', 'label': t.gettext('Qty'), 'field': 'qty'},
                        {'name': 'user', 'label': t.gettext('By'), 'field': 'user', 'align': 'left', **NARROW_HIDE},
                    ],
                    rows=[],
                    row_key='id',
                )
                .props('dense flat wrap-cells')
                .classes('w-full')
                .mark('recent-table')
            )
            self.table.props['no-data-label'] = t.gettext('No entries at this work center yet')

    async def show(self, work_center_id: int | None) -> None:
        self.work_center_id = work_center_id
        if self.feed is not None:
            self.feed.panels.discard(self)
        self.feed = None
        if work_center_id is not None:
            user = self.ctx.session_user.user
            self.feed = RecentFeed.of((work_center_id, user.department_id, user.is_admin))
            self.feed.panels.add(self)
        await self.refresh()

    async def refresh(self) -> None:
        if self.feed is None:
            self.table.rows = []
            self.undo_button.set_visibility(False)
            return
        await self.feed.refresh(self)

    def request(self) -> Awaitable[None] | None:
        """A change notice: the shared read to await, or None when one already claimed takes it in."""
        return self.feed.request(self) if self.feed is not None else self.refresh()

    def shows(self, work_center_id: int) -> bool:
        return self.work_center_id == work_center_id and not self.table.is_deleted

    async def read(self, work_center_id: int, started: Callable[[], None]) -> list[MovementRow]:
        """The feed's read, as this page's user and in this page's context (a refusal shows here)."""
        self.last_read = time.monotonic()
        with self.table:
            try:
                return await self.ctx.call(_last_entries, work_center_id, started)
            except PotrackError as exc:
                show_refusal(exc, t=self.t)
                raise

    def show_rows(self, work_center_id: int, rows: list[MovementRow], shown: list[dict[str, object]]) -> None:
        if not self.shows(work_center_id):
            return
        if self.table.rows != shown:  # no resend of a table that did not change
            self.table.rows = shown
        self.candidate = _undo_candidate(rows, self.ctx.actor.user_id, self.t)
        self.undo_button.set_visibility(self.candidate is not None)
        if self.candidate:
            self.undo_button.set_text(self.candidate.text)
        # Hide Undo when its window closes, also on a kiosk where nothing else happens meanwhile.
        self.expiry.active = self.candidate is not None

    def _expire(self) -> None:
        if self.candidate is None:
            self.expiry.active = False
        elif self.candidate.deadline <= utcnow():
            self.expiry.active = False
            self.candidate = None
            self.undo_button.set_visibility(False)

    async def _undo(self) -> None:
        if self.candidate:
            await self.on_undo(self.candidate.movement_id)


def _last_entries(actor: Actor, work_center_id: int, started: Callable[[], None]) -> list[MovementRow]:
    started()  # in the worker thread: from here on, every committed change is in what this reads
    flt = MovementFilter(work_center_ids=(work_center_id,))
    return search_movements(actor, flt, limit=RECENT_ROWS, with_totals=False).rows


def _recent_row(m: MovementRow, t: Translator) -> dict[str, object]:
    kind = t.gettext(m.movement_type)
    if m.reverses_id is not None:
        kind = t.gettext('{kind} undone').format(kind=kind)
    return {
        'id': m.id,
        'time': to_local(m.created_at).strftime('%H:%M:%S'),
        'order': m.order_number,
        'type': kind,
        'qty': m.quantity,  # a number, sorted as one; digits read the same in both languages
        'user': m.user_full_name or m.username,
    }


def _undo_candidate(rows: list[MovementRow], user_id: int, t: Translator) -> UndoCandidate | None:
    """Your newest entry here, if not yet undone and still within the window (the ledger decides for real)."""
    reversed_ids = {m.reverses_id for m in rows if m.reverses_id is not None}
    mine = next((m for m in rows if m.user_id == user_id and m.reverses_id is None), None)
    if mine is None or mine.id in reversed_ids:
        return None
    deadline = mine.created_at + timedelta(seconds=UNDO_WINDOW_S)
    if deadline <= utcnow():
        return None
    text = t.gettext('Undo {kind} {qty} of {order} (until {time})').format(
        kind=t.gettext(mine.movement_type),
        qty=t.number(mine.quantity),
        order=mine.order_number,
        time=format_local(deadline, with_seconds=True)[-8:],
    )
    return UndoCandidate(mine.id, text, deadline)
