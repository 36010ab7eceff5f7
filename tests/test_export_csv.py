"""The CSV export read back as another system (and Excel) would: encoding, header, IST times, rows, safety, scope."""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytz
from nicegui import ui
from nicegui.testing import User
from openpyxl import load_workbook
from sqlalchemy import update

from potrack.cli import main as cli_main
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import Department, ProductionOrder
from potrack.db.models import User as UserRow
from potrack.errors import InvalidInput, NotAllowed
from potrack.ledger.search import MovementFilter
from potrack.ledger.writer import record_movement
from potrack.reports.csv_export import ExportStopped, LocalTimes, export_csv, start_csv_export
from potrack.reports.excel.cells import REPLACEMENT
from potrack.reports.excel.data_sheets import MOVEMENT_TITLES
from potrack.reports.excel.job import EXPORT_DIR_PREFIX
from potrack.reports.excel.workbook import ExportRequest, export_workbook
from tests.conftest import TEST_PASSWORD
from tests.test_export import insert_formula_row
from tests.test_reports import MAR, Floor
from tests.test_reports import floor as floor
from tests.ui_helpers import eventually, sign_in

BOM = b'\xef\xbb\xbf'
HEADER = ['Time (IST)', *MOVEMENT_TITLES[1:]]
HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture(autouse=True)
def _indian_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('POTRACK_TIMEZONE', 'Asia/Kolkata')
    reset_settings()
    yield
    reset_settings()


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)  # Excel reads the file as UTF-8 only when it begins with the mark
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode('utf-8'), newline='')))


def export(tmp_path: Path, actor: Actor, flt: MovementFilter | None = None) -> list[list[str]]:
    path = tmp_path / 'movements.csv'
    export_csv(actor, flt or MovementFilter(), path)
    return read_csv(path.read_bytes())


def by_id(rows: list[list[str]]) -> dict[int, list[str]]:
    return {int(row[11]): row for row in rows[1:]}


def as_csv_text(value: object) -> str:
    """A workbook cell's value as the CSV writes it."""
    if isinstance(value, datetime):
        return f'{value:%Y-%m-%d %H:%M:%S}'
    return '' if value is None else str(value)


def test_the_file_is_utf8_with_a_bom_and_a_header_naming_the_zone(db: Database, floor: Floor, tmp_path: Path) -> None:
    rows = export(tmp_path, floor.admin)
    assert rows[0] == HEADER
    assert len(rows) == 1 + 8
    late, early = by_id(rows)[floor.ids['late']], by_id(rows)[floor.ids['early']]
    assert late[:6] == ['2026-03-05 23:59:00', 'PO-1001', 'WC001', 'Assembly', 'IN', '50']
    assert late[6:9] == ['anita', 'Anita', 'Production']
    assert early[:6] == ['2026-03-06 00:01:00', 'PO-1001', 'WC001', 'Assembly', 'OUT', '20']  # the IST day after
    reversal = by_id(rows)[floor.ids['reversal']]
    assert (reversal[5], reversal[9], reversal[10]) == ('-3', str(floor.ids['wrong']), 'wrong order')
    assert [r[0] for r in rows[1:]] == sorted((r[0] for r in rows[1:]), reverse=True)  # newest first


def test_the_rows_are_the_workbooks_movements_sheet(db: Database, floor: Floor, tmp_path: Path) -> None:
    flt = MovementFilter(order='po', date_from=MAR[6], date_to=MAR[7])
    export_workbook(floor.anita, ExportRequest(flt), tmp_path / 'book.xlsx')
    sheet = load_workbook(tmp_path / 'book.xlsx')['Movements']
    expected = [[as_csv_text(cell.value) for cell in row] for row in sheet.iter_rows()]
    rows = export(tmp_path, floor.anita, flt)
    assert rows == expected
    assert len(rows) == 1 + 5  # the reversal too: it is a movement of the selection


