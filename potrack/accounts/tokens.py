"""API tokens: bearer credentials for the REST API, issued by admins, acting as one user.

The token is shown once at issue; only its SHA-256 is stored, so a copy of the table grants nothing.
Issuing and revoking are announced on the live feed as a 'users' change, so other admins' open
Tokens and Audit tabs show them.
A request with a token acts as the token's user with that user's department scope, and every service
re-checks the user, so deactivating the user stops the token too. Revoking takes effect at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from potrack.accounts.security import token_digest
from potrack.common import audit
from potrack.common.actors import SIGNED_OUT_MESSAGE, Actor, require_admin
from potrack.common.validation import clean_text
from potrack.db.engine import Database, database
from potrack.db.models import ApiToken, User
from potrack.db.types import utcnow
from potrack.errors import NotFound, SignedOut
from potrack.live.announce import USERS, write_announced
from potrack.live.cache import LiveCache

TOKEN_PREFIX = 'pt_'  # noqa: S105  (a prefix that marks potrack tokens in logs and scanners)
TOKEN_NAME_MAX_LEN = 60
# Writing last_used_at on every request would turn every API read into a write; a minute is enough.
TOUCH_EVERY_S = 60
BAD_TOKEN_MESSAGE = 'The API token is missing, unknown or revoked.'  # noqa: S105
# Checking the token was a third of an API movement's server time; revoking empties the cache at once.
CACHE_TTL_S = 10.0
# The command line acts as no potrack user: whoever runs it on the server already holds the database
# (create-admin is the same). Its audit events have no actor and say where they came from instead.
CLI_VIA = 'command line'


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    username: str
    name: str
    created_at: datetime
    created_by: int | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class IssuedToken:
    info: TokenInfo
    token: str  # the secret itself: shown once, never stored


@dataclass(frozen=True)
class TokenUser:
    """Who a token acts as: the actor for services and whether that user is an admin."""

    actor: Actor
    token_id: int
    is_admin: bool


_checked: LiveCache[str, tuple[TokenUser, datetime | None]] = LiveCache(frozenset({USERS}), CACHE_TTL_S)


def _info(row: ApiToken, username: str) -> TokenInfo:
    assert row.id is not None
    return TokenInfo(
        row.id, row.user_id, username, row.name, row.created_at, row.created_by, row.last_used_at, row.revoked_at
    )


def issue_token(actor: Actor, *, user_id: int, name: Any, db: Database | None = None) -> IssuedToken:
    """Admin only: a new token for `user_id`, returned with its secret (shown once).

    Raises NotAllowed, SignedOut, InvalidInput (name), NotFound (no such active user).
    """
    clean = clean_text(name, field='name', label='The token name', max_len=TOKEN_NAME_MAX_LEN)
    db = db or database()

    def unit(session: Session) -> IssuedToken:
        admin = require_admin(session, actor)
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound('That user does not exist or is deactivated.', field='user')
        return _issue(session, user, clean, by=admin.id, context={})

    return write_announced(db, unit, USERS)  # the admin Tokens and Audit tabs reload


def issue_token_from_cli(username: str, name: Any, *, os_user: str | None, db: Database | None = None) -> IssuedToken:
    """The trusted shell (`potrack token issue`): a new token for the active user `username`, with its secret.

    Audited as the command line's (see CLI_VIA). Raises InvalidInput (name), NotFound (no such active user).
    """
    clean = clean_text(name, field='name', label='The token name', max_len=TOKEN_NAME_MAX_LEN)
    db = db or database()

    def unit(session: Session) -> IssuedToken:
        user = _user_named(session, username)
        if not user.is_active:
            raise NotFound(f'The user "{user.username}" is deactivated; reactivate them first.', field='user')
        return _issue(session, user, clean, by=None, context=_cli_context(os_user))

    return write_announced(db, unit, USERS)


def _issue(session: Session, user: User, name: str, *, by: int | None, context: dict[str, Any]) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    assert user.id is not None
    row = ApiToken(user_id=user.id, name=name, token_hash=token_digest(token), created_by=by)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=by,
        action='api_token.issue',
        entity='api_token',
        entity_id=row.id,
        after={'user': user.username, 'name': name, **context},
    )
    return IssuedToken(_info(row, user.username), token)


def list_tokens(actor: Actor, *, db: Database | None = None) -> list[TokenInfo]:
    """Admin only: every token (revoked ones too), newest first. Raises NotAllowed, SignedOut."""
    db = db or database()
    with db.read() as session:
        require_admin(session, actor)
        return _listed(session)


def list_tokens_from_cli(*, username: str | None = None, db: Database | None = None) -> list[TokenInfo]:
    """The trusted shell (`potrack token list`): every token, or those of `username`, newest first.

    Raises NotFound (no such user, active or not).
    """
    db = db or database()
    with db.read() as session:
        return _listed(session, None if username is None else _user_named(session, username).id)


def _listed(session: Session, user_id: int | None = None) -> list[TokenInfo]:
    query = select(ApiToken, User.username).join(User, col(User.id) == col(ApiToken.user_id))
    if user_id is not None:
        query = query.where(col(ApiToken.user_id) == user_id)
    return [_info(row, username) for row, username in session.exec(query.order_by(col(ApiToken.id).desc())).all()]


def revoke_token(actor: Actor, *, token_id: int, db: Database | None = None) -> TokenInfo:
    """Admin only: the token stops working at once (revoking twice changes nothing).

    Raises NotAllowed, SignedOut, NotFound.
    """

    def unit(session: Session) -> TokenInfo:
        admin = require_admin(session, actor)
        return _revoke(session, token_id, by=admin.id, context={})

    return _revoked(db or database(), unit)


def revoke_token_from_cli(token_id: int, *, os_user: str | None, db: Database | None = None) -> TokenInfo:
    """The trusted shell (`potrack token revoke`): as revoke_token, audited as the command line's. Raises NotFound."""
    context = _cli_context(os_user)
    return _revoked(db or database(), lambda session: _revoke(session, token_id, by=None, context=context))


