"""Sign-in page: user name, password, a clear message when it fails; in English or Hindi.

Nobody is known yet, so the language is this browser's: chosen with the switch on the page (`?lang=hi`), kept
in the browser's own storage for this page only; a signed-in page speaks its user's language.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import Request
from nicegui import app, ui

from potrack.accounts.signin import SignInFailed, sign_in, signin_delay_s
from potrack.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, Translator, translator
from potrack.pages.auth_routes import browser_id, tickets
from potrack.pages.forms import refusal_text
from potrack.pages.guard import offload, offload_password, safe_next, source_address
from potrack.pages.language_toggle import language_toggle, speak
from potrack.pages.layout import bare, heading

REASONS = {
    'ended': N_('Your session has ended. Please sign in again.'),
    'idle': N_('You were signed out after a while without activity.'),
    'signedout': N_('You have signed out.'),
    'expired': N_('The sign-in took too long. Please sign in again.'),
}
LANGUAGE_KEY = 'signin_language'  # app.storage.browser: this browser's choice on the sign-in page


def signin_translator(lang: str) -> Translator:
    """The language asked for in the URL (the switch), kept for this browser; else the one kept before."""
    if lang in LANGUAGES:
        app.storage.browser[LANGUAGE_KEY] = lang  # while the page is built: the response still sets the cookie
    return translator(app.storage.browser.get(LANGUAGE_KEY, DEFAULT_LANGUAGE))


def register() -> None:
    @ui.page('/signin')
    async def signin_page(request: Request, next: str = '/', reason: str = '', lang: str = '') -> None:
        target = safe_next(next)
        source = source_address(request)
        browser = browser_id(request)
        t = signin_translator(lang)
        speak(t)
        with bare(t.gettext('Sign in')):
            with ui.row().classes('w-full items-center no-wrap'):
                heading(t.gettext('Sign in')).classes('text-2xl font-bold')
                ui.space()
                language_toggle(
                    t, lambda chosen: ui.navigate.to(f'/signin?{urlencode({"next": target, "lang": chosen})}')
                )
            if reason in REASONS:
                ui.label(t.gettext(REASONS[reason])).classes('text-base opacity-80').mark('signin-reason')
            username = (
                ui.input(t.gettext('User name'))
                .props('outlined autofocus autocomplete=username size=lg')
                .classes('w-full text-lg')
                .mark('username')
            )
            password = (
                ui.input(t.gettext('Password'), password=True, password_toggle_button=True)
                .props('outlined autocomplete=current-password')
                .classes('w-full text-lg')
                .mark('password')
            )
            error = ui.label('').classes('potrack-error text-base').props('role=alert').mark('signin-error')
            error.set_visibility(False)

            async def submit() -> None:
                button.props('loading')
                error.set_visibility(False)
                try:
                    # The slowdown after failures from this address waits here, not in a worker thread,
                    # so that a flood of attempts cannot hold up everybody else's sign-in. Reading it is a
                    # database call: off the event loop.
                    waited = await offload(signin_delay_s, source)
                    await asyncio.sleep(waited)
                    result = await offload_password(
                        sign_in, username.value, password.value, source=source, waited_s=waited
                    )
                except SignInFailed as exc:
                    error.set_text(refusal_text(exc, t))
                    error.set_visibility(True)
                    password.value = ''
                    password.run_method('focus')
                    return
                finally:
                    button.props(remove='loading')
                ui.navigate.to(f'/auth/complete?ticket={tickets.issue(result.token, target, browser)}')

            username.on('keydown.enter', lambda: password.run_method('focus'))
            password.on('keydown.enter', submit)
            button = (
                ui.button(t.gettext('Sign in'), on_click=submit)
                .props('size=lg color=teal-8 unelevated')
                .classes('w-full potrack-big-button')
                .mark('signin-button')
            )
