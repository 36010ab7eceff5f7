"""What a screen reader announces on each page: one h1 (the page's title), a named account button, a silent
logo, named row checkboxes, labelled filters, and time headers in the site's zone."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from potrack.config import reset_settings
from potrack.db import Database
from tests.admin_ui_helpers import element, open_admin, see
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, sign_in

PAGES = {
    '/balances': 'Balances',
    '/reports': 'Reports',
    '/orders': 'Orders',
    '/admin': 'Admin',
    '/account': 'My account',
}


def every_element(user: User) -> list[Any]:
    return list(user.client.layout.descendants())


def headings(user: User, level: int = 1) -> list[str]:
    return [
        e.text
        for e in every_element(user)
        if e.props.get('role') == 'heading' and str(e.props.get('aria-level')) == str(level) and e.visible
    ]


def images(user: User) -> list[Any]:
    return [e for e in every_element(user) if e.tag == 'img' or isinstance(e, ui.image)]


@pytest.mark.parametrize(('path', 'title'), PAGES.items())
async def test_every_page_has_one_h1_a_named_account_button_and_a_silent_logo(
    user: User, sqlite_db: Database, make_user, path: str, title: str
) -> None:
    make_user('boss', 'Management', is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, next_path=path)
    await see(user, marker='account-menu')
    await eventually(lambda: headings(user) == [title], what=lambda: f'one h1 "{title}" (found {headings(user)})')
    assert element(user, 'account-menu').props['aria-label'] == 'Account: boss'
    (logo,) = images(user)
    assert logo.props.get('alt') == ''  # decorative: the word "potrack" beside it names the link


async def test_an_order_page_has_its_number_as_its_only_h1(user: User, sqlite_db: Database, make_user) -> None:
    make_user('boss', 'Management', is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, next_path='/orders/PO-A11Y-1')
    await see(user, marker='order-back')
    await eventually(lambda: headings(user) == ['PO-A11Y-1'], what=lambda: f'the order h1 ({headings(user)})')


async def test_the_sign_in_page_has_one_h1(user: User, sqlite_db: Database) -> None:
    await user.open('/signin')
    await see(user, marker='username')
    assert headings(user) == ['Sign in']
    (logo,) = images(user)
    assert logo.props.get('alt') == ''


async def test_admin_row_checkboxes_and_their_column_are_named(user: User, sqlite_db: Database, make_user) -> None:
    await open_admin(user, make_user, 'work-centers')
    table = element(user, 'work-centers-table')
    await eventually(lambda: table.rows, what='work center rows')
    assert {row['code']: row['select_label'] for row in table.rows}['WC001'] == 'Select WC001'
    # The checkbox reads its name from the row, and the choice column's header says "Select" to a reader.
    assert ':aria-label="props.row.select_label"' in table.slots['body-selection'].template
    assert '<span class="potrack-sr-only">Select</span>' in table.slots['header'].template


async def test_admin_filters_without_a_visible_label_are_named(user: User, sqlite_db: Database, make_user) -> None:
    await open_admin(user, make_user)
    names = {m: element(user, m).props.get('aria-label') for m in ('users-department', 'users-role', 'users-active')}
    assert names == {'users-department': 'Department', 'users-role': 'Role', 'users-active': 'Status'}


async def test_admin_time_headers_name_the_configured_zone(
    user: User, sqlite_db: Database, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('POTRACK_TIMEZONE', 'Europe/Berlin')
    reset_settings()
    await open_admin(user, make_user)
    labels = [c['label'] for c in element(user, 'users-table').columns]
    assert not any('IST' in label for label in labels)
    assert any(label.startswith('Last sign-in (CE') for label in labels), labels  # CET or CEST


async def test_match_toggles_use_a_colour_with_enough_contrast(user: User, sqlite_db: Database, make_user) -> None:
    make_user('boss', 'Management', is_admin=True)
    await sign_in(user, 'boss', TEST_PASSWORD, next_path='/reports')
    await see(user, marker='f-match')
    # teal-8 (#00796b) under white text is 5.3:1, on the dark and the light theme alike; Quasar's primary was 3.06:1.
    assert element(user, 'f-match').props['toggle-color'] == 'teal-8'
    assert element(user, 'f-type').props['toggle-color'] == 'teal-8'
