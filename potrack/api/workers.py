"""Where the REST API's blocking calls run: worker threads of its own, reads and writes apart.

The one rule: no request waiting on the database may take the threads other requests need. The API
has its own pools, not NiceGUI's run.io_bound, so a burst of API calls cannot fill the threads the kiosk
pages wait on; reads and writes have a pool each, so writes waiting on row locks never starve a read;
and a POST of a movement takes a writer thread only in its turn on its balance row (`movement_turns`,
see potrack.api.gate), so a row locked for a long time holds one thread, not all of them.

Sized by POTRACK_API_READ_THREADS and POTRACK_API_THREADS: every runnable thread contends for the GIL
with the event loop, and past about two per core each request cost more CPU than it saved in waiting.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from potrack.accounts import tokens
from potrack.api.gate import KeyedGate
from potrack.config import Settings, settings

T = TypeVar('T')


class _Threads:
    """A pool of the API's worker threads, made on first use (the settings are read then, not at import)."""

    def __init__(self, size: Callable[[Settings], int], name: str) -> None:
        self._size = size
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:  # the lock only for the first requests, not on every one
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self._size(settings()), thread_name_prefix=self._name)
        return self._pool

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """`fn(*args, **kwargs)` started on one of these threads; the future of its result."""
        return asyncio.get_running_loop().run_in_executor(self.pool(), functools.partial(fn, *args, **kwargs))


_readers = _Threads(lambda cfg: cfg.api_read_threads, 'potrack-api-read')
_writers = _Threads(lambda cfg: cfg.api_threads, 'potrack-api-write')
# One POST of a movement per (work center, order) in flight on this instance; the others wait their turn.
movement_turns = KeyedGate()


async def offload(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a blocking read in a reader thread; the event loop keeps serving every kiosk."""
    return await _readers.run(fn, *args, **kwargs)


async def as_caller(token: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Check the token and run read `fn(actor, ...)` as its user, in one hop to a reader thread."""
    return await _readers.run(_authenticated, token, fn, *args, **kwargs)


async def as_writer(token: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`as_caller` for a service that writes, on the writers' threads."""
    return await _writers.run(_authenticated, token, fn, *args, **kwargs)


async def as_writer_in_turn(key: Hashable, token: str, fn: Callable[..., T], /, *args: Any) -> T:
    """`as_writer` for the holder of the turn of `key` in `movement_turns`; the turn passes on when the
    thread is done. A request cancelled while its thread still writes (or waits on the row) keeps the
    turn until then, so the next one does not put a second thread on the same row."""
    loop = asyncio.get_running_loop()
    job: Future[T] | None = None
    try:
        job = _writers.pool().submit(_authenticated, token, fn, *args)
        return await asyncio.wrap_future(job, loop=loop)
    finally:
        if job is None or job.done():
            movement_turns.leave(key)
        else:
            job.add_done_callback(lambda _: _leave_from_thread(loop, key))


def _authenticated(token: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return fn(tokens.authenticate(token).actor, *args, **kwargs)


def _leave_from_thread(loop: asyncio.AbstractEventLoop, key: Hashable) -> None:
    if not loop.is_closed():  # shutting down: nobody is left to take the turn
        loop.call_soon_threadsafe(movement_turns.leave, key)
