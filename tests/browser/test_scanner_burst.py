"""A barcode scanner at the kiosk, in a real browser: `order⏎qty⏎` typed in one burst books exactly that."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlmodel import select

from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import ProductionOrder
from tests.browser.pilot import click, field, see, shot, sign_in, wait_for
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

BURSTS = 20


def booked(database_url: str) -> list[tuple[str, int, str]]:
    """Every movement in the server's ledger, oldest first, as (order, quantity, type)."""
    reset_settings()
    db = Database(database_url)
    try:
        with db.read() as s:
            rows = s.exec(
                select(ProductionOrder.order_number, ProductionOrder.quantity, ProductionOrder.movement_type).order_by(
                    ProductionOrder.id
                )
            ).all()
    finally:
        db.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_scanner_burst_books_exactly_its_order_and_quantity_twenty_times(
    start_server, browser, tmp_path: Path
) -> None:
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'anita')
    driver = browser('scanner')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    click(driver, 'WC002\nMachining')
    see(driver, '↵ Enter')
    expected = []
    for i in range(BURSTS):
        order, qty = f'PO-2026-{104 + i:06d}', str(7 + 3 * i)
        # One send_keys: chromedriver types it key after key with no pause, as a keyboard-wedge scanner does.
        field(driver, 'Order number').send_keys(f'{order}{Keys.ENTER}{qty}{Keys.ENTER}')
        see(driver, f'Saved: {qty} of {order} received at WC002. Balance here now: {qty}.')
        expected.append((order, int(qty), 'IN'))
        wait_for(lambda: field(driver, 'Order number').get_attribute('value') == '', what='the form cleared')
    # The same label scanned again at once (a second box of the same order): a new entry, booked again.
    field(driver, 'Order number').send_keys(f'{order}{Keys.ENTER}{qty}{Keys.ENTER}')
    see(driver, f'Saved: {qty} of {order} received at WC002. Balance here now: {2 * int(qty)}.')
    expected.append((order, int(qty), 'IN'))
    shot(driver, 'scanner-burst-20-saved')
    assert booked(url) == expected


def test_the_mute_switch_is_kept_by_the_browser(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    add_operator(sqlite_url(tmp_path / 'a'), 'anita')
    driver = browser('scanner')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    mute = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Mute the kiosk sounds"]'))
    mute.click()  # type: ignore[attr-defined]
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, 'button[aria-label="Unmute the kiosk sounds"]'))
    assert driver.execute_script("return localStorage.getItem('potrack.kiosk.muted')") == '1'
    driver.refresh()
    wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, 'button[aria-label="Unmute the kiosk sounds"]'),
        what='the muted state shown again after a reload',
    )
