"""A kiosk device in Chromium: enrolled with its code, pinned to WC003; a badge scan signs an operator in,
and a second badge scan on the kiosk switches to the next operator at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlmodel import select

from potrack.accounts.devices import create_device
from potrack.accounts.operator_codes import set_operator_codes
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import User, WorkCenter
from tests.browser.pilot import click, field, page_text, see, shot, wait_for
from tests.browser.test_axe_pages import axe_source, serious
from tests.browser.test_journeys import add_operator, sqlite_url

pytestmark = pytest.mark.browser
SERVER_SECRET = 'browser-test-secret'  # the servers' SESSION_SECRET (conftest.Server): badges are keyed with it


@pytest.fixture
def as_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process keys badges and codes as the server does."""
    monkeypatch.setenv('SESSION_SECRET', SERVER_SECRET)
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


def prepare(database_url: str) -> str:
    """An admin's work in the server's database: a device pinned to WC003 and two badges; returns the code."""
    db = Database(database_url)
    try:
        with db.read() as s:
            admin = Actor(s.exec(select(User.id).where(User.username == 'admin')).one() or 0)
            ids = {u.username: u.id for u in s.exec(select(User)).all()}
            wc003 = s.exec(select(WorkCenter.id).where(WorkCenter.code == 'WC003')).one()
        set_operator_codes(admin, user_id=ids['anita'], badge='EMP-00017', db=db)
        set_operator_codes(admin, user_id=ids['bob'], badge='EMP-00042', db=db)
        return create_device(admin, name='Line 2 – Welding', work_center_ids=[wc003], db=db).code
    finally:
        db.dispose()


def operator_shown(driver) -> str:  # type: ignore[no-untyped-def]
    found = driver.find_elements(By.CSS_SELECTOR, '.potrack-operator-name')
    return found[0].text if found else ''


def test_enroll_badge_sign_in_pinned_kiosk_and_badge_switch(start_server, browser, tmp_path: Path, as_server) -> None:
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'anita', 'Production')
    add_operator(url, 'bob', 'Maintenance')
    reset_settings()
    code = prepare(url)
    driver = browser('device')

    axe = axe_source()
    driver.get(server.url + '/enroll')
    see(driver, 'Enroll this kiosk')
    assert serious(driver, axe) == [], 'enrollment page'
    field(driver, 'Enrollment code').send_keys(code + Keys.ENTER)
    see(driver, 'Line 2 – Welding')
    see(driver, 'Scan your badge')
    shot(driver, 'device-1-signin')
    assert serious(driver, axe) == [], 'device sign-in page'

    # The badge scanner types the badge and Enter in one burst into the focused badge field.
    field(driver, 'Scan your badge').send_keys('EMP-00017' + Keys.ENTER)
    wait_for(lambda: operator_shown(driver) == 'Anita', what='Anita shown as the operator')
    see(driver, 'WC003')
    text = page_text(driver)
    for other in ('WC001', 'WC002', 'WC004', 'WC005'):
        assert other not in text, f'{other} shown on a device pinned to WC003'
    shot(driver, 'device-2-kiosk-anita')
    assert serious(driver, axe) == [], 'kiosk on a device'

    # A tap outside the fields, then the next operator's badge: the kiosk switches to Bob at once.
    driver.find_element(By.CSS_SELECTOR, '.potrack-device-name').click()
    ActionChains(driver).send_keys('EMP-00042' + Keys.ENTER).perform()
    wait_for(lambda: operator_shown(driver) == 'Bob', what='Bob shown as the operator after his badge scan')
    see(driver, 'WC003')
    assert 'WC001' not in page_text(driver)
    shot(driver, 'device-3-kiosk-bob')

    # Switch operator: one tap back to the device's sign-in.
    click(driver, 'Switch operator')
    see(driver, 'Scan your badge')
    shot(driver, 'device-4-switched')
