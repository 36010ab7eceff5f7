"""The journeys that matter, in a real browser: first sign-in, an operator's IN/OUT, a live update."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from potrack.accounts.users import insert_user
from potrack.config import reset_settings
from potrack.db import Database
from tests.browser.pilot import click, field, page_text, see, shot, sign_in, type_into, wait_for
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def add_operator(database_url: str, username: str, department: str = 'Production', *, is_admin: bool = False) -> None:
    """Create an operator (or an admin) in the running server's database, as an admin would."""
    from sqlmodel import select

    from potrack.db.models import Department

    reset_settings()
    db = Database(database_url)

    def unit(s):  # type: ignore[no-untyped-def]
        dept = s.exec(select(Department).where(Department.name == department)).one()
        insert_user(
            s,
            username=username,
            password=TEST_PASSWORD,
            department_id=dept.id,
            full_name=username.title(),
            is_admin=is_admin,
            must_change_password=False,
        )

    db.write(unit)
    db.dispose()


def sqlite_url(server_dir: Path) -> str:
    return f'sqlite:///{server_dir / "potrack.db"}'


def grid_cell(driver: WebDriver, order: str, column: str) -> str:
    """The text of one cell of the balances grid, in the row of `order` (AG Grid marks cells by field)."""
    row = f'//div[@role="row"][.//div[@col-id="order" and normalize-space()="{order}"]]'
    return driver.find_element(By.XPATH, f'{row}//div[@col-id="{column}"]').text.strip()


def grid_rows_of(driver: WebDriver, order: str) -> int:
    """How many rows of the balances grid show `order` (a new order once, not twice)."""
    return len(
        driver.find_elements(By.XPATH, f'//div[@role="row"][.//div[@col-id="order" and normalize-space()="{order}"]]')
    )


def test_first_start_sign_in_and_forced_password_change(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    driver = browser('admin')
    sign_in(driver, server.url, 'admin', 'wrong-password')
    see(driver, 'Wrong user name or password, or too many attempts')
    shot(driver, 'signin-1-wrong-password')
    sign_in(driver, server.url, 'admin', 'admin123')
    see(driver, 'Choose a new password')
    shot(driver, 'signin-2-forced-change')
    type_into(driver, 'Current password', 'admin123')
    type_into(driver, 'New password', 'Plant-Floor-2026')
    type_into(driver, 'New password again', 'Plant-Floor-2026', enter=True)
    see(driver, 'Totals per work center')
    shot(driver, 'signin-3-home')
    assert driver.title.startswith('Balances')


def test_operator_in_then_out_and_a_second_browser_sees_it_live(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    add_operator(sqlite_url(tmp_path / 'a'), 'anita')
    add_operator(sqlite_url(tmp_path / 'a'), 'viewer')
    watcher = browser('watcher')
    sign_in(watcher, server.url, 'viewer', TEST_PASSWORD)
    see(watcher, 'WC001')
    watcher.get(server.url + '/balances')
    see(watcher, 'Totals per work center')

    operator = browser('operator')
    sign_in(operator, server.url, 'anita', TEST_PASSWORD)
    see(operator, 'Assembly')
    click(operator, 'WC002\nMachining')
    type_into(operator, 'Order number', 'po-2026-0042', enter=True)
    type_into(operator, 'Quantity (pieces)', '40')
    click(operator, 'IN')
    see(operator, 'Saved: 40 of PO-2026-0042 received at WC002. Balance here now: 40.')
    shot(operator, 'kiosk-1-in-saved')
    wait_for(lambda: grid_cell(watcher, 'PO-2026-0042', 'balance') == '40', what='the IN on the watching page')
    shot(watcher, 'kiosk-2-watcher-sees-in')
    assert grid_rows_of(watcher, 'PO-2026-0042') == 1  # a new order shows once

    type_into(operator, 'Order number', 'PO-2026-0042', enter=True)
    type_into(operator, 'Quantity (pieces)', '55')
    click(operator, 'OUT')
    see(operator, 'Only 40 pieces of PO-2026-0042 are at WC002; you tried to send 55.')
    shot(operator, 'kiosk-3-out-refused')
    type_into(operator, 'Quantity (pieces)', '15')
    click(operator, 'OUT')
    see(operator, 'Balance here now: 25.')
    shot(operator, 'kiosk-4-out-saved')
    wait_for(lambda: grid_cell(watcher, 'PO-2026-0042', 'balance') == '25', what='the OUT on the watching page')
    shot(watcher, 'kiosk-5-watcher-sees-out')
    assert grid_rows_of(watcher, 'PO-2026-0042') == 1


def test_a_session_survives_an_app_restart(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    add_operator(sqlite_url(tmp_path / 'a'), 'anita')
    driver = browser('operator')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    server.stop()
    restarted = start_server(name='a')  # same data folder: same database and cookie secret
    driver.get(restarted.url + '/kiosk')
    see(driver, 'Assembly')
    assert '/signin' not in driver.current_url
    shot(driver, 'restart-still-signed-in')


def seconds_left(driver) -> int:  # type: ignore[no-untyped-def]
    found = re.search(r'signing out in (\d+) s', page_text(driver))
    return int(found.group(1)) if found else -1


def test_an_idle_kiosk_counts_down_a_touch_resets_it_then_it_signs_out(start_server, browser, tmp_path: Path) -> None:
    server = start_server(POTRACK_IDLE_TIMEOUT_USER_S='12')
    add_operator(sqlite_url(tmp_path / 'a'), 'anita')
    driver = browser('operator')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    see(driver, 'No activity: signing out in')  # the whole limit is within the last minute
    click(driver, 'WC002\nMachining')
    type_into(driver, 'Order number', 'PO-2026-0007')  # typed, not saved
    see(driver, 'The entry you have not saved will be cleared.')
    shot(driver, 'idle-1-countdown')
    # The count runs down by itself: waited for as it happens, not for the 6 s it should take.
    wait_for(lambda: 0 < seconds_left(driver) <= 7, 15, 'the countdown to run down to 7 s')
    click(driver, '2')  # a keypad key: the countdown covers none of them; the touch also starts the count again
    quantity = field(driver, 'Quantity (pieces)')
    wait_for(lambda: quantity.get_attribute('value') == '2', what='the key to reach the quantity')
    wait_for(lambda: seconds_left(driver) >= 10, 10, 'the countdown to start again from 12 s')
    see(driver, 'You were signed out after a while without activity.', timeout=20)
    shot(driver, 'idle-2-signed-out')
    driver.get(server.url + '/kiosk')
    see(driver, 'Sign in')
    assert '/signin' in driver.current_url
