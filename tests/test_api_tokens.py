"""API tokens: issued by admins, stored hashed, named, revocable, last use recorded; and the API honours them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from nicegui.testing import User
from sqlmodel import select

from potrack.accounts import tokens
from potrack.accounts.security import token_digest
from potrack.accounts.tokens import TOUCH_EVERY_S, authenticate, issue_token, list_tokens, revoke_token
from potrack.accounts.user_admin import set_user_active
from potrack.db import Database
from potrack.db.models import ApiToken, AuditEvent
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotAllowed, NotFound, SignedOut
from potrack.live import feed
from potrack.live import listener as live_listener
from potrack.live.announce import USERS
from potrack.masters.audit_trail import ENTITIES, AuditFilter, action_label, list_events
from tests.api_helpers import api, bearer, error_of


def test_a_token_is_shown_once_and_only_its_digest_is_stored(db: Database, admin, make_user) -> None:
    anita = make_user('anita')
    issued = issue_token(admin, user_id=anita.user_id, name='  line 3 scanner ')
    assert issued.token.startswith('pt_') and len(issued.token) > 40
    assert (issued.info.name, issued.info.username, issued.info.active) == ('line 3 scanner', 'anita', True)
    with db.read() as s:
        row = s.exec(select(ApiToken)).one()
        assert row.token_hash == token_digest(issued.token) and issued.token not in row.token_hash
        assert s.exec(select(AuditEvent.action).where(AuditEvent.entity == 'api_token')).all() == ['api_token.issue']
    caller = authenticate(issued.token)
    assert (caller.actor.user_id, caller.actor.session_id, caller.is_admin) == (anita.user_id, None, False)


def test_only_admins_issue_list_and_revoke(db: Database, admin, make_user) -> None:
    anita = make_user('anita')
    issued = issue_token(admin, user_id=anita.user_id, name='scanner')
    with pytest.raises(NotAllowed):
        issue_token(anita, user_id=anita.user_id, name='mine')
    with pytest.raises(NotAllowed):
        list_tokens(anita)
    with pytest.raises(NotAllowed):
        revoke_token(anita, token_id=issued.info.id)


def test_bad_names_and_unknown_users_are_refused(db: Database, admin, make_user) -> None:
    with pytest.raises(InvalidInput, match='The token name is required'):
        issue_token(admin, user_id=admin.user_id, name=' ')
    with pytest.raises(InvalidInput, match='at most 60'):
        issue_token(admin, user_id=admin.user_id, name='x' * 61)
    with pytest.raises(NotFound):
        issue_token(admin, user_id=999_999, name='ghost')
    with pytest.raises(NotFound):
        revoke_token(admin, token_id=999_999)


def test_revoked_tokens_stop_working_at_once_and_stay_listed(db: Database, admin, make_user) -> None:
    anita = make_user('anita')
    keep = issue_token(admin, user_id=anita.user_id, name='keep')
    drop = issue_token(admin, user_id=anita.user_id, name='drop')
    revoked = revoke_token(admin, token_id=drop.info.id)
    assert revoked.revoked_at is not None and not revoked.active
    assert revoke_token(admin, token_id=drop.info.id).revoked_at == revoked.revoked_at  # twice changes nothing
    with pytest.raises(SignedOut):
        authenticate(drop.token)
    authenticate(keep.token)
    assert [(t.name, t.active) for t in list_tokens(admin)] == [('drop', False), ('keep', True)]
    # The audit view filters by API token and reads issue and revoke as words, once each.
    assert ENTITIES['api_token'] == 'API token'
    rows = list_events(admin, AuditFilter(entity='api_token')).rows
    assert [(action_label(r.action), r.actor_username, r.record, r.changes) for r in rows] == [
        ('API token revoked', 'admin', 'drop (anita)', ['name: drop', 'user: anita']),
        ('API token issued', 'admin', 'drop (anita)', ['name: drop', 'user: anita']),
        ('API token issued', 'admin', 'keep (anita)', ['name: keep', 'user: anita']),
    ]


@contextmanager
def subscribed(db: Database) -> Iterator[list[feed.Change]]:
    """What a subscriber of the live feed hears; on PostgreSQL through a listener, as on another instance."""
    changes: list[feed.Change] = []
    unsubscribe = feed.subscribe(changes.append)
    listener = live_listener.Listener(db.engine.url.render_as_string(hide_password=False)) if db.is_postgres else None
    if listener is not None:
        listener.start()
        assert listener.connected.wait(10)
    try:
        yield changes
    finally:
        if listener is not None:
            listener.stop()
        unsubscribe()


def heard_users_change(changes: list[feed.Change], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not any(c.kind == 'users' for c in changes) and time.monotonic() < deadline:
        time.sleep(0.02)
    found = any(c.kind == 'users' for c in changes)
    changes.clear()
    return found


def test_issuing_and_revoking_reach_other_admins_open_pages(db: Database, admin, make_user) -> None:
    anita = make_user('anita')
    with subscribed(db) as changes:
        issued = issue_token(admin, user_id=anita.user_id, name='scanner')
        assert heard_users_change(changes)
        revoke_token(admin, token_id=issued.info.id)
        assert heard_users_change(changes)


def test_a_deactivated_users_tokens_stop_working(db: Database, admin, make_user) -> None:
    anita = make_user('anita')
    issued = issue_token(admin, user_id=anita.user_id, name='scanner')
    set_user_active(admin, user_id=anita.user_id, active=False)
    with pytest.raises(SignedOut):
        authenticate(issued.token)


@pytest.mark.parametrize('token', ['', 'pt_', 'pt_unknown', 'no-prefix', 'pt_' + 'x' * 500])
def test_unknown_tokens_are_refused(db: Database, token: str) -> None:
    with pytest.raises(SignedOut):
        authenticate(token)


def test_last_use_is_recorded_at_most_once_a_minute(db: Database, admin, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = issue_token(admin, user_id=admin.user_id, name='probe')
    assert list_tokens(admin)[0].last_used_at is None
    authenticate(issued.token)
    first = list_tokens(admin)[0].last_used_at
    assert first is not None
    authenticate(issued.token)
    authenticate(issued.token, cached=False)
    assert list_tokens(admin)[0].last_used_at == first  # within the minute: no write

    later = first + timedelta(seconds=TOUCH_EVERY_S + 1)
    monkeypatch.setattr(tokens, 'utcnow', lambda: later)
    authenticate(issued.token)  # a minute on, from the cache too
    assert list_tokens(admin)[0].last_used_at == later


def test_a_revoked_token_is_refused_at_once_although_it_was_just_checked(db: Database, admin) -> None:
    issued = issue_token(admin, user_id=admin.user_id, name='probe')
    authenticate(issued.token)  # now in this instance's cache
    revoke_token(admin, token_id=issued.info.id)
    with pytest.raises(SignedOut):
        authenticate(issued.token)


def test_a_token_change_on_another_instance_empties_the_cache(db: Database, admin) -> None:
    issued = issue_token(admin, user_id=admin.user_id, name='probe')
    authenticate(issued.token)

    def revoke_behind_the_cache(session) -> None:  # type: ignore[no-untyped-def]
        row = session.get(ApiToken, issued.info.id)
        row.revoked_at = utcnow()
        session.add(row)

    db.write(revoke_behind_the_cache)  # as another instance would: only its live notice reaches here
    assert authenticate(issued.token).token_id == issued.info.id  # still cached
    feed.deliver(feed.Change(0, '', USERS))
    with pytest.raises(SignedOut):
        authenticate(issued.token)


async def test_the_api_refuses_a_token_once_it_is_revoked(user: User, sqlite_db: Database, admin, make_user) -> None:
    issued = issue_token(admin, user_id=make_user('anita').user_id, name='scanner')
    client = api(user, issued.token)
    assert (await client.get('/api/v1/work-centers')).status_code == 200
    revoke_token(admin, token_id=issued.info.id)
    status, code, message = error_of(await client.get('/api/v1/work-centers'))
    assert (status, code, message) == (401, 'unauthorized', 'The API token is missing, unknown or revoked.')
    other = await user.http_client.get('/api/v1/work-centers', headers=bearer('pt_' + issued.token[3:][::-1]))
    assert other.status_code == 401