def test_formula_like_text_stays_text_and_control_characters_are_replaced(
    db: Database, floor: Floor, tmp_path: Path
) -> None:
    """Stored text may hold anything; opened in a spreadsheet, none of it may run."""
    with db.engine.begin() as conn:
        insert_formula_row(conn, floor)
        conn.execute(
            update(UserRow).where(UserRow.id == floor.anita.user_id).values(full_name="=cmd|' /C calc'!A0\x07")
        )
        conn.execute(update(Department).where(Department.name == 'Production').values(name='+SUM(1)\x01\x1f'))
        conn.execute(
            update(ProductionOrder).where(ProductionOrder.id == floor.ids['reversal']).values(reason='@x,"-1"\r\x0b')
        )
    rows = by_id(export(tmp_path, floor.admin))
    formula_row = next(r for r in rows.values() if r[1].endswith(HYPERLINK))
    assert formula_row[1] == "'" + HYPERLINK  # the apostrophe: Excel's own mark for "this is text"
    assert formula_row[6:9] == ['anita', "'=cmd|' /C calc'!A0" + REPLACEMENT, "'+SUM(1)" + REPLACEMENT * 2]
    reversal = rows[floor.ids['reversal']]
    assert reversal[10] == '\'@x,"-1"\r' + REPLACEMENT  # comma, quotes and CR survive the round trip
    assert reversal[5] == '-3'  # a negative number is a number, not a formula: left as it is
    texts = [row[i] for row in rows.values() for i in (1, 2, 3, 4, 6, 7, 8, 10)]
    assert not any(text.startswith(('=', '+', '-', '@', '\t', '\r')) for text in texts)


def test_an_operator_gets_only_their_departments_rows(db: Database, floor: Floor, tmp_path: Path) -> None:
    rows = export(tmp_path, floor.quinn)
    assert {r[2] for r in rows[1:]} == {'WC005'} and len(rows) == 1 + 2
    assert 'anita' not in (tmp_path / 'movements.csv').read_text(encoding='utf-8-sig')
    refused = tmp_path / 'refused.csv'
    with pytest.raises(NotAllowed):
        export_csv(floor.quinn, MovementFilter(work_center_ids=(floor.wc['WC001'],)), refused)
    with pytest.raises(InvalidInput, match='The start date is after the end date.'):
        export_csv(floor.admin, MovementFilter(date_from=MAR[7], date_to=MAR[6]), refused)
    assert [p.name for p in tmp_path.glob('*.csv*')] == ['movements.csv']  # no file, not even a partial one


def test_nothing_selected_is_a_header_only(db: Database, floor: Floor, tmp_path: Path) -> None:
    assert export(tmp_path, floor.admin, MovementFilter(order='NOTHING')) == [HEADER]


def test_a_stopped_export_leaves_no_file(db: Database, floor: Floor, tmp_path: Path) -> None:
    with pytest.raises(ExportStopped):
        export_csv(floor.admin, MovementFilter(), tmp_path / 'stopped.csv', should_stop=lambda: True)
    assert list(tmp_path.glob('stopped.csv*')) == []


def test_the_page_job_reports_progress_relays_refusals_and_can_be_stopped(db: Database, floor: Floor) -> None:
    job = start_csv_export(floor.admin, MovementFilter(work_center_ids=(floor.wc['WC001'],)))
    result = job.wait(timeout_s=60)
    assert (job.state, job.done, job.total, result.movements) == ('done', 2, 2, 2)
    assert re.fullmatch(r'potrack-report-WC001-\d{8}-\d{4}-IST\.csv', result.filename)
    assert len(read_csv(result.path.read_bytes())) == 1 + 2
    shutil.rmtree(result.path.parent)
    bad = start_csv_export(floor.admin, MovementFilter(date_from=MAR[7], date_to=MAR[6]))
    with pytest.raises(InvalidInput, match='The start date is after the end date.'):
        bad.wait(timeout_s=60)
    assert bad.state == 'failed' and not bad.path.parent.exists()
    with pytest.raises(NotAllowed):
        start_csv_export(floor.quinn, MovementFilter(work_center_ids=(floor.wc['WC001'],)))
    stopped = start_csv_export(floor.admin, MovementFilter())
    stopped.cancel()
    assert stopped.state == 'cancelled' and stopped.result is None
    assert not stopped.path.parent.exists()  # the worker is stopped and what it wrote deleted at once


