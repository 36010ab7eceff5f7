"""The balances page: totals per work center, open orders with search and paging, live row updates."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from potrack.db import Database
from potrack.ledger.writer import record_movement
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually_equal, handled, see, sign_in


def grid_rows(user: User) -> list[dict]:
    grid = user.find(marker='balance-grid').elements.pop()
    assert isinstance(grid, ui.aggrid)
    return grid.options['rowData']


def totals(user: User) -> dict[str, dict]:
    table = user.find(marker='totals-table').elements.pop()
    assert isinstance(table, ui.table)
    return {row['wc']: row for row in table.rows}


def text_of(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().text  # type: ignore[attr-defined]


async def open_balances(user: User, make_user: Callable, name: str = 'anita', dept: str = 'Production') -> None:
    make_user(name, dept)
    await sign_in(user, name, TEST_PASSWORD, next_path='/balances')
    await see(user, marker='totals-table')


async def test_totals_and_open_orders_of_my_work_centers(user: User, sqlite_db: Database, make_user, admin, wc) -> None:
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=10, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=4, movement_type='OUT')
    record_movement(admin, work_center_id=wc('WC005'), order_number='PO-2', quantity=3, movement_type='IN')
    await open_balances(user, make_user)
    assert set(totals(user)) == {'WC001', 'WC002', 'WC003', 'WC004'}  # Production does not see WC005
    assert (totals(user)['WC001']['qty_in'], totals(user)['WC001']['balance']) == (10, 6)
    assert [(r['wc'], r['order'], r['balance'], r['user']) for r in grid_rows(user)] == [
        ('WC001', 'PO-1', 6, 'Administrator')
    ]
    assert text_of(user, 'showing') == 'Showing 1–1 of 1'
    assert text_of(user, 'last-updated').startswith('Last updated ')


async def test_search_and_paging(user: User, sqlite_db: Database, make_user, admin, wc) -> None:
    for n in range(130):
        record_movement(admin, work_center_id=wc('WC002'), order_number=f'PO-{n:04d}', quantity=1, movement_type='IN')
    await open_balances(user, make_user)
    assert len(grid_rows(user)) == 100
    assert text_of(user, 'showing') == 'Showing 1–100 of 130'
    async with handled():
        user.find('Next').click()
    assert text_of(user, 'showing') == 'Showing 101–130 of 130'
    async with handled():
        user.find(marker='balance-search').type('PO-012')
    assert sorted(r['order'] for r in grid_rows(user)) == [f'PO-012{d}' for d in range(10)]
    assert text_of(user, 'showing') == 'Showing 1–10 of 10'


async def test_a_movement_elsewhere_updates_only_that_row(
    create_user: Callable[[], User], sqlite_db: Database, make_user, admin, wc, monkeypatch
) -> None:
    from potrack.pages.balances import grid as balances_grid

    monkeypatch.setattr(balances_grid, 'RECOUNT_EVERY_S', 0.0)  # "of Y" settles without waiting a second
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=10, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-2', quantity=5, movement_type='IN')
    viewer = create_user()
    await open_balances(viewer, make_user)
    before = grid_rows(viewer)
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=3, movement_type='OUT')
    await eventually_equal(lambda: {r['order']: r['balance'] for r in grid_rows(viewer)}, {'PO-1': 7, 'PO-2': 5})
    assert grid_rows(viewer) is before  # the same row list, changed in place: no rebuild of the grid
    record_movement(admin, work_center_id=wc('WC003'), order_number='PO-9', quantity=2, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-2', quantity=5, movement_type='OUT')
    await eventually_equal(
        lambda: [(r['wc'], r['order']) for r in grid_rows(viewer)], [('WC003', 'PO-9'), ('WC001', 'PO-1')]
    )
    await eventually_equal(lambda: text_of(viewer, 'showing'), 'Showing 1–2 of 2')  # counted again after the removal
    assert totals(viewer)['WC001']['balance'] == 7
    record_movement(admin, work_center_id=wc('WC005'), order_number='PO-5', quantity=2, movement_type='IN')
    # Announced after it, a change this page shows: once that is seen, the one before it was handled too.
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=1, movement_type='IN')
    await eventually_equal(lambda: {r['order']: r['balance'] for r in grid_rows(viewer)}, {'PO-9': 2, 'PO-1': 8})
    assert 'PO-5' not in {r['order'] for r in grid_rows(viewer)}  # Production does not see WC005


async def test_changes_on_other_pages_keep_showing_x_of_y_true(
    create_user: Callable[[], User], sqlite_db: Database, make_user, admin, wc, monkeypatch
) -> None:
    from potrack.pages.balances import grid as balances_grid

    monkeypatch.setattr(balances_grid, 'RECOUNT_EVERY_S', 0.0)
    for n in range(130):
        record_movement(admin, work_center_id=wc('WC002'), order_number=f'PO-{n:04d}', quantity=2, movement_type='IN')
    viewer = create_user()
    await open_balances(viewer, make_user)
    async with handled():
        viewer.find('Next').click()
    assert text_of(viewer, 'showing') == 'Showing 101–130 of 130'
    # The newest orders are on page 1, out of this page's sight. Each change below is waited for until
    # the page has handled it (its re-read and its recount): only then does "still 130" mean anything.
    async with handled():
        record_movement(admin, work_center_id=wc('WC002'), order_number='PO-0129', quantity=1, movement_type='IN')
    assert totals(viewer)['WC002']['qty_in'] == 261  # the notice arrived: the totals above the grid show it
    assert text_of(viewer, 'showing') == 'Showing 101–130 of 130'  # still open: still counted once
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-NEW', quantity=1, movement_type='IN')
    await eventually_equal(lambda: text_of(viewer, 'showing'), 'Showing 101–130 of 131')
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-0128', quantity=2, movement_type='OUT')
    await eventually_equal(lambda: text_of(viewer, 'showing'), 'Showing 101–130 of 130')  # closed elsewhere

    async with handled():
        viewer.find('Previous').click()
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-NEWER', quantity=1, movement_type='IN')
    await eventually_equal(lambda: text_of(viewer, 'showing'), 'Showing 1–100 of 131')
    assert grid_rows(viewer)[0]['order'] == 'PO-NEWER'
    assert len(grid_rows(viewer)) == 100  # the page keeps its size; its last row moved on to page 2
