"""The Scrap sheet of the export: scrapped and reworked pieces of the selection, per reason and work center,
with a chart of the scrap per reason; there only when the selection holds scrap or rework.

Three small tables, top to bottom (a write-only sheet is written in order): scrapped pieces per reason and
work center with each reason's share, scrap and rework rates per work center (of its OUT), and reworked
pieces per reason and work center. Numbers are numbers with a number format; no formula anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from potrack.reports.excel.cells import TITLE_FONT, header_row, safe_text, set_widths, styled
from potrack.reports.excel.printing import page_break_after, print_setup
from potrack.reports.scrap import ReasonPieces, ScrapFigures
from potrack.reports.summaries import WorkCenterSummary

COUNT_FORMAT = '#,##0'
RATE_FORMAT = '0.0%'
CODE_WIDTH, LABEL_WIDTH, NUMBER_WIDTH = 16, 34, 13
CHART_WIDTH_CM, CHART_HEIGHT_CM = 30.0, 15.0
NOTE = (
    'Pieces of the OUT movements selected (see the filters on the Summary sheet), net of undone ones; '
    'rates are of the OUT selected at each work center.'
)
CENTER_TITLES = ('Work center', 'Name', 'OUT', 'Scrapped', 'Scrap rate', 'Reworked', 'Rework rate')


def number(ws: WriteOnlyWorksheet, value: float | None, number_format: str = COUNT_FORMAT) -> Any:
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value)
    cell.number_format = number_format
    return cell


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


class _Rows:
    """Appends rows and knows the number of the last one (a write-only sheet does not tell)."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.last = 0

    def __call__(self, row: Sequence[Any] = ()) -> int:
        self.ws.append(list(row))
        self.last += 1
        return self.last


def write_scrap(ws: WriteOnlyWorksheet, figures: ScrapFigures, summary: list[WorkCenterSummary], now: datetime) -> None:
    """Fill the Scrap sheet; the chart of scrap per reason on a printed page of its own below the tables."""
    columns = max(len(CENTER_TITLES), 2 + len(figures.centers) + 2)
    set_widths(ws, [CODE_WIDTH, LABEL_WIDTH, *[NUMBER_WIDTH] * (columns - 2)])
    print_setup(ws, now)
    add = _Rows(ws)
    add([styled(ws, 'Scrap and rework', font=TITLE_FONT)])
    add([NOTE])
    add()
    chart_rows = None
    if figures.scrap:
        header, last = _per_reason(add, ws, 'Scrapped pieces per reason and work center', figures.scrap, figures)
        chart_rows = (header, last)
        add()
    _per_center(add, ws, summary)
    if figures.rework:
        add()
        _per_reason(add, ws, 'Reworked pieces per reason and work center', figures.rework, figures)
    if chart_rows is not None:
        page_break_after(ws, add.last)
        ws.add_chart(_chart(ws, *chart_rows, len(figures.centers)), f'A{add.last + 2}')


def _per_reason(
    add: _Rows, ws: WriteOnlyWorksheet, title: str, reasons: list[ReasonPieces], figures: ScrapFigures
) -> tuple[int, int]:
    """A table of reasons × work centers, a Total column and a share column; (header row, last reason row)."""
    add([styled(ws, title)])
    centers = figures.centers
    header = add(header_row(ws, ['Reason code', 'Reason', *(c.code for c in centers), 'Total', 'Share']))
    whole = sum(r.total for r in reasons)
    for r in reasons:
        pieces = [number(ws, r.by_center.get(c.id, 0)) for c in centers]
        add(
            [
                safe_text(ws, r.code),
                safe_text(ws, r.label),
                *pieces,
                number(ws, r.total),
                number(ws, _rate(r.total, whole), RATE_FORMAT),
            ]
        )
    last = add.last
    sums = [sum(r.by_center.get(c.id, 0) for r in reasons) for c in centers]
    add([styled(ws, 'Total'), None, *(styled(ws, s, number_format=COUNT_FORMAT) for s in (*sums, whole))])
    return header, last


def _per_center(add: _Rows, ws: WriteOnlyWorksheet, summary: list[WorkCenterSummary]) -> None:
    add([styled(ws, 'Scrap and rework per work center')])
    add(header_row(ws, CENTER_TITLES))
    shown = [r for r in summary if r.qty_out or r.qty_scrap or r.qty_rework]
    for r in shown:
        add(
            [
                safe_text(ws, r.code),
                safe_text(ws, r.name),
                number(ws, r.qty_out),
                number(ws, r.qty_scrap),
                number(ws, _rate(r.qty_scrap, r.qty_out), RATE_FORMAT),
                number(ws, r.qty_rework),
                number(ws, _rate(r.qty_rework, r.qty_out), RATE_FORMAT),
            ]
        )
    out, scrap, rework = (sum(getattr(r, name) for r in shown) for name in ('qty_out', 'qty_scrap', 'qty_rework'))
    add(
        [
            styled(ws, 'Total'),
            None,
            styled(ws, out, number_format=COUNT_FORMAT),
            styled(ws, scrap, number_format=COUNT_FORMAT),
            styled(ws, _rate(scrap, out), number_format=RATE_FORMAT),
            styled(ws, rework, number_format=COUNT_FORMAT),
            styled(ws, _rate(rework, out), number_format=RATE_FORMAT),
        ]
    )


def _chart(ws: WriteOnlyWorksheet, header: int, last: int, centers: int) -> BarChart:
    """Scrapped pieces per reason as horizontal bars, stacked by work center (one colour each)."""
    chart = BarChart()
    chart.type = 'bar'
    chart.grouping = 'stacked'
    chart.overlap = 100  # stacked bars must overlap fully, or Excel draws them side by side, shifted
    chart.title = 'Scrapped pieces per reason, by work center'
    chart.x_axis.title = 'Reason'
    chart.y_axis.title = 'Pieces scrapped'
    chart.y_axis.scaling.min = 0
    chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    data = Reference(ws, min_col=3, max_col=2 + centers, min_row=header, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=header + 1, max_row=last))
    chart.legend.position = 'b'
    chart.x_axis.delete = False  # openpyxl 3.1 hides axes by default (see summary_sheet)
    chart.y_axis.delete = False
    return chart
