"""Operators' badges and PINs: the second way to sign in, on enrolled kiosk devices only.

A badge is what the card's scanner types (a keyboard wedge). It is stored as an HMAC keyed with the
server's secret, so it can be looked up (a badge scan names its user) and a copied table tells nothing.
A PIN is 4-6 digits, hashed with bcrypt like a password; it is checked only for a user picked by name on a
device (operator_signin.py), throttled there. Admins set and remove both (audited); an operator changes
their own PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from itertools import pairwise
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from potrack.accounts import security
from potrack.accounts.users import UserInfo, user_info
from potrack.common import audit
from potrack.common.actors import Actor, load_user, require_admin
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import User
from potrack.errors import Conflict, InvalidInput, NotFound
from potrack.live.announce import USERS, write_announced

BADGE_MIN_LEN = 4
BADGE_MAX_LEN = 64
PIN_RE = re.compile(r'[0-9]{4,6}')
_BADGE_CONTEXT = b'potrack operator badge\x00'  # apart from the secret's other uses (throttle.name_key)
BADGE_TAKEN = 'Another user already has this badge. Remove it there first.'


def normalize_badge(raw: Any) -> str:
    """A badge as scanned, without the scanner's surrounding blanks, in upper case (a kiosk's Caps Lock)."""
    text = raw.strip().upper() if isinstance(raw, str) else ''
    if not BADGE_MIN_LEN <= len(text) <= BADGE_MAX_LEN or not text.isprintable():
        raise InvalidInput(
            f'A badge has {BADGE_MIN_LEN} to {BADGE_MAX_LEN} printable characters: scan it into the field.',
            field='badge',
        )
    return text


def badge_digest(badge: str) -> str:
    """The stored form of a normalized badge: HMAC-SHA256 with the server's secret, so it can be looked up."""
    secret = settings().session_secret.encode()
    return hmac.new(secret, _BADGE_CONTEXT + badge.encode('utf-8', 'replace'), hashlib.sha256).hexdigest()


def check_pin(raw: Any, *, field: str = 'pin') -> str:
    """A new PIN: 4 to 6 digits, not one digit repeated, not a run like 1234 or 9876."""
    pin = raw.strip() if isinstance(raw, str) else ''
    if not PIN_RE.fullmatch(pin):
        raise InvalidInput('A PIN has 4 to 6 digits.', field=field)
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({0}, {1}, {-1}):
        raise InvalidInput('That PIN is too easy to guess: no repeated digit or run like 1234.', field=field)
    return pin


def set_operator_codes(
    actor: Actor,
    *,
    user_id: int,
    badge: Any = '',
    pin: Any = '',
    remove_badge: bool = False,
    remove_pin: bool = False,
    db: Database | None = None,
) -> UserInfo:
    """Admin only: set (a non-empty value) or remove a user's badge and PIN; empty leaves one as it is.

    Raises NotAllowed, SignedOut, NotFound, InvalidInput (badge, pin), Conflict (badge taken).
    """
    new_badge = normalize_badge(badge) if isinstance(badge, str) and badge.strip() and not remove_badge else None
    new_pin = check_pin(pin) if isinstance(pin, str) and pin.strip() and not remove_pin else None
    pin_hash = security.hash_password(new_pin) if new_pin else None  # bcrypt before the transaction
    db = db or database()

    def unit(session: Session) -> UserInfo:
        admin = require_admin(session, actor)
        user = session.get(User, user_id)
        if user is None:
            raise NotFound('That user does not exist.')
        changed: dict[str, str] = {}
        if remove_badge or new_badge:
            digest = badge_digest(new_badge) if new_badge else None
            owner = session.exec(select(User.id).where(col(User.badge_hash) == digest)).first() if digest else None
            if owner is not None and owner != user_id:
                raise Conflict(BADGE_TAKEN, field='badge')
            user.badge_hash = digest
            changed['badge'] = 'set' if digest else 'removed'
        if remove_pin or pin_hash:
            user.pin_hash = pin_hash
            changed['pin'] = 'set' if pin_hash else 'removed'
        session.add(user)
        session.flush()  # the unique index is the last word on a badge two admins give at once
        if changed:  # what changed, never the values
            audit.record(
                session,
                actor_id=admin.id,
                action='user.operator_codes',
                entity='user',
                entity_id=user_id,
                after=changed,
            )
        return user_info(session, user)

    try:
        return write_announced(db, unit, USERS)
    except IntegrityError:
        raise Conflict(BADGE_TAKEN, field='badge') from None


def change_own_pin(actor: Actor, *, current: Any, new: Any, repeat: Any, db: Database | None = None) -> UserInfo:
    """The signed-in user sets their PIN, confirming with the current PIN (or, with none yet, their password).

    Raises InvalidInput (current, pin, repeat), SignedOut.
    """
    db = db or database()
    pin = check_pin(new)
    if new != repeat:
        raise InvalidInput('The two PINs differ.', field='repeat')
    with db.read() as session:
        user = load_user(session, actor)
        old_pin, password_hash = user.pin_hash, user.password_hash
    typed = current if isinstance(current, str) else ''
    if not security.verify_password(typed, old_pin or password_hash):
        what = 'current PIN' if old_pin else 'password'
        raise InvalidInput(f'The {what} is not right.', field='current')
    new_hash = security.hash_password(pin)

    def unit(session: Session) -> UserInfo:
        row = load_user(session, actor)
        row.pin_hash = new_hash
        session.add(row)
        audit.record(session, actor_id=row.id, action='user.change_pin', entity='user', entity_id=row.id)
        return user_info(session, row)

    return write_announced(db, unit, USERS)
