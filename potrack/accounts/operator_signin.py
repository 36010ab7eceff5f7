"""Operators signing in on an enrolled kiosk device: by badge scan, or by picking their name and keying a PIN.

Both need the device's credential (a browser that is not an enrolled, unrevoked device gets nowhere), and
both open an ordinary session (sessions.py) that names the device, so it ends with the device's revocation.

Throttling reuses throttle.py, with the device as the "source" (`device:<id>`):
- a PIN attempt takes its turn on the user's account key (`user:<id>`, the same as their password's): after a
  few failures each further attempt must wait a doubling delay, capped at signin_max_delay_ms. There is no
  lock: once the delay has passed the right PIN opens, whoever failed before, so a colleague keying wrong
  PINs under someone's name slows that name down for seconds and locks nobody out;
- every failure (a wrong PIN, an unknown badge) counts against the device, whose further attempts are held
  back (pages wait that out with asyncio.sleep, as the sign-in page does).
A badge scan takes no turn on its user's account: the badge is something held, not guessed, and a colleague's
wrong PINs must not slow down the next badge scan. Unknown badges are throttled per device.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from potrack.accounts import security, throttle
from potrack.accounts.authlog import auth_event, known
from potrack.accounts.device_view import DeviceView, device_by_credential, live_device, view_of
from potrack.accounts.operator_codes import badge_digest, normalize_badge
from potrack.accounts.sessions import create_session
from potrack.accounts.users import UserInfo, user_info
from potrack.common import metrics
from potrack.common.actors import Actor, load_user, visible_work_center_ids
from potrack.common.validation import search_text
from potrack.db.engine import Database, database
from potrack.db.models import Department, User, UserSession, WorkCenterDepartment
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, PotrackError, SignedOut
from potrack.i18n import N_

WRONG_PIN = N_('Wrong PIN, or too many attempts: wait a moment and try again.')
UNKNOWN_BADGE = N_('This badge is not known, or too many attempts: wait a moment and try again.')
NOT_A_DEVICE = N_('This browser is not an enrolled kiosk device.')
BADGE_THROTTLE_KEY = 'badge'  # a device's unknown badges count against this key


class OperatorSignInFailed(PotrackError):
    """The badge or PIN was not accepted; the message says what a person may know."""


@dataclass(frozen=True)
class OperatorSignIn:
    token: str  # the new session's, for the browser's cookie only
    user: UserInfo
    device: DeviceView


def device_source(device_id: int) -> str:
    return f'device:{device_id}'


def _device(session: Session, credential: str | None) -> DeviceView:
    row = device_by_credential(session, credential)
    if row is None:
        raise SignedOut(NOT_A_DEVICE)
    return view_of(session, row)


def device_delay_s(credential: str | None, *, db: Database | None = None) -> float:
    """How long the next badge or PIN attempt on this device is held back (0 for a browser that is no device)."""
    db = db or database()
    with db.read() as session:
        row = device_by_credential(session, credential)
        if row is None or row.id is None:
            return 0.0
        return throttle.source_delay_for(throttle.source_failures(session, device_source(row.id), utcnow()))


def _hold(credential: str | None, waited_s: float, db: Database) -> None:
    hold_s = device_delay_s(credential, db=db) - waited_s
    if hold_s > 0:
        time.sleep(hold_s)


def device_operators(
    credential: str | None, *, search: str = '', limit: int = 50, db: Database | None = None
) -> list[tuple[int, str]]:
    """(id, name) of the active users with a PIN whose department sees one of the device's work centers
    (any work center, for a device pinned to none), by name; `search` matches the name or user name.

    Raises SignedOut (NOT_A_DEVICE).
    """
    db = db or database()
    with db.read() as session:
        device = _device(session, credential)
        query = (
            select(User.id, User.full_name, User.username)
            .join(Department, col(Department.id) == col(User.department_id))
            .join(WorkCenterDepartment, col(WorkCenterDepartment.department_id) == col(Department.id))
            .where(User.is_active, col(User.pin_hash).is_not(None), Department.is_active)
            .distinct()
        )
        if device.work_center_ids:
            query = query.where(col(WorkCenterDepartment.work_center_id).in_(device.work_center_ids))
        needle = search_text(search)
        if needle:
            query = query.where(
                or_(
                    col(User.full_name).icontains(needle, autoescape=True),
                    col(User.username).icontains(needle, autoescape=True),
                )
            )
        rows = session.exec(query.order_by(col(User.full_name), col(User.username)).limit(limit)).all()
        return [(uid, full or name) for uid, full, name in rows if uid is not None]


def _open(session: Session, user: User, device: DeviceView, source: str) -> OperatorSignIn:
    user.last_signin_at = utcnow()
    session.add(user)
    token = create_session(session, user, source, device_id=device.id)
    return OperatorSignIn(token, user_info(session, user), device)


def _refused(db: Database, source: str, key: str, message: str) -> OperatorSignInFailed:
    db.write(lambda session: throttle.failed_from(session, source, key, utcnow()))
    throttle.prune_now_and_then(db)
    metrics.signin('failed')
    return OperatorSignInFailed(message)


def sign_in_by_pin(
    credential: str | None, user_id: Any, pin: Any, *, waited_s: float = 0.0, db: Database | None = None
) -> OperatorSignIn:
    """A user picked by name keys their PIN on a device. Raises OperatorSignInFailed (WRONG_PIN alike for a
    wrong PIN, a user without PIN or not on this device's list, and an attempt before the user's delay is
    over), InvalidInput (no PIN typed), SignedOut (not a device), NotSaved.
    """
    db = db or database()
    _hold(credential, waited_s, db)
    typed = pin.strip() if isinstance(pin, str) else ''
    if not typed:
        raise InvalidInput(N_('Key your PIN.'), field='pin')
    uid = user_id if isinstance(user_id, int) else -1

    def take_turn(session: Session) -> tuple[DeviceView, str | None, throttle.Turn]:
        device = _device(session, credential)
        user = session.get(User, uid)
        if user is None or user.id is None:
            return device, None, throttle.Turn('', False, 0)
        return device, user.pin_hash, throttle.take_turn(session, throttle.user_key(user.id), user.id)

    device, pin_hash, turn = db.write(take_turn)
    source = device_source(device.id)
    # One bcrypt check whatever the case: an unknown user or a refused turn costs what a wrong PIN costs.
    ok = security.verify_password(typed, pin_hash if turn.admitted else None)

    def unit(session: Session) -> OperatorSignIn | None:
        user = session.get(User, uid)
        allowed = device_operators_ids(session, device)
        if user is None or user.pin_hash != pin_hash or not user.is_active or uid not in allowed:
            return None
        throttle.succeeded(session, turn.key, source)
        return _open(session, user, device, source)

    result = db.write(unit) if ok else None
    if result is None:
        auth_event('signin_failed', user_id=uid, source=source, reason='pin' if turn.admitted else 'too_early')
        raise _refused(db, source, turn.key or throttle.user_key(uid), WRONG_PIN)
    metrics.signin('succeeded')
    auth_event('signin', **known(result.user.id, result.user.username), source=source, method='pin')
    return result


def device_operators_ids(session: Session, device: DeviceView) -> set[int]:
    """Users who may sign in by PIN on `device` (the list device_operators shows, unfiltered)."""
    query = (
        select(User.id)
        .join(Department, col(Department.id) == col(User.department_id))
        .join(WorkCenterDepartment, col(WorkCenterDepartment.department_id) == col(Department.id))
        .where(User.is_active, Department.is_active)
    )
    if device.work_center_ids:
        query = query.where(col(WorkCenterDepartment.work_center_id).in_(device.work_center_ids))
    return {uid for uid in session.exec(query).all() if uid is not None}


def sign_in_by_badge(
    credential: str | None, badge: Any, *, waited_s: float = 0.0, db: Database | None = None
) -> OperatorSignIn:
    """A badge scanned on a device opens a session for its active owner.

    Raises OperatorSignInFailed (UNKNOWN_BADGE for an unknown badge or one of a deactivated user),
    SignedOut (not a device), NotSaved.
    """
    db = db or database()
    _hold(credential, waited_s, db)
    try:
        digest = badge_digest(normalize_badge(badge))
    except InvalidInput:
        digest = None

    def unit(session: Session) -> tuple[DeviceView, OperatorSignIn | None]:
        device = _device(session, credential)
        user = session.exec(select(User).where(col(User.badge_hash) == digest)).first() if digest else None
        if user is None or not user.is_active:
            return device, None
        return device, _open(session, user, device, device_source(device.id))

    device, result = db.write(unit)
    source = device_source(device.id)
    if result is None:
        auth_event('signin_failed', source=source, reason='unknown_badge')
        raise _refused(db, source, BADGE_THROTTLE_KEY, UNKNOWN_BADGE)
    metrics.signin('succeeded')
    auth_event('signin', **known(result.user.id, result.user.username), source=source, method='badge')
    return result


def kiosk_work_center_ids(actor: Actor, *, db: Database | None = None) -> set[int] | None:
    """The work centers a kiosk shows this session: on a device, its pinned ones the user's department sees
    (all the department sees, for a device pinned to none); None when the session is on no device.

    Raises SignedOut (also when the device was revoked).
    """
    db = db or database()
    with db.read() as session:
        user = load_user(session, actor)
        row = session.get(UserSession, actor.session_id) if actor.session_id else None
        if row is None or row.device_id is None:
            return None
        device = live_device(session, row.device_id)
        if device is None:
            raise SignedOut('This kiosk device was revoked.')
        visible = visible_work_center_ids(session, user, active_only=True)
        pinned = view_of(session, device).work_center_ids
        return visible & pinned if pinned else visible
