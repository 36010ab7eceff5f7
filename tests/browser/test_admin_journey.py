"""The admin console in a real browser: a new department, work center and operator, then deactivation."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.pilot import ANIMATING, click, page_text, see, shot, sign_in, type_into, wait_for
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def tap(driver: WebDriver, xpath: str) -> None:
    """Click the visible element at `xpath` once the page's transitions have ended (a click on a dialog still
    sliding in can land beside it) and it takes clicks."""
    wait_for(lambda: not driver.execute_script(ANIMATING), what=f'the transitions to end before tapping {xpath}')

    def clicked() -> bool:
        element = next(e for e in driver.find_elements(By.XPATH, xpath) if e.is_displayed())
        element.click()
        return True

    wait_for(clicked, what=f'a clickable {xpath}')


def in_dialog(driver: WebDriver, xpath: str) -> None:
    tap(driver, f'//div[contains(@class,"q-dialog")]{xpath}')


def choose_row(driver: WebDriver, text: str) -> None:
    """Tap the table row that shows `text` in one of its cells."""
    tap(driver, f'//td[normalize-space()="{text}"]')


def pick_option(driver: WebDriver, field_label: str, option: str) -> None:
    """Open a select in the dialog by its label and pick one of its options."""
    in_dialog(driver, f'//label[.//div[normalize-space()="{field_label}"]]')
    tap(driver, f'//div[@role="option"][normalize-space()="{option}"]')


def open_tab(driver: WebDriver, label: str) -> None:
    tap(driver, f'//div[@role="tab"][contains(normalize-space(), "{label}")]')


def test_admin_sets_up_a_department_and_its_operator_then_deactivates_them(
    start_server, browser, tmp_path: Path
) -> None:
    server = start_server()
    add_operator(sqlite_url(tmp_path / 'a'), 'boss', 'Management', is_admin=True)
    admin = browser('admin')
    sign_in(admin, server.url, 'boss', TEST_PASSWORD)
    see(admin, 'Totals per work center')
    admin.get(server.url + '/admin?tab=departments')

    click(admin, 'New department')
    type_into(admin, 'Name', 'Packing')
    click(admin, 'Save')
    see(admin, 'Department Packing saved.')

    open_tab(admin, 'Work centers')
    click(admin, 'New work center')
    type_into(admin, 'Code', 'wc006')
    type_into(admin, 'Name', 'Packing line')
    click(admin, 'Save')
    see(admin, 'Work center WC006 saved.')

    open_tab(admin, 'Departments')
    choose_row(admin, 'Packing')
    click(admin, 'Work centers')
    in_dialog(admin, '//div[@role="checkbox"][contains(normalize-space(), "WC006")]')
    ticked = '//div[contains(@class,"q-dialog")]//div[@role="checkbox"][@aria-checked="true"]'
    wait_for(lambda: 'WC006' in ' '.join(e.text for e in admin.find_elements(By.XPATH, ticked)), what='WC006 ticked')
    shot(admin, 'admin-1-department-work-centers')
    click(admin, 'Save')
    see(admin, 'Packing now sees 1 work center.')

    open_tab(admin, 'Users')
    click(admin, 'New user')
    type_into(admin, 'User name', 'pia')
    type_into(admin, 'Full name', 'Pia Packer')
    pick_option(admin, 'Department', 'Packing')
    type_into(admin, 'Initial password', 'Start-Packing-1')
    shot(admin, 'admin-2-new-user')
    click(admin, 'Create user')
    see(admin, 'Password for pia')
    click(admin, 'Done')
    see(admin, 'Pia Packer')

    operator = browser('operator')
    sign_in(operator, server.url, 'pia', 'Start-Packing-1')
    see(operator, 'Choose a new password')
    type_into(operator, 'Current password', 'Start-Packing-1')
    type_into(operator, 'New password', 'Boxes-all-day-7')
    type_into(operator, 'New password again', 'Boxes-all-day-7', enter=True)
    see(operator, 'Packing line')
    shot(operator, 'admin-3-operator-kiosk')
    shown = page_text(operator)
    assert 'WC006' in shown
    assert not any(f'WC00{i}' in shown for i in range(1, 6)), shown

    choose_row(admin, 'pia')
    click(admin, 'Deactivate')
    in_dialog(admin, '//button[normalize-space()="Deactivate"]')
    see(admin, 'User pia deactivated.')

    # The operator's open kiosk goes to sign-in by itself (no next action needed)
    see(operator, 'Your session has ended. Please sign in again.')
    shot(operator, 'admin-4-operator-sent-to-sign-in')
    assert '/signin' in operator.current_url
