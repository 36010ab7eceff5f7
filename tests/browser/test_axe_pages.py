"""axe-core in real Chromium on the pages an admin uses; and the reports pager counting the rows it shows.

axe-core comes from the npm registry (`npm install axe-core`); POTRACK_AXE_JS points at its axe.min.js, or it
is found under node_modules/ of the repository or of tests/. Without it the axe test is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.pilot import click, see, shot, sign_in, wait_for
from tests.browser.test_export_download import record_some
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PAGES = {'/balances': 'Open orders at', '/reports': 'Export to Excel', '/orders': 'Orders', '/admin': 'New user'}


def axe_source() -> str:
    candidates = [os.environ.get('POTRACK_AXE_JS', '')] + [
        str(base / 'node_modules' / 'axe-core' / 'axe.min.js') for base in (ROOT, ROOT / 'tests')
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    reason = 'needs axe-core: npm install axe-core, or set POTRACK_AXE_JS to its axe.min.js'
    if os.environ.get('POTRACK_REQUIRE_BROWSER'):  # CI installs it (.ci/run): there, missing is a failure
        pytest.fail(reason)
    pytest.skip(reason)


def serious(driver: WebDriver, axe: str) -> list[str]:
    """The critical and serious violations axe finds on the page now, one line each."""
    driver.execute_script(axe)
    result: dict[str, Any] = driver.execute_async_script(
        'const done = arguments[arguments.length - 1]; axe.run().then(done, e => done({error: String(e)}));'
    )
    assert 'error' not in result, result
    return [
        f'{v["id"]} ({v["impact"]}): {[(n["target"], n["html"][:120]) for n in v["nodes"]][:3]}'
        for v in result['violations']
        if v['impact'] in ('critical', 'serious')
    ]


def test_admin_pages_have_no_critical_or_serious_axe_violations(start_server, browser, tmp_path: Path) -> None:
    axe = axe_source()
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'boss', 'Management', is_admin=True)
    record_some(url)
    driver = browser('admin')
    driver.get(server.url + '/signin')
    see(driver, 'User name')
    found = {'/signin': serious(driver, axe)}
    sign_in(driver, server.url, 'boss', TEST_PASSWORD)
    for path, shown in PAGES.items():
        driver.get(server.url + path)
        see(driver, shown)
        found[path] = serious(driver, axe)
        shot(driver, f'axe{path.replace("/", "-")}')
    # Every admin tab, one dialog open, an order's own page, and a page in the light theme.
    driver.get(server.url + '/admin')
    see(driver, 'New user')
    for tab in driver.find_elements(By.CSS_SELECTOR, '[role=tab]'):
        name = tab.text.strip().splitlines()[-1]
        tab.click()
        wait_for(lambda t=tab: t.get_attribute('aria-selected') == 'true', what=f'the {name} tab')
        found[f'/admin {name}'] = serious(driver, axe)
    driver.find_elements(By.CSS_SELECTOR, '[role=tab]')[0].click()
    click(driver, 'New user')
    see(driver, 'Create user')
    found['/admin new user dialog'] = serious(driver, axe)
    shot(driver, 'axe-admin-dialog')
    driver.get(server.url + '/orders/PO-XL-0')
    see(driver, 'PO-XL-0')
    found['/orders/PO-XL-0'] = serious(driver, axe)
    driver.get(server.url + '/balances')
    see(driver, 'Open orders at')
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label^="Account"]').click()
    click_text(driver, 'Light / dark theme')
    wait_for(lambda: 'body--light' in driver.find_element(By.TAG_NAME, 'body').get_attribute('class'), what='light')
    found['/balances light'] = serious(driver, axe)
    shot(driver, 'axe-balances-light')
    assert {p: v for p, v in found.items() if v} == {}


def click_text(driver: WebDriver, text: str) -> None:
    """Click the visible element whose own text is `text` (a menu item)."""
    items = driver.find_elements(By.XPATH, f'//*[normalize-space(text())="{text}"]')
    wait_for(lambda: next(i for i in items if i.is_displayed()), what=text).click()  # type: ignore[attr-defined]


def test_the_kiosk_has_no_critical_or_serious_axe_violations_in_either_orientation(
    start_server, browser, tmp_path: Path
) -> None:
    axe = axe_source()
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'anita')
    driver = browser('kiosk')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    found = {}
    for width, height in ((1024, 768), (800, 1280)):
        driver.set_window_size(width, height)
        found[f'{width}x{height}'] = serious(driver, axe)
        shot(driver, f'axe-kiosk-{width}x{height}')
    assert {size: v for size, v in found.items() if v} == {}


def test_the_reports_balances_pager_counts_the_rows_it_shows(start_server, browser, tmp_path: Path) -> None:
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'boss', 'Management', is_admin=True)
    record_some(url)  # three orders at one work center; one of them is finished and closed
    driver = browser('admin')
    sign_in(driver, server.url, 'boss', TEST_PASSWORD)
    driver.get(server.url + '/reports')
    see(driver, 'PO-XL-0')
    driver.find_element(By.XPATH, '//div[@role="tab"][contains(normalize-space(), "Balances")]').click()
    see(driver, 'In transit since')

    def pager() -> str:  # the one pager in view: the other tabs' tables are hidden
        return ' '.join(e.text for e in driver.find_elements(By.CSS_SELECTOR, '.q-table__bottom') if e.is_displayed())

    def shown_rows() -> int:  # the Balances tab's rows only: the other tabs' tables stay in the page, hidden
        cells = driver.find_elements(By.XPATH, '//td[starts-with(normalize-space(), "PO-XL-")]')
        return sum(1 for cell in cells if cell.is_displayed())

    wait_for(lambda: shown_rows() > 0, what='the balances rows')
    shot(driver, 'reports-balances-pager')
    wait_for(
        lambda: f'1-{shown_rows()} of {shown_rows()}' in pager(),
        what='the pager counting the rows the Balances tab shows',
    )
