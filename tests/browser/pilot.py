"""Driving the app in Chromium the way a person does: by labels and button texts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.conftest import ARTIFACTS


def wait_for(check: Callable[[], object], timeout: float = 10.0, what: str = 'condition') -> object:
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


def shot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.3)
    path = ARTIFACTS / f'{name}.png'
    driver.save_screenshot(str(path))
    return path


def sign_in(driver: WebDriver, base: str, username: str, password: str) -> None:
    driver.get(base + '/signin')
    type_into(driver, 'User name', username)
    type_into(driver, 'Password', password, enter=True)
