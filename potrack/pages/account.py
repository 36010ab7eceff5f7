"""The account page and the password change that some users must make before anything else."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from potrack.accounts.security import PASSWORD_MAX_BYTES, PASSWORD_MIN_LEN
from potrack.accounts.signin import change_password
from potrack.errors import PotrackError
from potrack.pages.forms import clear_errors, show_refusal
from potrack.pages.guard import PageContext, open_page
from potrack.pages.language_form import language_form
from potrack.pages.layout import bare, frame, heading
from potrack.pages.pin_form import pin_form
from potrack.timeutil import format_local


def password_form(ctx: PageContext, *, forced: bool) -> None:
    """Current password, new one twice; each refusal is shown next to the field it concerns."""
    # Forced, it is the page's only content (h1); otherwise a section under the page's title.
    heading('Choose a new password' if forced else 'Change password', 1 if forced else 2).classes('text-xl font-bold')
    if forced:
        ui.label('Before you continue, replace the password you were given with one only you know.').classes(
            'opacity-80'
        ).mark('forced-change')
    ui.label(
        f'At least {PASSWORD_MIN_LEN} characters (at most {PASSWORD_MAX_BYTES} bytes), not your user name, '
        'not a common password.'
    ).classes('text-sm opacity-70')
    fields = {
        'current': ui.input('Current password', password=True, password_toggle_button=True).mark('current'),
        'password': ui.input('New password', password=True, password_toggle_button=True).mark('new'),
        'repeat': ui.input('New password again', password=True, password_toggle_button=True).mark('repeat'),
    }
    for f in fields.values():
        f.props('outlined autocomplete=new-password').classes('w-full')
    fields['current'].props('autocomplete=current-password autofocus')

    async def save() -> None:
        clear_errors(fields)
        try:
            await ctx.call(
                change_password,
                current=fields['current'].value,
                new=fields['password'].value,
                repeat=fields['repeat'].value,
            )
        except PotrackError as exc:
            show_refusal(exc, fields)
            return
        ui.notify('Password changed.', type='positive')
        ui.navigate.to('/')

    fields['repeat'].on('keydown.enter', save)
    ui.button('Save new password', on_click=save).props('size=lg color=teal-8 unelevated').classes('w-full').mark(
        'save-password'
    )


def register() -> None:
    @ui.page('/account/password')
    async def password_page(request: Request) -> Response | None:
        ctx = await open_page(request, password_page=True)
        if isinstance(ctx, Response):
            return ctx
        if ctx.session_user.must_change_password:
            with bare('Change password'):
                password_form(ctx, forced=True)
        else:
            with frame(ctx, 'Change password'), ui.card().classes('w-full max-w-md'):
                password_form(ctx, forced=False)
        return None

    @ui.page('/account')
    async def account_page(request: Request) -> Response | None:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        user = ctx.session_user.user
        with frame(ctx, 'My account'):
            with ui.card().classes('w-full max-w-xl'):
                ui.label(user.display_name).classes('text-2xl font-bold')
                for label, value in [
                    ('User name', user.username),
                    ('Role', 'Administrator' if user.is_admin else 'Operator'),
                    ('Department', user.department_name or '—'),
                    ('E-mail', user.email or '—'),
                    ('Last sign-in', format_local(user.last_signin_at) or '—'),
                    ('Signed out after', f'{ctx.session_user.idle_timeout_s // 60} minutes without activity'),
                ]:
                    with ui.row().classes('gap-2'):
                        ui.label(f'{label}:').classes('opacity-70 w-36')
                        ui.label(value)
            with ui.card().classes('w-full max-w-xl').mark('language-card'):
                language_form(ctx)
            with ui.card().classes('w-full max-w-xl'):
                password_form(ctx, forced=False)
            with ui.card().classes('w-full max-w-xl').mark('pin-card'):
                pin_form(ctx)
        return None
