"""Route cards printed by Chromium to PDF, on A4 and on Letter: one sheet per order, none of the app's
chrome, the order's text on the sheet, and both symbols on the rendered sheet read back by a decoder.

Needs poppler-utils (pdftotext, pdftoppm) besides the browser; .ci/run installs it.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from potrack.config import reset_settings
from potrack.db import Database
from potrack.orders.fields import OrderFields
from potrack.orders.saving import save_orders
from tests.browser.conftest import ARTIFACTS
from tests.browser.pilot import see, shot, sign_in, wait_for
from tests.browser.test_csp import settled, violations
from tests.browser.test_journeys import add_operator, sqlite_url
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

MM_PER_PT = 25.4 / 72
RENDER_DPI = 300  # an office laser printer's resolution: the decoder sees what a scanner would see on paper
PAPERS = {'a4': (210.0, 297.0), 'letter': (215.9, 279.4)}
WITH_ROUTE = OrderFields(
    order_number='PO-2026/0012_A.B',  # every separator an order number may have
    product_code='GB-200',
    product_description='Gearbox housing, cast',
    planned_quantity=500,
    due_date=date(2026, 3, 31),
    route='WC001>WC002>WC005',
)
LONGEST = OrderFields(  # 40 characters, the most an order number has, and no route
    order_number='WO-2026-000123-LINE/07_BATCH.0042-REV-B9',
    product_code='SH-10',
    product_description='Drive shaft',
)
# The longest routes that one Letter sheet holds: 9 boxes of the usual height, 13 lower ones.
LONG_ROUTES = [
    OrderFields(
        order_number=f'PO-2026-{steps:04d}',
        product_code='FR-7',
        product_description='Welded frame',
        notes='Weld seams checked at every station',
        due_date=date(2026, 12, 31),
        route='>'.join(['WC001', 'WC002', 'WC003', 'WC004', 'WC005'] * 3)[: steps * 6 - 1],
    )
    for steps in (9, 13)
]
APP_CHROME = ('Kiosk', 'Balances', 'Reports', 'Admin', 'Sign out', 'My account', 'potrack', r'\bPrint\b', r'\bBack\b')


def _require_poppler() -> None:
    if shutil.which('pdftotext') and shutil.which('pdftoppm'):
        return
    reason = 'needs poppler-utils (pdftotext, pdftoppm): apt-get install poppler-utils'
    if os.environ.get('POTRACK_REQUIRE_BROWSER'):
        pytest.fail(reason)
    pytest.skip(reason)


def add_orders(database_url: str, *orders: OrderFields) -> None:
    reset_settings()
    db = Database(database_url)
    db.write(lambda s: save_orders(s, actor_id=None, orders=list(orders), source='typed'))
    db.dispose()


def print_pdf(driver, paper: str, path: Path) -> Path:  # type: ignore[no-untyped-def]
    options = PrintOptions()
    options.page_width, options.page_height = (mm / 10 for mm in PAPERS[paper])  # Selenium counts in cm
    path.write_bytes(base64.b64decode(driver.print_page(options)))
    return path


def page_text(pdf: Path, page: int) -> str:
    return subprocess.run(
        ['pdftotext', '-layout', '-f', str(page), '-l', str(page), str(pdf), '-'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def rendered_page(pdf: Path, page: int) -> Path:
    prefix = pdf.with_suffix('')
    pages = ['-f', str(page), '-l', str(page), '-singlefile']
    subprocess.run(
        ['pdftoppm', '-r', str(RENDER_DPI), '-gray', '-png', *pages, str(pdf), f'{prefix}-p{page}'], check=True
    )
    return Path(f'{prefix}-p{page}.png')


def symbols_on(png: Path) -> dict[str, str]:
    # Every symbology: a stray read of some other kind (a box's border taken for a bar) shows up too.
    return {result.format.name: result.text for result in zxingcpp.read_barcodes(Image.open(png))}


def symbols_loaded(driver, cards: int) -> None:  # type: ignore[no-untyped-def]
    wait_for(
        lambda: driver.execute_script(
            'const pics = [...document.images].filter((i) => i.src.includes("/orders/"));'
            'return pics.length === arguments[0] && pics.every((i) => i.complete && i.naturalWidth > 0);',
            2 * cards,
        ),
        what=f'both symbols of {cards} cards to load',
    )


def test_route_cards_print_one_sheet_per_order_on_a4_and_letter(start_server, browser, tmp_path: Path) -> None:
    _require_poppler()
    server = start_server()
    add_operator(sqlite_url(tmp_path / 'a'), 'anita')
    add_orders(sqlite_url(tmp_path / 'a'), WITH_ROUTE, LONGEST, *LONG_ROUTES)
    driver = browser('cards')
    sign_in(driver, server.url, 'anita', TEST_PASSWORD)
    see(driver, 'Assembly')  # the kiosk: signed in

    numbers = [WITH_ROUTE.order_number, LONGEST.order_number]
    driver.get(f'{server.url}/orders/cards?orders={",".join(numbers)}')
    see(driver, 'Route: 3 work centers')
    settled(driver)
    symbols_loaded(driver, 2)
    print_button = driver.find_element(By.XPATH, '//button[.//span[normalize-space()="Print"]]')
    assert print_button.is_displayed()
    shot(driver, 'route-cards-screen')
    assert violations(driver) == []

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for paper, (width_mm, height_mm) in PAPERS.items():
        pdf = print_pdf(driver, paper, ARTIFACTS / f'route-cards-{paper}.pdf')
        pages = PdfReader(pdf).pages
        assert len(pages) == 2, f'{paper}: {len(pages)} sheets for 2 cards'
        box = pages[0].mediabox
        assert (round(float(box.width) * MM_PER_PT), round(float(box.height) * MM_PER_PT)) == (
            round(width_mm),
            round(height_mm),
        )
        for page, (order, names) in enumerate(
            [(WITH_ROUTE, ['Assembly', 'Machining', 'Quality Control']), (LONGEST, [])], start=1
        ):
            text = page_text(pdf, page)
            assert order.order_number in text, f'{paper} p{page}: no order number in\n{text}'
            assert order.product_code in text and (order.product_description or '') in text
            for name in names:
                assert name in text, f'{paper} p{page}: no {name} in\n{text}'
            for chrome in APP_CHROME:
                assert not re.search(chrome, text), f'{paper} p{page}: app chrome {chrome!r} printed:\n{text}'
            if not names:
                assert 'No route in the order book' in text
            assert symbols_on(rendered_page(pdf, page)) == {
                'Code128': order.order_number,
                'QRCode': order.order_number,
            }, f'{paper} p{page}: the symbols on the sheet do not read back as {order.order_number}'

    # The longest routes that fit: still one sheet each, on the shorter paper too.
    for order, steps in zip(LONG_ROUTES, (9, 13), strict=True):
        driver.get(f'{server.url}/orders/cards?orders={order.order_number}')
        see(driver, f'Route: {steps} work centers')
        symbols_loaded(driver, 1)
        for paper in PAPERS:
            pdf = print_pdf(driver, paper, ARTIFACTS / f'route-card-{steps}-steps-{paper}.pdf')
            assert len(PdfReader(pdf).pages) == 1, f'{paper}: a route of {steps} work centers took 2 sheets'
            assert page_text(pdf, 1).count('SIGNATURE') == steps
