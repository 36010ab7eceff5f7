"""A small per-process cache that the live feed empties, for lookups every API request would repeat.

Entries live at most `ttl_s` seconds and are all dropped when a change of one of `kinds` arrives on
the live feed (from this instance or, through PostgreSQL's NOTIFY, any other), so a change made
anywhere is seen at once, and within `ttl_s` even if a feed notice were missed. Entries are kept per
Database object (not its id, which a new object may reuse): tests and tools that open several never mix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

from potrack.db.engine import Database
from potrack.live import feed

K = TypeVar('K', bound=Hashable)
V = TypeVar('V')


class LiveCache(Generic[K, V]):
    def __init__(self, kinds: frozenset[str], ttl_s: float, max_entries: int = 10_000) -> None:
        self.kinds = kinds | {feed.RESYNC.kind}  # after a listener outage, anything may have changed
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[tuple[Database, K], tuple[float, V]] = {}
        self._subscribed = False

    def _changed(self, change: feed.Change) -> None:
        if change.kind in self.kinds:
            self.clear()

    def get(self, db: Database, key: K) -> V | None:
        with self._lock:
            if not self._subscribed:  # on first use: importing a module must not subscribe anything
                feed.subscribe(self._changed)
                self._subscribed = True
            entry = self._entries.get((db, key))
        if entry is None or time.monotonic() - entry[0] >= self.ttl_s:
            return None
        return entry[1]

    def put(self, db: Database, key: K, value: V) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:  # many tokens or databases: start again
                self._entries.clear()
            self._entries[(db, key)] = (time.monotonic(), value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
