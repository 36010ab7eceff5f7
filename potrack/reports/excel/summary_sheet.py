"""The Summary sheet of the Excel export: what was asked, by whom and when, totals per work center, a chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from potrack.config import settings
from potrack.db.models import User
from potrack.ledger.search import MovementFilter
from potrack.reports.excel.cells import (
    DATETIME_FORMAT,
    TEAL,
    TITLE_FONT,
    DateTimeColumn,
    header_row,
    safe_text,
    set_widths,
    styled,
)
from potrack.reports.excel.printing import page_break_after, print_setup
from potrack.reports.filters import PERIODS
from potrack.reports.summaries import WorkCenterSummary

TABLE_TITLES = (
    *('Work center', 'Name', 'Movements', 'IN', 'OUT', 'Net (IN − OUT)', 'Balance now', 'Open orders'),
    *('Scrapped', 'Reworked', 'In transit now', 'Last movement', 'Last by'),
)
LAST_AT = TABLE_TITLES.index('Last movement')  # its title names the zone
WIDTHS = (24, 30, 12, 11, 11, 15, 13, 13, 11, 11, 15, 21, 28)
# Summed on the Total row, in the table's order.
TOTALLED = ('movements', 'qty_in', 'qty_out', 'net', 'balance', 'open_orders', 'qty_scrap', 'qty_rework', 'in_transit')
# The chart has a printed page of its own (landscape A4, the sheet scaled to the table's width of about
# 38 cm): a little narrower than the table, so it never widens what is scaled, and low enough to leave
# room for the repeated header row.
CHART_WIDTH_CM, CHART_HEIGHT_CM = 34.0, 17.0
IN_COLOR, OUT_COLOR = '4472C4', 'ED7D31'  # Office blue and orange: told apart in print and by most eyes
MATCH_WORDS = {'prefix': 'starts with', 'contains': 'contains', 'exact': 'is'}


@dataclass(frozen=True)
class SummaryInfo:
    user: User
    flt: MovementFilter
    open_only: bool
    period: str | None
    now: datetime
    rows: list[WorkCenterSummary]
    user_filter: str | None  # "Full Name (username)" of the user filter, when there is one
    orders: int = 0  # rows of the Orders sheet (0: there is none)


def _dates(info: SummaryInfo) -> str:
    first, last = info.flt.date_from, info.flt.date_to
    if first is None and last is None:
        text = 'all dates'
    elif first is None:
        text = f'up to {last:%d %b %Y}'
    elif last is None:
        text = f'from {first:%d %b %Y}'
    else:
        text = f'{first:%d %b %Y} – {last:%d %b %Y}, both included'
    preset = PERIODS.get(info.period or '')
    return f'{text} ({preset})' if preset and info.period not in ('custom', 'all') else text


def filter_lines(info: SummaryInfo) -> list[tuple[str, str]]:
    """The filters in words, as the person chose them."""
    flt = info.flt
    order = flt.order.strip().upper()
    centers = ', '.join(r.code for r in info.rows) if flt.work_center_ids else f'all you may see ({len(info.rows)})'
    zone = info.now.astimezone(settings().tz).tzname()
    return [
        ('Order number', f'{MATCH_WORDS.get(flt.match, flt.match)} {order}' if order else 'any'),
        ('Work centers', centers),
        (f'Dates ({zone} calendar days)', _dates(info)),
        ('Type', {'IN': 'IN only', 'OUT': 'OUT only'}.get(flt.movement_type or '', 'IN and OUT')),
        ('User', info.user_filter or 'anyone'),
        ('Balances sheet', 'open orders only' if info.open_only else 'every order, closed ones too'),
        ('Orders sheet', _orders_line(info.orders)),
        (
            'Note',
            'Balances and pieces in transit are as of now: dates, type and user do not apply to them. '
            'Scrapped and reworked pieces are part of the OUT selected.',
        ),
    ]


def _orders_line(count: int) -> str:
    if not count:
        return 'none: no movement selected is of an order in the order book'
    return f'{count:,} order{"" if count == 1 else "s"} of the order book with movements selected; progress as of now'


def table_header_row(info: SummaryInfo) -> int:
    """The row of the table's header: below four lines of who and when, a blank, the filters under their title,
    and a blank."""
    return 6 + len(filter_lines(info)) + 2


def write_summary(ws: WriteOnlyWorksheet, info: SummaryInfo) -> None:
    """Fill the Summary sheet (write-only: top to bottom, the chart on a printed page of its own below the table)."""
    set_widths(ws, WIDTHS)
    header = table_header_row(info)
    print_setup(ws, info.now, title_row=header)
    tz = settings().tz
    zone = info.now.astimezone(tz).tzname()
    ws.append([styled(ws, 'potrack report', font=TITLE_FONT)])
    local_now = info.now.astimezone(tz).replace(tzinfo=None, microsecond=0)
    ws.append([styled(ws, f'Generated at ({zone})'), styled(ws, local_now, number_format=DATETIME_FORMAT)])
    by = f'{info.user.full_name or info.user.username} ({info.user.username})'
    ws.append([styled(ws, 'Generated by'), safe_text(ws, by)])
    ws.append([styled(ws, 'Times'), f'{settings().timezone} ({zone}); every time in this workbook is local time'])
    ws.append([])
    ws.append([styled(ws, 'Filters', font=TITLE_FONT)])
    for label, value in filter_lines(info):
        ws.append([styled(ws, label), safe_text(ws, value)])
    ws.append([])
    titles = list(TABLE_TITLES)
    titles[LAST_AT] = f'Last movement ({zone})'
    ws.append(header_row(ws, titles))
    when = DateTimeColumn(ws, tz)
    for r in info.rows:
        ws.append(_table_row(ws, r, when))
    _total_row(ws, info.rows)
    if info.rows:
        total = header + len(info.rows) + 1
        page_break_after(ws, total)
        ws.add_chart(_chart(ws, header, header + len(info.rows)), f'A{total + 2}')
    else:
        ws.append([safe_text(ws, 'You may not see any work center, so there is nothing to sum.')])


def _table_row(ws: WriteOnlyWorksheet, r: WorkCenterSummary, when: DateTimeColumn) -> Sequence[Any]:
    name = r.name + ('' if r.is_active else ' (deactivated)')
    last_by = r.last_user_name or r.last_username
    return [
        safe_text(ws, r.code),
        safe_text(ws, name),
        r.movements,
        r.qty_in,
        r.qty_out,
        r.net,
        r.balance,
        r.open_orders,
        r.qty_scrap,
        r.qty_rework,
        r.in_transit,
        when(r.last_movement_at),
        safe_text(ws, last_by),
    ]


def _total_row(ws: WriteOnlyWorksheet, rows: list[WorkCenterSummary]) -> None:
    # Sums written as numbers, never as formulas: the workbook holds no formula at all.
    sums = [sum(getattr(r, name) for r in rows) for name in TOTALLED]
    ws.append([styled(ws, 'Total'), None, *(styled(ws, value) for value in sums)])


def _chart(ws: WriteOnlyWorksheet, header: int, last: int) -> BarChart:
    """IN and OUT of the selection (columns D and E) as bars, and the balance now (G) as points on an axis of
    its own: beside IN and OUT in the tens of thousands, a balance of a few hundred would be a bar too thin
    to see."""
    chart = BarChart()
    chart.type = 'col'
    chart.title = 'IN and OUT per work center, and the balance now'
    chart.y_axis.title = 'IN and OUT (pieces, left axis)'
    chart.y_axis.scaling.min = 0  # bars cut off at 35,000 would make OUT look a fraction of IN
    chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    for column in (4, 5):
        chart.add_data(Reference(ws, min_col=column, min_row=header, max_row=last), titles_from_data=True)
    for series, color in zip(chart.series, (IN_COLOR, OUT_COLOR), strict=True):
        series.graphicalProperties.solidFill = color
        series.graphicalProperties.line.solidFill = color
    chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    chart.legend.position = 'b'
    # openpyxl 3.1 hides axes unless told otherwise (delete=True by default); Excel then draws no labels.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart += _balance_points(ws, header, last)
    return chart


def _balance_points(ws: WriteOnlyWorksheet, header: int, last: int) -> LineChart:
    """The balance now as labelled markers without a line (work centers are not a sequence), on a second
    value axis at the right."""
    points = LineChart()
    points.add_data(Reference(ws, min_col=7, min_row=header, max_row=last), titles_from_data=True)
    balance = points.series[0]
    balance.marker.symbol = 'diamond'
    balance.marker.size = 11
    balance.marker.graphicalProperties.solidFill = TEAL
    balance.marker.graphicalProperties.line.solidFill = TEAL
    balance.graphicalProperties.line.noFill = True
    balance.smooth = False
    points.dataLabels = DataLabelList(
        dLblPos='t', showVal=True, showLegendKey=False, showCatName=False, showSerName=False, showPercent=False
    )
    points.y_axis.axId = 200  # not the bars' axis (100): its own scale
    points.y_axis.title = 'balance now (pieces, right axis)'
    points.y_axis.scaling.min = 0
    points.y_axis.crosses = 'max'  # drawn where the category axis ends: at the right
    points.y_axis.majorGridlines = None  # the bars' gridlines are enough
    points.y_axis.delete = False
    return points
