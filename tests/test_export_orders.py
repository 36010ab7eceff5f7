"""The Orders sheet of the export, read back as a person (and Excel) would: which orders, typed cells, the
orders page's progress, late orders marked, only the progress a user may see, and no sheet when no order is
covered.

The book, exported as of 11 Mar 2026 (IST), movements on 6 Mar:
PO-A  planned 100, due 1 Mar, route WC001>WC002>WC005: WC001 IN 60 OUT 40, WC002 IN 40 OUT 30,
      WC005 IN 30 OUT 10 (quinn, Quality Control)                          → late
PO-D  planned 8, due 5 Mar, WC001 IN 8, then closed                        → not late: closed
PO-B  no plan, due 20 Mar, WC001 IN 5
PO-C  planned 10, no due date, WC002 IN 10 OUT 10                          → 100 %
PO-E  booked, no movement                                                  → not covered
PO-GHOST  a movement at WC003 of an order not in the book (as no form would store)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import insert

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import OrderBalance, ProductionOrder
from potrack.ledger.search import MovementFilter
from potrack.ledger.writer import record_movement
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from potrack.orders.listing import get_order
from potrack.reports.excel import orders_sheet
from potrack.reports.excel.orders_sheet import ORDER_TITLES
from potrack.reports.excel.workbook import ExportRequest, export_workbook
from tests.test_export import NOW, export, values
from tests.test_export import _indian_time as _indian_time
from tests.test_reports import MAR, ist, stamp

FORMULA = '=HYPERLINK("http://x","y")'
SUMMARY_LINE = '4 orders of the order book with movements selected; progress as of now'
NONE_LINE = 'none: no movement selected is of an order in the order book'


@dataclass(frozen=True)
class Book:
    admin: Actor
    anita: Actor
    quinn: Actor
    wc: dict[str, int]


@pytest.fixture
def booked(db: Database, admin: Actor, make_user: Callable[..., Actor], wc: Callable[[str], int]) -> Book:
    anita, quinn = make_user('anita'), make_user('quinn', 'Quality Control')
    codes = {code: wc(code) for code in ('WC001', 'WC002', 'WC003', 'WC005')}
    orders = [
        dict(order_number='PO-A', product_code='BRK-220', product_description='Brake disc 220', planned_quantity=100),
        dict(order_number='PO-D', product_code='FLG-075', planned_quantity=8, due_date='05.03.2026'),
        dict(order_number='PO-B', product_code='HUB-9', product_description=FORMULA, due_date='20.03.2026'),
        dict(order_number='PO-C', product_code='AX-1', planned_quantity=10),
        dict(order_number='PO-E', planned_quantity=3, due_date='01.03.2026'),
    ]
    orders[0] |= {'due_date': '01.03.2026', 'route': 'WC001>WC002>WC005'}
    for fields in orders:
        book.add_order(admin, parse_order_fields(**fields), db=db)

    def rec(actor: Actor, code: str, order: str, qty: int, kind: str) -> None:
        result = record_movement(
            actor, work_center_id=codes[code], order_number=order, quantity=qty, movement_type=kind
        )
        stamp(db, result.movement_id, ist(6, 10, 0))

    for code, qty_in, qty_out in (('WC001', 60, 40), ('WC002', 40, 30), ('WC005', 30, 10)):
        rec(quinn if code == 'WC005' else anita, code, 'PO-A', qty_in, 'IN')
        rec(quinn if code == 'WC005' else anita, code, 'PO-A', qty_out, 'OUT')
    rec(anita, 'WC001', 'PO-D', 8, 'IN')
    book.set_status(admin, 'PO-D', 'closed', 'shipped early', db=db)
    rec(anita, 'WC001', 'PO-B', 5, 'IN')
    rec(anita, 'WC002', 'PO-C', 10, 'IN')
    rec(anita, 'WC002', 'PO-C', 10, 'OUT')
    _ghost_movement(db, codes['WC003'], anita)
    return Book(admin, anita, quinn, codes)


def _ghost_movement(db: Database, wc_id: int, user: Actor) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            insert(ProductionOrder).values(
                order_number='PO-GHOST',
                work_center_id=wc_id,
                quantity=4,
                movement_type='IN',
                user_id=user.user_id,
                created_at=ist(6, 11, 0),
                request_id='test-ghost-row',
            )
        )
        conn.execute(
            insert(OrderBalance).values(
                work_center_id=wc_id, order_number='PO-GHOST', qty_in=4, qty_out=0, last_movement_at=ist(6, 11, 0)
            )
        )


def rows_by_order(ws: Worksheet) -> dict[str, tuple]:
    return {row[0]: row for row in values(ws)[1:]}


def summary_pairs(ws: Worksheet) -> dict:
    return {r[0]: r[1] for r in values(ws) if r[0] is not None}


def test_the_orders_sheet_holds_each_covered_order_with_typed_cells(db: Database, booked: Book, tmp_path: Path) -> None:
    _, sheets = export(tmp_path, booked.admin)
    assert list(sheets) == ['Summary', 'Balances', 'Movements', 'Orders']
    ws = sheets['Orders']
    rows = values(ws)
    assert rows[0] == (
        *('Order', 'Product code', 'Product', 'Planned', 'Started', 'In progress', 'Finished', '% finished'),
        *('Due', 'Status', 'Late', 'In transit', 'Scrapped', 'Yield'),
    )
    assert rows[0] == ORDER_TITLES
    assert [
        row[:11] for row in rows[1:]
    ] == [  # soonest due first, no due date last; PO-E has no movement, PO-GHOST is not booked
        ('PO-A', 'BRK-220', 'Brake disc 220', 100, 60, 50, 10, 0.1, datetime(2026, 3, 1), 'open', 'Late'),
        ('PO-D', 'FLG-075', None, 8, 8, 8, 0, 0.0, datetime(2026, 3, 5), 'closed', None),
        ('PO-B', 'HUB-9', FORMULA, None, 5, 5, 0, None, datetime(2026, 3, 20), 'open', None),
        ('PO-C', 'AX-1', None, 10, 10, 0, 10, 1.0, None, 'open', None),
    ]
    planned, started, share, due = ws['D2'], ws['E2'], ws['H2'], ws['I2']
    assert planned.data_type == 'n' and isinstance(planned.value, int) and planned.number_format == '#,##0'
    assert isinstance(started.value, int) and started.number_format == '#,##0'
    assert isinstance(share.value, float) and share.number_format == '0%'
    assert due.is_date and due.number_format == 'yyyy-mm-dd'
    formula = ws['C4']
    assert formula.data_type == 's' and formula.quotePrefix  # text, never a formula
    assert (ws.freeze_panes, ws.auto_filter.ref, ws.print_title_rows) == ('A2', 'A1:N5', '$1:$1')
    made = ws['N2']  # PO-A: 10 finished of 60 started
    assert (made.value, made.number_format) == (pytest.approx(10 / 60), '0%') and isinstance(ws['L2'].value, int)
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.column_dimensions['C'].width >= len(FORMULA) and ws.column_dimensions['I'].width >= len('2026-03-01')
    assert summary_pairs(sheets['Summary'])['Orders sheet'] == SUMMARY_LINE
    result = export_workbook(booked.admin, ExportRequest(), tmp_path / 'again.xlsx', now=NOW)
    assert (result.orders, result.movements) == (4, 11)


def test_progress_is_the_orders_pages_for_each_user(db: Database, booked: Book, tmp_path: Path) -> None:
    for actor in (booked.admin, booked.anita, booked.quinn):
        _, sheets = export(tmp_path, actor)
        for number, row in rows_by_order(sheets['Orders']).items():
            progress = get_order(actor, number).progress
            assert row[4:7] == (progress.started, progress.wip, progress.finished), number
            made = None if progress.yield_percent is None else pytest.approx(progress.yield_percent / 100)
            assert row[11:14] == (progress.in_transit, progress.scrapped, made), number


def test_a_department_sees_only_the_progress_at_its_work_centers(db: Database, booked: Book, tmp_path: Path) -> None:
    _, quality = export(tmp_path, booked.quinn)
    # Only PO-A has a movement at WC005; its numbers are WC005's alone, and 10 of 100 finished is still late.
    assert list(rows_by_order(quality['Orders'])) == ['PO-A']
    row = rows_by_order(quality['Orders'])['PO-A']
    assert (row[3:8], row[10]) == ((100, 30, 20, 10, 0.1), 'Late')
    assert summary_pairs(quality['Summary'])['Orders sheet'].startswith('1 order of the order book ')
    _, production = export(tmp_path, booked.anita)
    assert rows_by_order(production['Orders'])['PO-A'][3:8] == (100, 60, 30, 30, 0.3)  # WC001 and WC002


@pytest.mark.parametrize(
    'flt',
    [
        MovementFilter(date_from=MAR[20], date_to=MAR[21]),  # no movement at all
        MovementFilter(order='PO-GHOST', match='exact'),  # a movement, but of an order not in the book
        MovementFilter(order='PO-E', match='exact'),  # a booked order without a movement
    ],
    ids=['no-movement', 'order-not-booked', 'booked-but-unmoved'],
)
def test_no_orders_sheet_when_the_selection_covers_no_booked_order(
    db: Database, booked: Book, tmp_path: Path, flt: MovementFilter
) -> None:
    _, sheets = export(tmp_path, booked.admin, ExportRequest(flt))
    assert list(sheets) == ['Summary', 'Balances', 'Movements']
    assert summary_pairs(sheets['Summary'])['Orders sheet'] == NONE_LINE


def test_the_selection_decides_which_orders_the_sheet_holds(db: Database, booked: Book, tmp_path: Path) -> None:
    _, by_order = export(tmp_path, booked.admin, ExportRequest(MovementFilter(order='PO-', match='prefix')))
    assert list(rows_by_order(by_order['Orders'])) == ['PO-A', 'PO-D', 'PO-B', 'PO-C']
    flt = MovementFilter(work_center_ids=(booked.wc['WC002'],), movement_type='OUT')
    _, outs = export(tmp_path, booked.admin, ExportRequest(flt))
    # Covered through WC002's OUTs; the progress is still the whole order's.
    assert {n: r[4:7] for n, r in rows_by_order(outs['Orders']).items()} == {'PO-A': (60, 50, 10), 'PO-C': (10, 0, 10)}
    _, only_ghost = export(tmp_path, booked.admin, ExportRequest(MovementFilter(work_center_ids=(booked.wc['WC003'],))))
    assert 'Orders' not in only_ghost


def test_late_is_marked_in_words_and_colours_with_enough_contrast(db: Database, booked: Book, tmp_path: Path) -> None:
    _, sheets = export(tmp_path, booked.admin)
    late = sheets['Orders']['K2']
    assert late.value == 'Late' and late.font.b and late.font.name == 'Calibri'
    text, fill = late.font.color.rgb[-6:], late.fill.fgColor.rgb[-6:]
    assert late.fill.fill_type == 'solid' and contrast(text, fill) >= 4.5  # WCAG AA for normal text
    assert sheets['Orders']['K3'].value is None


def test_orders_stream_in_batches(db: Database, booked: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays flat: orders come from the cursor a batch at a time, each batch's balances in one query."""
    asked: list[list[str]] = []
    steps_by_order = orders_sheet.steps_by_order
    monkeypatch.setattr(orders_sheet, 'ORDERS_BATCH', 3)
    monkeypatch.setattr(
        orders_sheet, 'steps_by_order', lambda s, numbers: asked.append(numbers) or steps_by_order(s, numbers)
    )
    _, sheets = export(tmp_path, booked.admin)
    assert asked == [['PO-A', 'PO-D', 'PO-B'], ['PO-C']]
    assert [r[0] for r in values(sheets['Orders'])[1:]] == ['PO-A', 'PO-D', 'PO-B', 'PO-C']


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two sRGB colours given as RRGGBB."""

    def luminance(rgb: str) -> float:
        channels = [int(rgb[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
