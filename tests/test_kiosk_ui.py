"""The operator's kiosk, used as on the line: choose a work center, scan, key a quantity, IN / OUT, undo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import update

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import ProductionOrder, WorkCenter
from potrack.db.types import utcnow
from potrack.ledger.integrity import check_consistency
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ledger.writer import record_movement
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually_equal, field_error, gone, handled, see, sign_in


def text_of(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().text  # type: ignore[attr-defined]


def rows_of(user: User, marker: str) -> list[dict]:
    element = user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.table)
    return element.rows


async def enter(user: User, order: str, qty: str, button: str) -> None:
    """Scan an order, key a quantity, press IN or OUT, and wait until the save is answered."""
    async with handled():
        user.find(marker='order').clear().type(order).trigger('keydown.enter')
        user.find(marker='quantity').clear().type(qty)
        user.find(marker=button).click()


async def open_kiosk(
    user: User, make_user: Callable[..., Actor], name: str = 'anita', department: str = 'Production'
) -> Actor:
    actor = make_user(name, department)
    await sign_in(user, name, TEST_PASSWORD)
    await see(user, marker='wc-cards')
    return actor


async def test_in_then_out_with_confirmation_and_balance(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC002').click()
    await enter(user, ' po-2026-0012 ', '40', 'in')
    assert text_of(user, 'status') == 'Saved: 40 of PO-2026-0012 received at WC002. Balance here now: 40.'
    assert text_of(user, 'order-available') == '40 available to send at WC002'
    await enter(user, 'PO-2026-0012', '15', 'out')
    assert text_of(user, 'status') == 'Saved: 15 of PO-2026-0012 sent on at WC002. Balance here now: 25.'
    recent = rows_of(user, 'recent-table')
    assert [(r['order'], r['type'], r['qty']) for r in recent] == [
        ('PO-2026-0012', 'OUT', 15),
        ('PO-2026-0012', 'IN', 40),
    ]
    assert check_consistency(sqlite_db).consistent


async def test_too_large_out_is_refused_and_the_form_keeps_its_values(
    user: User, sqlite_db: Database, make_user
) -> None:
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    await enter(user, 'PO-7', '10', 'in')
    await enter(user, 'PO-7', '12', 'out')
    assert text_of(user, 'status') == 'Only 10 pieces of PO-7 are at WC001; you tried to send 12.'
    assert field_error(user, 'quantity') == 'Only 10 pieces of PO-7 are at WC001; you tried to send 12.'
    assert user.find(marker='quantity').elements.pop().value == '12'  # type: ignore[attr-defined]
    assert user.find(marker='order').elements.pop().value == 'PO-7'  # type: ignore[attr-defined]


async def test_bad_order_number_is_explained_under_the_field(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    await enter(user, 'PO 12', '5', 'in')
    assert 'no spaces' in (field_error(user, 'order') or '')
    assert check_consistency(sqlite_db).movements == 0


async def test_keypad_and_quick_steps_fill_the_quantity(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    for key in ['1', '2', '⌫', '5']:
        user.find(marker=f'key-{key}').click()
    user.find(marker='step-10').click()
    assert user.find(marker='quantity').elements.pop().value == '25'  # type: ignore[attr-defined]


async def test_double_tap_records_once(user: User, sqlite_db: Database, make_user) -> None:
    actor = await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    user.find(marker='order').type('PO-9').trigger('keydown.enter')
    user.find(marker='quantity').type('3')
    button = user.find(marker='in')
    async with handled():
        button.click()
        button.click()
    page = search_movements(actor, MovementFilter(order='PO-9'))
    assert page.totals.count == 1


async def test_a_second_tap_after_the_save_keeps_the_confirmation(user: User, sqlite_db: Database, make_user) -> None:
    actor = await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    await enter(user, 'PO-9', '3', 'in')
    async with handled():
        user.find(marker='in').click()  # the double tap's second touch, after the first one's save came back
    assert text_of(user, 'status') == 'Saved: 3 of PO-9 received at WC001. Balance here now: 3.'
    assert search_movements(actor, MovementFilter(order='PO-9')).totals.count == 1


async def test_undo_own_last_entry_within_two_minutes(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    await enter(user, 'PO-5', '8', 'in')
    await user.should_see(marker='undo')
    async with handled():
        user.find(marker='undo').click()
    assert text_of(user, 'status') == 'Undone: IN 8 of PO-5. Balance here now: 0.'
    await user.should_not_see(marker='undo')
    assert check_consistency(sqlite_db).consistent


async def test_undo_after_the_window_is_refused(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    await enter(user, 'PO-5', '8', 'in')
    with sqlite_db.engine.begin() as conn:
        conn.execute(update(ProductionOrder).values(created_at=utcnow() - timedelta(minutes=3)))
    async with handled():
        user.find(marker='undo').click()
    assert 'Undo is possible for 2 minutes' in text_of(user, 'status')
    await user.should_not_see(marker='undo')


async def test_undo_goes_away_by_itself_when_its_window_closes(
    user: User, sqlite_db: Database, make_user, monkeypatch
) -> None:
    from potrack.pages.kiosk import recent as kiosk_panels

    monkeypatch.setattr(kiosk_panels, 'UNDO_WINDOW_S', 1)  # what the kiosk offers; the ledger keeps its own rule
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    await enter(user, 'PO-5', '8', 'in')
    await see(user, marker='undo')
    await gone(user, marker='undo')  # the 1 s window closes and its timer hides the button


async def test_operator_sees_only_their_departments_work_centers(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user, 'quinn', 'Quality Control')
    await user.should_see(marker='wc-WC005')
    await user.should_not_see(marker='wc-WC001')
    await enter(user, 'PO-1', '2', 'in')  # the only work center is chosen for them
    assert text_of(user, 'status').startswith('Saved: 2 of PO-1 received at WC005.')


async def test_deactivated_work_center_vanishes_from_the_kiosk(user: User, sqlite_db: Database, make_user) -> None:
    with sqlite_db.engine.begin() as conn:
        conn.execute(update(WorkCenter).where(WorkCenter.code == 'WC003').values(is_active=False))
    await open_kiosk(user, make_user)
    await user.should_see(marker='wc-WC001')
    await user.should_not_see(marker='wc-WC003')


async def test_the_last_work_center_is_remembered(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC004').click()
    await enter(user, 'PO-1', '2', 'in')
    await user.open('/kiosk')
    await enter(user, 'PO-1', '1', 'out')
    assert text_of(user, 'status') == 'Saved: 1 of PO-1 sent on at WC004. Balance here now: 1.'


async def test_a_change_by_someone_else_appears_without_reload(
    create_user: Callable[[], User], sqlite_db: Database, make_user, wc
) -> None:
    viewer = create_user()
    await open_kiosk(viewer, make_user, 'viewer')
    async with handled():
        viewer.find(marker='wc-WC002').click()
        viewer.find(marker='order').type('PO-42').trigger('keydown.enter')
    assert text_of(viewer, 'order-available') == 'No pieces of PO-42 recorded yet'
    other = make_user('other')
    record_movement(other, work_center_id=wc('WC002'), order_number='PO-42', quantity=7, movement_type='IN')
    await eventually_equal(
        lambda: (text_of(viewer, 'order-available'), [r['order'] for r in rows_of(viewer, 'recent-table')]),
        ('7 available to send at WC002', ['PO-42']),
    )


async def test_an_admins_work_center_change_reaches_an_open_kiosk(user: User, sqlite_db: Database, make_user) -> None:
    from potrack.live import feed

    await open_kiosk(user, make_user)
    user.find(marker='order').type('PO-77')
    await see(user, marker='wc-WC003')
    with sqlite_db.engine.begin() as conn:
        conn.execute(update(WorkCenter).where(WorkCenter.code == 'WC003').values(is_active=False))
    feed.deliver(feed.Change(0, '', 'masters'))
    await gone(user, marker='wc-WC003')
    await see(user, marker='wc-WC002')  # the cards were rebuilt, not merely all gone
    assert user.find(marker='order').elements.pop().value == 'PO-77'  # type: ignore[attr-defined]


async def test_database_outage_says_not_saved_and_keeps_the_entry(user: User, sqlite_db: Database, make_user) -> None:
    from potrack.db import use_database

    actor = await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    use_database(Database('postgresql://postgres@127.0.0.1:1/unreachable'))
    try:
        await enter(user, 'PO-31', '6', 'in')
    finally:
        use_database(sqlite_db)
    assert text_of(user, 'status').startswith('Not saved')
    assert 'Your entry is still here.' in text_of(user, 'status')
    assert user.find(marker='quantity').elements.pop().value == '6'  # type: ignore[attr-defined]
    async with handled():
        user.find(marker='in').click()  # the database is back: the same entry goes through once
    assert text_of(user, 'status').startswith('Saved: 6 of PO-31')
    assert search_movements(actor, MovementFilter(order='PO-31')).totals.count == 1


async def test_an_in_doubt_save_says_so_and_pressing_again_books_it_once(
    user: User, sqlite_db: Database, make_user, monkeypatch
) -> None:
    from potrack.errors import OutcomeUnknown

    actor = await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC001').click()
    write_core = sqlite_db.write_core

    def saved_then_cut_off(unit, **kwargs):  # type: ignore[no-untyped-def]
        write_core(unit, **kwargs)  # committed; then the connection broke before the answer came back
        raise OutcomeUnknown('in doubt', backend_pid=4242)

    # The database's own objects (the app re-imports its modules per test; this instance is the one it uses).
    monkeypatch.setattr(sqlite_db, 'write_core', saved_then_cut_off)
    monkeypatch.setattr(sqlite_db, 'backend_ended', lambda pid, **_: False)  # its transaction could still end
    await enter(user, 'PO-32', '7', 'in')
    monkeypatch.undo()
    assert text_of(user, 'status').startswith('Not sure it was saved')
    assert 'Press IN again: it will not be booked twice.' in text_of(user, 'status')
    assert user.find(marker='quantity').elements.pop().value == '7'  # type: ignore[attr-defined]
    async with handled():
        user.find(marker='in').click()  # as the kiosk asked
    # The same request id went again: the ledger answers with the movement saved the first time.
    assert text_of(user, 'status').startswith('Saved (this entry was already recorded): 7 of PO-32')
    assert search_movements(actor, MovementFilter(order='PO-32')).totals.count == 1
    assert check_consistency(sqlite_db).consistent
