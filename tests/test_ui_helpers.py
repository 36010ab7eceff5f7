"""The UI tests' waiting helpers fail, with a message saying what did not come, when it never comes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from nicegui import background_tasks, ui
from nicegui.testing import User

from potrack.db import Database
from potrack.pages import signin as signin_page
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, eventually_equal, gone, handled, see, sign_in

SHORT_S = 0.3
FAILS_WITHIN_S = 3.0  # the short timeout, plus room for a loaded machine: never the helpers' 10 s default


@asynccontextmanager
async def fails_in_time(match: str) -> AsyncIterator[None]:
    start = time.monotonic()
    with pytest.raises(AssertionError, match=match):
        yield
    assert time.monotonic() - start < FAILS_WITHIN_S


async def test_eventually_fails_saying_what_never_came() -> None:
    async with fails_in_time(r'the sky to fall did not come true within 0.3 s \(it was false\)'):
        await eventually(lambda: False, what='the sky to fall', timeout_s=SHORT_S)


async def test_eventually_passes_once_the_condition_holds() -> None:
    start = time.monotonic()
    await eventually(lambda: time.monotonic() - start > 0.1, timeout_s=5)


async def test_eventually_equal_shows_the_last_value_read() -> None:
    async with fails_in_time(r"the status == 'Saved' \(last read: 'Saving…'\)"):
        await eventually_equal(lambda: 'Saving…', 'Saved', what='the status', timeout_s=SHORT_S)


async def test_a_lookup_that_keeps_failing_is_named_in_the_message() -> None:
    async with fails_in_time(r'KeyError'):
        await eventually(lambda: {}['row'], timeout_s=SHORT_S)


async def test_a_bug_in_the_check_is_not_waited_out() -> None:
    start = time.monotonic()
    with pytest.raises(TypeError):
        await eventually(lambda: len(None), timeout_s=30)  # type: ignore[arg-type]
    assert time.monotonic() - start < FAILS_WITHIN_S


async def test_handled_fails_naming_the_work_that_never_ends(user: User, sqlite_db: Database) -> None:
    stuck = asyncio.Event()
    async with fails_in_time(r"still running: \['a handler that never returns'\]"):
        async with handled(timeout_s=SHORT_S):
            background_tasks.create(stuck.wait(), name='a handler that never returns')
    stuck.set()


async def test_handled_waits_for_the_work_but_not_for_a_pages_timer(user: User, sqlite_db: Database) -> None:
    await user.open('/signin')
    done: list[bool] = []

    async def work() -> None:
        await asyncio.sleep(0.2)
        done.append(True)

    with user.client:  # type: ignore[union-attr]
        async with handled(timeout_s=5):
            background_tasks.create(work(), name='work')
            ui.timer(60, lambda: None)  # lives as long as the page: not the handling of anything
    assert done == [True]


async def test_see_and_gone_fail_in_their_time(user: User, sqlite_db: Database) -> None:
    await user.open('/signin')
    async with fails_in_time('expected to see at least one element with marker=no-such-thing or content=no-such-thing'):
        await see(user, 'no-such-thing', timeout_s=SHORT_S)
    async with fails_in_time("expected not to see any element with marker='signin-button'"):
        await gone(user, marker='signin-button', timeout_s=SHORT_S)


async def test_sign_in_fails_when_the_sign_in_never_answers(
    user: User, sqlite_db: Database, make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user('anita')
    answer = asyncio.Event()
    check_password = signin_page.offload_password

    async def held(*args: Any, **kwargs: Any) -> Any:
        await answer.wait()
        return await check_password(*args, **kwargs)

    monkeypatch.setattr(signin_page, 'offload_password', held)
    async with fails_in_time("the sign-in of 'anita' to open the next page or to show an error did not come"):
        await sign_in(user, 'anita', TEST_PASSWORD, timeout_s=SHORT_S)
    answer.set()  # the page goes on as it would have: nothing is left hanging when the test ends
    await see(user, marker='wc-cards')
