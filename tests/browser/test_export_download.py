"""A manager downloads the Excel workbook from the reports page in a real browser and opens it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.ledger.writer import record_movement
from tests.browser.pilot import click, see, shot, sign_in, wait_for
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def record_some(database_url: str) -> None:
    reset_settings()
    db = Database(database_url)
    admin = Actor(1)
    for n, (qty_in, qty_out) in enumerate([(40, 15), (12, 0), (7, 7)]):
        record_movement(admin, work_center_id=2, order_number=f'PO-XL-{n}', quantity=qty_in, movement_type='IN', db=db)
        if qty_out:
            record_movement(
                admin, work_center_id=2, order_number=f'PO-XL-{n}', quantity=qty_out, movement_type='OUT', db=db
            )
    db.dispose()


def test_reports_page_downloads_a_workbook_that_opens(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'manager')
    record_some(url)
    driver = browser('manager')
    downloads: Path = driver.potrack_downloads
    sign_in(driver, server.url, 'manager', TEST_PASSWORD)
    see(driver, 'Assembly')
    driver.get(server.url + '/reports')
    see(driver, 'PO-XL-0')
    click(driver, 'Export to Excel')

    def arrived() -> list[Path]:
        # Chromium writes into a .crdownload file and gives it its name when the download is complete.
        done = list(downloads.glob('potrack-*.xlsx'))
        return done if done and not list(downloads.glob('*.crdownload')) and zipfile.is_zipfile(done[0]) else []

    (path,) = wait_for(arrived, 30, 'the workbook in the download folder')  # type: ignore[misc]
    shot(driver, 'export-downloaded')
    assert path.name.endswith('-IST.xlsx')
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:3] == ['Summary', 'Balances', 'Movements']
    values = {cell.value for row in book['Movements'].iter_rows() for cell in row}
    assert {'PO-XL-0', 'PO-XL-1', 'PO-XL-2'} <= values
