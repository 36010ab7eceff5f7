"""The enrollment page (/enroll): a browser becomes a kiosk device with the one-time code an admin gave.

The code is typed on a touch keyboard or scanned (Enter submits). The device's credential travels from here
to /enroll/complete by a one-time ticket (pages/auth_routes.py), which sets it as an HttpOnly cookie.
"""

from __future__ import annotations

import asyncio

from fastapi import Request
from nicegui import ui

from potrack.accounts.enrollment import enroll, enroll_delay_s
from potrack.errors import InvalidInput
from potrack.i18n import N_, translator
from potrack.pages.auth_routes import browser_id, device_tickets
from potrack.pages.guard import offload, source_address
from potrack.pages.layout import bare, heading

REASONS = {
    'revoked': N_('This browser is not, or no longer, an enrolled kiosk device.'),
    'expired': N_('The enrollment took too long. Please enter the code again.'),
}


def register() -> None:
    @ui.page('/enroll')
    async def enroll_page(request: Request, reason: str = '') -> None:
        t = translator(None)  # no device yet, so no device language: English until the person chooses
        source, browser = source_address(request), browser_id(request)
        with bare(t.gettext('Enroll this kiosk')):
            heading(t.gettext('Enroll this kiosk')).classes('text-2xl font-bold')
            if reason in REASONS:
                ui.label(t.gettext(REASONS[reason])).classes('text-base opacity-80').mark('enroll-reason')
            ui.label(t.gettext('Type or scan the enrollment code an administrator created for this device.')).classes(
                'text-base'
            )
            code = (
                ui.input(t.gettext('Enrollment code'))
                .props('outlined autofocus autocomplete=off autocapitalize=characters spellcheck=false size=lg')
                .classes('w-full text-2xl font-mono')
                .mark('enroll-code')
            )
            error = ui.label('').classes('potrack-error text-base').props('role=alert').mark('enroll-error')
            error.set_visibility(False)

            async def submit() -> None:
                button.props('loading')
                error.set_visibility(False)
                try:
                    waited = await offload(enroll_delay_s, source)  # failures from here slow the next try
                    await asyncio.sleep(waited)
                    enrolled = await offload(enroll, code.value, source=source, waited_s=waited)
                except InvalidInput as exc:
                    error.set_text(t.gettext(exc.message))
                    error.set_visibility(True)
                    code.value = ''
                    code.run_method('focus')
                    return
                finally:
                    button.props(remove='loading')
                ui.navigate.to(
                    f'/enroll/complete?ticket={device_tickets.issue(enrolled.credential, "/device", browser)}'
                )

            code.on('keydown.enter', submit)
            button = (
                ui.button(t.gettext('Enroll'), on_click=submit)
                .props('size=lg color=teal-8 unelevated')
                .classes('w-full potrack-big-button')
                .mark('enroll-button')
            )
