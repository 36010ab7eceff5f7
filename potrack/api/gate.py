"""Turns per key, on the event loop: at most one holder per key, the others wait without a thread.

The one rule: a request that could only wait on a database lock held for another request of this
instance waits here instead, as a future on the event loop, so a row locked for a long time holds one
worker thread, not all of them. Writes of one (work center, order) wait on the same balance row anyway,
so taking them one at a time costs them nothing.

A key's entry exists only while the key is held: memory follows the requests in flight, and an idle
key leaves nothing behind. The waiters of a key get their turn in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Hashable

from potrack.errors import NotSaved


class Busy(NotSaved):
    """No turn came in time: nothing was written; the same request may be sent again after `retry_after_s`."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class KeyedGate:
    """One holder per key at a time. `enter` waits for the key's turn; every `enter` that got it, one `leave`."""

    def __init__(self) -> None:
        # key -> the futures of its waiters; present while the key is held.
        self._held: dict[Hashable, deque[asyncio.Future[None]]] = {}

    async def enter(self, key: Hashable, wait_s: float) -> bool:
        """Take the turn of `key`: True once it is ours, False if it did not come within `wait_s`."""
        waiters = self._held.get(key)
        if waiters is None:  # free: no await, the common case costs two dict operations
            self._held[key] = deque()
            return True
        turn = asyncio.get_running_loop().create_future()
        waiters.append(turn)
        try:
            async with asyncio.timeout(wait_s):
                await turn
            return True
        except TimeoutError:
            self._give_back(key, waiters, turn)
            return False
        except asyncio.CancelledError:
            self._give_back(key, waiters, turn)
            raise

    def leave(self, key: Hashable) -> None:
        """Hand the turn of `key` to its next waiter, or free the key."""
        waiters = self._held[key]
        while waiters:
            turn = waiters.popleft()
            if not turn.done():  # a waiter that gave up has its future cancelled: skip it
                turn.set_result(None)
                return
        del self._held[key]

    def _give_back(self, key: Hashable, waiters: deque[asyncio.Future[None]], turn: asyncio.Future[None]) -> None:
        if turn.done() and not turn.cancelled():
            # The turn was handed to us in the same moment the wait ended: pass it on, or the key stays held.
            self.leave(key)
        else:
            with contextlib.suppress(ValueError):  # already dropped by a leave() that skipped it
                waiters.remove(turn)

    def waiting(self) -> int:
        """How many requests wait for a turn now (for tests and metrics)."""
        return sum(1 for waiters in self._held.values() for turn in waiters if not turn.done())

    def held(self) -> int:
        """How many keys are held now."""
        return len(self._held)
