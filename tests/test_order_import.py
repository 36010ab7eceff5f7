"""Importing the ERP's order file, as an admin does it: good files import, bad ones say why by line and
write nothing, a re-import updates open orders and lists what changed, closed orders are never touched."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import select

import potrack.db.engine as engine_module
from potrack.cli import main
from potrack.common import site_settings
from potrack.common.actors import Actor
from potrack.db import Database, use_database
from potrack.db.models import ORDER_CLOSED, AuditEvent, OrderHeader
from potrack.errors import NotAllowed
from potrack.orders import import_file, importing
from potrack.orders.import_sheet import MAX_FILE_BYTES
from potrack.orders.importing import ImportOutcome, describe_change, import_orders, preview_import
from tests.order_files import csv_bytes, order_book, stored, with_saved_results, xlsx
from tests.test_cli import Run

GOOD_ROWS = [
    ['PO-2026-0001', 'GEAR-12', 100, date(2026, 12, 31), 'WC001>WC002>WC005'],
    ['po-2026-0002', 'SHAFT-7', '1,500', '15.01.2027', 'WC002, WC003'],
    ['PO-2026-0003', 'Bracket Größe Ø 40', None, None, None],
]


def problems(outcome: ImportOutcome) -> list[str]:
    return [str(p) for p in outcome.problems]


@pytest.fixture
def existing(current_db: Database, admin: Actor) -> list[dict]:
    """Two orders in the book already, so that 'nothing written' also means 'nothing changed'."""
    outcome = import_orders(admin, csv_bytes([['PO-OLD-1', 'OLD', 5, '', ''], ['PO-OLD-2', 'OLD', 6, '', '']]), 'o.csv')
    assert outcome.saved, problems(outcome)
    return order_book(current_db)


# --- good files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize('kind', ['xlsx', 'csv'])
def test_a_good_file_imports_every_order(db: Database, admin: Actor, kind: str) -> None:
    data = xlsx(GOOD_ROWS) if kind == 'xlsx' else csv_bytes(GOOD_ROWS)
    outcome = import_orders(admin, data, f'erp.{kind}')
    assert problems(outcome) == []
    assert outcome.saved and outcome.report is not None
    assert outcome.report.created == ['PO-2026-0001', 'PO-2026-0002', 'PO-2026-0003']
    first, second, third = (stored(db, n) for n in outcome.report.created)
    assert (first.product_code, first.planned_quantity, first.due_date, first.route) == (
        'GEAR-12',
        100,
        date(2026, 12, 31),
        'WC001>WC002>WC005',
    )
    assert (second.planned_quantity, second.due_date, second.route) == (1500, date(2027, 1, 15), 'WC002>WC003')
    assert (third.product_code, third.planned_quantity, third.due_date) == ('Bracket Größe Ø 40', None, None)
    assert {first.status, first.source} == {'open', 'imported'}
    with db.read() as session:
        created = session.exec(select(AuditEvent).where(AuditEvent.action == 'order.create')).all()
    assert len(created) == 3 and {e.actor_id for e in created} == {admin.user_id}
    assert outcome.summary == f'Imported erp.{kind}: 3 new, 0 updated, 0 unchanged.'


@pytest.mark.parametrize(
    ('encoding', 'delimiter', 'described'),
    [
        ('cp1252', ';', 'semicolon-separated, Windows-1252'),
        ('utf-8-sig', ',', 'comma-separated, UTF-8'),
        ('utf-8', '\t', 'tab-separated, UTF-8'),
        ('utf-16', '\t', 'tab-separated, UTF-16'),
    ],
)
def test_csv_in_each_encoding_and_separator_reads_the_same(
    sqlite_db: Database, admin: Actor, encoding: str, delimiter: str, described: str
) -> None:
    rows = [['PO-1', 'Größe Ø 40 – Flansch', '1.200', '31/12/2026', '']]  # 1.200: a European thousands dot
    data = csv_bytes(rows, ('Order No', 'Description', 'Qty', 'Due', 'Notes'), delimiter=delimiter, encoding=encoding)
    outcome = preview_import(admin, data, 'erp.csv')
    assert outcome.file.description == f'CSV file ({described})'
    assert problems(outcome) == ['line 2: planned quantity "1.200" is not a positive whole number.']

    rows = [['PO-1', 'Größe Ø 40 – Flansch', '1200', '31/12/2026', 'Eilt; bitte "sofort"']]
    data = csv_bytes(rows, ('Order No', 'Description', 'Qty', 'Due', 'Notes'), delimiter=delimiter, encoding=encoding)
    assert import_orders(admin, data, 'erp.csv').saved
    order = stored(sqlite_db, 'PO-1')
    assert (order.product_description, order.planned_quantity, order.notes) == (
        'Größe Ø 40 – Flansch',
        1200,
        'Eilt; bitte "sofort"',
    )


def test_a_semicolon_file_with_decimal_commas_is_not_taken_for_commas(sqlite_db: Database, admin: Actor) -> None:
    # Every line has as many commas as semicolons: csv.Sniffer alone would pick the comma.
    text = 'Order No;Product;Qty;Notes\nPO-1;A;5;1,5 mm\nPO-2;B;6;2,5 mm\nPO-3;C;7;0,5 mm\n'
    outcome = preview_import(admin, text.encode(), 'erp.csv')
    assert problems(outcome) == []
    assert outcome.file.columns.mapping['planned_quantity'] == 'Qty'


def test_dates_in_three_formats_are_accepted(sqlite_db: Database, admin: Actor) -> None:
    rows = [['PO-1', 'A', 1, '2026-12-31', ''], ['PO-2', 'A', 1, '31.12.2026', ''], ['PO-3', 'A', 1, '31/12/2026', '']]
    assert import_orders(admin, csv_bytes(rows), 'erp.csv').saved
    rows = [['PO-4', 'A', 1, datetime(2026, 12, 31, 0, 0), '']]  # a date cell in a workbook
    assert import_orders(admin, xlsx(rows), 'erp.xlsx').saved
    assert {stored(sqlite_db, f'PO-{i}').due_date for i in range(1, 5)} == {date(2026, 12, 31)}


def test_header_variants_are_recognized(sqlite_db: Database, admin: Actor) -> None:
    headers = ('  Order number ', 'ITEM', 'description', 'Planned_Qty', 'Due Date', 'ROUTE', 'notes')
    outcome = preview_import(admin, csv_bytes([['PO-1', 'A', 'B', 3, '2026-12-31', 'WC001', 'x']], headers), 'e.csv')
    assert problems(outcome) == []
    assert set(outcome.file.columns.mapping) == {
        'order_number',
        'product_code',
        'product_description',
        'planned_quantity',
        'due_date',
        'route',
        'notes',
    }


def test_formulas_are_read_as_their_saved_results(sqlite_db: Database, admin: Actor) -> None:
    data = with_saved_results(xlsx([['PO-1', 'A', 10, None, None], ['PO-2', 'A', '=C2*2', None, None]]), {'C2*2': '20'})
    outcome = import_orders(admin, data, 'erp.xlsx')
    assert outcome.saved, problems(outcome)
    assert stored(sqlite_db, 'PO-2').planned_quantity == 20


# --- bad files: every problem by line, nothing written ------------------------------------------------


def merged(sheet: Worksheet) -> None:
    sheet.merge_cells('D2:D3')  # one due date for two lines, as people do


def too_long(sheet: Worksheet) -> None:
    sheet['B2'] = 'x' * 5000


BAD_FILES = {
    'missing order number column': (
        lambda: csv_bytes([['GEAR', 5]], ('Product', 'Qty')),
        'line 1: there is no order number column: no header on line 1 is "order_number", "Order number", '
        '"Order No" or "PO". Choose the column that holds it.',
    ),
    'duplicate orders': (
        lambda: csv_bytes([[f'PO-{i}', 'A', 1, '', ''] for i in range(1, 19)] + [['po-7', 'A', 2, '', '']]),
        'line 20: PO-7 appears twice in the file (also line 8).',
    ),
    'unknown status': (
        lambda: csv_bytes([['PO-1', 'A', 1, 'shipped']], ('PO', 'Item', 'Qty', 'Status')),
        'line 2: status "shipped" is not one of open, closed, cancelled.',
    ),
    'negative quantity': (
        lambda: xlsx([['PO-1', 'A', -5, None, None]]),
        'line 2: planned quantity -5 is not a positive whole number.',
    ),
    'fractional quantity': (
        lambda: csv_bytes([['PO-1', 'A', '12.5', '', '']]),
        'line 2: planned quantity "12.5" is not a positive whole number.',
    ),
    'decimal comma quantity': (
        lambda: csv_bytes([['PO-1', 'A', '1,5', '', '']], delimiter=';'),
        'line 2: planned quantity "1,5" is not a positive whole number.',
    ),
    'bad date': (
        lambda: csv_bytes([['PO-1', 'A', '5', '12/31/2026', '']]),
        'line 2: due date "12/31/2026" is not a date (write it as 2026-12-31 or 31.12.2026).',
    ),
    'empty order number': (
        lambda: csv_bytes([['PO-1', 'A', 1, '', ''], ['', 'B', 2, '', '']]),
        'line 3: the order number is empty.',
    ),
    'empty file': (lambda: b'', 'The file is empty.'),
    'only headers': (lambda: csv_bytes([]), 'The file has headers on line 1 but no orders below them.'),
    'only headers, workbook': (lambda: xlsx([]), 'The file has headers on line 1 but no orders below them.'),
    'not a spreadsheet': (
        lambda: b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR' + bytes(range(256)),
        'This file is not a spreadsheet: upload an Excel workbook (.xlsx) or a CSV file (text in UTF-8 or '
        'Windows-1252).',
    ),
    'corrupt workbook': (
        lambda: xlsx([['PO-1', 'A', 1, None, None]])[:3000],
        'This file could not be read as an Excel workbook: it may be damaged. '
        'Open it in Excel, save it again, and upload that.',
    ),
    'formula without a result': (
        lambda: xlsx([['PO-1', 'A', 10, None, None], ['PO-2', 'A', '=C2*2', None, None]]),
        'line 3: cell C3 holds a formula with no saved result (=C2*2); potrack never calculates formulas: '
        'open the file in Excel, save it, and upload it again.',
    ),
    'merged cells': (
        lambda: xlsx([['PO-1', 'A', 1, date(2026, 12, 31), None], ['PO-2', 'A', 1, None, None]], edit=merged),
        'line 3: cell D3 is part of the merged cells D2:D3, so it reads as empty; '
        'unmerge them and give every line its own value.',
    ),
    'cell too long': (
        lambda: xlsx([['PO-1', 'A', 1, None, None]], edit=too_long),
        'line 2: the product has 5,000 characters; a cell may hold at most 1,000.',
    ),
    'error value': (
        lambda: csv_bytes([['PO-1', 'A', '#N/A', '', '']]),
        'line 2: the planned quantity cell shows the error #N/A; correct it in the file.',
    ),
}


@pytest.mark.parametrize('case', BAD_FILES)
def test_a_bad_file_says_why_and_writes_nothing(
    sqlite_db: Database, admin: Actor, existing: list[dict], case: str
) -> None:
    make, message = BAD_FILES[case]
    data = make()
    name = 'erp.xlsx' if data.startswith(b'PK') else 'erp.csv'
    outcome = import_orders(admin, data, name)
    assert message in problems(outcome), problems(outcome)
    assert not outcome.saved and outcome.report is None
    assert outcome.summary.endswith('nothing was imported.')
    assert order_book(sqlite_db) == existing


def test_every_problem_of_every_line_is_listed_in_line_order(sqlite_db: Database, admin: Actor) -> None:
    rows = [
        ['PO-1', 'A', -5, 'soon', 'WC 1'],
        ['PO-2', 'A', 5, '', ''],
        ['PO-1', 'A', 5, '', ''],
    ]
    assert problems(preview_import(admin, csv_bytes(rows), 'erp.csv')) == [
        'line 2: planned quantity "-5" is not a positive whole number.',
        'line 2: due date "soon" is not a date (write it as 2026-12-31 or 31.12.2026).',
        'line 2: route "WC 1": "WC 1" is not a work center code (write the codes in order, like WC001>WC002>WC005).',
        'line 4: PO-1 appears twice in the file (also line 2).',
    ]


def test_a_60_mb_upload_is_refused_by_its_size_before_it_is_read(
    sqlite_db: Database, admin: Actor, existing: list[dict]
) -> None:
    data = bytes(60 * 1024 * 1024)
    started = time.perf_counter()
    outcome = import_orders(admin, data, 'erp.xlsx')
    assert time.perf_counter() - started < 1.0
    assert problems(outcome) == [
        'The file is 60.0 MB; at most 20 MB can be imported at once. Split it into smaller files.'
    ]
    assert len(data) > MAX_FILE_BYTES and order_book(sqlite_db) == existing


def test_more_lines_than_allowed_are_refused_whole(
    sqlite_db: Database, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_file, 'MAX_LINES', 3)
    outcome = import_orders(admin, csv_bytes([[f'PO-{i}', 'A', 1, '', ''] for i in range(4)]), 'erp.csv')
    assert problems(outcome) == ['The file has more than 3 lines of orders; split it into files of at most 3.']
    assert order_book(sqlite_db) == []


def test_blank_lines_are_skipped_and_line_numbers_stay_those_of_the_sheet(sqlite_db: Database, admin: Actor) -> None:
    rows = [['PO-1', 'A', 1, '', ''], ['', '', '', '', ''], [], ['PO-2', 'A', -1, '', '']]
    outcome = preview_import(admin, csv_bytes(rows), 'erp.csv')
    assert problems(outcome) == ['line 5: planned quantity "-1" is not a positive whole number.']
    assert outcome.file.lines == 2


def test_an_old_xls_workbook_is_named(sqlite_db: Database, admin: Actor) -> None:
    outcome = preview_import(admin, b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + bytes(600), 'erp.xls')
    assert problems(outcome) == [
        'This is an old Excel 97–2003 workbook (.xls). Save it as .xlsx or CSV in Excel and upload that.'
    ]


def test_only_an_admin_may_import(sqlite_db: Database, make_user) -> None:
    anita = make_user('anita')
    with pytest.raises(NotAllowed):
        preview_import(anita, csv_bytes(GOOD_ROWS), 'erp.csv')
    with pytest.raises(NotAllowed):
        import_orders(anita, csv_bytes(GOOD_ROWS), 'erp.csv')
    assert order_book(sqlite_db) == []


# --- all or nothing -----------------------------------------------------------------------------------


def test_a_failure_half_way_through_saving_leaves_the_book_as_it_was(
    db: Database, admin: Actor, existing: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, 'SAVE_CHUNK', 2)
    rows = [[f'PO-{i}', 'A', i + 1, '', ''] for i in range(6)] + [['PO-OLD-1', 'NEW', 50, '', '']]
    saved: list[int] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == 'saving':
            saved.append(done)
            if done >= 4:  # two chunks are in the database by now, inside the transaction
                raise RuntimeError('the server went away')

    with pytest.raises(RuntimeError):
        import_orders(admin, csv_bytes(rows), 'erp.csv', progress=progress)
    assert saved == [2, 4]
    assert order_book(db) == existing


# --- re-import ----------------------------------------------------------------------------------------


def close(db: Database, number: str) -> None:
    def unit(session):  # type: ignore[no-untyped-def]
        row = session.exec(select(OrderHeader).where(OrderHeader.order_number == number)).one()
        row.status = ORDER_CLOSED
        session.add(row)

    db.write(unit)


def test_a_reimport_updates_open_orders_lists_the_changes_and_leaves_closed_ones(db: Database, admin: Actor) -> None:
    first = [['PO-1', 'GEAR', 100, '2026-12-01', ''], ['PO-2', 'GEAR', 50, '', ''], ['PO-3', 'GEAR', 10, '', '']]
    assert import_orders(admin, csv_bytes(first), 'erp.csv').saved
    close(db, 'PO-3')
    closed_before = stored(db, 'PO-3')

    again = [
        ['PO-1', 'GEAR-2', 120, '15.12.2026', ''],  # open: updated
        ['PO-2', 'GEAR', 50, '', ''],  # the same: unchanged
        ['PO-3', 'GEAR', 99, '', ''],  # closed: listed, left as it is
        ['PO-4', 'NEW', 7, '', ''],  # new
    ]
    preview = preview_import(admin, csv_bytes(again), 'erp.csv')
    assert (
        preview.summary
        == 'Importing would give: 1 new, 1 updated, 1 unchanged, 1 closed or cancelled left as they are.'
    )
    assert stored(db, 'PO-1').planned_quantity == 100  # a preview writes nothing

    outcome = import_orders(admin, csv_bytes(again), 'erp.csv')
    assert outcome.report is not None
    assert outcome.report.created == ['PO-4'] and outcome.report.unchanged == ['PO-2']
    assert [describe_change(c) for c in outcome.report.updated] == [
        'PO-1: product GEAR → GEAR-2, planned quantity 100 → 120, due date 2026-12-01 → 2026-12-15'
    ]
    assert [describe_change(c) for c in outcome.report.not_open] == ['PO-3: planned quantity 10 → 99']
    assert stored(db, 'PO-1').planned_quantity == 120
    assert stored(db, 'PO-3') == closed_before


def test_lines_closed_or_cancelled_in_the_file_are_listed_and_not_imported(sqlite_db: Database, admin: Actor) -> None:
    rows = [['PO-1', 'A', 1, 'open'], ['PO-2', 'A', 1, 'Cancelled'], ['PO-3', 'A', 1, '']]
    outcome = import_orders(admin, csv_bytes(rows, ('PO', 'Item', 'Qty', 'Status')), 'erp.csv')
    assert outcome.report is not None and outcome.report.created == ['PO-1', 'PO-3']
    assert [(r.line, r.fields.order_number, r.status) for r in outcome.not_open_in_file] == [(3, 'PO-2', 'cancelled')]
    assert outcome.summary.endswith('1 closed or cancelled in the file not imported.')
    assert [row['order_number'] for row in order_book(sqlite_db)] == ['PO-1', 'PO-3']


# --- columns --------------------------------------------------------------------------------------------


def test_unrecognized_headers_are_mapped_and_the_choice_remembered(sqlite_db: Database, admin: Actor) -> None:
    headers = ('Auftrag', 'Artikel', 'Menge', 'Liefertermin')
    data = csv_bytes([['PO-1', 'A', 5, '2026-12-31']], headers)
    outcome = preview_import(admin, data, 'erp.csv')
    assert 'line 1: there is no order number column' in problems(outcome)[0]
    assert outcome.file.columns.unused == list(headers)

    mapping = {
        'order_number': 'Auftrag',
        'product_code': 'Artikel',
        'planned_quantity': 'Menge',
        'due_date': 'Liefertermin',
    }
    assert import_orders(admin, data, 'erp.csv', mapping=mapping).saved
    assert json.loads(site_settings.read(site_settings.IMPORT_COLUMNS)) == mapping

    # The next file from the same ERP needs no choosing.
    outcome = import_orders(admin, csv_bytes([['PO-2', 'B', 6, '31.12.2026']], headers), 'erp.csv')
    assert outcome.saved, problems(outcome)
    assert stored(sqlite_db, 'PO-2').planned_quantity == 6


def test_a_column_chosen_twice_or_an_ambiguous_one_waits_for_a_choice(sqlite_db: Database, admin: Actor) -> None:
    data = csv_bytes([['PO-1', 'A', 'B', 5]], ('PO', 'Product', 'Item', 'Qty'))
    assert problems(preview_import(admin, data, 'erp.csv')) == [
        'line 1: column B ("Product") and column C ("Item") could each be the product; choose the one to read.'
    ]
    chosen = preview_import(admin, data, 'erp.csv', mapping={'product_code': 'Item', 'notes': 'Item'})
    assert problems(chosen) == ['line 1: column C ("Item") is chosen for both the product and notes.']
    outcome = import_orders(admin, data, 'erp.csv', mapping={'product_code': 'Item', 'product_description': 'Product'})
    assert outcome.saved, problems(outcome)
    assert (stored(sqlite_db, 'PO-1').product_code, stored(sqlite_db, 'PO-1').product_description) == ('B', 'A')


# --- the command ----------------------------------------------------------------------------------------


@pytest.fixture
def potrack(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """Run `potrack ARGS…` in this process against the test's database; gives (exit status, stdout, stderr)."""
    monkeypatch.setenv('DATABASE_URL', db.url)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refusing the arguments
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            opened = engine_module._database
            if opened is not None and opened is not db:
                opened.dispose()
            use_database(db)
        out, err = capsys.readouterr()
        return code, out, err

    yield run


