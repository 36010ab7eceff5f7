"""The import dialog as an admin uses it: upload a file, see its problems, choose columns, import it.

The dialog is mounted on a small page of this test (the orders page opens it the same way).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import Request
from fastapi.responses import Response
from nicegui import ui
from nicegui.testing import User

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.pages.guard import PageContext, open_page
from potrack.pages.orders.import_dialog import open_import_dialog
from tests.conftest import TEST_PASSWORD
from tests.order_files import csv_bytes, order_book, stored, xlsx
from tests.ui_helpers import sign_in

PATH = '/test/import-orders'
RETRIES = 100  # should_see looks every 0.1 s: up to 10 s on a loaded machine, at once on an idle one


@pytest.fixture
def import_page(make_user: Callable[..., Actor]) -> list[str]:
    """A page with the button the orders page has; what on_done was called with is collected."""
    make_user('boss', 'Management', is_admin=True)
    done: list[str] = []

    @ui.page(PATH)
    async def page(request: Request) -> Response | None:
        ctx = await open_page(request, admin_only=True)
        if not isinstance(ctx, PageContext):
            return ctx
        count = ui.label('imports done: 0').mark('done-count')

        async def on_done() -> None:
            done.append('done')
            count.set_text(f'imports done: {len(done)}')

        ui.button('Import…', on_click=lambda: open_import_dialog(ctx, on_done)).mark('open-import')
        return None

    return done


async def upload(user: User, name: str, data: bytes) -> None:
    element = user.find(marker='import-upload').elements.pop()
    assert isinstance(element, ui.upload)
    await element.handle_uploads([ui.upload.SmallFileUpload(name, 'application/octet-stream', data)])


def enabled(user: User, marker: str) -> bool:
    return user.find(marker=marker).elements.pop().enabled


async def open_dialog(user: User) -> None:
    await sign_in(user, 'boss', TEST_PASSWORD, next_path=PATH)
    await user.should_see(marker='open-import', retries=RETRIES)
    user.find(marker='open-import').click()
    await user.should_see(marker='import-upload', retries=RETRIES)


async def test_a_file_with_problems_shows_them_and_cannot_be_imported(
    user: User, sqlite_db: Database, import_page: list[str]
) -> None:
    await open_dialog(user)
    rows = [['PO-1', 'GEAR', -5, '', ''], ['PO-2', 'GEAR', 5, '', ''], ['PO-2', 'GEAR', 6, '', '']]
    await upload(user, 'erp.csv', csv_bytes(rows))
    await user.should_see('line 2: planned quantity "-5" is not a positive whole number.', retries=RETRIES)
    await user.should_see('line 4: PO-2 appears twice in the file (also line 3).')
    await user.should_see('2 problems in erp.csv: nothing was imported.')
    assert enabled(user, 'import-save') is False
    preview = user.find(marker='import-preview').elements.pop()
    assert [(r['line'], r['order_number'], r['problems']) for r in preview.rows] == [
        (2, 'PO-1', 1),
        (3, 'PO-2', ''),
        (4, 'PO-2', 1),
    ]
    assert order_book(sqlite_db) == [] and import_page == []


async def test_columns_are_chosen_then_the_file_is_imported(
    user: User, sqlite_db: Database, import_page: list[str]
) -> None:
    await open_dialog(user)
    data = xlsx([['PO-1', 'GEAR', 120], ['PO-2', 'SHAFT', 80]], ('Auftrag', 'Item', 'Menge'))
    await upload(user, 'erp.xlsx', data)
    await user.should_see('there is no order number column', retries=RETRIES)
    assert enabled(user, 'import-save') is False

    user.find(marker='import-column-order_number').elements.pop().value = 'Auftrag'
    await user.should_see('Importing would give: 2 new, 0 updated, 0 unchanged.', retries=RETRIES)
    await user.should_see('Columns not read: "Menge".')
    user.find(marker='import-column-planned_quantity').elements.pop().value = 'Menge'
    await user.should_not_see('Columns not read', retries=RETRIES)
    assert enabled(user, 'import-save') is True

    user.find(marker='import-save').click()
    await user.should_see('Imported erp.xlsx: 2 new, 0 updated, 0 unchanged.', retries=RETRIES)
    await user.should_see('imports done: 1', retries=RETRIES)
    assert enabled(user, 'import-save') is False
    assert stored(sqlite_db, 'PO-1').planned_quantity == 120

    # The same file again, one quantity changed: the dialog lists the change.
    await upload(user, 'erp.xlsx', xlsx([['PO-1', 'GEAR', 150], ['PO-2', 'SHAFT', 80]], ('Auftrag', 'Item', 'Menge')))
    await user.should_see('Importing would give: 0 new, 1 updated, 1 unchanged.', retries=RETRIES)
    await user.should_see('PO-1: planned quantity 120 → 150')
    user.find(marker='import-save').click()
    await user.should_see('Imported erp.xlsx: 0 new, 1 updated, 1 unchanged.', retries=RETRIES)
    assert stored(sqlite_db, 'PO-1').planned_quantity == 150


async def test_a_file_over_the_limit_is_refused_before_it_is_read(
    user: User, sqlite_db: Database, import_page: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await open_dialog(user)
    element = user.find(marker='import-upload').elements.pop()
    assert isinstance(element, ui.upload)
    big = ui.upload.SmallFileUpload('erp.xlsx', 'application/octet-stream', b'')
    monkeypatch.setattr(ui.upload.SmallFileUpload, 'size', lambda self: 60 * 1024 * 1024)
    await element.handle_uploads([big])
    await user.should_see(
        'The file is 60.0 MB; at most 20 MB can be imported at once. Split it into smaller files.', retries=RETRIES
    )
    assert enabled(user, 'import-save') is False
