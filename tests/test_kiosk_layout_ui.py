"""The kiosk says in words which work center it books at: aria-pressed on the cards, one h1 naming it."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from potrack.db import Database
from tests.test_kiosk_ui import enter, open_kiosk
from tests.ui_helpers import handled, see


def pressed(user: User) -> dict[str, str]:
    """Each work-center card's aria-pressed, by its code."""
    cards = {}
    for code in ('WC001', 'WC002', 'WC003'):
        card = user.find(marker=f'wc-{code}').elements.pop()
        assert isinstance(card, ui.button)
        cards[code] = card.props.get('aria-pressed')
    return cards


def level_one_headings(user: User) -> list[str]:
    """The texts of the page's h1s: a real <h1> or an element a screen reader announces as one."""
    found = []
    for element in user.client.elements.values():
        aria_h1 = element.props.get('role') == 'heading' and str(element.props.get('aria-level')) == '1'
        if element.tag == 'h1' or aria_h1:
            found.append(getattr(element, 'text', ''))
    return found


async def test_the_chosen_card_is_pressed_and_named_by_the_one_heading(
    user: User, sqlite_db: Database, make_user
) -> None:
    await open_kiosk(user, make_user)
    assert set(pressed(user).values()) == {'false'}
    assert level_one_headings(user) == ['Kiosk']

    async with handled():
        user.find(marker='wc-WC002').click()
    assert pressed(user) == {'WC001': 'false', 'WC002': 'true', 'WC003': 'false'}
    assert level_one_headings(user) == ['Kiosk — WC002 Machining']

    async with handled():
        user.find(marker='wc-WC003').click()
    assert pressed(user) == {'WC001': 'false', 'WC002': 'false', 'WC003': 'true'}
    assert level_one_headings(user) == ['Kiosk — WC003 Welding']


async def test_the_undo_button_is_a_normal_size(user: User, sqlite_db: Database, make_user) -> None:
    await open_kiosk(user, make_user)
    async with handled():
        user.find(marker='wc-WC002').click()
    await enter(user, 'PO-2026-0012', '40', 'in')
    await see(user, marker='undo')
    undo = user.find(marker='undo').elements.pop()
    assert 'size' not in undo.props
    assert 'w-full' not in undo.classes
