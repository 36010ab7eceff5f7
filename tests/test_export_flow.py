"""The export of the flow between work centers, read back as Excel would: the Scrap sheet and its chart, the
transit, scrap and rework columns of the Summary and Balances sheets, each movement's disposition on the
Movements sheet and in the CSV; typed cells with formats, never text standing in for a number.

The floor is tests.test_reports_flow's: PO-F1 on WC001 → WC002 → WC003 with scrap, rework and an undone
scrap, and QC-9 at WC005 without a route.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import event

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.ledger.search import MovementFilter
from potrack.reports.csv_export import export_csv
from potrack.reports.excel.cells import DATETIME_FORMAT
from potrack.reports.excel.data_sheets import BALANCE_TITLES, MOVEMENT_TITLES
from potrack.reports.excel.workbook import ExportRequest, export_workbook
from tests.test_export import NOW, sheet_xml, values
from tests.test_reports_flow import ORDER, FlowFloor, age_transit, make_flow_floor
from tests.test_reports_flow import _indian_time as _indian_time

COUNT, RATE = '#,##0', '0.0%'


@pytest.fixture
def flow(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> FlowFloor:
    return make_flow_floor(db, admin, make_user, wc)


def export(tmp_path: Path, actor: Actor, request: ExportRequest | None = None) -> tuple[Path, dict[str, Worksheet]]:
    path = tmp_path / 'flow.xlsx'
    export_workbook(actor, request or ExportRequest(open_only=False), path, now=NOW)
    book = load_workbook(path)
    return path, {name: book[name] for name in book.sheetnames}


def row_starting(ws: Worksheet, first: str, after: int = 0) -> int:
    """The number of the first row below `after` whose first cell is `first`."""
    return next(row[0].row for row in ws.iter_rows(min_row=after + 1) if row[0].value == first)


def cells(ws: Worksheet, row: int, width: int) -> list[Any]:
    return [ws.cell(row, column) for column in range(1, width + 1)]


def test_a_scrap_sheet_follows_the_summary_with_tables_per_reason_and_work_center(
    db: Database, flow: FlowFloor, tmp_path: Path
) -> None:
    path, sheets = export(tmp_path, flow.admin)
    assert list(sheets) == ['Summary', 'Scrap', 'Balances', 'Movements', 'Orders']
    scrap = sheets['Scrap']
    assert scrap['A1'].value == 'Scrap and rework' and scrap['A1'].font.b
    header = row_starting(scrap, 'Reason code')
    assert [c.value for c in cells(scrap, header, 6)] == ['Reason code', 'Reason', 'WC001', 'WC002', 'Total', 'Share']
    assert scrap.cell(header, 1).fill.fgColor.rgb.endswith('0F766E')
    surf, mat, total = (cells(scrap, header + i, 6) for i in (1, 2, 3))
    assert [c.value for c in surf] == ['SURF', 'Surface defect', 5, 0, 5, 1]
    assert [c.value for c in mat] == ['MAT', 'Material defect', 0, 0, 0, 0]  # scrapped, then undone
    assert [c.value for c in total[:5]] == ['Total', None, 5, 0, 5]
    assert all(c.data_type == 'n' and c.number_format == COUNT for c in surf[2:5])
    assert surf[5].number_format == RATE and isinstance(surf[5].value, int | float)
    centers = row_starting(scrap, 'Work center')
    assert [c.value for c in cells(scrap, centers, 7)] == [
        *('Work center', 'Name', 'OUT', 'Scrapped', 'Scrap rate', 'Reworked', 'Rework rate'),
    ]
    wc1, wc2, wc5 = (cells(scrap, centers + i, 7) for i in (1, 2, 3))
    assert [c.value for c in wc1[:4]] == ['WC001', 'Assembly', 65, 5] and wc1[4].value == pytest.approx(5 / 65)
    assert (wc2[2].value, wc2[3].value, wc2[5].value) == (34, 0, 4) and wc2[6].value == pytest.approx(4 / 34)
    assert (wc1[4].number_format, wc1[6].number_format, wc1[2].number_format) == (RATE, RATE, COUNT)
    assert wc5[0].value == 'WC005' and wc5[3].value == 0
    assert scrap.cell(centers + 4, 1).value == 'Total' and scrap.cell(centers + 4, 3).value == 65 + 34 + 4
    rework = row_starting(scrap, 'Reason code', centers)
    assert [c.value for c in cells(scrap, rework + 1, 5)] == ['DIM', 'Dimension out of tolerance', 0, 4, 4]
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        chart = z.read('xl/charts/chart2.xml').decode()  # chart1 is the Summary's
    assert 'xl/charts/chart1.xml' in names
    assert '<barChart>' in chart and '<grouping val="stacked"' in chart and '<barDir val="bar"' in chart
    assert chart.count('<ser>') == 2  # one per work center with scrap
    first, last = header + 1, header + 2
    assert f"'Scrap'!$C${first}:$C${last}" in chart and f"'Scrap'!$B${first}:$B${last}" in chart
    assert [brk.id for brk in scrap.row_breaks.brk] == [scrap.max_row]  # the chart: a page of its own
    assert '<f>' not in sheet_xml(path)


def test_the_scrap_sheet_prints_like_the_others_in_the_workbooks_font(
    db: Database, flow: FlowFloor, tmp_path: Path
) -> None:
    _, sheets = export(tmp_path, flow.admin)
    scrap = sheets['Scrap']
    setup = scrap.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ('landscape', 9, 1, 0)
    assert scrap.sheet_properties.pageSetUpPr.fitToPage and scrap.oddFooter.center.text == 'Page &P of &N'
    styled = [cell for row in scrap.iter_rows() for cell in row if cell.has_style]
    assert styled and all(cell.font.name == 'Calibri' for cell in styled)


def test_no_scrap_or_rework_selected_means_no_scrap_sheet(db: Database, flow: FlowFloor, tmp_path: Path) -> None:
    _, sheets = export(tmp_path, flow.admin, ExportRequest(MovementFilter(movement_type='IN')))
    assert 'Scrap' not in sheets
    _, mine = export(tmp_path, flow.quinn)
    assert list(mine) == ['Summary', 'Balances', 'Movements', 'Orders']


def test_the_summary_table_adds_scrapped_reworked_and_in_transit(db: Database, flow: FlowFloor, tmp_path: Path) -> None:
    _, sheets = export(tmp_path, flow.admin)
    summary = sheets['Summary']
    header = row_starting(summary, 'Work center')
    titles = [c.value for c in cells(summary, header, 13)]
    assert titles[7:12] == ['Open orders', 'Scrapped', 'Reworked', 'In transit now', 'Last movement (IST)']
    table = {r[0]: r for r in values(summary)[header : header + 6]}
    assert table['WC001'][2:11] == (4, 104, 65, 39, 39, 1, 5, 0, 0)
    assert table['WC002'][2:11] == (5, 40, 34, 6, 6, 1, 0, 4, 20)  # the undone scrap is no scrap
    assert table['WC003'][2:11] == (0, 0, 0, 0, 0, 0, 0, 0, 30)
    assert table['Total'][8:11] == (5, 4, 50)
    assert isinstance(summary.cell(header + 3, 11).value, int)


def test_balances_sheet_has_transit_scrap_and_rework_with_old_transit_marked(
    db: Database, flow: FlowFloor, tmp_path: Path
) -> None:
    age_transit(db, flow.wc['WC003'], 12)
    _, sheets = export(tmp_path, flow.admin, ExportRequest(open_only=True))
    balances = sheets['Balances']
    assert values(balances)[0][10:] == ('In transit', 'In transit since (IST)', 'Scrapped', 'Reworked')
    assert len(BALANCE_TITLES) == 14 and balances.auto_filter.ref == 'A1:N5'
    rows = {(r[0], r[2]): r for r in values(balances)[1:]}
    assert rows['WC001', ORDER][3:6] + rows['WC001', ORDER][10:] == (104, 65, 39, 0, None, 5, 0)
    assert rows['WC002', ORDER][3:6] + rows['WC002', ORDER][12:] == (40, 34, 6, 0, 4)
    assert rows['WC002', ORDER][10] == 20
    waiting = rows['WC003', ORDER]  # sent there, nothing received: the row is there with what is on its way
    assert waiting[3:10] == (0, 0, 0, None, None, None, None) and waiting[10] == 30
    assert isinstance(waiting[11], datetime) and waiting[11].tzinfo is None
    line = {balances.cell(r, 1).value + balances.cell(r, 3).value: r for r in range(2, balances.max_row + 1)}
    old, young = balances.cell(line['WC003' + ORDER], 12), balances.cell(line['WC002' + ORDER], 12)
    assert old.number_format == young.number_format == DATETIME_FORMAT and old.is_date
    assert old.fill.fgColor.rgb.endswith('FFC7CE') and old.font.b and old.font.name == 'Calibri'
    assert young.fill.fill_type is None
    assert balances.cell(line['WC002' + ORDER], 11).data_type == 'n'


def movement_flow_columns(rows: list[tuple]) -> dict[int, tuple]:
    """Movement id → (disposition, to work center, scrap/rework reason)."""
    return {int(r[11]): tuple(r[12:15]) for r in rows[1:]}


def test_each_movement_says_what_became_of_its_pieces_in_the_sheet_and_the_csv(
    db: Database, flow: FlowFloor, tmp_path: Path
) -> None:
    _, sheets = export(tmp_path, flow.admin)
    assert values(sheets['Movements'])[0][12:] == ('Disposition', 'To work center', 'Scrap/rework reason')
    assert MOVEMENT_TITLES[-3:] == ('Disposition', 'To work center', 'Scrap/rework reason')
    got = movement_flow_columns(values(sheets['Movements']))
    ids = flow.ids
    assert got[ids['in1']] == (None, None, None)
    assert got[ids['sent1']] == ('sent', 'WC002', None)
    assert got[ids['scrap1']] == ('scrap', None, 'Surface defect')
    assert got[ids['rework2']] == ('rework', 'WC001', 'Dimension out of tolerance')
    assert got[ids['undo2']] == ('scrap', None, 'Material defect')
    assert got[ids['qc_out']] == ('sent', None, None)  # no route: sent on to nowhere in particular
    export_csv(flow.admin, MovementFilter(), tmp_path / 'flow.csv')
    text = (tmp_path / 'flow.csv').read_text(encoding='utf-8-sig')
    lines = list(csv.reader(io.StringIO(text, newline='')))
    assert lines[0][12:] == ['Disposition', 'To work center', 'Scrap/rework reason']
    in_csv = movement_flow_columns([tuple(line) for line in lines])
    assert in_csv[ids['rework2']] == ('rework', 'WC001', 'Dimension out of tolerance')
    assert in_csv[ids['in1']] == ('', '', '')
    assert {k: tuple(v or '' for v in row) for k, row in got.items()} == in_csv


def test_the_flow_columns_come_with_the_rows_not_a_query_per_row(
    db: Database, flow: FlowFloor, tmp_path: Path, wc: Callable[[str], int]
) -> None:
    """A million-row export must not get slower per row: the disposition, the work center sent to and the
    reason are joined into the one streaming query."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, 'before_cursor_execute', seen)
    try:
        export_csv(flow.admin, MovementFilter(order='QC'), tmp_path / 'few.csv')
        few = len(statements)
        statements.clear()
        export_csv(flow.admin, MovementFilter(), tmp_path / 'all.csv')
        every = len(statements)
        statements.clear()
        export_workbook(flow.admin, ExportRequest(MovementFilter(order='QC')), tmp_path / 'few.xlsx', now=NOW)
        few_book = len(statements)
        statements.clear()
        export_workbook(flow.admin, ExportRequest(MovementFilter(order=ORDER)), tmp_path / 'all.xlsx', now=NOW)
        every_book = len(statements)
    finally:
        event.remove(db.engine, 'before_cursor_execute', seen)
    assert every == few  # 2 movements or 14: the same statements
    assert every_book == few_book  # and a Scrap sheet more, from the figures read either way
