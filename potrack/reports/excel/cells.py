"""Cells for write-only openpyxl sheets: text that can never become a formula, local datetimes, headers, widths.

Write-only sheets take plain values (fast) or `WriteOnlyCell`s (styled, slower); everything here hands
out plain values where that is safe and a cell only where a style or a forced type is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.fonts import DEFAULT_FONT
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FONT_NAME = DEFAULT_FONT.name  # Calibri, the workbook's default font


def named_font(**style: Any) -> Font:
    """The workbook's default font with `style` on top.

    A `Font` without a name is drawn in the viewer's fallback font (LibreOffice picks a serif one), so a
    bold label would stand in another typeface than the plain cell beside it.
    """
    base = {'name': FONT_NAME, 'sz': DEFAULT_FONT.sz, 'family': DEFAULT_FONT.family, 'scheme': DEFAULT_FONT.scheme}
    return Font(**(base | style))


HEADER_FONT = named_font(b=True, color='FFFFFF')
TEAL = '0F766E'  # potrack's teal, readable with white text
HEADER_FILL = PatternFill('solid', fgColor=TEAL)
BOLD = named_font(b=True)
TITLE_FONT = named_font(b=True, sz=14)
# Excel's own "light red fill with dark red text" (late orders, old transit): 5.9:1, readable in print and in
# Excel's default theme.
LATE_FONT = named_font(b=True, color='9C0006')
LATE_FILL = PatternFill('solid', fgColor='FFC7CE')
DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss'
DATETIME_WIDTH = 20
MAX_WIDTH = 60
# Excel (and CSV viewers) read these first characters as the start of a formula or command.
FORMULA_START = ('=', '+', '-', '@', '\t', '\r')
# Characters XML 1.0 cannot carry (openpyxl raises IllegalCharacterError on most; the rest corrupt the file).
_ILLEGAL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
REPLACEMENT = '\ufffd'


def clean_text(value: str) -> str:
    """`value` with characters a workbook cannot hold replaced by U+FFFD, so the loss stays visible."""
    return _ILLEGAL.sub(REPLACEMENT, value) if _ILLEGAL.search(value) else value


def safe_text(ws: WriteOnlyWorksheet, value: str | None) -> str | Cell | None:
    """A text value that reads back as exactly this text: never a formula, never a broken file."""
    if value is None:
        return None
    value = clean_text(value)
    if not value.startswith(FORMULA_START):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = 's'  # openpyxl made it a formula ('f') because of the leading '='
    cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    return cell


class TextColumn:
    """`safe_text` for a column with few distinct values (codes, names), remembered per value."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.seen: dict[str | None, Any] = {}

    def __call__(self, value: str | None) -> Any:
        try:
            return self.seen[value]
        except KeyError:
            cell = self.seen[value] = safe_text(self.ws, value)
            return cell


class DateTimeColumn:
    """Local wall-clock datetimes with a date-time number format, from aware UTC datetimes.

    One styled cell is reused for every row: a write-only sheet writes each row out before the next is
    appended, and building a fresh styled cell per row is a measurable part of a large export.
    """

    def __init__(self, ws: WriteOnlyWorksheet, tz: Any) -> None:
        self.tz = tz
        self.cell = WriteOnlyCell(ws)
        self.cell.number_format = DATETIME_FORMAT

    def __call__(self, moment: datetime | None) -> Cell | None:
        if moment is None:
            return None
        # Excel has no time zones, and it rounds fractions of a second up on screen: show what the page shows.
        self.cell.value = moment.astimezone(self.tz).replace(tzinfo=None, microsecond=0)
        return self.cell


def styled(ws: WriteOnlyWorksheet, value: Any, *, font: Font | None = None, number_format: str | None = None) -> Any:
    cell = WriteOnlyCell(ws, value)
    cell.font = font or BOLD
    if number_format:
        cell.number_format = number_format
    return cell


def header_row(ws: WriteOnlyWorksheet, titles: Sequence[str]) -> list[Cell]:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(ws, title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical='center')
        cells.append(cell)
    return cells


def fit_width(title: str, longest: int | None) -> float:
    """A column width (in characters) that shows the title and the longest value, within reason."""
    return float(min(max(len(title), longest or 0) + 3, MAX_WIDTH))


def set_widths(ws: WriteOnlyWorksheet, widths: Sequence[float]) -> None:
    """Column widths; on a write-only sheet they must be set before the first row is appended."""
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width


def table_sheet(ws: WriteOnlyWorksheet, titles: Sequence[str], widths: Sequence[float]) -> None:
    """Widths, a frozen header row and the header itself; call `finish_table` after the last row."""
    set_widths(ws, widths)
    ws.freeze_panes = 'A2'
    ws.append(header_row(ws, titles))


def finish_table(ws: WriteOnlyWorksheet, columns: int, rows: int) -> None:
    """An autofilter over the header and the `rows` rows under it (written at the sheet's end, so set last)."""
    ws.auto_filter.ref = f'A1:{get_column_letter(columns)}{rows + 1}'
