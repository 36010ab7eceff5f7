"""The report's filters as a value that lives in the URL, so a report can be bookmarked and shared.

Work centers travel by code and users by user name (readable, stable across databases); what is not
among the person's own choices is left out with a note, and the services check scope again anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from potrack.ledger.search import MovementFilter
from potrack.reports.filters import PERIODS, FilterChoices, build_filter

TABS = ('movements', 'balances', 'charts')
MATCHES = ('prefix', 'contains')
DEFAULT_PERIOD = 'this-month'


@dataclass(frozen=True)
class ReportQuery:
    order: str = ''
    match: str = 'prefix'
    wc_codes: tuple[str, ...] = ()
    period: str = DEFAULT_PERIOD
    date_from: date | None = None  # only for period 'custom'
    date_to: date | None = None
    movement_type: str | None = None
    username: str | None = None
    open_only: bool = True
    tab: str = 'movements'
    notes: tuple[str, ...] = field(default=(), compare=False)  # what was left out of the URL, in words

    def with_(self, **changes: object) -> ReportQuery:
        return replace(self, notes=(), **changes)  # type: ignore[arg-type]


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if raw else None
    except ValueError:
        return None


def parse_query(params: Mapping[str, str]) -> ReportQuery:
    """A ReportQuery from URL parameters; anything malformed falls back to its default, with a note."""
    notes: list[str] = []
    period = params.get('period', DEFAULT_PERIOD)
    if period not in PERIODS:
        notes.append(f'Unknown period "{period[:40]}"; showing {PERIODS[DEFAULT_PERIOD].lower()}.')
        period = DEFAULT_PERIOD
    first, last = _day(params.get('from')), _day(params.get('to'))
    if period == 'custom' and first and last and first > last:
        notes.append('The start date was after the end date; they were swapped.')
        first, last = last, first
    kind = params.get('type', '').upper()
    return ReportQuery(
        order=params.get('order', '')[:80],
        match=params.get('match') if params.get('match') in MATCHES else 'prefix',  # type: ignore[arg-type]
        wc_codes=tuple(c.strip().upper() for c in params.get('wc', '').split(',') if c.strip())[:50],
        period=period,
        date_from=first if period == 'custom' else None,
        date_to=last if period == 'custom' else None,
        movement_type=kind if kind in ('IN', 'OUT') else None,
        username=params.get('user', '').strip().lower()[:40] or None,
        open_only=params.get('open', '1') != '0',
        tab=params.get('tab') if params.get('tab') in TABS else 'movements',  # type: ignore[arg-type]
        notes=tuple(notes),
    )


def query_string(q: ReportQuery) -> str:
    """The URL query of `q`, defaults left out so shared links stay short."""
    params = {
        'order': q.order.strip(),
        'match': q.match if q.match != 'prefix' else '',
        'wc': ','.join(q.wc_codes),
        'period': q.period if q.period != DEFAULT_PERIOD else '',
        'from': q.date_from.isoformat() if q.period == 'custom' and q.date_from else '',
        'to': q.date_to.isoformat() if q.period == 'custom' and q.date_to else '',
        'type': q.movement_type or '',
        'user': q.username or '',
        'open': '' if q.open_only else '0',
        'tab': q.tab if q.tab != 'movements' else '',
    }
    return urlencode({k: v for k, v in params.items() if v})


def within_choices(q: ReportQuery, choices: FilterChoices) -> ReportQuery:
    """`q` without the work centers and user the person cannot pick, with a note saying so."""
    codes = {c.code.upper() for c in choices.work_centers}
    hidden = [c for c in q.wc_codes if c not in codes]
    notes = list(q.notes)
    if hidden:
        notes.append(f'Left out {", ".join(hidden)[:120]}: not among your work centers.')
    username = q.username
    if username and username not in {u.username for u in choices.users}:
        notes.append(f'Left out user "{username}": not among the people you may see.')
        username = None
    return replace(q, wc_codes=tuple(c for c in q.wc_codes if c in codes), username=username, notes=tuple(notes))


def to_filter(q: ReportQuery, choices: FilterChoices, today: date) -> MovementFilter:
    """The service filter of `q` (call `within_choices` first). Raises InvalidInput."""
    return build_filter(
        choices,
        today=today,
        order=q.order,
        match=q.match,
        work_center_codes=q.wc_codes,
        period=q.period,
        date_from=q.date_from,
        date_to=q.date_to,
        movement_type=q.movement_type,
        username=q.username,
    )
