"""Sign-in page: user name, password, a clear message when it fails."""

from __future__ import annotations

import asyncio

from fastapi import Request
from nicegui import ui

from potrack.accounts.signin import SignInFailed, sign_in, signin_delay_s
from potrack.pages.auth_routes import browser_id, tickets
from potrack.pages.guard import offload, offload_password, safe_next, source_address
from potrack.pages.layout import bare, heading

REASONS = {
    'ended': 'Your session has ended. Please sign in again.',
    'idle': 'You were signed out after a while without activity.',
    'signedout': 'You have signed out.',
    'expired': 'The sign-in took too long. Please sign in again.',
}


def register() -> None:
    @ui.page('/signin')
    async def signin_page(request: Request, next: str = '/', reason: str = '') -> None:
        target = safe_next(next)
        source = source_address(request)
        browser = browser_id(request)
        with bare('Sign in'):
            heading('Sign in').classes('text-2xl font-bold')
            if reason in REASONS:
                ui.label(REASONS[reason]).classes('text-base opacity-80').mark('signin-reason')
            username = (
                ui.input('User name')
                .props('outlined autofocus autocomplete=username size=lg')
                .classes('w-full text-lg')
                .mark('username')
            )
            password = (
                ui.input('Password', password=True, password_toggle_button=True)
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
                    error.set_text(exc.message)
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
                ui.button('Sign in', on_click=submit)
                .props('size=lg color=teal-8 unelevated')
                .classes('w-full potrack-big-button')
                .mark('signin-button')
            )
