"""How an open kiosk answers the change feed: only what it shows starts any work.

- a movement at this work center: the last entries; of the order on the card: the card (unless it is
  this kiosk's own save, which the card applied already);
- transit to this work center ('transit'): the "sent to you" list;
- master data ('masters'): the work centers and the reason lists; 'resync': everything.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable

from potrack.live import feed
from potrack.masters.catalog import WorkCenterInfo
from potrack.pages.kiosk.incoming import IncomingPanel
from potrack.pages.kiosk.order_card import OrderCard
from potrack.pages.kiosk.recent import RecentEntries

OWN_NOTICE_S = 10.0  # the change notice of this page's own save arrives within this time, or is not waited for


class LiveChanges:
    """The kiosk's part that hears the feed (mixed into `Kiosk`, which builds the panels)."""

    wc_id: int | None
    work_centers: dict[int, WorkCenterInfo]
    own_saves: deque[tuple[int, str, float]]  # this page's saves, until their notices arrive
    card: OrderCard
    recent: RecentEntries
    incoming: IncomingPanel

    async def reload_work_centers(self) -> None:
        raise NotImplementedError

    def on_change(self, change: feed.Change) -> Awaitable[None] | None:
        """Every open page hears every change; only those this page shows start any work (and a task)."""
        if change.kind == 'masters':
            return self.reload_work_centers()
        if change.kind == feed.TRANSIT:
            return self.incoming.refresh() if change.work_center_id == self.wc_id else None
        if change.kind == 'resync':
            return self.refresh_panels(recent=True, card=True, incoming=True)
        if change.kind != 'movement':
            return None
        recent = change.work_center_id == self.wc_id
        card = (
            change.order_number == self.card.order
            and change.work_center_id in self.work_centers
            and not self.own_notice(change)
        )
        if card:
            return self.refresh_panels(recent=recent, card=card)
        # The common case, a movement at this work center: the shared read, without a task per kiosk.
        return self.recent.request() if recent else None

    def own_notice(self, change: feed.Change) -> bool:
        """The notice of a save of this page (the card applied it already): take it off the list."""
        now = time.monotonic()
        for item in self.own_saves:
            work_center_id, order, when = item
            if (work_center_id, order) == (change.work_center_id, change.order_number) and now - when < OWN_NOTICE_S:
                self.own_saves.remove(item)
                return True
        return False

    async def refresh_panels(self, *, recent: bool, card: bool, incoming: bool = False) -> None:
        if recent:
            await self.recent.refresh()
        if incoming:
            await self.incoming.refresh()
        if card:
            await self.card.refresh()
