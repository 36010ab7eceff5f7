"""The Content-Security-Policy breaks nothing: every page, used as a person would, without a CSP violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.browser.pilot import click, page_text, see, shot, sign_in, type_into, wait_for
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

# What each page shows once NiceGUI has built it (its scripts, styles, fonts and websocket all loaded).
ADMIN_PAGES = [
    ('/', 'Totals per work center'),
    ('/balances', 'Totals per work center'),
    ('/reports?tab=movements', 'Movements'),
    ('/reports?tab=balances', 'Balances'),
    ('/reports?tab=charts', 'Charts'),
    ('/admin?tab=users', 'New user'),
    ('/admin?tab=departments', 'New department'),
    ('/admin?tab=work-centers', 'Work centers'),
    ('/admin?tab=corrections', 'Corrections'),
    ('/admin?tab=audit', 'Audit trail'),
    ('/admin?tab=tokens', 'API tokens'),
    ('/account', 'My account'),
    ('/kiosk', 'Assembly'),
]


def violations(driver) -> list[str]:  # type: ignore[no-untyped-def]
    """The console's CSP complaints since the last call (reading the log empties it)."""
    return [entry['message'] for entry in driver.get_log('browser') if 'Content Security Policy' in entry['message']]


def settled(driver) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page's websocket is connected: by then every script, style and font has loaded."""
    wait_for(
        lambda: driver.execute_script('return !!(window.socket && window.socket.connected)'),
        what='the live connection',
    )


def sign_out_from_the_menu(driver) -> None:  # type: ignore[no-untyped-def]
    click(driver, 'account_circle')
    item = '//div[contains(@class, "q-item") and normalize-space()="Sign out"]'
    wait_for(lambda: driver.find_element(By.XPATH, item).is_displayed(), what='the sign-out menu item')
    driver.find_element(By.XPATH, item).click()
    see(driver, 'You have signed out.')


def test_every_page_works_under_the_csp(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    add_operator(sqlite_url(tmp_path / 'a'), 'anita')
    add_operator(sqlite_url(tmp_path / 'a'), 'boss', is_admin=True)
    driver = browser('csp')
    seen: dict[str, list[str]] = {}

    driver.get(server.url + '/signin')
    see(driver, 'Sign in')
    settled(driver)
    # The policy is in force and the console is read: a request to another origin is refused and logged.
    driver.execute_script("fetch('http://127.0.0.2:9/x').catch(() => {})")
    wait_for(lambda: violations(driver), what='the CSP refusing a request to another origin')

    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    settled(driver)
    click(driver, 'WC002\nMachining')
    type_into(driver, 'Order number', 'PO-2026-0042', enter=True)
    type_into(driver, 'Quantity (pieces)', '40')
    click(driver, 'IN')
    see(driver, 'Balance here now: 40.')
    seen['/kiosk (operator)'] = violations(driver)
    sign_out_from_the_menu(driver)  # a POST from the page (assets/idle.js), under the policy
    seen['sign-out'] = violations(driver)
    driver.get(server.url + '/kiosk')
    see(driver, 'Sign in')  # the session ended on the server, not just in this browser
    assert '/signin' in driver.current_url

    sign_in(driver, server.url, 'boss', TEST_PASSWORD)
    see(driver, 'Totals per work center')
    for path, text in ADMIN_PAGES:
        driver.get(server.url + path)
        wait_for(lambda t=text: t.upper() in page_text(driver).upper(), what=f'{text} on {path}')  # tabs are upper case
        settled(driver)
        seen[path] = violations(driver)
    shot(driver, 'csp-last-page')
    sign_out_from_the_menu(driver)
    seen['sign-out (admin)'] = violations(driver)
    assert {where: found for where, found in seen.items() if found} == {}
