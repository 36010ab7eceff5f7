"""Scanner-safe entry at the kiosk: Enter in the quantity saves with the default action, a quantity may be a
sum of batches shown as its total before the save, and a save's result says itself with an icon."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui.testing import User

from potrack.common.validation import parse_quantity
from potrack.db import Database
from potrack.errors import InvalidInput
from potrack.ledger.search import MovementFilter, search_movements
from tests.test_kiosk_ui import open_kiosk, text_of
from tests.ui_helpers import eventually_equal, field_error, handled

SUM_REFUSED = 'A sum of pieces is whole numbers joined by +, like 17+13+21; "{typed}" is not.'


def icon_of(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().props['name']  # type: ignore[attr-defined]


async def scan(user: User, order: str, qty: str) -> None:
    """Scan an order (Enter), key a quantity, press Enter there, and wait until the save is answered."""
    async with handled():
        user.find(marker='order').clear().type(order).trigger('keydown.enter')
        user.find(marker='quantity').clear().type(qty)
    async with handled():
        user.find(marker='quantity').trigger('keydown.enter')


async def choose_wc(user: User, code: str = 'WC001') -> None:
    async with handled():
        user.find(marker=f'wc-{code}').click()


async def test_enter_in_the_quantity_saves_in_and_the_in_button_says_so(
    user: User, sqlite_db: Database, make_user
) -> None:
    actor = await open_kiosk(user, make_user)
    assert text_of(user, 'enter-badge') == '↵ Enter'
    badge = user.find(marker='enter-badge').elements.pop()
    assert badge.parent_slot is not None and badge.parent_slot.parent.props.get('aria-keyshortcuts') == 'Enter'
    await choose_wc(user)
    await scan(user, 'PO-2026-000104', '25')
    assert text_of(user, 'status') == 'Saved: 25 of PO-2026-000104 received at WC001. Balance here now: 25.'
    assert icon_of(user, 'status-icon') == 'check_circle'
    page = search_movements(actor, MovementFilter(order='PO-2026-000104'))
    assert [(m.movement_type, m.quantity) for m in page.rows] == [('IN', 25)]


async def test_a_sum_shows_its_total_before_saving_and_records_it(user: User, sqlite_db: Database, make_user) -> None:
    actor = await open_kiosk(user, make_user)
    await choose_wc(user)
    user.find(marker='order').type('PO-51').trigger('keydown.enter')
    user.find(marker='quantity').type('17 + 13+21')
    await eventually_equal(lambda: text_of(user, 'quantity-sum'), '= 51', what='the total under the quantity')
    async with handled():
        user.find(marker='quantity').trigger('keydown.enter')
    assert text_of(user, 'status') == 'Saved: 51 of PO-51 received at WC001. Balance here now: 51.'
    assert text_of(user, 'quantity-sum') == ''  # the form is cleared, and its total with it
    assert [m.quantity for m in search_movements(actor, MovementFilter(order='PO-51')).rows] == [51]


async def test_the_keypad_keys_a_sum(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    for key in ['1', '7', '+', '+', '1', '3']:
        user.find(marker=f'key-{key}').click()
    user.find(marker='step-5').click()
    assert user.find(marker='quantity').elements.pop().value == '17+13+5'  # type: ignore[attr-defined]
    await eventually_equal(lambda: text_of(user, 'quantity-sum'), '= 35', what='the total of the keyed sum')


@pytest.mark.parametrize('typed', ['5+-2', '1++'])
async def test_a_bad_sum_is_explained_and_nothing_is_recorded(
    user: User, sqlite_db: Database, make_user, typed: str
) -> None:
    actor = await open_kiosk(user, make_user)
    await choose_wc(user)
    await scan(user, 'PO-77', typed)
    message = SUM_REFUSED.format(typed=typed)
    assert text_of(user, 'status') == message
    assert icon_of(user, 'status-icon') == 'error'
    assert field_error(user, 'quantity') == message
    assert text_of(user, 'quantity-sum') == ''
    assert search_movements(actor, MovementFilter(order='PO-77')).totals.count == 0


async def test_a_new_order_takes_the_last_result_away(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    await choose_wc(user)
    await scan(user, 'PO-1', '4')
    assert text_of(user, 'status').startswith('Saved: 4 of PO-1')
    status = user.find(marker='status').elements.pop()
    assert status.parent_slot is not None
    box = status.parent_slot.parent  # the result's card
    assert box.visible
    async with handled():
        user.find(marker='order').type('PO-2')
    assert not box.visible


@pytest.mark.parametrize(
    ('typed', 'expected'),
    [
        ('17+13+21', 51),
        (' 17 + 13 + 21 ', 51),
        ('1,000+250', 1250),
        ('1+1', 2),
        ('５+５', 10),  # full-width digits, as some scanners send them
        ('999999+1', 1_000_000),
    ],
)
def test_parse_quantity_adds_a_sum(typed: str, expected: int) -> None:
    assert parse_quantity(typed) == expected


@pytest.mark.parametrize(
    ('typed', 'message'),
    [
        ('5+-2', SUM_REFUSED.format(typed='5+-2')),
        ('1++', SUM_REFUSED.format(typed='1++')),
        ('1+', SUM_REFUSED.format(typed='1+')),
        ('2+2.5', SUM_REFUSED.format(typed='2+2.5')),
        ('0+5', 'Each number in a sum must be at least 1; "0+5" has a 0.'),
        ('999999+2', 'At most 1,000,000 pieces can be recorded at once; 1,000,001 was entered.'),
        ('1+' * 40 + '1', SUM_REFUSED.format(typed=('1+' * 15)[:29] + '…')),
    ],
)
def test_parse_quantity_refuses_a_bad_sum_with_a_reason(typed: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_quantity(typed)
    assert (err.value.message, err.value.field) == (message, 'quantity')
