"""The dialogs of the Users tab: create, edit, activate / deactivate, reset password (and API tokens),
set a kiosk badge and PIN, clear a sign-in delay.

Each dialog calls one service through `ctx.call`; the service decides (last admin, your own account,
valid e-mail, free user name) and its refusal appears under the field it concerns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from potrack.accounts.operator_codes import set_operator_codes
from potrack.accounts.security import PASSWORD_MIN_LEN
from potrack.accounts.user_admin import (
    clear_signin_delay,
    create_account,
    reset_password,
    set_user_active,
    signs_out,
    update_user,
)
from potrack.accounts.users import UserInfo
from potrack.config import settings
from potrack.masters.catalog import DepartmentInfo
from potrack.pages.admin.widgets import FormDialog, choice_field, confirm, show_once, text_field
from potrack.pages.guard import PageContext

Done = Callable[[], Awaitable[None]]
ROLE_OPTIONS = {'operator': 'Operator', 'admin': 'Administrator'}


def department_options(departments: list[DepartmentInfo], current: int | None = None) -> dict[int, str]:
    """Active departments, plus the user's current one even when it has been deactivated."""
    return {
        d.id: d.name if d.is_active else f'{d.name} (deactivated)'
        for d in departments
        if d.is_active or d.id == current
    }


def _profile_fields(dlg: FormDialog, departments: list[DepartmentInfo], row: dict[str, Any] | None) -> None:
    """Full name, e-mail, department and role; shared by the create and edit dialogs."""
    current = row['department_id'] if row else None
    dlg.fields['full_name'] = text_field('Full name', 'user-full-name', row['full_name'] if row else '')
    dlg.fields['email'] = text_field('E-mail (optional)', 'user-email', (row['email'] or '') if row else '')
    dlg.fields['department'] = choice_field(
        'Department', department_options(departments, current), 'user-department', current
    ).props('clearable')
    role = 'admin' if row and row['is_admin'] else 'operator'
    dlg.fields['role'] = choice_field('Role', ROLE_OPTIONS, 'user-dialog-role', role)


def open_create(ctx: PageContext, departments: list[DepartmentInfo], done: Callable[[int], Awaitable[None]]) -> None:
    dlg = FormDialog('New user', 'user-dialog', save_label='Create user')
    with dlg.body:
        dlg.fields['username'] = text_field(
            'User name', 'user-username', hint='3–40 letters, digits or . _ - ; used to sign in'
        )
        _profile_fields(dlg, departments, None)
        dlg.fields['password'] = text_field(
            'Initial password',
            'user-password',
            hint=f'Leave empty to generate one; at least {PASSWORD_MIN_LEN} characters if typed',
        )

    async def save() -> None:
        info, password = await ctx.call(
            create_account,
            username=dlg.value('username'),
            full_name=dlg.value('full_name'),
            email=dlg.value('email'),
            department_id=dlg.value('department'),
            is_admin=dlg.value('role') == 'admin',
            password=dlg.value('password'),
        )
        await done(info.id)
        ui.notify(f'User {info.username} created.', type='positive')
        show_once(f'Password for {info.username}', f'Give {info.display_name} this password:', password, 'password')

    dlg.on_save = save


def open_edit(ctx: PageContext, row: dict[str, Any], departments: list[DepartmentInfo], done: Done) -> None:
    dlg = FormDialog(f'Edit {row["username"]}', 'user-dialog')
    with dlg.body:
        ui.label(f'User name: {row["username"]}').classes('opacity-80')
        _profile_fields(dlg, departments, row)
        ui.label(f'A new department or role signs {row["username"]} out everywhere at once.').classes(
            'text-sm opacity-80'
        ).mark('user-dialog-note')

    async def save() -> None:
        info: UserInfo = await ctx.call(
            update_user,
            user_id=row['id'],
            full_name=dlg.value('full_name'),
            email=dlg.value('email'),
            department_id=dlg.value('department'),
            is_admin=dlg.value('role') == 'admin',
        )
        await done()
        if signs_out(row['department_id'], row['is_admin'], info.department_id, info.is_admin):
            message = f'User {info.username} saved and signed out everywhere: the department or role changed.'
        else:
            message = f'User {info.username} saved.'
        ui.notify(message, type='positive')

    dlg.on_save = save


