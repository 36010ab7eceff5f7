"""Deactivating a user or resetting their password sends their open pages to sign-in at once, not at their next
action: the accounts change is announced, and every open page asks whether its own session still holds."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from potrack.accounts.user_admin import reset_password, set_user_active
from potrack.common.actors import Actor
from potrack.db import Database
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, handled, sign_in


def on_signin(user: User) -> bool:
    return user.back_history[-1].startswith('/signin')


@pytest.mark.parametrize('change', ['deactivate', 'reset'])
async def test_an_open_kiosk_leaves_for_sign_in_when_its_user_loses_their_session(
    user: User, sqlite_db: Database, make_user, admin: Actor, change: str
) -> None:
    anita = make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD, '/kiosk')
    await user.should_see('Assembly')
    assert not on_signin(user)
    if change == 'deactivate':
        set_user_active(admin, user_id=anita.user_id, active=False)
    else:
        reset_password(admin, user_id=anita.user_id)
    await eventually(lambda: on_signin(user), what='the kiosk to go to sign-in')
    await user.should_see('Your session has ended. Please sign in again.')


async def test_a_change_to_someone_else_leaves_the_page_where_it_is(
    user: User, sqlite_db: Database, make_user, admin: Actor
) -> None:
    make_user('anita')
    bruno = make_user('bruno')
    await sign_in(user, 'anita', TEST_PASSWORD, '/balances')
    await user.should_see('Open orders at')
    opened = len(user.back_history)
    async with handled():  # until the page has handled the announced change
        set_user_active(admin, user_id=bruno.user_id, active=False)
    assert len(user.back_history) == opened and not on_signin(user)
    await user.should_see('Open orders at')
