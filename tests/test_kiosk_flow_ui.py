"""The flow at the kiosk, as the line uses it: pieces sent on from one work center are seen "sent to you" at
the next, received with one tap, bounded by what was sent; scrap asks why; rework goes back to an earlier
step of the route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import update

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import OrderTransit
from potrack.db.types import utcnow
from potrack.ledger.integrity import check_consistency
from potrack.ledger.transit import incoming
from potrack.ledger.writer import record_movement
from potrack.masters.reasons import Reason, add_reason, list_reasons
from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from potrack.pages.kiosk import incoming as incoming_panel
from tests.conftest import TEST_PASSWORD
from tests.test_kiosk_ui import enter, text_of
from tests.ui_helpers import eventually, eventually_equal, field_error, handled, see, sign_in

ROUTE = 'WC001>WC002>WC003'


def seeded(admin: Actor, code: str) -> Reason:
    """One of the reasons a new install starts with (DIM, SURF: both kinds; MAT, SETUP: scrap)."""
    return next(r for r in list_reasons(admin) if r.code == code)


def book_order(admin: Actor, db: Database, number: str = 'PO-1', route: str = ROUTE) -> None:
    book.add_order(admin, parse_order_fields(order_number=number, planned_quantity=100, route=route), db=db)


async def kiosk_at(user: User, make_user: Callable[..., Actor], name: str, code: str) -> Actor:
    actor = make_user(name, 'Production')
    await sign_in(user, name, TEST_PASSWORD)
    await see(user, marker='wc-cards')
    async with handled():
        user.find(marker=f'wc-{code}').click()
    return actor


async def tap(user: User, marker: str) -> None:
    async with handled():
        user.find(marker=marker).click()


def texts_in(user: User, marker: str) -> list[str]:
    """The texts of the labels inside one element (a row of the "sent to you" list is a button of labels)."""
    element = user.find(marker=marker).elements.pop()
    return [e.text for e in element.descendants() if isinstance(e, ui.label) and e.text]


def incoming_orders(user: User) -> list[str]:
    rows = user.find(marker='incoming-rows').elements.pop()
    return [str(e.props['aria-label']) for e in rows.descendants() if isinstance(e, ui.button)]


def value_of(user: User, marker: str) -> str:
    return str(user.find(marker=marker).elements.pop().value)  # type: ignore[attr-defined]


def pressed(user: User, marker: str) -> bool:
    return user.find(marker=marker).elements.pop().props.get('aria-pressed') == 'true'


def shown(user: User, marker: str) -> bool:
    try:
        user.find(marker=marker)  # finds only what is visible
    except AssertionError:
        return False
    return True


async def test_sent_on_is_seen_at_the_next_step_received_with_a_tap_and_bounded_by_what_was_sent(
    create_user: Callable[[], User], sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    book_order(admin, sqlite_db)
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=100, movement_type='IN')
    receiver, sender = create_user(), create_user()
    await kiosk_at(receiver, make_user, 'ravi', 'WC002')
    await see(receiver, marker='incoming-empty')
    await kiosk_at(sender, make_user, 'anita', 'WC001')
    assert pressed(sender, 'disposition-sent')  # sent on is the default: one tap less for the common case

    await enter(sender, 'PO-1', '40', 'out')
    assert text_of(sender, 'status') == 'Sent 40 on to WC002 (PO-1). Balance here now: 60.'

    # The next step sees it without reloading: 40 pieces from WC001, and when they were sent.
    await eventually(lambda: incoming_orders(receiver), what='the pieces sent to WC002 on its kiosk')
    row = texts_in(receiver, 'incoming-PO-1')
    assert row[:3] == ['PO-1', '40 pieces', row[2]] and row[2].startswith('from WC001, sent ')
    assert row[2].endswith(' IST')
    assert text_of(receiver, 'incoming-summary') == '1 order, 40 pieces on their way here.'

    await tap(receiver, 'incoming-PO-1')
    assert (value_of(receiver, 'order'), value_of(receiver, 'quantity')) == ('PO-1', '40')
    async with handled():
        receiver.find(marker='quantity').clear().type('36')
        receiver.find(marker='in').click()
    assert text_of(receiver, 'status') == 'Saved: 36 of PO-1 received at WC002. Balance here now: 36.'
    await eventually(lambda: texts_in(receiver, 'incoming-PO-1')[1] == '4 pieces', what='the 4 still on their way')

    await enter(receiver, 'PO-1', '40', 'in')
    why = 'Only 4 more pieces of PO-1 are on their way to WC002 (from WC001): 40 sent, 36 received; '
    why += 'you tried to receive 40.'
    assert text_of(receiver, 'status') == why
    assert field_error(receiver, 'quantity') == why
    assert (value_of(receiver, 'order'), value_of(receiver, 'quantity')) == ('PO-1', '40')  # kept to correct
    assert check_consistency(sqlite_db).consistent


async def test_scrap_needs_a_reason_and_says_which(
    user: User, sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    book_order(admin, sqlite_db)
    surface = seeded(admin, 'SURF')
    add_reason(admin, code='BORE', label='Wrong bore', kind='rework', db=sqlite_db)
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=10, movement_type='IN')
    await kiosk_at(user, make_user, 'anita', 'WC001')
    assert not shown(user, 'reason')

    await tap(user, 'disposition-scrap')
    assert pressed(user, 'disposition-scrap') and not pressed(user, 'disposition-sent')
    assert text_of(user, 'out') == 'OUT: scrap'
    offered = [b.text for b in user.find(marker='reason').elements.pop().descendants() if isinstance(b, ui.button)]
    assert offered == ['Dimension out of tolerance', 'Material defect', 'Set-up piece', 'Surface defect']  # not BORE

    await enter(user, 'PO-1', '2', 'out')
    assert text_of(user, 'status') == 'Choose why these pieces are scrapped.'
    assert text_of(user, 'disposition-error') == 'Choose why these pieces are scrapped.'

    await tap(user, f'reason-{surface.id}')
    assert pressed(user, f'reason-{surface.id}')
    await tap(user, 'out')
    assert text_of(user, 'status') == 'Scrapped 2 — Surface defect (PO-1 at WC001). Balance here now: 8.'
    # Back to the default for the next entry, so that a scrap is never repeated by accident.
    assert pressed(user, 'disposition-sent') and text_of(user, 'out') == 'OUT'
    assert not shown(user, 'reason')
    assert check_consistency(sqlite_db).consistent


async def test_rework_goes_back_two_steps_and_arrives_there(
    create_user: Callable[[], User], sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    book_order(admin, sqlite_db)
    wrong = seeded(admin, 'DIM')
    for code, step in (('WC001', 'IN'), ('WC001', 'OUT'), ('WC002', 'IN'), ('WC002', 'OUT'), ('WC003', 'IN')):
        record_movement(admin, work_center_id=wc(code), order_number='PO-1', quantity=20, movement_type=step)
    first, welding = create_user(), create_user()
    await kiosk_at(first, make_user, 'anita', 'WC001')
    await kiosk_at(welding, make_user, 'ravi', 'WC003')

    await tap(welding, 'disposition-rework')
    assert text_of(welding, 'rework-note') == 'Enter the order number to see the earlier steps of its route.'
    async with handled():
        welding.find(marker='order').type('PO-1').trigger('keydown.enter')
    targets = welding.find(marker='rework-to').elements.pop()
    assert [b.text for b in targets.descendants() if isinstance(b, ui.button)] == ['WC001 Assembly', 'WC002 Machining']

    await tap(welding, f'reason-{wrong.id}')
    await tap(welding, f'rework-to-{wc("WC001")}')
    async with handled():
        welding.find(marker='quantity').type('3')
        welding.find(marker='out').click()
    assert text_of(welding, 'status') == (
        'Sent 3 back to WC001 for rework — Dimension out of tolerance (PO-1). Balance here now: 17.'
    )
    assert pressed(welding, 'disposition-sent')

    # Two steps back, the first work center sees them coming.
    await eventually(lambda: texts_in(first, 'incoming-PO-1')[1] == '3 pieces', what='the rework arriving at WC001')
    assert texts_in(first, 'incoming-PO-1')[2].startswith('back for rework from WC003, sent ')
    assert check_consistency(sqlite_db).consistent


async def test_rework_at_the_first_step_says_there_is_nowhere_back(
    user: User, sqlite_db: Database, admin: Actor, make_user
) -> None:
    book_order(admin, sqlite_db)
    await kiosk_at(user, make_user, 'anita', 'WC001')
    async with handled():
        user.find(marker='order').type('PO-1').trigger('keydown.enter')
    await tap(user, 'disposition-rework')
    assert text_of(user, 'rework-note') == (
        'WC001 is the first step of PO-1: there is no earlier step to send pieces back to.'
    )
    assert not shown(user, 'rework-to')


async def test_a_long_list_shows_the_oldest_first_and_the_rest_on_request_with_old_ones_marked(
    user: User, sqlite_db: Database, admin: Actor, make_user, wc
) -> None:
    first = incoming_panel.SHOWN_FIRST
    for n in range(first + 3):
        number = f'PO-{n:02d}'
        book_order(admin, sqlite_db, number)
        record_movement(admin, work_center_id=wc('WC001'), order_number=number, quantity=10, movement_type='IN')
        record_movement(admin, work_center_id=wc('WC001'), order_number=number, quantity=n + 1, movement_type='OUT')
    with sqlite_db.engine.begin() as conn:  # PO-00 was sent a day ago: older than the site's 8 hours
        conn.execute(
            update(OrderTransit)
            .where(OrderTransit.order_number == 'PO-00')
            .values(pending_since=utcnow() - timedelta(hours=25))
        )
    await kiosk_at(user, make_user, 'ravi', 'WC002')
    await eventually_equal(lambda: len(incoming_orders(user)), first, what='the rows shown at first')
    assert incoming_orders(user)[0].startswith('Receive PO-00: 1 piece from WC001, sent ')
    assert incoming_orders(user)[0].endswith('Waiting long: 25 h 00 min')
    old = texts_in(user, 'incoming-PO-00')
    assert old[-1] == 'Waiting long: 25 h 00 min'  # in words and with an icon, not by colour alone
    assert 'Waiting long' not in ' '.join(texts_in(user, 'incoming-PO-01'))
    assert text_of(user, 'incoming-more') == '3 more'

    await tap(user, 'incoming-more')
    assert len(incoming_orders(user)) == first + 3
    assert not shown(user, 'incoming-more')
    assert len(incoming(admin, wc('WC002'), db=sqlite_db).rows) == first + 3


async def test_the_list_is_read_again_only_for_transit_to_its_own_work_center(
    user: User, sqlite_db: Database, admin: Actor, make_user, wc, monkeypatch
) -> None:
    reads: list[int] = []
    original = incoming_panel.incoming

    def counted(actor: Actor, work_center_id: int, **kwargs: object) -> object:
        reads.append(work_center_id)
        return original(actor, work_center_id, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(incoming_panel, 'incoming', counted)
    book_order(admin, sqlite_db)
    await kiosk_at(user, make_user, 'ravi', 'WC002')
    assert reads == [wc('WC002')]
    reads.clear()
    record_movement(admin, work_center_id=wc('WC003'), order_number='PO-X', quantity=5, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=10, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC003'), order_number='PO-X', quantity=5, movement_type='OUT')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=4, movement_type='OUT')
    # The last change is the first one for WC002: once it is shown, every notice before it was heard too.
    await eventually(lambda: incoming_orders(user), what='the pieces sent to WC002')
    assert reads == [wc('WC002')]