def _revoked(db: Database, unit: Callable[[Session], TokenInfo]) -> TokenInfo:
    info = write_announced(db, unit, USERS)  # the admin Tokens and Audit tabs reload; other instances' caches empty
    forget_checked_tokens()  # this instance's at once, whether or not its live listener runs
    return info


def _revoke(session: Session, token_id: int, *, by: int | None, context: dict[str, Any]) -> TokenInfo:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f'There is no API token {token_id}.')
    owner = session.get(User, row.user_id)
    username = owner.username if owner else None
    if row.revoked_at is None:
        _mark_revoked(session, row, username, by=by, context=context)
    return _info(row, username or '?')


def _mark_revoked(
    session: Session, row: ApiToken, username: str | None, *, by: int | None, context: dict[str, Any]
) -> None:
    row.revoked_at = utcnow()
    session.add(row)
    audit.record(
        session,
        actor_id=by,
        action='api_token.revoke',
        entity='api_token',
        entity_id=row.id,
        after={'user': username, 'name': row.name, **context},
    )


def _active_query(user_id: int) -> Any:
    return select(ApiToken).where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))


def active_token_count(actor: Actor, *, user_id: int, db: Database | None = None) -> int:
    """Admin only: how many of the user's API tokens still work. Raises NotAllowed, SignedOut."""
    with (db or database()).read() as session:
        require_admin(session, actor)
        return len(session.exec(_active_query(user_id)).all())


def revoke_user_tokens(session: Session, user: User, *, by: int | None, context: dict[str, Any]) -> int:
    """In the caller's transaction (which announces USERS, then calls forget_checked_tokens): revoke all, audited."""
    assert user.id is not None
    # In the order they were issued (and locked in that order): the audit trail reads oldest first.
    rows = session.exec(_active_query(user.id).order_by(col(ApiToken.id)).with_for_update()).all()
    for row in rows:
        _mark_revoked(session, row, user.username, by=by, context=context)
    return len(rows)


def forget_checked_tokens() -> None:
    """Empty this instance's cache of checked tokens at once (others empty theirs on the USERS change)."""
    _checked.clear()


def _user_named(session: Session, username: str) -> User:
    user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if user is None:
        raise NotFound(f'There is no user "{username.strip()}".', field='user')
    return user


def _cli_context(os_user: str | None) -> dict[str, Any]:
    """What the audit event of a command-line action says instead of an acting user."""
    return {'via': CLI_VIA, **({'os_user': os_user} if os_user else {})}


def authenticate(token: str | None, *, db: Database | None = None, cached: bool = True) -> TokenUser:
    """The user a bearer token acts as. Raises SignedOut (unknown, revoked, or the user deactivated).

    Counts as use: last_used_at is written at most every TOUCH_EVERY_S seconds. `cached`: a token
    checked in the last CACHE_TTL_S seconds is not read again (any user or token change anywhere empties
    the cache through the live feed); fine wherever the service called next checks the user itself, as
    every potrack service does. Pass cached=False where the answer alone grants something.
    """
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise SignedOut(BAD_TOKEN_MESSAGE)
    digest = token_digest(token)
    db = db or database()
    hit = _checked.get(db, digest) if cached else None
    if hit is None:
        hit = _read(db, digest)
        _checked.put(db, digest, hit)
    caller, last_used_at = hit
    if last_used_at is None or (utcnow() - last_used_at).total_seconds() >= TOUCH_EVERY_S:
        _touch(db, caller.token_id)
        _checked.put(db, digest, (caller, utcnow()))
    return caller


def _read(db: Database, digest: str) -> tuple[TokenUser, datetime | None]:
    with db.read() as session:
        # One round trip for what load_user would check in two.
        row = session.exec(
            select(
                ApiToken.id, ApiToken.user_id, ApiToken.revoked_at, ApiToken.last_used_at, User.is_active, User.is_admin
            )
            .join(User, col(User.id) == col(ApiToken.user_id))
            .where(ApiToken.token_hash == digest)
        ).first()
    if row is None:
        raise SignedOut(BAD_TOKEN_MESSAGE)
    token_id, user_id, revoked_at, last_used_at, user_active, user_admin = row
    if revoked_at is not None or token_id is None:
        raise SignedOut(BAD_TOKEN_MESSAGE)
    if not user_active:  # a deactivated user's tokens stop working too
        raise SignedOut(SIGNED_OUT_MESSAGE)
    return TokenUser(Actor(user_id), token_id, bool(user_admin)), last_used_at


def _touch(db: Database, token_id: int) -> None:
    def unit(session: Session) -> None:
        row = session.get(ApiToken, token_id)
        if row is not None:
            row.last_used_at = utcnow()
            session.add(row)

    db.write(unit)
