"""The API tokens tab: issue a token for a user (shown once), see when each was last used, revoke one."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.accounts.tokens import TokenInfo, issue_token, list_tokens, revoke_token
from potrack.accounts.user_list import user_choices
from potrack.errors import InvalidInput, PotrackError
from potrack.live import feed
from potrack.pages import forms
from potrack.pages.admin.widgets import FormDialog, SelectTable, choice_field, confirm, done_row, text_field
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, zone_label


def columns() -> list[dict[str, str]]:
    """The table's columns; times are in the site's zone (POTRACK_TIMEZONE), named as such."""
    zone = zone_label()
    return [
        {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
        {'name': 'username', 'label': 'Acts as', 'field': 'username', 'align': 'left'},
        {'name': 'created', 'label': f'Issued ({zone})', 'field': 'created', 'align': 'left'},
        {'name': 'last_used', 'label': f'Last used ({zone})', 'field': 'last_used', 'align': 'left'},
        {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
    ]


def token_row(t: TokenInfo) -> dict[str, Any]:
    status = 'active' if t.active else f'revoked {format_local(t.revoked_at)}'
    return {
        'id': t.id,
        'name': t.name,
        'username': t.username,
        'created': format_local(t.created_at),
        'last_used': format_local(t.last_used_at) or 'never',
        'active': t.active,
        'status': status,
    }


def show_token(home: Any, name: str, token: str) -> None:
    """The secret, once, in a read-only field with a copy button; closing the dialog forgets it."""
    title = f'API token "{name}"'
    with home, forms.dialog(title) as dialog, ui.card().classes('w-[40rem] max-w-full gap-3 p-5'):
        ui.label(title).classes('text-xl font-bold')
        ui.label('Copy it now into the client that will use it. It is shown only this once.').classes('text-base')
        field = (
            ui.input('Token', value=token).props('outlined readonly').classes('w-full font-mono').mark('token-secret')
        )
        with field.add_slot('append'):
            ui.button(icon='content_copy', on_click=lambda: ui.clipboard.write(token)).props('flat round').mark(
                'token-copy'
            )
        done_row(dialog, 'token-done')
    dialog.open()


class TokensTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.loaded = False
        self.table: SelectTable
        with ui.row().classes('w-full items-center gap-2'):
            ui.button('New API token', icon='key', on_click=self.open_form).props(
                'unelevated size=lg no-caps color=teal-8'
            ).mark('token-new')
            self.revoke_button = (
                ui.button('Revoke', icon='block', on_click=self.open_revoke)
                .props('outline size=lg no-caps')
                .mark('token-revoke')
            )
        ui.label(
            'A token lets another program use the REST API (/api/v1) as the chosen user, seeing only what that '
            "user's department sees."
        ).classes('text-sm opacity-80')
        self.table = SelectTable(columns(), 'tokens-table', self.chose)

    def chose(self) -> None:
        row = self.table.chosen
        self.revoke_button.set_enabled(row is not None and row['active'])

    async def load(self) -> None:
        """Read the tokens again (each time the tab opens, so "last used" is fresh)."""
        try:
            tokens = await self.ctx.call(list_tokens)
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.loaded = True
        self.table.show([token_row(t) for t in tokens])

    async def on_change(self, change: feed.Change) -> None:
        if self.loaded and change.kind in ('users', 'resync'):
            await self.load()

    async def open_form(self) -> None:
        try:
            users = dict(await self.ctx.call(user_choices))
        except PotrackError as exc:
            show_refusal(exc)
            return
        dlg = FormDialog('New API token', 'token-dialog', save_label='Issue token')
        with dlg.body:
            dlg.fields['user'] = choice_field('Acts as user', users, 'token-user')
            dlg.fields['name'] = text_field('Name', 'token-name', hint='What uses it, e.g. "Line 3 scanner gateway"')

        async def save() -> None:
            user_id = dlg.value('user')
            if user_id is None:
                raise InvalidInput('Choose the user the token acts as.', field='user')
            issued = await self.ctx.call(issue_token, user_id=user_id, name=dlg.value('name'))
            await self.load()
            self.table.choose(issued.info.id)
            show_token(dlg.home, issued.info.name, issued.token)

        dlg.on_save = save

    def open_revoke(self) -> None:
        row = self.table.chosen
        if row is None:
            return

        async def act() -> None:
            await self.ctx.call(revoke_token, token_id=row['id'])
            await self.load()
            ui.notify(f'API token "{row["name"]}" revoked.', type='positive')

        message = f'Programs using it as {row["username"]} are refused from now on. This cannot be undone.'
        confirm(f'Revoke "{row["name"]}"?', message, 'Revoke', 'token-revoke-dialog', act, danger=True)
