"""Low-priority threads for bcrypt, so that password checks never take the CPU from the event loop.

bcrypt releases the GIL, so a check in a worker thread leaves the loop free to run Python. But a
cost-12 check is ~240 ms of pure CPU, and on a 2-core machine eight sign-ins at once took both cores:
the one thread that serves every kiosk waited its turn for a core (bench/signin.py: a keypad tap's p95
went from 2 ms to 56 ms), and the kiosks' database calls queued behind sign-ins in run.io_bound's pool.

So bcrypt runs on threads of its own, each at nice 19 (Linux keeps a nice value per thread), so the
scheduler serves the event loop and the database work first. Only bcrypt itself runs there, with the
GIL released: a low-priority thread holding the GIL (running the ORM, say) would make the event loop
wait for it.

As many threads as cores (POTRACK_BCRYPT_THREADS), so that a shift signing in at once is served by
every core. On 2 cores busy with other work (load 6-13), 30 sign-ins at once took 1.7-1.8 × (30 checks
÷ cores) in two runs of three (3.3 × in one), against 2.0-2.2 × with one thread (bench/signin_burst.py);
a keypad tap's p95 during 8 sign-ins at once was 1.4-2.2 × its idle p95, against 1.1-1.9 × with one
thread (bench/signin.py, three runs each). A site that prefers its kiosks' latency to its sign-in bursts
sets cores - 1.

A sign-in as a whole (the database work around the check, and the waiting) runs on threads of normal
priority that are not run.io_bound's: eight sign-ins at once would fill that pool, and the kiosks'
entries would queue behind them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from potrack.config import settings

T = TypeVar('T')


CALLER_THREADS = 8  # sign-ins waiting for bcrypt or out their per-address slowdown
NICE = 19
log = logging.getLogger(__name__)
_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}


def _lower_priority() -> None:
    if not sys.platform.startswith('linux'):
        return  # elsewhere a thread id could name a whole process; the pool of its own still helps
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except OSError as exc:  # a sandbox that forbids it
        log.warning('bcrypt threads keep normal priority: %s', exc)


def _executor(name: str) -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get(name)
        if pool is None:
            if name == 'bcrypt':
                threads = settings().bcrypt_threads  # POTRACK_BCRYPT_THREADS: see the module docstring
                pool = ThreadPoolExecutor(threads, 'potrack-bcrypt', initializer=_lower_priority)
            else:
                pool = ThreadPoolExecutor(CALLER_THREADS, 'potrack-signin')
            _pools[name] = pool
        return pool


def submit(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    """Start `fn`, a sign-in or another call whose cost is bcrypt, on the sign-in threads (pages await it
    with asyncio.wrap_future)."""
    return _executor('signin').submit(fn, *args, **kwargs)


def bcrypt_call(fn: Callable[..., T], /, *args: Any) -> T:
    """Run one bcrypt function (never one that calls back here) at low priority and wait for it."""
    return _executor('bcrypt').submit(fn, *args).result()
