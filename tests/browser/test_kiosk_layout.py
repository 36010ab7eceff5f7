"""The kiosk on the screens of the line: the entry path fits without scrolling and stays put under a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from sqlmodel import select

from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import User
from potrack.i18n import Translator, translator
from tests.browser.pilot import click, field, see, shot, sign_in, type_into, wait_for
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

SCREENS = {'landscape': (1024, 768), 'portrait': (800, 1280)}
ENGLISH = translator('en')
LONG_REFUSAL = 'Only 0 pieces of PO-2026-0077'  # the start of the ledger's sentence for an OUT of nothing here


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    """Size the window so that the page itself (the viewport) is `width`×`height`, as on the kiosk's screen."""
    driver.set_window_size(width, height)
    inner = driver.execute_script('return [window.innerWidth, window.innerHeight]')
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])
    wait_for(
        lambda: driver.execute_script('return [window.innerWidth, window.innerHeight]') == [width, height],
        what=f'a {width}×{height} viewport',
    )


def button(driver: WebDriver, text: str) -> WebElement:
    # A button's text may start with its icon's ligature name ("radio_button_unchecked" above "Scrap").
    shown = (b for b in driver.find_elements(By.XPATH, '//button') if b.is_displayed())
    return next(b for b in shown if b.text.strip().splitlines()[-1:] == [text])


def entry_path(driver: WebDriver, order_known: bool, t: Translator) -> dict[str, WebElement]:
    """The elements an operator needs for one entry, by what they show (the OUT choice once an order is known)."""
    elements = {
        'order': field(driver, t.gettext('Order number')),
        'quantity': field(driver, t.gettext('Quantity (pieces)')),
    }
    for key in ('7', '1', '0', '⌫', '+'):
        elements[f'key {key}'] = button(driver, key)
    buttons = driver.find_elements(By.CSS_SELECTOR, '.potrack-kiosk-actions > button')
    elements['IN'], elements['OUT'] = buttons
    elements['status'] = driver.find_element(By.CSS_SELECTOR, '.potrack-status')
    if order_known:
        elements['disposition'] = button(driver, t.gettext('Scrap'))
    elements['card'] = driver.find_element(By.CSS_SELECTOR, 'button[aria-pressed="true"]')
    return elements


def assert_fits(driver: WebDriver, screen: str, order_known: bool = True, t: Translator = ENGLISH) -> None:
    width, height = SCREENS[screen]
    assert driver.execute_script('return window.scrollY') == 0
    for name, element in entry_path(driver, order_known, t).items():
        r = element.rect
        inside = r['x'] >= 0 and r['y'] >= 0 and r['x'] + r['width'] <= width and r['y'] + r['height'] <= height
        assert inside, f'{screen}: {name} at {r} is not inside the {width}×{height} screen'
    overflow = driver.execute_script('const d = document.documentElement; return [d.scrollWidth, d.clientWidth]')
    assert overflow[0] <= overflow[1], f'{screen}: the page scrolls sideways ({overflow})'
    # Nothing inside scrolls sideways either: the last entries' table, "+100" in its button.
    for selector in ('.q-table__middle', '.potrack-key'):
        wide = driver.execute_script(
            f"return [...document.querySelectorAll('{selector}')].filter(e => e.scrollWidth > e.clientWidth).length"
        )
        assert wide == 0, f'{screen}: {wide} of {selector} overflow sideways'


def keypad_y(driver: WebDriver) -> float:
    return button(driver, '7').rect['y']


@pytest.mark.parametrize('screen', SCREENS)
def test_the_entry_path_fits_the_screen_and_a_message_moves_no_key(
    start_server, browser, tmp_path: Path, screen: str
) -> None:
    server = start_server()
    add_operator(sqlite_url(tmp_path / 'a'), 'anita')
    driver = browser(screen)
    set_viewport(driver, *SCREENS[screen])
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')
    click(driver, 'WC002\nMachining')
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, 'button[aria-pressed="true"]'), what='the chosen card')
    # The heading follows the chosen card in its own update: waited for, not read at once.
    wait_for(lambda: driver.find_element(By.TAG_NAME, 'h1').text == 'Kiosk — WC002 Machining', what='the heading')
    assert_fits(driver, screen, order_known=False)
    quiet = keypad_y(driver)
    shot(driver, f'kiosk-layout-{screen}-1-quiet')

    type_into(driver, 'Order number', 'PO-2026-0077', enter=True)
    type_into(driver, 'Quantity (pieces)', '12')
    click(driver, 'OUT')
    see(driver, LONG_REFUSAL)
    assert keypad_y(driver) == quiet, 'a refusal moved the keypad'
    assert_fits(driver, screen)
    shot(driver, f'kiosk-layout-{screen}-2-refused')

    click(driver, 'IN')
    see(driver, 'Saved: 12 of PO-2026-0077 received at WC002.')
    assert keypad_y(driver) == quiet, 'a saved message moved the keypad'
    assert_fits(driver, screen)
    shot(driver, f'kiosk-layout-{screen}-3-saved')


def speaks(database_url: str, username: str, language: str) -> None:
    """The user's own language, as chosen on their account page."""
    reset_settings()
    db = Database(database_url)

    def unit(s):  # type: ignore[no-untyped-def]
        user = s.exec(select(User).where(User.username == username)).one()
        user.language = language
        s.add(user)

    db.write(unit)
    db.dispose()


@pytest.mark.parametrize('screen', SCREENS)
def test_the_hindi_kiosk_fits_the_screen_too(start_server, browser, tmp_path: Path, screen: str) -> None:
    """Hindi's words are longer than English's: the entry path still fits, with its longest refusal shown."""
    server = start_server()
    url = sqlite_url(tmp_path / 'a')
    add_operator(url, 'meena')
    speaks(url, 'meena', 'hi')
    hi = translator('hi')
    driver = browser(screen)
    set_viewport(driver, *SCREENS[screen])
    sign_in(driver, server.url, 'meena', TEST_PASSWORD)
    click(driver, 'WC002\nMachining')
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, 'button[aria-pressed="true"]'), what='the chosen card')
    # The heading follows the chosen card in its own update: waited for, not read at once.
    wait_for(lambda: driver.find_element(By.TAG_NAME, 'h1').text == 'कियोस्क — WC002 Machining', what='the heading')
    assert driver.find_element(By.TAG_NAME, 'html').get_attribute('lang') == 'hi'
    assert_fits(driver, screen, order_known=False, t=hi)
    quiet = keypad_y(driver)

    type_into(driver, hi.gettext('Order number'), 'PO-2026-0077', enter=True)
    type_into(driver, hi.gettext('Quantity (pieces)'), '12')
    click(driver, hi.gettext('OUT'))
    see(driver, 'WC002 पर PO-2026-0077 के सिर्फ़ 0 पीस हैं')
    assert keypad_y(driver) == quiet, 'a refusal moved the keypad'
    assert_fits(driver, screen, t=hi)
    shot(driver, f'kiosk-layout-hindi-{screen}-refused')