def test_cli_writes_csv_to_a_file_or_a_folder(
    db: Database, floor: Floor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv('DATABASE_URL', db.url)
    out = tmp_path / 'erp.csv'
    dates = ['--from', '2026-03-07', '--to', '2026-03-07']
    assert cli_main(['export', '--format', 'csv', '--out', str(out), '--user', 'quinn', *dates]) == 0
    assert f'wrote {out}: 1 movements' in capsys.readouterr().out
    rows = [r[:6] for r in read_csv(out.read_bytes())]
    assert rows == [HEADER[:6], ['2026-03-07 12:00:00', 'QC-7', 'WC005', 'Quality Control', 'OUT', '4']]
    folder = tmp_path / 'drop'
    folder.mkdir()
    assert cli_main(['export', '--format', 'csv', '--out', str(folder), '--type', 'in', '--wc', 'WC003']) == 0
    written = list(folder.iterdir())
    assert len(written) == 1 and re.fullmatch(r'potrack-report-WC003-\d{8}-\d{4}-IST\.csv', written[0].name)
    assert [r[4] for r in read_csv(written[0].read_bytes())[1:]] == ['IN']
    assert cli_main(['export', '--format', 'csv', '--out', str(folder), '--user', 'quinn', '--wc', 'WC001']) == 1
    assert 'WC001 is not a work center you may see.' in capsys.readouterr().err


@pytest.mark.parametrize('zone', ['Europe/Berlin', 'America/St_Johns', 'Australia/Lord_Howe', 'Asia/Kolkata'])
def test_local_times_match_the_zone_across_clock_changes(zone: str) -> None:
    tz = pytz.timezone(zone)
    local = LocalTimes(tz)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(minutes=7 * n, seconds=n % 60, microseconds=999_999) for n in range(80_000)]
    assert [local(m) for m in moments] == [f'{m.astimezone(tz):%Y-%m-%d %H:%M:%S}' for m in moments]


@pytest.fixture
def ui_floor(sqlite_db: Database, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> Iterator[None]:
    """A few movements on SQLite, and no export files left behind (the simulated page is never closed)."""
    anita, quinn = make_user('anita'), make_user('quinn', 'Quality Control')
    for actor, code, order, qty, kind in [
        (anita, 'WC001', 'PO-1', 50, 'IN'),
        (anita, 'WC001', 'PO-1', 20, 'OUT'),
        (anita, 'WC002', 'PO-2', 8, 'IN'),
        (quinn, 'WC005', 'QC-7', 12, 'IN'),
    ]:
        record_movement(actor, work_center_id=wc(code), order_number=order, quantity=qty, movement_type=kind)
    before = set(Path(tempfile.gettempdir()).glob(f'{EXPORT_DIR_PREFIX}*'))
    yield
    for folder in set(Path(tempfile.gettempdir()).glob(f'{EXPORT_DIR_PREFIX}*')) - before:
        shutil.rmtree(folder, ignore_errors=True)


async def test_the_reports_page_offers_the_csv_download(user: User, ui_floor: None) -> None:
    await sign_in(user, 'anita', TEST_PASSWORD)
    await user.open('/reports?period=all&type=IN')
    button = user.find(marker='export-csv-button').elements.pop()
    assert isinstance(button, ui.button) and button.text == 'CSV'
    assert button.props['aria-label'] == 'Export the movements to CSV'  # what a screen reader announces
    user.find(marker='export-csv-button').click()
    response = await user.download.next(timeout=60)
    assert response.status_code == 200 and response.headers['content-type'].startswith('text/csv')
    rows = read_csv(response.content)
    assert rows[0] == HEADER
    moves = sorted((r[1], r[2], r[4], r[5]) for r in rows[1:])
    assert moves == [('PO-1', 'WC001', 'IN', '50'), ('PO-2', 'WC002', 'IN', '8')]  # anita's IN, not quinn's
    status = user.find(marker='export-status').elements.pop()
    await eventually(lambda: status.text.startswith('Ready: '))  # type: ignore[attr-defined]
    assert re.fullmatch(r'Ready: potrack-report-\d{8}-\d{4}-IST\.csv \(2 movements\)\.', status.text)  # type: ignore[attr-defined]
    assert button.enabled and user.find(marker='export-button').elements.pop().enabled  # type: ignore[attr-defined]
