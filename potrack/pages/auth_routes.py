"""Plain HTTP endpoints: the session cookie is set and cleared here (a websocket cannot set cookies)."""

from __future__ import annotations

import secrets
import threading
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from nicegui import run

from potrack.accounts.authlog import auth_event
from potrack.accounts.device_view import DEVICE_COOKIE
from potrack.accounts.sessions import end_session
from potrack.config import settings
from potrack.db.engine import database
from potrack.pages.guard import SESSION_COOKIE, safe_next, signin_url, source_address

TICKET_TTL_S = 30
DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest a browser keeps a cookie (Chromium caps it here)
DEVICE_SIGNIN_PATH = '/device'
DEFAULT_PORTS = {'http': 80, 'https': 443}
router = APIRouter()


class Tickets:
    """One-time tickets carrying a fresh session token from the sign-in page to /auth/complete.

    The token itself never appears in a URL; the ticket is useless after one use or 30 seconds, and in
    any browser but the one that signed in (its NiceGUI browser id): a ticket link sent to someone else
    must not sign them in as its owner.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str, str | None, float]] = {}
        self._lock = threading.Lock()

    def issue(self, token: str, next_path: str, browser_id: str | None) -> str:
        ticket = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            for key in [k for k, item in self._items.items() if item[3] < now]:
                del self._items[key]
            self._items[ticket] = (token, safe_next(next_path), browser_id, now + TICKET_TTL_S)
        return ticket

    def redeem(self, ticket: str, browser_id: str | None) -> tuple[str, str] | None:
        with self._lock:
            item = self._items.pop(ticket, None)
        if item is None or item[3] < time.monotonic() or item[2] != browser_id:
            return None
        return item[0], item[1]


def browser_id(request: Request) -> str | None:
    """NiceGUI's id of this browser, kept in its signed session cookie (none without a storage secret)."""
    session = request.scope.get('session')
    return str(session['id']) if isinstance(session, dict) and 'id' in session else None


tickets = Tickets()
device_tickets = Tickets()  # carry a device credential from the enrollment page to /enroll/complete


@router.get('/enroll/complete')
async def complete_enrollment(request: Request, ticket: str = '') -> RedirectResponse:
    """Set the device cookie: long-lived, HttpOnly, revocable (only its SHA-256 is stored)."""
    redeemed = device_tickets.redeem(ticket, browser_id(request))
    if redeemed is None:
        return RedirectResponse('/enroll?reason=expired', status_code=303)
    credential, next_path = redeemed
    response = RedirectResponse(next_path, status_code=303)
    set_device_cookie(response, credential)
    return response


def set_device_cookie(response: Response, credential: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        credential,
        max_age=DEVICE_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite='lax',
        secure=settings().https,
        path='/',
    )


@router.get('/auth/complete')
async def complete_signin(request: Request, ticket: str = '') -> RedirectResponse:
    redeemed = tickets.redeem(ticket, browser_id(request))
    if redeemed is None:
        return RedirectResponse(signin_url('/', 'expired'), status_code=303)
    token, next_path = redeemed
    old = request.cookies.get(SESSION_COOKIE)
    if old and old != token:
        await run.io_bound(end_session, old, 'replaced at sign-in')
    response = RedirectResponse(next_path, status_code=303)
    cfg = settings()
    response.set_cookie(
        SESSION_COOKIE, token, max_age=cfg.session_lifetime_s, httponly=True, samesite='lax', secure=cfg.https, path='/'
    )
    # A kiosk device's cookie is set again at each sign-in on it: a browser keeps a cookie 400 days at most, and a
    # device in daily use must not fall back to enrollment then. A revoked credential renewed stays revoked.
    if device := request.cookies.get(DEVICE_COOKIE):
        set_device_cookie(response, device)
    return response


def same_origin(request: Request) -> bool:
    """Whether the browser says this request comes from a page of this site (Origin, else Referer).

    Compared with the Host the request was sent to: the host name always, the port when Host names one (a
    proxy's `proxy_set_header Host $host` drops it). No header, or `Origin: null`, is not this site.
    """
    claimed = request.headers.get('origin') or request.headers.get('referer') or ''
    host = request.headers.get('host', '')
    try:
        source = urlsplit(claimed)
        target = urlsplit(f'//{host}')
        if source.scheme not in ('http', 'https') or not source.hostname or not target.hostname:
            return False
        if source.hostname != target.hostname:
            return False
        return target.port is None or (source.port or DEFAULT_PORTS[source.scheme]) == target.port
    except ValueError:  # a malformed port or address
        return False


@router.post('/auth/signout', response_model=None)
async def signout(request: Request, reason: str = '') -> RedirectResponse | PlainTextResponse:
    """Sign this browser out: a POST from a page of this site only, so no link elsewhere can do it."""
    if not same_origin(request):
        return PlainTextResponse('Sign-out is only accepted from a page of this site.\n', status_code=403)
    user_id = await run.io_bound(
        end_session, request.cookies.get(SESSION_COOKIE), 'idle' if reason == 'idle' else 'signed out'
    )
    if user_id is not None:
        auth_event('signout', user_id=user_id, source=source_address(request), reason=reason or 'button')
    response = RedirectResponse(signin_url('/', 'idle' if reason == 'idle' else 'signedout'), status_code=303)
    if request.cookies.get(DEVICE_COOKIE):  # a kiosk device: back to its operator sign-in (it checks the device)
        response = RedirectResponse(f'{DEVICE_SIGNIN_PATH}?reason={_device_reason(reason)}', status_code=303)
    response.delete_cookie(SESSION_COOKIE, path='/', httponly=True, samesite='lax', secure=settings().https)
    return response


def _device_reason(reason: str) -> str:
    return reason if reason in ('idle', 'entry', 'switch') else 'signedout'


@router.get('/auth/signout')
async def signout_link() -> RedirectResponse:
    """The old sign-out link signs nobody out: it opens the home page, which asks for sign-in if needed.

    A redirect rather than a 405: a bookmark or a kiosk still running a cached idle.js (which navigated
    here) lands on a working page instead of an error text, and the server ends an idle session itself.
    """
    return RedirectResponse('/', status_code=303)


@router.get('/healthz')
async def healthz() -> JSONResponse:
    ok = await run.io_bound(database().ping)
    return JSONResponse(
        {'status': 'ok' if ok else 'unavailable', 'database': 'reachable' if ok else 'unreachable'},
        status_code=200 if ok else 503,
    )
