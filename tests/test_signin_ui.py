"""Signing in, the forced password change, sign-out, as a person at a browser experiences them."""

from __future__ import annotations

from nicegui.testing import User

from potrack.db import Database
from tests.ui_helpers import field_error, session_cookie, settle, sign_in


async def test_first_sign_in_forces_the_default_password_change(user: User, db: Database) -> None:
    await sign_in(user, 'admin', 'admin123')
    await user.should_see(marker='forced-change')
    user.find(marker='current').type('admin123')
    user.find(marker='new').type('password')
    user.find(marker='repeat').type('password')
    user.find(marker='save-password').click()
    await settle(user)
    assert field_error(user, 'new') == 'That password is too common; choose another.'
    user.find(marker='new').clear().type('Str0ng-Factory-Pass')
    user.find(marker='repeat').clear().type('Str0ng-Factory-Pass')
    user.find(marker='save-password').click()
    await settle(user)
    await user.should_see(marker='page-title')
    assert session_cookie(user)
