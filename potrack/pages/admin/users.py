"""The Users tab: search and filter the accounts, page through them, act on the one chosen."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.accounts.throttle import ACCOUNT_FREE_FAILURES
from potrack.accounts.tokens import active_token_count
from potrack.accounts.user_list import list_users
from potrack.accounts.users import UserInfo
from potrack.common.paging import Page
from potrack.errors import PotrackError
from potrack.live import feed
from potrack.masters.catalog import DepartmentInfo, list_departments
from potrack.pages.admin import user_dialogs as dialogs
from potrack.pages.admin.widgets import ALL, Pager, SelectTable
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, zone_label

PAGE_SIZE = 25


def columns() -> list[dict[str, str]]:
    """The table's columns; times are in the site's zone (POTRACK_TIMEZONE), named as such."""
    zone = zone_label()
    return [
        {'name': 'username', 'label': 'User name', 'field': 'username', 'align': 'left'},
        {'name': 'full_name', 'label': 'Full name', 'field': 'full_name', 'align': 'left'},
        {'name': 'department', 'label': 'Department', 'field': 'department', 'align': 'left'},
        {'name': 'role', 'label': 'Role', 'field': 'role', 'align': 'left'},
        {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
        {'name': 'email', 'label': 'E-mail', 'field': 'email', 'align': 'left'},
        {'name': 'last', 'label': f'Last sign-in ({zone})', 'field': 'last', 'align': 'left'},
    ]


ROLE_FILTER = {ALL: 'All roles', 'admin': 'Administrators', 'operator': 'Operators'}
ACTIVE_FILTER = {ALL: 'Any status', 'yes': 'Active', 'no': 'Deactivated'}
SLOWED_FILTER = {ALL: 'Sign-in slowed or not', 'yes': 'Sign-in slowed down', 'no': 'Sign-in not slowed'}
YES_NO = {ALL: None, 'yes': True, 'no': False}


def user_row(u: UserInfo) -> dict[str, Any]:
    status = 'active' if u.is_active else 'deactivated'
    if u.failed_signins:
        status += f' · {u.failed_signins} failed sign-in{"s" if u.failed_signins > 1 else ""}'
        if u.failed_signins >= ACCOUNT_FREE_FAILURES:
            status += ', slowed down'
    if u.must_change_password:
        status += ' · must change password'
    kiosk_ways = [way for way, has in (('badge', u.has_badge), ('PIN', u.has_pin)) if has]
    if kiosk_ways:
        status += f' · {" and ".join(kiosk_ways)}'
    return {
        'id': u.id,
        'username': u.username,
        'full_name': u.full_name,
        'email': u.email,
        'department': u.department_name or '—',
        'department_id': u.department_id,
        'role': 'Administrator' if u.is_admin else 'Operator',
        'is_admin': u.is_admin,
        'is_active': u.is_active,
        'failed_signins': u.failed_signins,
        'has_badge': u.has_badge,
        'has_pin': u.has_pin,
        'status': status,
        'last': format_local(u.last_signin_at) or '—',
    }


class UsersTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.departments: list[DepartmentInfo] = []
        with ui.row().classes('w-full items-center gap-3'):
            self.search = (
                ui.input('Search name or e-mail', on_change=self.reload)
                .props('outlined dense clearable debounce=300')
                .classes('w-64')
                .mark('users-search')
            )
            self.department = self._filter({ALL: 'All departments'}, 'users-department', 'Department')
            self.role = self._filter(ROLE_FILTER, 'users-role', 'Role')
            self.active = self._filter(ACTIVE_FILTER, 'users-active', 'Status')
            self.slowed = self._filter(SLOWED_FILTER, 'users-slowed', 'Sign-in slowdown')
        with ui.row().classes('w-full items-center gap-2'):
            ui.button('New user', icon='person_add', on_click=self.create).props(
                'unelevated size=lg no-caps color=teal-8'
            ).mark('user-new')
            self.edit_button = self._action('Edit', 'edit', self.edit, 'user-edit')
            self.active_button = self._action('Deactivate', 'person_off', self.set_active, 'user-active')
            self.reset_button = self._action('Reset password', 'key', self.reset, 'user-reset')
            self.codes_button = self._action('Badge / PIN', 'badge', self.operator_codes, 'user-codes')
            self.clear_delay_button = self._action(
                'Clear sign-in delay', 'lock_clock', self.clear_delay, 'user-clear-delay'
            )
        self.table = SelectTable(columns(), 'users-table', self.chose)
        self.pager = Pager('users', PAGE_SIZE, self.load)

    def _filter(self, options: dict[Any, str], marker: str, name: str) -> ui.select:
        field = (
            ui.select(options, value=ALL, on_change=self.reload).props('outlined dense').classes('w-48').mark(marker)
        )
        field.props['aria-label'] = name  # no visible label: its first choice says what it filters
        return field

    def _action(self, label: str, icon: str, handler: Any, marker: str) -> ui.button:
        return ui.button(label, icon=icon, on_click=handler).props('outline size=lg no-caps').mark(marker)

    def chose(self) -> None:
        row = self.table.chosen
        for button in (self.edit_button, self.active_button, self.reset_button, self.codes_button):
            button.set_enabled(row is not None)
        self.clear_delay_button.set_enabled(bool(row and row['failed_signins']))
        active = bool(row is None or row['is_active'])
        self.active_button.set_text('Deactivate' if active else 'Activate')
        self.active_button.props(f'icon={"person_off" if active else "person"}')
        if row is not None and row['id'] == self.ctx.actor.user_id and active:
            self.active_button.disable()  # nobody deactivates themselves (the service refuses it too)

    async def load_departments(self) -> None:
        try:
            self.departments = await self.ctx.call(list_departments)
        except PotrackError as exc:
            show_refusal(exc)
            return
        options: dict[Any, str] = {ALL: 'All departments', **{d.id: d.name for d in self.departments}}
        self.department.set_options(options, value=self.department.value if self.department.value in options else ALL)

    async def reload(self) -> None:
        self.pager.offset = 0
        await self.load()

    async def load(self) -> None:
        try:
            page: Page[UserInfo] = await self.ctx.call(
                list_users,
                search=self.search.value or '',
                department_id=self.department.value or None,
                role=self.role.value or None,
                active=YES_NO[self.active.value],
                slowed=YES_NO[self.slowed.value],
                offset=self.pager.offset,
                limit=PAGE_SIZE,
            )
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.table.show([user_row(u) for u in page.rows])
        self.pager.shown(len(page.rows), page.total)

    async def on_change(self, change: feed.Change) -> None:
        if change.kind == 'masters':
            await self.load_departments()
        if change.kind in ('masters', 'users', 'resync'):
            await self.load()

    async def load_and_choose(self, user_id: int) -> None:
        await self.load()
        self.table.choose(user_id)

    def create(self) -> None:
        dialogs.open_create(self.ctx, self.departments, self.load_and_choose)

    def edit(self) -> None:
        if self.table.chosen:
            dialogs.open_edit(self.ctx, self.table.chosen, self.departments, self.load)

    def set_active(self) -> None:
        if self.table.chosen:
            dialogs.open_set_active(self.ctx, self.table.chosen, self.load)

    async def reset(self) -> None:
        row = self.table.chosen
        if row is None:
            return
        try:
            active_tokens = await self.ctx.call(active_token_count, user_id=row['id'])
        except PotrackError as exc:
            show_refusal(exc)
            return
        dialogs.open_reset(self.ctx, row, self.load, active_tokens)

    def operator_codes(self) -> None:
        if self.table.chosen:
            dialogs.open_operator_codes(self.ctx, self.table.chosen, self.load)

    def clear_delay(self) -> None:
        if self.table.chosen:
            dialogs.open_clear_delay(self.ctx, self.table.chosen, self.load)
