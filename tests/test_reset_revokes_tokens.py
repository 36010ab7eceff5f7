"""Finding 10: an admin's password reset can revoke the user's API tokens in the same transaction."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from potrack.accounts.tokens import active_token_count, authenticate, issue_token, revoke_token
from potrack.accounts.user_admin import reset_password
from potrack.db import Database
from potrack.db.models import AuditEvent
from potrack.errors import InvalidInput, NotAllowed, SignedOut


def audit(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))).all())


def test_a_reset_with_revoke_stops_the_users_tokens_at_once(db: Database, admin, make_user) -> None:
    anita, boss = make_user('anita'), make_user('boss', is_admin=True)
    scanner = issue_token(admin, user_id=anita.user_id, name='line 3 scanner').token
    script = issue_token(admin, user_id=anita.user_id, name='shift report').token
    old = issue_token(admin, user_id=anita.user_id, name='old').info
    revoke_token(admin, token_id=old.id)
    others = issue_token(admin, user_id=boss.user_id, name='boss script').token
    assert authenticate(scanner).actor.user_id == anita.user_id  # now in this instance's token cache
    assert active_token_count(admin, user_id=anita.user_id) == 2

    reset_password(admin, user_id=anita.user_id, revoke_tokens=True)

    for token in (scanner, script):
        with pytest.raises(SignedOut, match='missing, unknown or revoked'):
            authenticate(token)  # cached=True: the cache was emptied, not waited out
    assert authenticate(others).actor.user_id == boss.user_id  # nobody else's token goes
    assert active_token_count(admin, user_id=anita.user_id) == 0
    revokes = audit(db, 'api_token.revoke')[1:]  # the first is the earlier, separate revoke of 'old'
    assert [(e.actor_id, json.loads(e.after)['name'], json.loads(e.after)['via']) for e in revokes] == [
        (admin.user_id, 'line 3 scanner', 'password reset'),
        (admin.user_id, 'shift report', 'password reset'),
    ]
    assert json.loads(audit(db, 'user.reset_password')[0].after) == {'api_tokens_revoked': 2}


def test_an_unticked_revoke_keeps_the_tokens_working(db: Database, admin, make_user) -> None:
    anita = make_user('anita')
    scanner = issue_token(admin, user_id=anita.user_id, name='line 3 scanner').token
    reset_password(admin, user_id=anita.user_id, revoke_tokens=False)
    assert authenticate(scanner, cached=False).actor.user_id == anita.user_id
    assert active_token_count(admin, user_id=anita.user_id) == 1
    assert audit(db, 'api_token.revoke') == []


def test_a_refused_reset_revokes_nothing(db: Database, admin, make_user) -> None:
    anita = make_user('anita')
    scanner = issue_token(admin, user_id=anita.user_id, name='line 3 scanner').token
    with pytest.raises(InvalidInput):
        reset_password(admin, user_id=anita.user_id, password='short', revoke_tokens=True)
    assert authenticate(scanner, cached=False).actor.user_id == anita.user_id


def test_only_an_admin_may_count_a_users_tokens(db: Database, make_user) -> None:
    anita = make_user('anita')
    with pytest.raises(NotAllowed):
        active_token_count(anita, user_id=anita.user_id)