def open_set_active(ctx: PageContext, row: dict[str, Any], done: Done) -> None:
    active = not row['is_active']
    name = row['username']

    async def act() -> None:
        await ctx.call(set_user_active, user_id=row['id'], active=active)
        await done()
        ui.notify(f'User {name} {"activated" if active else "deactivated"}.', type='positive')

    if active:
        confirm(f'Activate {name}?', f'{name} can sign in again.', 'Activate', 'active-dialog', act)
    else:
        message = f'{name} is signed out everywhere at once and cannot sign in until activated again.'
        confirm(f'Deactivate {name}?', message, 'Deactivate', 'active-dialog', act, danger=True)


def tokens_sentence(count: int) -> str:
    """The reset dialog's offer to revoke the user's API tokens, with how many still work."""
    return f'Also revoke their {count} API token{"" if count == 1 else "s"}'


def open_reset(ctx: PageContext, row: dict[str, Any], done: Done, active_tokens: int) -> None:
    """Reset a password; when the user has working API tokens, offer (ticked) to revoke them too."""
    name = row['username']
    dlg = FormDialog(f'Reset the password of {name}', 'reset-dialog', save_label='Reset password', save_color='red-8')
    revoke: ui.checkbox | None = None
    with dlg.body:
        ui.label(f'{name} is signed out everywhere and must choose a new password at the next sign-in.')
        dlg.fields['password'] = text_field('New password', 'reset-password', hint='Leave empty to generate one')
        if active_tokens:
            revoke = ui.checkbox(tokens_sentence(active_tokens), value=True).mark('reset-revoke-tokens')
            ui.label('Programs using them stop working until they get a new token.').classes('text-sm opacity-80')

    async def save() -> None:
        # With no token shown there is nothing to keep: one issued since the dialog opened goes too.
        revoke_tokens = revoke is None or bool(revoke.value)
        _, password = await ctx.call(
            reset_password, user_id=row['id'], password=dlg.value('password'), revoke_tokens=revoke_tokens
        )
        await done()
        if revoke is not None and revoke_tokens:
            ui.notify(f'The API tokens of {name} are revoked.', type='positive')
        show_once(f'New password for {name}', f'Give {name} this password:', password, 'password')

    dlg.on_save = save


def open_clear_delay(ctx: PageContext, row: dict[str, Any], done: Done) -> None:
    name = row['username']

    async def act() -> None:
        await ctx.call(clear_signin_delay, user_id=row['id'])
        await done()
        ui.notify(f'The sign-in delay of {name} is cleared.', type='positive')

    failed, longest_s = row['failed_signins'], settings().signin_max_delay_ms // 1000
    message = (
        f'{name} has had {failed} failed sign-in{"s" if failed != 1 else ""} lately; after a few, each further '
        f'attempt waits a little longer (at most {longest_s} s). Forget them, so that the next attempts are not '
        'slowed down? If someone else is guessing, the delay comes back.'
    )
    confirm(f'Clear the sign-in delay of {name}?', message, 'Clear delay', 'clear-delay-dialog', act)


def open_operator_codes(ctx: PageContext, row: dict[str, Any], done: Done) -> None:
    """Set or remove the badge and PIN a user signs in with on kiosk devices (empty fields: left as they are)."""
    name = row['username']
    dlg = FormDialog(f'Badge and PIN of {name}', 'codes-dialog')
    with dlg.body:
        ui.label('On an enrolled kiosk device, an operator scans their badge, or picks their name and keys their PIN.')
        badge_state = 'has a badge' if row['has_badge'] else 'has no badge'
        pin_state = 'has a PIN' if row['has_pin'] else 'has no PIN'
        ui.label(f'{name} {badge_state} and {pin_state}.').classes('opacity-80').mark('codes-state')
        dlg.fields['badge'] = (
            ui.input('Scan the new badge here', password=True)
            .props('outlined autocomplete=off')
            .classes('w-full')
            .mark('codes-badge')
        )
        remove_badge = ui.checkbox('Remove the badge', value=False).mark('codes-remove-badge')
        dlg.fields['pin'] = (
            ui.input('New PIN (4–6 digits)', password=True)
            .props('outlined autocomplete=off inputmode=numeric maxlength=6')
            .classes('w-full')
            .mark('codes-pin')
        )
        remove_pin = ui.checkbox('Remove the PIN', value=False).mark('codes-remove-pin')

    async def save() -> None:
        info: UserInfo = await ctx.call(
            set_operator_codes,
            user_id=row['id'],
            badge=dlg.value('badge') or '',
            pin=dlg.value('pin') or '',
            remove_badge=bool(remove_badge.value),
            remove_pin=bool(remove_pin.value),
        )
        await done()
        ui.notify(f'Badge and PIN of {info.username} saved.', type='positive')

    dlg.on_save = save
