"""Driving the app in Chromium the way a person does: by labels and button texts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.conftest import ARTIFACTS


def wait_for(check: Callable[[], object], timeout: float = 10.0, what: str = 'condition') -> object:
    """Poll `check` until it returns something true and return that; fail saying `what` did not come."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:
            last_error = exc
        time.sleep(0.1)
    raise AssertionError(f'timed out waiting for {what}: {last_error}')


def field(driver: WebDriver, label: str) -> WebElement:
    return wait_for(lambda: driver.find_element(By.XPATH, f'//input[@aria-label="{label}"]'), what=f'field {label}')  # type: ignore[return-value]


def type_into(driver: WebDriver, label: str, text: str, enter: bool = False) -> None:
    element = field(driver, label)
    element.send_keys(Keys.CONTROL, 'a')
    element.send_keys(Keys.DELETE)
    element.send_keys(text)
    if enter:
        element.send_keys(Keys.ENTER)


def _label_matches(shown: str, wanted: str) -> bool:
    lines = [line.strip().upper() for line in shown.splitlines() if line.strip()]
    # A button's text may include its icon's ligature name ("login" above "IN"): match whole or one line.
    return '\n'.join(lines) == wanted.upper() or wanted.upper() in lines


def click(driver: WebDriver, text: str) -> None:
    def find() -> WebElement:
        buttons = driver.find_elements(By.XPATH, '//button')
        return next(b for b in buttons if b.is_displayed() and _label_matches(b.text, text))

    wait_for(find, what=f'button {text}').click()  # type: ignore[attr-defined]


def page_text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, 'body').text


def see(driver: WebDriver, text: str, timeout: float = 10.0) -> None:
    wait_for(lambda: text in page_text(driver), timeout, what=f'"{text}" on the page')


# Transitions (a dialog opening, a notification sliding in) still running; endless ones (spinners) do not count.
ANIMATING = """return document.getAnimations().some(
    a => a.playState === 'running' && a.effect && a.effect.getComputedTiming().endTime !== Infinity)"""


def shot(driver: WebDriver, name: str) -> Path:
    """Save a screenshot once the page's transitions have ended, so that it shows where they end."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wait_for(lambda: not driver.execute_script(ANIMATING), what=f'the transitions to end before screenshot {name}')
    path = ARTIFACTS / f'{name}.png'
    driver.save_screenshot(str(path))
    return path


def signin_error(driver: WebDriver) -> str:
    shown = driver.find_elements(By.CSS_SELECTOR, '.potrack-error[role=alert]')
    return ' '.join(e.text for e in shown if e.is_displayed())


def sign_in(driver: WebDriver, base: str, username: str, password: str) -> None:
    """Sign in, and wait for the outcome: another page loaded (the one asked for, or the forced password
    change), or the sign-in page's error shown."""
    driver.get(base + '/signin')
    type_into(driver, 'User name', username)
    type_into(driver, 'Password', password, enter=True)

    def outcome() -> bool:
        left = urlparse(driver.current_url).path != '/signin'
        return (left and driver.execute_script('return document.readyState') == 'complete') or bool(
            signin_error(driver)
        )

    wait_for(outcome, what=f'the sign-in of {username} to open the next page or to show an error')
