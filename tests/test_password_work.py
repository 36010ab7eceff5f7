"""bcrypt runs on low-priority threads of its own, whoever asks for it, so kiosks keep the CPU."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any

import pytest

from potrack.accounts import password_work, security


def where_bcrypt_ran(monkeypatch: pytest.MonkeyPatch, name: str) -> list[tuple[str, int]]:
    """Record the thread name and nice value of every call of bcrypt.`name`."""
    seen: list[tuple[str, int]] = []
    real = getattr(security.bcrypt, name)

    def spy(*args: Any) -> Any:
        seen.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        return real(*args)

    monkeypatch.setattr(security.bcrypt, name, spy)
    return seen


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='a per-thread nice value is a Linux feature')
def test_hashing_and_checking_run_at_the_lowest_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = where_bcrypt_ran(monkeypatch, 'hashpw')
    checked = where_bcrypt_ran(monkeypatch, 'checkpw')
    digest = security.hash_password('Plant-Floor-2026')
    assert security.verify_password('Plant-Floor-2026', digest)
    assert not security.verify_password('wrong-password', digest)
    assert not security.verify_password('anything', None)  # unknown user: still one check
    assert hashed and checked
    for thread_name, nice in hashed + checked:
        assert thread_name.startswith('potrack-bcrypt')
        assert nice == password_work.NICE
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != password_work.NICE  # the caller's own


async def test_a_sign_in_runs_on_threads_outside_the_io_bound_pool() -> None:
    name = await asyncio.wrap_future(password_work.submit(lambda: threading.current_thread().name))
    assert name.startswith('potrack-signin')


def test_a_refusal_from_bcrypt_reaches_the_caller() -> None:
    with pytest.raises(ValueError):
        password_work.bcrypt_call(security.bcrypt.hashpw, b'x', b'not a salt')
