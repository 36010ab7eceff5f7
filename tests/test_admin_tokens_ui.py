"""The admin console's API tokens tab: issue a token (shown once), see it used, revoke it."""

from __future__ import annotations

from nicegui.testing import User

from potrack.accounts.tokens import authenticate, list_tokens
from potrack.db import Database
from potrack.errors import SignedOut
from tests.admin_ui_helpers import choose, click, element, enabled, field_error, fill, open_admin, row_where


async def test_issue_use_and_revoke_a_token(user: User, sqlite_db: Database, make_user, admin) -> None:
    anita = make_user('anita')
    await open_admin(user, make_user, 'tokens')
    assert enabled(user, 'token-revoke') is False
    await click(user, 'token-new')
    await click(user, 'token-dialog-save')
    assert field_error(user, 'token-user') == 'Choose the user the token acts as.'
    fill(user, token_user=anita.user_id, token_name='')
    await click(user, 'token-dialog-save')
    assert field_error(user, 'token-name') == 'The token name is required.'
    fill(user, token_name='Line 3 gateway')
    await click(user, 'token-dialog-save')
    secret = element(user, 'token-secret').value
    assert secret.startswith('pt_')
    assert authenticate(secret).actor.user_id == anita.user_id
    await click(user, 'token-done')
    row = row_where(user, 'tokens-table', name='Line 3 gateway')
    assert (row['username'], row['status']) == ('anita', 'active')
    assert secret not in str(row)

    await click(user, 'tab-users')
    await click(user, 'tab-tokens')  # re-read: the use above shows as last used
    assert row_where(user, 'tokens-table', name='Line 3 gateway')['last_used'] != 'never'

    await choose(user, 'tokens-table', name='Line 3 gateway')
    await click(user, 'token-revoke')
    await click(user, 'token-revoke-dialog-save')
    await user.should_see('API token "Line 3 gateway" revoked.')
    assert row_where(user, 'tokens-table', name='Line 3 gateway')['status'].startswith('revoked ')
    assert enabled(user, 'token-revoke') is False
    try:
        authenticate(secret)
        raise AssertionError('a revoked token still works')
    except SignedOut:
        pass
    assert [t.name for t in list_tokens(admin)] == ['Line 3 gateway']
