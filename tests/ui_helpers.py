"""Helpers for NiceGUI `user` fixture tests: sign in as a person would, and wait for what should happen.

No test waits a fixed time: on a loaded machine any fixed time is too short (CI failed at load 12 on two
cores), and on an idle one it is wasted. A test waits for the thing it is about (`eventually`,
`eventually_equal`, `see`, `gone`), or for the work an action started to be done (`handled`), with a generous
timeout, and fails with a message that says what did not happen and what was there instead.
A check that something is *not* shown first waits for a sign that the change it is about has arrived.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from nicegui import background_tasks, ui
from nicegui.outbox import Outbox
from nicegui.testing import User
from nicegui.timer import Timer

from potrack.pages.guard import SESSION_COOKIE

WAIT_S = 10.0  # generous: a page answers in milliseconds; only a badly loaded machine comes near this
POLL_S = 0.02
NOT_YET = (AssertionError, LookupError, StopIteration)  # what a look at a page not yet updated raises
T = TypeVar('T')


async def eventually(
    check: Callable[[], object], *, what: str | Callable[[], str] = '', timeout_s: float = WAIT_S
) -> None:
    """Wait until `check()` is true; raise AssertionError saying `what` did not happen by `timeout_s`.

    A `check` that raises one of NOT_YET (an element or a row not there yet) counts as false; any other
    error is a bug in the test and propagates at once.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():
                return
            last = 'it was false'
        except NOT_YET as exc:
            last = f'{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ""}'
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f'{described or "the condition"} did not come true within {timeout_s:g} s ({last})')
        await asyncio.sleep(POLL_S)


async def eventually_equal(read: Callable[[], T], expected: T, *, what: str = '', timeout_s: float = WAIT_S) -> T:
    """Wait until `read()` equals `expected` and return it; on timeout the message shows the last value read."""
    seen: list[Any] = []

    def check() -> bool:
        seen[:] = [read()]
        return seen[0] == expected

    def message() -> str:
        last = repr(seen[0]) if seen else 'nothing (it raised every time)'
        return f'{what or "the value"} == {expected!r} (last read: {last})'

    await eventually(check, what=message, timeout_s=timeout_s)
    return seen[0]


async def see(user: User, target: str | None = None, *, timeout_s: float = WAIT_S, **filters: Any) -> None:
    """`user.should_see` with a timeout for a loaded machine (its own default gives up after 0.3 s)."""
    await user.should_see(target, retries=max(1, round(timeout_s / 0.1)), **filters)


async def gone(user: User, target: str | None = None, *, timeout_s: float = WAIT_S, **filters: Any) -> None:
    """Wait until nothing matches: for something seen before that should go away.

    Absence of something never seen proves nothing: where a thing must not appear, first wait for a
    change that must appear with or after it, then use `user.should_not_see`.
    """
    await user.should_not_see(target, retries=max(1, round(timeout_s / 0.05)), **filters)


# Loops that live as long as their page, not work an action waits for: a timer, a new page's outbox.
_PAGE_LOOPS = {Timer._run_in_loop.__code__, Timer._run_once.__code__, Outbox.loop.__code__}


def _is_page_loop(task: asyncio.Task) -> bool:
    return getattr(task.get_coro(), 'cr_code', None) in _PAGE_LOOPS


@asynccontextmanager
async def handled(*, timeout_s: float = WAIT_S) -> AsyncIterator[None]:
    """On leaving the block, wait until the work its actions started is done: event handlers, value
    change handlers, navigation, and the pages' handling of change notices sent meanwhile.

    Loops started meanwhile that live as long as a page (a timer, a newly opened page's outbox) are not
    waited for: they are not the handling of the action.
    """
    before = set(background_tasks.running_tasks)
    yield
    # A change notice reaches the loop through call_soon_threadsafe: one turn lets it start the pages' tasks.
    await asyncio.sleep(0)

    def busy() -> list[asyncio.Task]:
        return [t for t in background_tasks.running_tasks - before if not t.done() and not _is_page_loop(t)]

    await eventually(
        lambda: not busy(),
        what=lambda: f'the work started here to finish (still running: {sorted(t.get_name() for t in busy())})',
        timeout_s=timeout_s,
    )


async def sign_in(user: User, username: str, password: str, next_path: str = '/', *, timeout_s: float = WAIT_S) -> None:
    """Open the sign-in page, type the credentials, press Sign in, and wait for the outcome: the next page
    opened (whichever it is: the one asked for, the forced password change), or the sign-in page's error."""
    with navigating_as(user):
        await _sign_in(user, username, password, next_path, timeout_s)


@contextmanager
def navigating_as(user: User) -> Iterator[None]:
    """While the block runs, `ui.navigate` stays `user`'s.

    NiceGUI's simulated browsers share one `ui.navigate`, handed to whichever User object was touched last,
    and another user's page touches its own User whenever it sends an update (its outbox). A sign-in's
    navigation after the answer then went to that other user now and then (tests/test_kiosk_feed.py failed
    3 in 10 on an idle machine). Other users are left untouched here, so the binding stays.
    """
    original = User.__getattribute__

    def attribute(self: User, name: str) -> Any:
        return original(self, name) if self is user else object.__getattribute__(self, name)

    User.__getattribute__ = attribute  # type: ignore[method-assign]
    try:
        yield
    finally:
        User.__getattribute__ = original  # type: ignore[method-assign]


async def _sign_in(user: User, username: str, password: str, next_path: str, timeout_s: float) -> None:
    await user.open(f'/signin?next={next_path}')
    user.find(marker='username').type(username)
    user.find(marker='password').type(password)
    signin_page, pages_opened = user.client, len(user.back_history)
    user.find(marker='signin-button').click()

    def outcome() -> bool:
        # user.open records the path only once the new page is built and connected.
        if user.client is not signin_page and len(user.back_history) > pages_opened:
            return True
        return bool(user.find(marker='signin-error').elements)  # raises while there is none to see

    await eventually(
        outcome, what=f'the sign-in of {username!r} to open the next page or to show an error', timeout_s=timeout_s
    )


def session_cookie(user: User) -> str | None:
    return user.http_client.cookies.get(SESSION_COOKIE)


def field_error(user: User, marker: str) -> str | None:
    element = user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.element)
    return element.props.get('error-message') if element.props.get('error') else None
