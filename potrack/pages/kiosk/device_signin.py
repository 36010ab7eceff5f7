"""The operator sign-in of an enrolled kiosk device (/device): scan a badge, or pick your name and key a PIN.

It shows the device's name large and speaks the device's language. A browser whose device cookie is missing,
unknown or revoked is sent to the enrollment page. A sign-in opens an ordinary session (the same one-time
ticket to /auth/complete as the password sign-in) and lands on the kiosk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import ui

from potrack.accounts.device_view import DEVICE_COOKIE, DeviceView
from potrack.accounts.enrollment import recognise_device
from potrack.accounts.operator_signin import (
    OperatorSignInFailed,
    device_delay_s,
    device_operators,
    sign_in_by_badge,
    sign_in_by_pin,
)
from potrack.config import settings
from potrack.errors import InvalidInput, NotSaved, PotrackError, SignedOut
from potrack.i18n import N_, Translator, translator
from potrack.pages.auth_routes import browser_id, tickets
from potrack.pages.guard import offload, offload_password
from potrack.pages.layout import bare, heading

NAMES_SHOWN = 24  # names listed at once; typing part of a name narrows a longer list
PIN_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '⌫', '0', 'OK']
REASONS = {
    'ended': N_('The session has ended. Please sign in again.'),
    'idle': N_('You were signed out after a while without activity.'),
    'entry': N_('Entry saved. Next operator, please sign in.'),
    'switch': N_('Next operator, please sign in.'),
    'signedout': N_('You have signed out.'),
}


class DeviceSignIn:
    """The badge field on top; below it the names, and the PIN pad of the name picked."""

    def __init__(self, device: DeviceView, credential: str, browser: str | None, t: Translator) -> None:
        self.device, self.credential, self.browser, self.t = device, credential, browser, t
        self.picked: tuple[int, str] | None = None
        self.badge = (
            ui.input(t.gettext('Scan your badge'), password=True)
            .props('outlined autofocus autocomplete=off size=lg')
            .classes('w-full text-xl')
            .mark('badge')
        )
        self.badge.on('keydown.enter', lambda: self.attempt(self._badge))
        self.error = ui.label('').classes('potrack-error text-base').props('role=alert').mark('device-signin-error')
        self.error.set_visibility(False)
        ui.separator()
        ui.label(t.gettext('Or pick your name and key your PIN')).classes('text-lg font-bold')
        self.search = (
            ui.input(t.gettext('Find your name'), on_change=self.list_names)
            .props('outlined clearable autocomplete=off debounce=300')
            .classes('w-full')
            .mark('name-search')
        )
        self.names = ui.column().classes('w-full gap-2').mark('names')
        with ui.column().classes('w-full gap-2') as self.pin_area:
            self.picked_label = ui.label('').classes('text-2xl font-bold').mark('picked-name')
            self.pin = (
                ui.input(t.gettext('PIN'), password=True)
                .props('outlined autocomplete=off inputmode=numeric maxlength=6 size=lg')
                .classes('w-full text-2xl')
                .mark('pin')
            )
            self.pin.on('keydown.enter', lambda: self.attempt(self._pin))
            with ui.grid(columns=3).classes('w-full gap-2'):
                for key in PIN_KEYS:
                    button = ui.button(key, on_click=lambda k=key: self.press(k)).props(
                        'unelevated color=grey-8 size=lg'
                    )
                    button.classes('w-full potrack-key').style('min-height: 56px').mark(f'pin-key-{key}')
                    if key == '⌫':
                        button.props['aria-label'] = t.gettext('Delete the last digit')
            ui.button(t.gettext('Back to the names'), on_click=self.unpick).props('flat size=lg no-caps').mark(
                'pin-back'
            )
        self.pin_area.set_visibility(False)

    async def list_names(self) -> None:
        try:
            found = await offload(
                device_operators, self.credential, search=self.search.value or '', limit=NAMES_SHOWN + 1
            )
        except PotrackError as exc:
            self.show_error(exc)
            return
        self.names.clear()
        with self.names:
            with ui.grid(columns=2).classes('w-full gap-2'):
                for user_id, name in found[:NAMES_SHOWN]:
                    ui.button(name, on_click=lambda u=user_id, n=name: self.pick(u, n)).props(
                        'outline size=lg no-caps'
                    ).classes('w-full').style('min-height: 56px').mark(f'pick-{user_id}')
            if len(found) > NAMES_SHOWN:
                ui.label(self.t.gettext('More names: type part of yours above.')).classes('opacity-80')
            if not found:
                # An empty list before any search means nobody here can use a PIN, not a misspelt name.
                none = (
                    self.t.gettext('No name found.')
                    if (self.search.value or '').strip()
                    else self.t.gettext('Nobody on this kiosk has a PIN yet: scan your badge.')
                )
                ui.label(none).classes('opacity-80').mark('no-names')

    def pick(self, user_id: int, name: str) -> None:
        self.picked = (user_id, name)
        self.picked_label.set_text(name)
        self.names.set_visibility(False)
        self.search.set_visibility(False)
        self.pin_area.set_visibility(True)
        self.pin.value = ''
        self.pin.run_method('focus')

    def unpick(self) -> None:
        self.picked = None
        self.pin_area.set_visibility(False)
        self.names.set_visibility(True)
        self.search.set_visibility(True)

    async def press(self, key: str) -> None:
        text = str(self.pin.value or '')
        if key == 'OK':
            await self.attempt(self._pin)
            return
        self.pin.value = text[:-1] if key == '⌫' else (text + key)[:6]

    async def _badge(self, waited: float) -> object:
        return await offload(sign_in_by_badge, self.credential, self.badge.value, waited_s=waited)

    async def _pin(self, waited: float) -> object:
        user_id = self.picked[0] if self.picked else None
        return await offload_password(sign_in_by_pin, self.credential, user_id, self.pin.value, waited_s=waited)

    def show_error(self, exc: PotrackError) -> None:
        if isinstance(exc, SignedOut):  # revoked meanwhile
            ui.navigate.to('/enroll?reason=revoked')
            return
        self.error.set_text(self.t.gettext(exc.message))
        self.error.set_visibility(True)

    async def attempt(self, how: Callable[[float], Awaitable[object]]) -> None:
        """One sign-in: the device's slowdown is waited out here (asyncio, no thread held), then the check."""
        self.error.set_visibility(False)
        try:
            waited = await offload(device_delay_s, self.credential)
            await asyncio.sleep(waited)
            result = await how(waited)
        except (OperatorSignInFailed, InvalidInput, SignedOut, NotSaved) as exc:
            self.badge.value = ''
            self.pin.value = ''
            self.show_error(exc)
            return
        token = getattr(result, 'token')  # noqa: B009 (the result of either way of signing in)
        ui.navigate.to(f'/auth/complete?ticket={tickets.issue(token, "/kiosk", self.browser)}')


def _to_enrollment(credential: str | None) -> Response:
    response = RedirectResponse('/enroll?reason=revoked' if credential else '/enroll', status_code=303)
    if credential:  # unknown, garbled or revoked: forget it
        response.delete_cookie(DEVICE_COOKIE, path='/', httponly=True, samesite='lax', secure=settings().https)
    return response


def register() -> None:
    @ui.page('/device')
    async def device_signin_page(request: Request, reason: str = '') -> Response | None:
        credential = request.cookies.get(DEVICE_COOKIE)
        try:
            device = await offload(recognise_device, credential)
        except NotSaved:
            return Response('potrack cannot reach its database right now. Try again in a moment.', status_code=503)
        if device is None or credential is None:
            return _to_enrollment(credential)
        t = translator(device.language)
        with bare(device.name):
            heading(device.name).classes('text-4xl font-bold').mark('device-title')
            if reason in REASONS:
                ui.label(t.gettext(REASONS[reason])).classes('text-lg opacity-80').mark('device-signin-reason')
            form = DeviceSignIn(device, credential, browser_id(request), t)
            await form.list_names()
        return None
