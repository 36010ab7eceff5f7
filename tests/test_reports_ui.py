"""The reports page as a manager or an operator uses it: filters in the URL, tables, charts, Excel download."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from nicegui import ui
from nicegui.functions.navigate import History
from nicegui.testing import User
from openpyxl import load_workbook

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.ledger.writer import record_movement
from potrack.pages.reports import tables
from potrack.pages.reports.query import ReportQuery, parse_query, query_string
from potrack.reports.excel.job import EXPORT_DIR_PREFIX
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, eventually_equal, field_error, handled, see, sign_in


def table_rows(user: User, marker: str) -> list[dict]:
    element = user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.table)
    return element.rows


def text_of(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().text  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_workbooks_left_behind() -> Iterator[None]:
    """The simulated browser never closes its page, so the page's own clean-up does not run: do it here."""
    before = set(Path(tempfile.gettempdir()).glob(f'{EXPORT_DIR_PREFIX}*'))
    yield
    for folder in set(Path(tempfile.gettempdir()).glob(f'{EXPORT_DIR_PREFIX}*')) - before:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def floor(sqlite_db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> dict:
    anita, quinn = make_user('anita'), make_user('quinn', 'Quality Control')

    def rec(actor: Actor, code: str, order: str, qty: int, kind: str) -> None:
        record_movement(actor, work_center_id=wc(code), order_number=order, quantity=qty, movement_type=kind)

    rec(anita, 'WC001', 'PO-1', 50, 'IN')
    rec(anita, 'WC001', 'PO-1', 20, 'OUT')
    rec(anita, 'WC002', 'PO-2', 8, 'IN')
    rec(admin, 'WC001', 'PO-3', 5, 'IN')
    rec(admin, 'WC001', 'PO-3', 5, 'OUT')
    rec(quinn, 'WC005', 'QC-7', 12, 'IN')
    return {'anita': anita, 'quinn': quinn}


async def open_reports(user: User, name: str, query: str = 'period=all') -> None:
    await sign_in(user, name, TEST_PASSWORD)
    await user.open(f'/reports?{query}')
    await eventually(lambda: bool(text_of(user, 'total-count')))


def test_a_report_url_round_trips() -> None:
    q = ReportQuery(
        order='PO-1',
        match='contains',
        wc_codes=('WC001', 'WC002'),
        period='custom',
        date_from=date(2026, 3, 1),
        date_to=date(2026, 3, 5),
        movement_type='OUT',
        username='anita',
        open_only=False,
        tab='charts',
    )
    text = query_string(q)
    assert text == (
        'order=PO-1&match=contains&wc=WC001%2CWC002&period=custom&from=2026-03-01&to=2026-03-05'
        '&type=OUT&user=anita&open=0&tab=charts'
    )
    assert parse_query(dict(p.split('=') for p in text.replace('%2C', ',').split('&'))) == q
    assert query_string(ReportQuery()) == ''
    odd = parse_query({'period': 'fortnight', 'type': 'SIDEWAYS', 'tab': '<script>', 'from': 'x'})
    assert (odd.period, odd.movement_type, odd.tab) == ('this-month', None, 'movements')
    assert odd.notes == ('Unknown period "fortnight"; showing this month.',)


async def test_an_operator_searches_only_their_work_centers(user: User, floor: dict) -> None:
    await open_reports(user, 'anita')
    rows = table_rows(user, 'movements-table')
    assert sorted((r['wc'], r['order'], r['type'], r['qty']) for r in rows) == [
        ('WC001', 'PO-1', 'IN', 50),
        ('WC001', 'PO-1', 'OUT', 20),
        ('WC001', 'PO-3', 'IN', 5),
        ('WC001', 'PO-3', 'OUT', 5),
        ('WC002', 'PO-2', 'IN', 8),
    ]
    assert rows[0]['department'] in ('Production', 'Management')
    assert text_of(user, 'total-count') == '5 movements'
    assert (text_of(user, 'total-in'), text_of(user, 'total-out'), text_of(user, 'total-net')) == (
        'IN 63',
        'OUT 25',
        'Net +38',
    )
    wc_select = user.find(marker='f-wc').elements.pop()
    assert set(wc_select.options) == {'WC001', 'WC002', 'WC003', 'WC004'}  # type: ignore[attr-defined]


async def test_filters_change_the_rows_totals_and_the_url(
    user: User, floor: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls: list[str] = []
    monkeypatch.setattr(History, 'replace', lambda self, url: urls.append(url))
    await open_reports(user, 'anita', 'period=all&wc=WC001')
    assert text_of(user, 'total-count') == '4 movements'
    user.find(marker='f-type').elements.pop().value = 'OUT'  # type: ignore[attr-defined]
    await eventually_equal(lambda: text_of(user, 'total-count'), '2 movements')
    assert text_of(user, 'total-out') == 'OUT 25'
    user.find(marker='f-order').type('po-3')
    await eventually_equal(lambda: text_of(user, 'total-count'), '1 movement')
    assert urls[-1] == '/reports?order=po-3&wc=WC001&period=all&type=OUT'
    changes = len(urls)
    async with handled():  # the period's handler, and those of the dates it fills in
        user.find(marker='f-period').elements.pop().value = 'today'  # type: ignore[attr-defined]
    assert urls[changes:] == ['/reports?order=po-3&wc=WC001&period=today&type=OUT']  # no second change from the dates
    today = user.find(marker='f-from').elements.pop().value  # type: ignore[attr-defined]
    assert today and today == user.find(marker='f-to').elements.pop().value  # type: ignore[attr-defined]
    user.find(marker='f-from').clear().type('2020-01-01')
    await eventually(lambda: 'period=custom&from=2020-01-01' in urls[-1])
    async with handled():
        user.find(marker='f-to').clear().type('2020-13-01')
    assert field_error(user, 'f-to') == 'Type a date as YYYY-MM-DD, or pick one.'


async def test_the_rows_show_before_the_totals_are_counted(
    user: User, floor: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = threading.Event()
    real_totals = tables.movement_totals

    def slow_totals(*args: Any, **kwargs: Any) -> Any:
        assert counted.wait(10)  # a count over a million movements, held until the rows were seen
        return real_totals(*args, **kwargs)

    monkeypatch.setattr(tables, 'movement_totals', slow_totals)
    await sign_in(user, 'anita', TEST_PASSWORD)
    await user.open('/reports?period=all')
    await eventually_equal(lambda: len(table_rows(user, 'movements-table')), 5)
    await see(user, 'Counting all matches…')
    assert text_of(user, 'total-count') == ''
    counted.set()
    await eventually_equal(lambda: text_of(user, 'total-count'), '5 movements')
    await user.should_not_see('Counting all matches…')
    assert text_of(user, 'total-in') == 'IN 63'


async def test_a_shared_link_with_a_hidden_work_center_leaves_it_out(user: User, floor: dict) -> None:
    await open_reports(user, 'quinn', 'period=all&wc=WC001,WC005')
    await user.should_see('Left out WC001: not among your work centers.')
    assert [r['wc'] for r in table_rows(user, 'movements-table')] == ['WC005']


async def test_the_server_sorts_and_pages(user: User, floor: dict, wc: Callable[[str], int]) -> None:
    for n in range(30):
        record_movement(
            floor['anita'], work_center_id=wc('WC003'), order_number=f'B-{n}', quantity=n + 1, movement_type='IN'
        )
    await open_reports(user, 'anita', 'period=all&wc=WC003')
    assert text_of(user, 'total-count') == '30 movements'
    table = user.find(marker='movements-table')
    table.trigger('request', {'pagination': {'page': 2, 'rowsPerPage': 25, 'sortBy': 'quantity', 'descending': False}})
    await eventually_equal(lambda: [r['qty'] for r in table_rows(user, 'movements-table')], [26, 27, 28, 29, 30])
    element = table.elements.pop()
    assert element.pagination['rowsNumber'] == 30  # type: ignore[attr-defined]


async def test_balances_tab_per_work_center_and_per_order(user: User, floor: dict) -> None:
    await open_reports(user, 'anita', 'period=all&tab=balances')
    await eventually(lambda: bool(table_rows(user, 'wc-summary')) and bool(table_rows(user, 'order-balances')))
    summary = {r['wc']: (r['balance'], r['open'], r['user']) for r in table_rows(user, 'wc-summary')}
    assert summary['WC001'] == ('30', '1', 'Administrator') and summary['WC002'] == ('8', '1', 'Anita')
    orders = table_rows(user, 'order-balances')
    assert sorted((r['wc'], r['order'], r['balance']) for r in orders) == [
        ('WC001', 'PO-1', '30'),
        ('WC002', 'PO-2', '8'),
    ]
    assert all(re.fullmatch(r'\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d', r['last']) for r in orders)  # IST
    user.find(marker='open-only').click()
    await eventually_equal(lambda: len(table_rows(user, 'order-balances')), 3)


async def test_charts_draw_the_selection_or_say_there_is_nothing(user: User, floor: dict) -> None:
    await open_reports(user, 'anita', 'period=all&tab=charts')
    await see(user, marker='chart-in')
    chart = user.find(marker='chart-in').elements.pop()
    assert isinstance(chart, ui.echart)
    assert {s['name'] for s in chart.options['series']} == {'WC001', 'WC002'}
    assert chart.options['tooltip']['renderMode'] == 'richText'
    await user.open('/reports?period=all&tab=charts&order=NOTHING')
    await see(user, marker='chart-in-empty')
    await see(user, 'No IN movements match these filters, so there is nothing to chart.')
    await see(user, marker='balance-empty')


async def test_export_downloads_exactly_the_filtered_rows(user: User, floor: dict) -> None:
    await open_reports(user, 'anita', 'period=all&wc=WC001&type=IN')
    user.find(marker='export-button').click()
    response = await user.download.next(timeout=120)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ['Summary', 'Balances', 'Movements', 'Orders']
    moves = [tuple(c.value for c in row) for row in book['Movements'].iter_rows(min_row=2)]
    assert sorted((m[1], m[2], m[4], m[5]) for m in moves) == [('PO-1', 'WC001', 'IN', 50), ('PO-3', 'WC001', 'IN', 5)]
    await eventually(lambda: text_of(user, 'export-status').startswith('Ready: potrack-report-WC001-'))


async def test_an_operators_export_never_holds_other_departments(user: User, floor: dict) -> None:
    await open_reports(user, 'quinn')
    user.find(marker='export-button').click()
    response = await user.download.next(timeout=120)
    book = load_workbook(io.BytesIO(response.content))
    assert {row[2] for row in book['Movements'].iter_rows(min_row=2, values_only=True)} == {'WC005'}
    assert {row[0] for row in book['Balances'].iter_rows(min_row=2, values_only=True)} == {'WC005'}


async def test_the_page_needs_a_signed_in_user(user: User, sqlite_db: Database) -> None:
    await user.open('/reports')
    await user.should_see(marker='username')


async def test_a_running_export_can_be_stopped(user: User, floor: dict) -> None:
    await open_reports(user, 'anita')
    user.find(marker='export-button').click()
    await eventually(lambda: text_of(user, 'export-status') != '')
    user.find(marker='export-stop').click()
    await eventually_equal(lambda: text_of(user, 'export-status'), 'Export stopped.')
    button = user.find(marker='export-button').elements.pop()
    assert button.enabled  # type: ignore[attr-defined]
    # A file is handed over in the same step that would have said "Ready:", never after "Export stopped.".
    assert user.download.http_responses == []
