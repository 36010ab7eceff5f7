"""The exported workbook on paper: landscape, one page wide, the header row on every page, page numbers,
a named font on every styled cell, and the Summary chart whole with the balance on an axis of its own."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from openpyxl.worksheet.worksheet import Worksheet

from potrack.db import Database
from potrack.reports.excel.workbook import ExportRequest
from tests.test_export import _indian_time as _indian_time
from tests.test_export import export
from tests.test_reports import Floor
from tests.test_reports import floor as floor


def row_of(ws: Worksheet, first: str) -> int:
    return next(row[0].row for row in ws.iter_rows() if row[0].value == first)


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_row_and_page_numbers(
    db: Database, floor: Floor, tmp_path: Path
) -> None:
    """Printed, the export was hundreds of portrait pages in strips of three columns with nothing to say which."""
    _, sheets = export(tmp_path, floor.admin, ExportRequest(open_only=False))
    for name, ws in sheets.items():
        setup, header = ws.page_setup, ws.oddHeader
        assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ('landscape', 9, 1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name  # without it Excel ignores fitToWidth
        assert ws.oddFooter.center.text == 'Page &P of &N', name
        stamp = 'Exported 11 Mar 2026 14:05 IST'
        assert (header.left.text, header.center.text, header.right.text) == ('&F', '&A', stamp), name
        assert ws.page_margins.left < 0.75 and ws.page_margins.top > ws.page_margins.header, name
    assert sheets['Movements'].print_title_rows == sheets['Balances'].print_title_rows == '$1:$1'
    summary = sheets['Summary']
    header_row = row_of(summary, 'Work center')
    assert summary.print_title_rows == f'${header_row}:${header_row}'  # the table's header, not the report's title
    assert [brk.id for brk in summary.row_breaks.brk] == [row_of(summary, 'Total')]  # the chart: a page of its own


def test_the_chart_has_a_page_of_its_own_and_the_balance_an_axis_of_its_own(
    db: Database, floor: Floor, tmp_path: Path
) -> None:
    path, sheets = export(tmp_path, floor.admin)
    with zipfile.ZipFile(path) as z:
        chart, drawing = (z.read(f'xl/{name}1.xml').decode() for name in ('charts/chart', 'drawings/drawing'))
    anchor_row = int(re.search(r'<from>.*?<row>(\d+)</row>', drawing).group(1)) + 1  # zero-based in the file
    assert anchor_row > row_of(sheets['Summary'], 'Total')
    bars = chart[chart.index('<barChart>') : chart.index('</barChart>')]
    points = chart[chart.index('<lineChart>') : chart.index('</lineChart>')]
    assert "'Summary'!$D$17:$D$21" in bars and "'Summary'!$E$17:$E$21" in bars and '$G$' not in bars
    assert "'Summary'!$G$17:$G$21" in points  # balance now: beside IN/OUT in thousands it needs its own scale
    axes = re.findall(r'<valAx>.*?</valAx>', chart)
    assert sorted(re.search(r'<axId val="(\d+)"', axis).group(1) for axis in axes) == ['100', '200']
    assert all('<min val="0"' in axis and '<delete val="0"' in axis for axis in axes)
    assert '<crosses val="max"' in next(axis for axis in axes if '<axId val="200"' in axis)  # at the right


def test_every_styled_cell_names_its_font(db: Database, floor: Floor, tmp_path: Path) -> None:
    """A font without a name is drawn in the viewer's fallback: bold labels came out serif beside Calibri."""
    _, sheets = export(tmp_path, floor.admin, ExportRequest(open_only=False))
    styled = [cell for ws in sheets.values() for row in ws.iter_rows() for cell in row if cell.has_style]
    assert any(cell.font.b for cell in styled) and sheets['Summary']['A1'].font.sz == 14
    assert [f'{c.parent.title}!{c.coordinate}' for c in styled if c.font.name != 'Calibri'] == []
