"""The one helper that gives a page its signed-in user, or sends the browser to sign-in.

A check at page load protects nothing after it: NiceGUI actions arrive over the websocket. So every
action goes through `PageContext.call`, which runs the service off the event loop as this session's
actor; the service re-checks the user and the session itself, and a refusal sends the page to sign-in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import run, ui

from potrack.accounts import password_work
from potrack.accounts.authlog import auth_event, known
from potrack.accounts.device_view import DEVICE_COOKIE
from potrack.accounts.sessions import TOUCH_EVERY_S, SessionUser, validate_session
from potrack.common.actors import Actor
from potrack.errors import NotAllowed, NotSaved, SignedOut

SESSION_COOKIE = 'potrack_session'
DEVICE_SIGNIN_URL = '/device?reason=ended'
T = TypeVar('T')


async def offload(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run blocking `fn` (database, bcrypt) in a worker thread so every other browser keeps being served."""
    return cast(T, await run.io_bound(fn, *args, **kwargs))


async def offload_password(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `fn`, whose cost is bcrypt (a sign-in), on the low-priority password threads.

    Not run.io_bound: eight sign-ins at once would fill its pool and kiosk entries would wait behind them.
    """
    return await asyncio.wrap_future(password_work.submit(fn, *args, **kwargs))


def safe_next(raw: str | None) -> str:
    """A local path to go to after sign-in; anything else (other hosts, `javascript:`, `//x`) becomes '/'."""
    if not raw or len(raw) > 500 or any(ord(c) < 32 or c in '\\' for c in raw):
        return '/'
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not raw.startswith('/') or raw.startswith('//'):
        return '/'
    if parts.path.startswith(('/auth/', '/signin', '/_nicegui')):
        return '/'
    return raw


def signin_url(next_path: str = '/', reason: str | None = None) -> str:
    query = f'?next={quote(safe_next(next_path), safe="/")}'
    return f'/signin{query}&reason={reason}' if reason else f'/signin{query}'


def source_address(request: Request | None) -> str:
    # Behind a reverse proxy uvicorn rewrites client.host from X-Forwarded-For (forwarded_allow_ips).
    return (request.client.host if request and request.client else 'unknown')[:64]


@dataclass
class PageContext:
    token: str
    session_user: SessionUser
    source: str
    path: str
    _touched: float = field(default_factory=time.monotonic)

    @property
    def actor(self) -> Actor:
        return self.session_user.actor

    @property
    def is_admin(self) -> bool:
        return self.session_user.user.is_admin

    def signin_again(self) -> str:
        """Where this page goes when its session ends: a kiosk device's operator sign-in, else the sign-in page."""
        return DEVICE_SIGNIN_URL if self.session_user.device is not None else signin_url(self.path, 'ended')

    def _known(self) -> dict[str, object]:
        user = self.session_user.user
        return known(user.id, user.username)

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run service `fn(actor, *args, **kwargs)` off the event loop; SignedOut sends the page to sign-in."""
        try:
            if time.monotonic() - self._touched > TOUCH_EVERY_S:
                self.session_user = await offload(validate_session, self.token)
                self._touched = time.monotonic()
            return await offload(fn, self.actor, *args, **kwargs)
        except SignedOut:
            auth_event('session_refused', **self._known(), source=self.source, path=self.path)
            ui.navigate.to(self.signin_again())
            raise
        except NotAllowed as exc:
            # A page offers only what the user may do, so a refusal here is a crafted or stale request.
            auth_event(
                'denied',
                level=logging.WARNING,
                **self._known(),
                source=self.source,
                path=self.path,
                action=getattr(fn, '__name__', 'action'),
                reason=exc.message,
            )
            raise

    async def recheck(self) -> None:
        """Accounts changed somewhere (deactivated, password reset, role moved): is this session still good?
        Not activity: it does not reset the idle clock. A page that has lost its session leaves for sign-in
        at once, instead of at its next action."""
        try:
            self.session_user = await offload(validate_session, self.token, touch=False)
        except SignedOut:
            auth_event('session_ended_live', **self._known(), source=self.source, path=self.path)
            ui.navigate.to(self.signin_again())
        except NotSaved:
            pass  # the database is away: the next action or change will ask again

    async def touch(self) -> None:
        """Activity without an action (typing, touching): keeps the session from going idle."""
        try:
            self.session_user = await offload(validate_session, self.token)
            self._touched = time.monotonic()
        except SignedOut:
            ui.navigate.to(self.signin_again())


async def open_page(
    request: Request, *, admin_only: bool = False, password_page: bool = False
) -> PageContext | Response:
    """The page's context, or the response to send instead (sign-in, forced password change, not allowed)."""
    path = request.url.path + (f'?{request.url.query}' if request.url.query else '')
    token = request.cookies.get(SESSION_COOKIE)
    try:
        session_user = await offload(validate_session, token)
    except SignedOut:
        if request.cookies.get(DEVICE_COOKIE):  # an enrolled kiosk (or a stale cookie: that page sends it on)
            return RedirectResponse(DEVICE_SIGNIN_URL if token else '/device', status_code=303)
        return RedirectResponse(signin_url(path, 'ended' if token else None), status_code=303)
    except NotSaved:
        return Response('potrack cannot reach its database right now. Try again in a moment.', status_code=503)
    if session_user.must_change_password and not password_page:
        return RedirectResponse('/account/password', status_code=303)
    ctx = PageContext(token or '', session_user, source_address(request), path)
    if admin_only and not session_user.user.is_admin:
        auth_event(
            'denied',
            **known(session_user.user.id, session_user.user.username),
            source=ctx.source,
            path=request.url.path,
        )
        return RedirectResponse(f'/denied?path={quote(request.url.path, safe="/")}', status_code=303)
    return ctx
