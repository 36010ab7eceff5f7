"""The Excel export read back as a person (and Excel) would: sheets, types, IST times, formats, safety, scope."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Connection, insert, update

from potrack.cli import main as cli_main
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import Department, OrderBalance, ProductionOrder, User
from potrack.errors import InvalidInput, NotAllowed
from potrack.ledger.search import MovementFilter
from potrack.reports.excel.cells import DATETIME_FORMAT, REPLACEMENT, clean_text, safe_text
from potrack.reports.excel.data_sheets import MOVEMENT_TITLES
from potrack.reports.excel.job import remove_export, start_export
from potrack.reports.excel.workbook import ExportRequest, export_filename, export_workbook
from tests.test_reports import IST, MAR, Floor, ist
from tests.test_reports import floor as floor

HYPERLINK = '=HYPERLINK("http://x","y")'
NOW = ist(11, 14, 5)


@pytest.fixture(autouse=True)
def _indian_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('POTRACK_TIMEZONE', 'Asia/Kolkata')
    reset_settings()
    yield
    reset_settings()


def export(tmp_path: Path, actor: Actor, request: ExportRequest | None = None) -> tuple[Path, dict[str, Worksheet]]:
    path = tmp_path / 'out.xlsx'
    export_workbook(actor, request or ExportRequest(), path, now=NOW)
    book = load_workbook(path)
    return path, {name: book[name] for name in book.sheetnames}


def values(ws: Worksheet) -> list[tuple]:
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return ''.join(z.read(n).decode() for n in z.namelist() if n.startswith('xl/worksheets/sheet'))


def test_workbook_has_three_formatted_sheets_with_ist_datetimes(db: Database, floor: Floor, tmp_path: Path) -> None:
    path, sheets = export(tmp_path, floor.admin, ExportRequest(open_only=False))
    assert list(sheets) == ['Summary', 'Balances', 'Movements', 'Orders']
    moves = sheets['Movements']
    assert values(moves)[0] == ('Time (IST)', *MOVEMENT_TITLES[1:])
    assert moves.freeze_panes == 'A2'
    assert moves.auto_filter.ref == 'A1:O9'
    header = moves['A1']
    assert header.font.b and header.fill.fgColor.rgb.endswith('0F766E')
    rows = {row[11]: row for row in values(moves)[1:]}
    late, early = rows[floor.ids['late']], rows[floor.ids['early']]
    assert late[:6] == (datetime(2026, 3, 5, 23, 59), 'PO-1001', 'WC001', 'Assembly', 'IN', 50)
    assert early[:6] == (datetime(2026, 3, 6, 0, 1), 'PO-1001', 'WC001', 'Assembly', 'OUT', 20)
    assert late[6:9] == ('anita', 'Anita', 'Production')
    reversal = rows[floor.ids['reversal']]
    assert (reversal[5], reversal[9], reversal[10]) == (-3, floor.ids['wrong'], 'wrong order')
    cell = moves['A2']
    assert isinstance(cell.value, datetime) and cell.value.tzinfo is None
    assert cell.number_format == DATETIME_FORMAT and cell.is_date
    assert moves['F2'].data_type == 'n' and isinstance(moves['F2'].value, int)
    assert [r[0] for r in values(moves)[1:]] == sorted((r[0] for r in values(moves)[1:]), reverse=True)
    assert moves.column_dimensions['B'].width >= len('PO-1001') and moves.column_dimensions['A'].width >= 19
    assert '<f>' not in sheet_xml(path)


def test_balances_sheet_lists_orders_with_last_movement_in_ist(db: Database, floor: Floor, tmp_path: Path) -> None:
    _, sheets = export(tmp_path, floor.admin)
    balances = sheets['Balances']
    assert values(balances)[0][:7] == (
        'Work center',
        'Work center name',
        'Order',
        'IN',
        'OUT',
        'Balance',
        'Last movement (IST)',
    )
    assert [r[:6] for r in values(balances)[1:]] == [
        ('WC001', 'Assembly', 'PO-1001', 50, 20, 30),
        ('WC002', 'Machining', 'PO-1001', 20, 0, 20),
        ('WC003', 'Welding', 'PO-2002', 7, 0, 7),
        ('WC005', 'Quality Control', 'QC-7', 12, 4, 8),
    ]
    assert (balances.freeze_panes, balances.auto_filter.ref) == ('A2', 'A1:N5')
    last = balances['G2']
    assert isinstance(last.value, datetime) and last.number_format == DATETIME_FORMAT
    assert balances['H5'].value == 'quinn' and balances['J5'].value == 'Quality Control'
    _, every = export(tmp_path, floor.admin, ExportRequest(open_only=False))
    assert len(values(every['Balances'])) == 1 + 5


def test_summary_names_filters_author_time_totals_and_holds_a_chart(db: Database, floor: Floor, tmp_path: Path) -> None:
    flt = MovementFilter(order='po', date_from=MAR[5], date_to=MAR[6], movement_type='IN')
    path, sheets = export(tmp_path, floor.admin, ExportRequest(flt=flt, period='custom'))
    rows = values(sheets['Summary'])
    pairs = {r[0]: r[1] for r in rows if r[0] is not None}
    assert pairs['Generated at (IST)'] == datetime(2026, 3, 11, 14, 5)
    assert sheets['Summary']['B2'].number_format == DATETIME_FORMAT
    assert pairs['Generated by'] == 'Administrator (admin)'
    assert pairs['Order number'] == 'starts with PO'
    assert pairs['Dates (IST calendar days)'] == '05 Mar 2026 – 06 Mar 2026, both included'
    assert (pairs['Type'], pairs['User'], pairs['Work centers']) == ('IN only', 'anyone', 'all you may see (5)')
    start = next(i for i, r in enumerate(rows) if r[0] == 'Work center')
    table = [r[:8] for r in rows[start + 1 : start + 7]]
    assert table == [
        ('WC001', 'Assembly', 1, 50, 0, 50, 30, 1),
        ('WC002', 'Machining', 1, 20, 0, 20, 20, 1),
        ('WC003', 'Welding', 0, 0, 0, 0, 7, 1),
        ('WC004', 'Painting', 0, 0, 0, 0, 0, 0),
        ('WC005', 'Quality Control', 0, 0, 0, 0, 0, 0),
        ('Total', None, 2, 70, 0, 70, 57, 3),
    ]
    with zipfile.ZipFile(path) as z:
        chart = z.read('xl/charts/chart1.xml').decode()
    assert '<barChart>' in chart and chart.count('<ser>') == 3  # IN, OUT, balance now
    assert "'Summary'!$D$17:$D$21" in chart and "'Summary'!$G$17:$G$21" in chart and "'Summary'!$A$17:$A$21" in chart


def insert_formula_row(conn: Connection, floor: Floor) -> None:
    """A movement (and its balance row) whose order number is a spreadsheet formula, as no form would store."""
    conn.execute(
        insert(ProductionOrder).values(
            order_number=HYPERLINK,
            work_center_id=floor.wc['WC003'],
            quantity=5,
            movement_type='IN',
            user_id=floor.anita.user_id,
            created_at=ist(7, 10, 0),
            request_id='test-formula-row',
        )
    )
    conn.execute(
        insert(OrderBalance).values(
            work_center_id=floor.wc['WC003'],
            order_number=HYPERLINK,
            qty_in=5,
            qty_out=0,
            last_movement_at=ist(7, 10, 0),
            last_user_id=floor.anita.user_id,
        )
    )


def test_formula_like_and_control_characters_come_back_as_text(db: Database, floor: Floor, tmp_path: Path) -> None:
    """Admins type names; stored text may hold anything. None of it may run or break the file."""
    with db.engine.begin() as conn:
        insert_formula_row(conn, floor)
        conn.execute(update(User).where(User.id == floor.anita.user_id).values(full_name="=cmd|' /C calc'!A0\x07"))
        conn.execute(
            update(Department).where(Department.name == 'Production').values(name='+SUM(1)\x01\x1f')
        )  # PostgreSQL text holds no NUL
        conn.execute(
            update(ProductionOrder).where(ProductionOrder.id == floor.ids['reversal']).values(reason='@x\t-1\r\x0b')
        )
    path, sheets = export(tmp_path, floor.admin, ExportRequest(open_only=False))
    moves = {row[11]: row for row in values(sheets['Movements'])[1:]}
    formula_row = next(r for r in moves.values() if r[1] == HYPERLINK)
    assert formula_row[6:9] == ('anita', "=cmd|' /C calc'!A0" + REPLACEMENT, '+SUM(1)' + REPLACEMENT * 2)
    assert moves[floor.ids['reversal']][10] == '@x\t-1\n' + REPLACEMENT  # XML reads a bare CR as a line feed
    cell = next(c for c in sheets['Movements']['B'] if c.value == HYPERLINK)
    assert cell.data_type == 's' and cell.quotePrefix
    assert HYPERLINK in [r[2] for r in values(sheets['Balances'])]
    xml = sheet_xml(path)
    assert '<f>' not in xml and '<f ' not in xml
    assert not re.search('[\x00-\x08\x0b\x0c\x0e-\x1f]', xml)


def test_an_operator_export_holds_only_their_departments_rows(db: Database, floor: Floor, tmp_path: Path) -> None:
    path, sheets = export(tmp_path, floor.quinn, ExportRequest(open_only=False))
    assert {r[2] for r in values(sheets['Movements'])[1:]} == {'WC005'}
    assert len(values(sheets['Movements'])) == 1 + 2
    assert {r[0] for r in values(sheets['Balances'])[1:]} == {'WC005'}
    summary = [r[0] for r in values(sheets['Summary'])]
    assert 'WC005' in summary and not {'WC001', 'WC002', 'WC003', 'WC004'} & set(summary)
    text = sheet_xml(path)
    assert 'PO-1001' not in text and 'anita' not in text
    with pytest.raises(NotAllowed):
        export_workbook(
            floor.quinn, ExportRequest(MovementFilter(work_center_ids=(floor.wc['WC001'],))), tmp_path / 'x.xlsx'
        )
    assert not (tmp_path / 'x.xlsx').exists()


def test_a_selection_larger_than_a_sheet_is_refused(
    db: Database, floor: Floor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module export_workbook runs in (UI tests re-import potrack modules, so not by its dotted name).
    monkeypatch.setitem(export_workbook.__globals__, 'MAX_SHEET_ROWS', 7)
    with pytest.raises(InvalidInput, match='These filters select 8 movements; an Excel sheet holds at most 7.'):
        export_workbook(floor.admin, ExportRequest(), tmp_path / 'big.xlsx')


def test_file_names_carry_the_local_time(db: Database) -> None:
    at = datetime(2026, 3, 5, 18, 29, tzinfo=UTC)
    assert export_filename(at) == 'potrack-report-20260305-2359-IST.xlsx'
    assert export_filename(at, ('WC/0 1',)) == 'potrack-report-WC01-20260305-2359-IST.xlsx'
    assert export_filename(at, ('WC001', 'WC002')) == 'potrack-report-20260305-2359-IST.xlsx'


def test_worker_process_export_reports_progress_and_relays_refusals(db: Database, floor: Floor) -> None:
    job = start_export(floor.admin, ExportRequest(MovementFilter(work_center_ids=(floor.wc['WC001'],))))
    result = job.wait(timeout_s=120)
    assert (job.state, job.done, job.total, result.movements) == ('done', 2, 2, 2)
    assert re.fullmatch(r'potrack-report-WC001-\d{8}-\d{4}-IST\.xlsx', result.filename)
    assert result.path.name == result.filename and result.path.exists()
    assert len(values(load_workbook(result.path)['Movements'])) == 3
    remove_export(result.path)
    assert not result.path.parent.exists()
    bad = start_export(floor.admin, ExportRequest(MovementFilter(date_from=MAR[7], date_to=MAR[6])))
    with pytest.raises(InvalidInput, match='The start date is after the end date.'):
        bad.wait(timeout_s=120)
    assert bad.state == 'failed' and not bad.path.parent.exists()
    with pytest.raises(NotAllowed):
        start_export(floor.quinn, ExportRequest(MovementFilter(work_center_ids=(floor.wc['WC001'],))))


def test_cli_export_with_filters(
    db: Database, floor: Floor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv('DATABASE_URL', db.url)
    out = tmp_path / 'cli.xlsx'
    args = [
        'export',
        '--out',
        str(out),
        '--user',
        'quinn',
        '--wc',
        'WC005',
        '--from',
        '2026-03-07',
        '--to',
        '2026-03-07',
    ]
    assert cli_main(args) == 0
    assert 'wrote' in capsys.readouterr().out
    moves = values(load_workbook(out)['Movements'])[1:]
    assert [(r[0], r[2], r[4], r[5]) for r in moves] == [(datetime(2026, 3, 7, 12, 0), 'WC005', 'OUT', 4)]
    assert cli_main(['export', '--out', str(tmp_path), '--user', 'quinn', '--wc', 'WC001']) == 1
    assert 'WC001 is not a work center you may see.' in capsys.readouterr().err
    assert cli_main(['export', '--out', str(tmp_path), '--type', 'in', '--period', 'all']) == 0
    written = [p for p in tmp_path.glob('potrack-report-*-IST.xlsx')]
    assert len(written) == 1
    assert {r[4] for r in values(load_workbook(written[0])['Movements'])[1:]} == {'IN'}


def test_ist_day_boundary_in_the_export(db: Database, floor: Floor, tmp_path: Path) -> None:
    _, on_5th = export(tmp_path, floor.admin, ExportRequest(MovementFilter(date_from=MAR[5], date_to=MAR[5])))
    assert [r[0] for r in values(on_5th['Movements'])[1:]] == [datetime(2026, 3, 5, 23, 59)]
    _, on_6th = export(tmp_path, floor.admin, ExportRequest(MovementFilter(date_from=MAR[6], date_to=date(2026, 3, 6))))
    assert datetime(2026, 3, 6, 0, 1) in [r[0] for r in values(on_6th['Movements'])[1:]]
    assert IST.utcoffset(datetime(2026, 3, 6)).total_seconds() == 5.5 * 3600


@pytest.mark.parametrize(
    ('stored', 'written'),
    [
        ('PO-1', 'PO-1'),
        ('a\x00b', 'a\ufffdb'),
        ('x\ufffey\ud800', 'x\ufffdy\ufffd'),
        ('tab\there\nnewline', 'tab\there\nnewline'),
    ],
)
def test_clean_text_replaces_what_a_workbook_cannot_hold(stored: str, written: str) -> None:
    assert clean_text(stored) == written


@pytest.mark.parametrize('text', ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])
def test_text_starting_like_a_formula_is_forced_to_text(text: str) -> None:
    ws = Workbook(write_only=True).create_sheet('x')
    cell = safe_text(ws, text)
    assert isinstance(cell, Cell) and cell.data_type == 's' and cell.quotePrefix and cell.value == text
    assert safe_text(ws, 'PO-1') == 'PO-1' and safe_text(ws, None) is None
