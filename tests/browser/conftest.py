"""Real headless Chromium against real `potrack serve` processes on 127.0.0.1.

Screenshots land in test-artifacts/. Without Chromium and its driver the tests are skipped (with the
reason); CI sets POTRACK_REQUIRE_BROWSER=1 so that a missing browser fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get('CHROME_BINARY_LOCATION', '/usr/bin/chromium')
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
ARTIFACTS = Path(__file__).resolve().parents[2] / 'test-artifacts'


def _require_browser() -> None:
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    reason = f'needs Chromium ({CHROMIUM}) and chromedriver ({CHROMEDRIVER}): apt-get install chromium chromium-driver'
    if os.environ.get('POTRACK_REQUIRE_BROWSER'):
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Server:
    """One `potrack serve` process of this test, stopped by its own pid at the end."""

    def __init__(
        self, data_dir: Path, database_url: str | None = None, extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(('POTRACK_', 'DATABASE_URL', 'PYTEST', 'NICEGUI'))
        }
        env.update(
            POTRACK_DATA_DIR=str(data_dir),
            POTRACK_PORT=str(self.port),
            POTRACK_HOST='127.0.0.1',
            POTRACK_BCRYPT_ROUNDS='4',
            # The journeys type new order numbers as the floor did before the order book; the order-book
            # journey (test_order_book_journey.py) starts its servers with the policy it is about.
            POTRACK_UNKNOWN_ORDERS='allow',
            SESSION_SECRET='browser-test-secret',
        )
        if database_url:
            env['DATABASE_URL'] = database_url
        env.update(extra_env or {})
        self.log = data_dir / f'server-{self.port}.log'
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'potrack', 'serve'], env=env, stdout=self.log.open('w'), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'potrack serve exited: {self.log.read_text()[-2000:]}')
            try:
                if httpx.get(self.url + '/healthz', timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f'potrack serve did not answer: {self.log.read_text()[-2000:]}')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    _require_browser()
    servers: list[Server] = []

    def start(database_url: str | None = None, name: str = 'a', **extra_env: str) -> Server:
        data_dir = tmp_path / name
        data_dir.mkdir(exist_ok=True)
        server = Server(data_dir, database_url, extra_env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Callable[[str], object]]:
    """Open headless Chromium windows; each is closed at the end of the test."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def open_browser(name: str) -> object:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (
            '--headless=new',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-dev-shm-usage',
            '--window-size=1280,900',
            '--disable-background-networking',
            '--disable-component-update',
            '--no-first-run',
            '--disable-sync',
            '--disable-quic',
        ):
            options.add_argument(arg)
        downloads = ARTIFACTS / 'downloads' / request.node.name
        shutil.rmtree(downloads, ignore_errors=True)
        downloads.mkdir(parents=True, exist_ok=True)
        options.add_experimental_option('prefs', {'download.default_directory': str(downloads)})
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})  # the console, for CSP violations
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.implicitly_wait(0)
        driver.potrack_name = name  # type: ignore[attr-defined]
        driver.potrack_downloads = downloads  # type: ignore[attr-defined]
        drivers.append(driver)
        return driver

    yield open_browser
    for driver in drivers:
        driver.quit()
