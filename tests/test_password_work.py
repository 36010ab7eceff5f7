"""bcrypt runs on low-priority threads of its own, whoever asks for it, so kiosks keep the CPU."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui import run

from potrack.accounts import password_work, security
from potrack.config import reset_settings


def cpu_s_of_threads_at(nice: int) -> float:
    """CPU seconds the scheduler has charged so far to this process's threads running at `nice` (Linux)."""
    ticks = 0
    for stat in Path(f'/proc/{os.getpid()}/task').glob('*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        # After the name: state is field 3, utime 14, stime 15, nice 19 (proc(5)).
        if int(fields[16]) == nice:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf('SC_CLK_TCK')


@pytest.fixture
def slow_bcrypt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """bcrypt at a cost whose CPU time the scheduler's 10 ms ticks can see (tests otherwise use cost 4)."""
    monkeypatch.setenv('POTRACK_BCRYPT_ROUNDS', '10')
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='a per-thread nice value is a Linux feature')
def test_hashing_and_checking_spend_their_cpu_at_the_lowest_priority(slow_bcrypt: None) -> None:
    """The scheduler's own account: a hash and checks cost the calling thread nearly nothing; the CPU
    they take is charged to threads at nice 19, so a kiosk's thread is always served first."""
    security.verify_password('warm-up', None)  # the threads started, and the unknown user's hash made, beforehand
    before, caller_before = cpu_s_of_threads_at(password_work.NICE), time.thread_time()
    digest = security.hash_password('Plant-Floor-2026')
    assert security.verify_password('Plant-Floor-2026', digest)
    assert not security.verify_password('wrong-password', digest)
    niced, caller = cpu_s_of_threads_at(password_work.NICE) - before, time.thread_time() - caller_before
    assert niced >= 0.1, (niced, caller)  # three cost-10 bcrypt runs: about 0.25 s of CPU here
    assert caller < niced / 3, (niced, caller)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != password_work.NICE  # the caller's own


async def test_busy_sign_ins_do_not_hold_up_a_kiosks_database_call_nor_the_reverse() -> None:
    """Sign-ins wait (for bcrypt, for their slowdown) on threads of their own: with all of them busy a
    kiosk's call through run.io_bound is answered at once, and with run.io_bound's threads all busy a
    sign-in still runs."""
    release = threading.Event()
    try:
        for _ in range(password_work.CALLER_THREADS):
            password_work.submit(release.wait, 30)
        assert await asyncio.wait_for(run.io_bound(lambda: 'saved'), 5) == 'saved'
        release.set()
        release = threading.Event()
        for _ in range(64):  # more than run.io_bound's pool has threads on any machine (at most 32)
            run.thread_pool.submit(release.wait, 30)
        signed_in = asyncio.wrap_future(password_work.submit(lambda: 'signed in'))
        assert await asyncio.wait_for(signed_in, 5) == 'signed in'
    finally:
        release.set()


def test_a_refusal_from_bcrypt_reaches_the_caller() -> None:
    with pytest.raises(ValueError):
        password_work.bcrypt_call(security.bcrypt.hashpw, b'x', b'not a salt')
