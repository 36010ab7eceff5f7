"""Brings the change feed onto NiceGUI's event loop as an `Event` that pages subscribe to.

`feed.deliver` runs in a worker thread (SQLite: right after the commit; PostgreSQL: the listener), so
the hand-over goes through `call_soon_threadsafe`. Subscriptions die with their page's client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nicegui import Event

from potrack.db.engine import database
from potrack.live import feed, listener

changes: Event[feed.Change] = Event()
_unsubscribe: Callable[[], None] | None = None


def subscribe(callback: Callable[[feed.Change], Awaitable[None] | None]) -> None:
    """Call `callback(change)` on this page's client for every change, until the client goes away."""
    changes.subscribe(callback)


def start() -> None:
    """At app start-up: forward every change to `changes`; on PostgreSQL also start the LISTEN thread."""
    global _unsubscribe, changes
    # A fresh Event per start: NiceGUI's test reset forgets Event instances created before it, so a
    # module-level one would keep dead pages' subscriptions from earlier app lifetimes.
    changes = Event()
    loop = asyncio.get_running_loop()
    if _unsubscribe is not None:
        _unsubscribe()

    def hand_over(change: feed.Change) -> None:
        loop.call_soon_threadsafe(changes.emit, change)

    _unsubscribe = feed.subscribe(hand_over)
    db = database()
    if db.is_postgres:
        listener.start(db.url)


def stop() -> None:
    global _unsubscribe
    if _unsubscribe is not None:
        _unsubscribe()
        _unsubscribe = None
    listener.stop()
