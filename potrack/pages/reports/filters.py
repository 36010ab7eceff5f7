"""The filter bar of the reports page: order number, work centers, dates (IST days), type, user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from potrack.pages.forms import set_field_error
from potrack.pages.reports.query import ReportQuery
from potrack.reports.filters import PERIODS, FilterChoices, period_range
from potrack.timeutil import zone_label

BOTH = 'both'
DATE_HINT = 'Type a date as YYYY-MM-DD, or pick one.'


def date_field(label: str, value: date | None, marker: str) -> ui.input:
    """A date input with a calendar to pick from; typed dates are accepted too."""
    with (
        ui.input(label, value=value.isoformat() if value else '')
        .props('outlined clearable')
        .classes('w-44')
        .mark(marker) as field
    ):
        with ui.menu().props('no-parent-event') as menu:
            with ui.date(mask='YYYY-MM-DD').props('first-day-of-week=1').bind_value(field):
                with ui.row().classes('justify-end'):
                    ui.button('Close', on_click=menu.close).props('flat')
        with field.add_slot('append'):
            ui.icon('edit_calendar', size='sm').on('click', menu.open).classes('cursor-pointer')
    return field


class FilterBar:
    """Builds the filter widgets from a ReportQuery and reports every change as a new ReportQuery."""

    def __init__(
        self,
        choices: FilterChoices,
        query: ReportQuery,
        today: date,
        on_change: Callable[[ReportQuery], Awaitable[None]],
    ) -> None:
        self.query = query
        self.today = today
        self.on_change = on_change
        self._quiet = False  # set while the bar itself fills the date fields
        self._what_row(choices, query)
        self._when_row(choices, query)
        self.show_period_dates()

    def _what_row(self, choices: FilterChoices, query: ReportQuery) -> None:
        """Order number, type and user."""
        people = {u.username: f'{u.full_name} ({u.username})' if u.full_name else u.username for u in choices.users}
        with ui.row().classes('w-full items-center gap-3'):
            self.order = (
                ui.input('Order number', value=query.order, on_change=self.changed)
                .props('outlined clearable debounce=400')
                .classes('w-56')
                .mark('f-order')
            )
            self.match = (
                ui.toggle({'prefix': 'starts with', 'contains': 'contains'}, value=query.match, on_change=self.changed)
                .props('no-caps toggle-color=teal-8 role=group aria-label="Order number match"')
                .mark('f-match')
            )
            self.kind = (
                ui.toggle({BOTH: 'IN + OUT', 'IN': 'IN', 'OUT': 'OUT'}, value=query.movement_type or BOTH)
                .props('no-caps toggle-color=teal-8 role=group aria-label="Movement type"')
                .on_value_change(self.changed)
                .mark('f-type')
            )
            self.user = (
                ui.select(people, value=query.username, label='User', with_input=True, clearable=True)
                .props('outlined')
                .classes('w-64')
                .on_value_change(self.changed)
                .mark('f-user')
            )

    def _when_row(self, choices: FilterChoices, query: ReportQuery) -> None:
        """Work centers and dates."""
        centers = {
            c.code: f'{c.code} {c.name}' + ('' if c.is_active else ' (deactivated)') for c in choices.work_centers
        }
        with ui.row().classes('w-full items-center gap-3'):
            self.centers = (
                ui.select(centers, value=list(query.wc_codes), multiple=True, label='Work centers (all when empty)')
                .props('outlined use-chips clearable')
                .classes('min-w-72')
                .on_value_change(self.changed)
                .mark('f-wc')
            )
            self.period = (
                ui.select(PERIODS, value=query.period, label=f'Dates ({zone_label()} calendar days)')
                .props('outlined')
                .classes('w-56')
                .on_value_change(self.period_changed)
                .mark('f-period')
            )
            self.first = date_field('From', query.date_from, 'f-from')
            self.last = date_field('To', query.date_to, 'f-to')
            self.first.on_value_change(self.dates_changed)
            self.last.on_value_change(self.dates_changed)

    def period_dates(self) -> tuple[str, str]:
        first, last = period_range(self.period.value, self.today)
        return first.isoformat() if first else '', last.isoformat() if last else ''

    def show_period_dates(self) -> None:
        """Fill the date fields with the days the chosen period covers."""
        if self.period.value == 'custom':
            return
        self._quiet = True
        self.first.value, self.last.value = self.period_dates()
        self._quiet = False

    def read_dates(self) -> tuple[date | None, date | None] | None:
        """The typed dates, or None after marking the field that is not a date."""
        days: list[date | None] = []
        for field in (self.first, self.last):
            raw = (field.value or '').strip()
            try:
                days.append(date.fromisoformat(raw) if raw else None)
            except ValueError:
                set_field_error(field, DATE_HINT)
                return None
            set_field_error(field, None)
        return days[0], days[1]

    async def period_changed(self) -> None:
        self.show_period_dates()
        await self.changed()

    async def dates_changed(self) -> None:
        shown = (self.first.value or '', self.last.value or '')
        if self._quiet or (self.period.value != 'custom' and shown == self.period_dates()):
            return  # the bar itself (or the calendar bound to the field) filled in the period's days
        self._quiet = True
        self.period.value = 'custom'  # a typed or picked date makes the range the person's own
        self._quiet = False
        await self.changed()

    async def changed(self) -> None:
        if self._quiet:
            return
        days = self.read_dates() if self.period.value == 'custom' else (None, None)
        if days is None:
            return
        kind = self.kind.value if self.kind.value != BOTH else None
        self.query = self.query.with_(
            order=(self.order.value or '').strip(),
            match=self.match.value,
            wc_codes=tuple(self.centers.value or ()),
            period=self.period.value,
            date_from=days[0],
            date_to=days[1],
            movement_type=kind,
            username=self.user.value or None,
        )
        await self.on_change(self.query)