def test_the_command_checks_then_imports(potrack: Run, db: Database, tmp_path: Path) -> None:
    bad = tmp_path / 'bad.csv'
    bad.write_bytes(csv_bytes([['PO-1', 'A', -5, '', ''], ['PO-1', 'A', 5, '', '']]))
    code, out, _ = potrack('import-orders', str(bad))
    assert code == 1
    assert out.splitlines() == [
        'line 2: planned quantity "-5" is not a positive whole number.',
        'line 3: PO-1 appears twice in the file (also line 2).',
        '2 problems in bad.csv: nothing was imported.',
    ]

    good = tmp_path / 'good.xlsx'
    good.write_bytes(xlsx(GOOD_ROWS))
    code, out, _ = potrack('import-orders', str(good), '--dry-run')
    assert (code, out.splitlines()[-1]) == (
        0,
        'dry run, nothing written. Importing would give: 3 new, 0 updated, 0 unchanged.',
    )
    assert order_book(db) == []

    code, out, _ = potrack('import-orders', str(good), '--as', 'admin')
    assert (code, out.splitlines()[-1]) == (0, 'Imported good.xlsx: 3 new, 0 updated, 0 unchanged.')
    assert len(order_book(db)) == 3


def test_the_command_refuses_a_file_too_big_without_reading_it(potrack: Run, db: Database, tmp_path: Path) -> None:
    huge = tmp_path / 'huge.xlsx'
    with huge.open('wb') as f:
        f.truncate(60 * 1024 * 1024)  # sparse: 60 MB long, nothing in memory or on disk
    code, _, err = potrack('import-orders', str(huge))
    assert code == 1
    assert (
        err.strip()
        == 'potrack: The file is 60.0 MB; at most 20 MB can be imported at once. Split it into smaller files.'
    )


def test_the_command_maps_columns_and_acts_as_the_user_named(
    potrack: Run, db: Database, tmp_path: Path, make_user
) -> None:
    make_user('anita')
    path = tmp_path / 'erp.csv'
    path.write_bytes(csv_bytes([['PO-1', 7]], ('Auftrag', 'Menge')))
    code, _, err = potrack('import-orders', str(path), '--as', 'anita')
    assert (code, err.strip()) == (1, 'potrack: Only an administrator can do this.')
    code, out, _ = potrack(
        'import-orders', str(path), '--column', 'order_number=Auftrag', '--column', 'planned_quantity=Menge'
    )
    assert code == 0, out
    assert stored(db, 'PO-1').planned_quantity == 7
    code, _, err = potrack('import-orders', str(path), '--column', 'qty=Menge')
    assert code == 2 and "'qty=Menge' is not FIELD=HEADER" in err
