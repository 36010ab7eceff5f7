"""The admin console's Users tab and its dialogs, used as an administrator at the office PC would."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from potrack.accounts.sessions import create_session, validate_session
from potrack.accounts.signin import SignInFailed
from potrack.accounts.signin import sign_in as service_sign_in
from potrack.accounts.throttle import ACCOUNT_FREE_FAILURES
from potrack.accounts.tokens import authenticate, issue_token
from potrack.accounts.user_admin import create_account
from potrack.accounts.user_list import list_users
from potrack.db import Database
from potrack.db.models import User as UserRow
from potrack.errors import SignedOut
from potrack.masters.catalog import list_work_centers
from tests.admin_ui_helpers import (
    choose,
    click,
    column,
    element,
    enabled,
    eventually_equal,
    field_error,
    fill,
    handled,
    open_admin,
    present,
    row_where,
    see,
    text,
)
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import sign_in

PRODUCTION, QUALITY = 2, 3  # department ids as provisioned


async def test_a_regular_user_gets_the_not_allowed_page(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD)
    await user.open('/admin')
    await see(user, marker='denied-title')
    await user.should_not_see(marker='users-table')


async def test_create_a_user_shows_the_password_once_and_the_new_row(
    user: User, sqlite_db: Database, make_user, admin
) -> None:
    await open_admin(user, make_user)
    await click(user, 'user-new')
    fill(user, user_username='Anita', user_full_name='Anita Rao', user_email='anita@factory.example')
    fill(user, user_department=PRODUCTION)
    await click(user, 'user-dialog-save')
    await user.should_see('User anita created.')
    password = text(user, 'password-secret')
    assert not present(user, 'user-dialog')
    new = row_where(user, 'users-table', username='anita')
    assert (new['full_name'], new['department'], new['role']) == ('Anita Rao', 'Production', 'Operator')
    assert new['status'] == 'active · must change password'
    assert element(user, 'users-table').selected == [new]
    await click(user, 'password-done')
    assert not present(user, 'password')
    assert service_sign_in('anita', password, source='t').user.must_change_password


async def test_create_shows_every_bad_field_under_it_and_saves_nothing(
    user: User, sqlite_db: Database, make_user, admin
) -> None:
    await open_admin(user, make_user)
    await click(user, 'user-new')
    fill(user, user_username='a b', user_full_name=' ', user_email='anita@', user_password='short')
    await click(user, 'user-dialog-save')
    assert field_error(user, 'user-username').startswith('A user name has 3 to 40 characters')
    assert field_error(user, 'user-full-name') == 'The full name is required.'
    assert field_error(user, 'user-email').startswith('That e-mail address is not valid')
    assert field_error(user, 'user-password') == 'A password needs at least 8 characters.'
    fill(user, user_username='ADMIN', user_full_name='A' * 101, user_email='', user_password='')
    await click(user, 'user-dialog-save')
    assert field_error(user, 'user-username') is None
    assert field_error(user, 'user-full-name') == 'The full name has at most 100 characters; this has 101.'
    fill(user, user_full_name='Second Admin')
    await click(user, 'user-dialog-save')
    assert field_error(user, 'user-department') == 'Choose the department whose work centers this operator uses.'
    fill(user, user_department=PRODUCTION)
    await click(user, 'user-dialog-save')
    assert field_error(user, 'user-username') == 'The user name "admin" is already taken.'
    assert list_users(admin).total == 2
    await click(user, 'user-dialog-cancel')
    assert not present(user, 'user-dialog')


async def test_cancel_discards_a_new_user(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user)
    await click(user, 'user-new')
    fill(user, user_username='anita', user_full_name='Anita', user_department=PRODUCTION)
    await click(user, 'user-dialog-cancel')
    assert not present(user, 'user-dialog')
    assert column(user, 'users-table', 'username') == ['admin', 'boss']
    await click(user, 'user-new')  # a fresh dialog, not the discarded one
    assert element(user, 'user-username').value == ''


async def test_edit_a_user_changes_the_row_and_cancel_keeps_it(
    user: User, sqlite_db: Database, make_user, admin
) -> None:
    anita = make_user('anita')
    token = sqlite_db.write(lambda s: create_session(s, s.get(UserRow, anita.user_id), 'kiosk-3'))
    await open_admin(user, make_user)
    assert not enabled(user, 'user-edit')
    await choose(user, 'users-table', username='anita')
    await click(user, 'user-edit')
    assert element(user, 'user-full-name').value == 'Anita'
    fill(user, user_full_name='Anita Rao', user_department=QUALITY)
    await click(user, 'user-dialog-cancel')
    assert row_where(user, 'users-table', username='anita')['full_name'] == 'Anita'
    await click(user, 'user-edit')
    fill(user, user_full_name='', user_email='anita@@x')
    await click(user, 'user-dialog-save')
    assert field_error(user, 'user-full-name') == 'The full name is required.'
    assert field_error(user, 'user-email').startswith('That e-mail address is not valid')
    fill(user, user_full_name='Anita Rao', user_email=' Anita@Factory.Example ')
    await click(user, 'user-dialog-save')
    await user.should_see('User anita saved.')
    assert validate_session(token).actor.user_id == anita.user_id  # a name or e-mail edit keeps her signed in
    await click(user, 'user-edit')
    assert text(user, 'user-dialog-note') == 'A new department or role signs anita out everywhere at once.'
    fill(user, user_department=QUALITY)
    await click(user, 'user-dialog-save')
    await user.should_see('User anita saved and signed out everywhere: the department or role changed.')
    with pytest.raises(SignedOut):  # her kiosk must not keep showing Production's work centers
        validate_session(token)
    row = row_where(user, 'users-table', username='anita')
    assert (row['full_name'], row['email'], row['department']) == (
        'Anita Rao',
        'Anita@factory.example',
        'Quality Control',
    )
    assert [wc.code for wc in list_work_centers(anita)] == ['WC005']


async def test_an_admin_cannot_demote_themselves(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user)
    await choose(user, 'users-table', username='boss')
    assert not enabled(user, 'user-active')  # nobody deactivates their own account
    await click(user, 'user-edit')
    fill(user, user_dialog_role='operator')
    await click(user, 'user-dialog-save')
    assert field_error(user, 'user-dialog-role') == (
        'You cannot remove your own administrator role; ask another administrator.'
    )
    assert row_where(user, 'users-table', username='boss')['role'] == 'Administrator'


async def test_deactivating_a_user_signs_them_out_at_their_next_action(
    user: User, sqlite_db: Database, make_user, admin
) -> None:
    anita = make_user('anita')
    token = sqlite_db.write(lambda s: create_session(s, s.get(UserRow, anita.user_id), 'kiosk-3'))
    browser = validate_session(token).actor
    await open_admin(user, make_user)
    await choose(user, 'users-table', username='anita')
    await click(user, 'user-active')
    assert text(user, 'active-dialog-title') == 'Deactivate anita?'
    await click(user, 'active-dialog-cancel')
    assert row_where(user, 'users-table', username='anita')['is_active']
    await click(user, 'user-active')
    await click(user, 'active-dialog-save')
    await user.should_see('User anita deactivated.')
    assert row_where(user, 'users-table', username='anita')['status'] == 'deactivated'
    assert element(user, 'user-active').text == 'Activate'
    with pytest.raises(SignedOut):
        list_work_centers(browser)
    await click(user, 'user-active')
    await click(user, 'active-dialog-save')
    assert row_where(user, 'users-table', username='anita')['status'] == 'active'


async def test_reset_password_shows_the_new_one_once(user: User, sqlite_db: Database, make_user, admin) -> None:
    make_user('anita')
    await open_admin(user, make_user)
    await choose(user, 'users-table', username='anita')
    await click(user, 'user-reset')
    await click(user, 'reset-dialog-cancel')
    assert service_sign_in('anita', TEST_PASSWORD, source='t')  # nothing changed
    await click(user, 'user-reset')
    fill(user, reset_password='anita')
    await click(user, 'reset-dialog-save')
    assert field_error(user, 'reset-password') == 'A password needs at least 8 characters.'
    fill(user, reset_password='')
    await click(user, 'reset-dialog-save')
    password = text(user, 'password-secret')
    assert service_sign_in('anita', password, source='t').user.must_change_password
    assert 'must change password' in row_where(user, 'users-table', username='anita')['status']


async def test_reset_offers_to_revoke_the_users_api_tokens(user: User, sqlite_db: Database, make_user, admin) -> None:
    anita = make_user('anita')
    tokens = [issue_token(admin, user_id=anita.user_id, name=name).token for name in ('scanner', 'report')]
    await open_admin(user, make_user)
    await choose(user, 'users-table', username='anita')
    await click(user, 'user-reset')
    offer = element(user, 'reset-revoke-tokens')
    assert (offer.text, offer.value) == ('Also revoke their 2 API tokens', True)
    fill(user, reset_revoke_tokens=False)  # the admin unticks it: the tokens keep working
    await click(user, 'reset-dialog-save')
    await click(user, 'password-done')
    assert [authenticate(t, cached=False).actor.user_id for t in tokens] == [anita.user_id] * 2

    await click(user, 'user-reset')
    assert element(user, 'reset-revoke-tokens').value is True  # ticked again by default
    await click(user, 'reset-dialog-save')
    await user.should_see('The API tokens of anita are revoked.')
    await click(user, 'password-done')
    for token in tokens:
        with pytest.raises(SignedOut):
            authenticate(token, cached=False)
    await click(user, 'user-reset')
    assert not present(user, 'reset-revoke-tokens')  # none left to offer
    await click(user, 'reset-dialog-cancel')


async def test_clear_a_users_sign_in_delay(user: User, sqlite_db: Database, make_user, admin) -> None:
    make_user('anita')
    for i in range(ACCOUNT_FREE_FAILURES):  # anita mistyped her way into the delay, at several kiosks
        with pytest.raises(SignInFailed):
            service_sign_in('anita', 'not-my-password', source=f'10.8.0.{i}')
    await open_admin(user, make_user)
    async with handled():
        fill(user, users_slowed='yes')
    assert column(user, 'users-table', 'username') == ['anita']
    assert row_where(user, 'users-table', username='anita')['status'] == 'active · 5 failed sign-ins, slowed down'
    await choose(user, 'users-table', username='anita')
    assert enabled(user, 'user-clear-delay')
    await click(user, 'user-clear-delay')
    await click(user, 'clear-delay-dialog-cancel')
    assert column(user, 'users-table', 'username') == ['anita']
    await click(user, 'user-clear-delay')
    await click(user, 'clear-delay-dialog-save')
    await user.should_see('The sign-in delay of anita is cleared.')
    assert column(user, 'users-table', 'username') == []
    assert service_sign_in('anita', TEST_PASSWORD, source='t')


async def test_search_filters_and_pages(user: User, sqlite_db: Database, make_user, admin) -> None:
    for n in range(30):
        make_user(f'op{n:02d}', 'Quality Control' if n % 10 == 0 else 'Production')
    await open_admin(user, make_user)
    assert text(user, 'users-showing') == 'Showing 1–25 of 32'
    await click(user, 'users-next')
    assert text(user, 'users-showing') == 'Showing 26–32 of 32'
    assert column(user, 'users-table', 'username')[-1] == 'op29'
    async with handled():
        fill(user, users_department=QUALITY)
    assert column(user, 'users-table', 'username') == ['op00', 'op10', 'op20']
    async with handled():
        fill(user, users_department='', users_search='OP1')
    assert text(user, 'users-showing') == 'Showing 1–10 of 10'
    async with handled():
        fill(user, users_search='', users_role='admin')
    assert column(user, 'users-table', 'username') == ['admin', 'boss']


async def test_another_admins_change_appears_without_a_reload(
    user: User, sqlite_db: Database, make_user, admin
) -> None:
    await open_admin(user, make_user)
    create_account(admin, username='zara', full_name='Zara Khan', department_id=PRODUCTION)
    await eventually_equal(lambda: column(user, 'users-table', 'username'), ['admin', 'boss', 'zara'])


async def test_a_hint_with_quotes_is_shown_as_written(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'tokens')
    await click(user, 'token-new')
    assert element(user, 'token-name').props['hint'] == 'What uses it, e.g. "Line 3 scanner gateway"'
    await click(user, 'token-dialog-cancel')
    await click(user, 'tab-users')
    await click(user, 'user-new')
    assert element(user, 'user-username').props['hint'] == '3–40 letters, digits or . _ - ; used to sign in'
