"""The Audit trail tab: who changed what, on which record, from what to what, and when (in the site's zone)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.accounts.user_list import user_choices
from potrack.common.paging import Page
from potrack.errors import PotrackError
from potrack.live import feed
from potrack.masters.audit_trail import ENTITIES, AuditFilter, AuditRow, action_label, audit_actions, list_events
from potrack.pages.admin.widgets import ALL, Pager, date_field, parse_day
from potrack.pages.forms import clear_errors, show_refusal
from potrack.pages.guard import PageContext
from potrack.timeutil import format_local, zone_label

PAGE_SIZE = 50
WRAP = 'white-space: normal; min-width: 14rem'


def columns() -> list[dict[str, str]]:
    """The table's columns; times are in the site's zone (POTRACK_TIMEZONE), named as such."""
    zone = zone_label()
    return [
        {'name': 'at', 'label': f'When ({zone})', 'field': 'at', 'align': 'left'},
        {'name': 'who', 'label': 'Who', 'field': 'who', 'align': 'left'},
        {'name': 'action', 'label': 'What', 'field': 'action', 'align': 'left'},
        {'name': 'record', 'label': 'Record', 'field': 'record', 'align': 'left'},
        {'name': 'changes', 'label': 'Before → after', 'field': 'changes', 'align': 'left', 'style': WRAP},
    ]


def audit_row(e: AuditRow) -> dict[str, Any]:
    return {
        'id': e.id,
        'at': format_local(e.at, with_seconds=True),
        'who': e.actor_username or 'system',
        'action': action_label(e.action),
        'record': f'{ENTITIES.get(e.entity, e.entity)} {e.record}',
        'changes': '; '.join(e.changes) or '—',
    }


class AuditTab:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.loaded = False
        with ui.row().classes('w-full items-start gap-3'):
            self.action = self._select({ALL: 'All actions'}, 'audit-action', 'Action')
            self.entity = self._select({ALL: 'All records', **ENTITIES}, 'audit-entity', 'Record')
            self.who = self._select({ALL: 'Everyone'}, 'audit-who', 'Who')
            self.date_from = date_field('From', 'audit-from', self.reload)
            self.date_to = date_field('To', 'audit-to', self.reload)
            ui.button('Refresh', icon='refresh', on_click=self.reload).props('flat size=lg no-caps').mark(
                'audit-refresh'
            )
        self.fields: dict[str, ui.element] = {'date_from': self.date_from, 'date_to': self.date_to}
        self.table = (
            ui.table(columns=columns(), rows=[], row_key='id')
            .props('flat bordered wrap-cells no-data-label="No audit events match these filters"')
            .classes('w-full')
            .mark('audit-table')
        )
        self.pager = Pager('audit', PAGE_SIZE, self.load)

    def _select(self, options: dict[Any, str], marker: str, name: str) -> ui.select:
        field = (
            ui.select(options, value=ALL, on_change=self.reload).props('outlined dense').classes('w-56').mark(marker)
        )
        field.props['aria-label'] = name  # no visible label: its first choice ("All actions") says what it filters
        return field

    async def load_choices(self) -> None:
        try:
            actions = await self.ctx.call(audit_actions)
            users = await self.ctx.call(user_choices)
        except PotrackError as exc:
            show_refusal(exc)
            return
        action_options = {ALL: 'All actions', **{a: action_label(a) for a in actions}}
        self.action.set_options(action_options, value=self.action.value if self.action.value in action_options else ALL)
        self.who.set_options({ALL: 'Everyone', **dict(users)}, value=self.who.value)

    async def show(self) -> None:
        """On opening the tab: fresh rows (changes are followed only once it has been opened)."""
        if not self.loaded:
            self.loaded = True
            await self.load_choices()
        await self.load()

    async def reload(self) -> None:
        self.pager.offset = 0
        await self.load()

    async def load(self) -> None:
        if not self.loaded:
            return  # not opened yet: the filters' own change events must not load it early
        clear_errors(self.fields)
        try:
            flt = AuditFilter(
                action=self.action.value or '',
                entity=self.entity.value or '',
                actor_id=self.who.value if self.who.value != ALL else None,
                date_from=parse_day(self.date_from, 'date_from'),
                date_to=parse_day(self.date_to, 'date_to'),
            )
            page: Page[AuditRow] = await self.ctx.call(list_events, flt, offset=self.pager.offset, limit=PAGE_SIZE)
        except PotrackError as exc:
            show_refusal(exc, self.fields)
            return
        self.table.rows = [audit_row(e) for e in page.rows]
        self.table.update()
        self.pager.shown(len(page.rows), page.total)

    async def on_change(self, change: feed.Change) -> None:
        # Every admin change writes an audit event; movements do not (only their reversals: 'corrections').
        if self.loaded and change.kind in ('masters', 'users', 'corrections', 'resync'):
            await self.load_choices()
            await self.load()
