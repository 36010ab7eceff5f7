"""How every sheet of the export prints: landscape A4, one page wide, its header row on every page, numbered.

Without a page setup a spreadsheet prints at 100 % on portrait pages, so a wide sheet comes out in strips
of a few columns, hundreds of pages long, with nothing to say which page is which. Here every sheet is
scaled to the page's width (and runs as many pages down as it needs), repeats its header row, and says
in its header and footer which file, sheet and page it is.

A write-only sheet writes its properties, where "fit to page" lives, with its first row: call
`print_setup` before the first `append`. The rest is written when the workbook is saved.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break

from potrack.config import settings
from potrack.reports.excel.cells import FONT_NAME

if TYPE_CHECKING:
    from openpyxl.worksheet.header_footer import _HeaderFooterPart

PAPER_A4 = 9  # ECMA-376 paper size code; A4 is the paper of Indian offices (Letter would be 1)
# Inches, as the file format has them: narrow sides for wide tables, room at the top and bottom for the
# header and footer lines. Top and bottom 0.8 rather than Excel's 0.75: LibreOffice without Calibri's
# metrics (Debian's fonts-crosextra-carlito) ended a sheet with an empty page at some row counts.
MARGINS = PageMargins(left=0.4, right=0.4, top=0.8, bottom=0.8, header=0.3, footer=0.3)
PAGE_NUMBERS = 'Page &P of &N'  # &P: this page, &N: every page printed with it


def _escaped(text: str) -> str:
    """Text for a header or footer: a lone '&' would start a code there."""
    return text.replace('&', '&&')


def _part(part: _HeaderFooterPart, text: str, *, bold: bool = False) -> None:
    part.text = text
    part.font = f'{FONT_NAME},{"Bold" if bold else "Regular"}'  # the header in the cells' font, not the viewer's


def print_setup(ws: WriteOnlyWorksheet, now: datetime, *, title_row: int = 1, gridlines: bool = False) -> None:
    """Landscape A4, one page wide and any number of pages tall, `title_row` repeated at the top of every page;
    the file name, the sheet name and the time of the export in the header, page numbers in the footer."""
    ws.sheet_properties.pageSetUpPr.fitToPage = True  # written with the first row of a write-only sheet
    setup = ws.page_setup
    setup.orientation = 'landscape'
    setup.paperSize = PAPER_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # 0: as many pages tall as the rows need
    ws.page_margins = MARGINS
    ws.print_title_rows = f'{title_row}:{title_row}'
    ws.print_options.gridLines = gridlines
    local = now.astimezone(settings().tz)
    _part(ws.oddHeader.left, '&F')  # the file's name: the export's own name says what and when
    _part(ws.oddHeader.center, '&A', bold=True)  # the sheet's name
    _part(ws.oddHeader.right, _escaped(f'Exported {local:%d %b %Y %H:%M} {local.tzname()}'))
    _part(ws.oddFooter.center, PAGE_NUMBERS)


def page_break_after(ws: WriteOnlyWorksheet, row: int) -> None:
    """Start a new printed page below `row` (written when the workbook is saved)."""
    ws.row_breaks.append(Break(id=row))
