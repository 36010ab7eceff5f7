"""Kiosk devices, as admins manage them: create with a one-time enrollment code, change, re-code, revoke.

A device is enrolled by typing (or scanning) its code on the browser that becomes the kiosk (enrollment.py).
The code is short enough to type, so it is kept only as a keyed hash, is valid for ENROLL_CODE_TTL_S and
works once. Revoking a device forgets its credential and ends every session opened on it in the same
transaction, so the kiosk returns to the enrollment page at its next action or page load.
Every change is audited and announced to open pages (a 'users' change; a 'masters' one for re-pinning).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from potrack.accounts.device_view import pinned_ids
from potrack.common import audit
from potrack.common.actors import Actor, require_admin
from potrack.common.validation import clean_text, search_text
from potrack.config import settings
from potrack.db.engine import Database, database
from potrack.db.models import KioskDevice, KioskDeviceWorkCenter, UserSession, WorkCenter
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotFound
from potrack.i18n import LANGUAGES
from potrack.live.announce import MASTERS, USERS, write_announced

ENROLL_CODE_TTL_S = 30 * 60  # long enough to walk from the office to the line
ENROLL_CODE_LEN = 8
# No 0/O, 1/I/L: read aloud or off a screen, typed on a touch keyboard, without a doubt.
ENROLL_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'
DEVICE_NAME_MAX_LEN = 60
ACTIONS = ('IN', 'OUT')
SIGN_OUT_POLICIES = ('entry', 'idle')
_CODE_CONTEXT = b'potrack kiosk enrollment code\x00'  # apart from the secret's other uses


@dataclass(frozen=True)
class DeviceInfo:
    """A device as the admin console lists it (never a hash)."""

    id: int
    name: str
    work_center_ids: tuple[int, ...]
    default_action: str
    muted: bool
    sign_out_after: str
    language: str
    created_at: datetime
    enrolled_at: datetime | None
    last_seen_at: datetime | None
    revoked_at: datetime | None
    enroll_expires_at: datetime | None
    enrolled: bool

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return 'revoked'
        if self.enroll_expires_at is not None and self.enroll_expires_at > utcnow():
            return 'code issued' if not self.enrolled else 'enrolled, new code issued'
        return 'enrolled' if self.enrolled else 'not enrolled'


@dataclass(frozen=True)
class IssuedCode:
    info: DeviceInfo
    code: str  # shown once, as 'ABCD-EFGH'; only its keyed hash is stored
    expires_at: datetime


def normalize_code(raw: Any) -> str:
    """What was typed or scanned, as it was issued: upper case, without spaces or dashes."""
    text = raw if isinstance(raw, str) else ''
    return ''.join(ch for ch in text.upper() if ch not in ' -\t')


def code_digest(code: str) -> str:
    """A keyed hash of an enrollment code: 40 bits would fall to a plain hash in a second, not to this."""
    secret = settings().session_secret.encode()
    return hmac.new(secret, _CODE_CONTEXT + code.encode('utf-8', 'replace'), hashlib.sha256).hexdigest()


def shown_code(code: str) -> str:
    half = len(code) // 2
    return f'{code[:half]}-{code[half:]}'


def _new_code(row: KioskDevice) -> tuple[str, datetime]:
    code = ''.join(secrets.choice(ENROLL_ALPHABET) for _ in range(ENROLL_CODE_LEN))
    expires = utcnow() + timedelta(seconds=ENROLL_CODE_TTL_S)
    row.enroll_code_hash, row.enroll_expires_at = code_digest(code), expires
    return shown_code(code), expires


def _info(session: Session, row: KioskDevice) -> DeviceInfo:
    assert row.id is not None
    return DeviceInfo(
        id=row.id,
        name=row.name,
        work_center_ids=tuple(sorted(pinned_ids(session, row.id))),
        default_action=row.default_action,
        muted=row.muted,
        sign_out_after=row.sign_out_after,
        language=row.language,
        created_at=row.created_at,
        enrolled_at=row.enrolled_at,
        last_seen_at=row.last_seen_at,
        revoked_at=row.revoked_at,
        enroll_expires_at=row.enroll_expires_at if row.enroll_code_hash else None,
        enrolled=row.credential_hash is not None,
    )


def _settings(fields: dict[str, Any]) -> dict[str, Any]:
    """The admin's choices, checked: each refusal names its field."""
    name = clean_text(fields.get('name'), field='name', label='The device name', max_len=DEVICE_NAME_MAX_LEN)
    action = fields.get('default_action', 'IN')
    if action not in ACTIONS:
        raise InvalidInput('Choose IN or OUT as what Enter presses.', field='default_action')
    policy = fields.get('sign_out_after', 'idle')
    if policy not in SIGN_OUT_POLICIES:
        raise InvalidInput(
            'Choose when operators are signed out: after each entry, or when idle.', field='sign_out_after'
        )
    language = fields.get('language', 'en')
    if language not in LANGUAGES:
        raise InvalidInput('Choose one of the languages offered.', field='language')
    ids = fields.get('work_center_ids') or []
    if not isinstance(ids, list | tuple) or not all(isinstance(i, int) for i in ids):
        raise InvalidInput('Choose the work centers from the list.', field='work_center_ids')
    return {
        'name': name,
        'default_action': action,
        'sign_out_after': policy,
        'language': language,
        'muted': bool(fields.get('muted', False)),
        'work_center_ids': sorted(set(ids)),
    }


def _pin(session: Session, device_id: int, work_center_ids: list[int]) -> None:
    if work_center_ids:
        found = session.exec(select(WorkCenter.id).where(col(WorkCenter.id).in_(work_center_ids))).all()
        if len(set(found)) != len(work_center_ids):
            raise NotFound('One of the chosen work centers does not exist.', field='work_center_ids')
    session.execute(delete(KioskDeviceWorkCenter).where(col(KioskDeviceWorkCenter.device_id) == device_id))
    for wc_id in work_center_ids:
        session.add(KioskDeviceWorkCenter(device_id=device_id, work_center_id=wc_id))


def _device(session: Session, device_id: int) -> KioskDevice:
    row = session.get(KioskDevice, device_id)
    if row is None:
        raise NotFound('That device does not exist.')
    return row


def create_device(actor: Actor, *, db: Database | None = None, **fields: Any) -> IssuedCode:
    """Admin only: a new device with its first enrollment code (shown once).

    Fields: name, work_center_ids, default_action, muted, sign_out_after, language.
    Raises NotAllowed, SignedOut, InvalidInput and NotFound (with the field).
    """
    clean = _settings(fields)
    db = db or database()

    def unit(session: Session) -> IssuedCode:
        admin = require_admin(session, actor)
        wc_ids = clean.pop('work_center_ids')
        row = KioskDevice(**clean, created_by_id=admin.id)
        code, expires = _new_code(row)
        session.add(row)
        session.flush()
        assert row.id is not None
        _pin(session, row.id, wc_ids)
        session.flush()
        after = {**clean, 'work_center_ids': wc_ids}
        audit.record(
            session, actor_id=admin.id, action='device.create', entity='kiosk_device', entity_id=row.id, after=after
        )
        return IssuedCode(_info(session, row), code, expires)

    return write_announced(db, unit, USERS)


def update_device(actor: Actor, *, device_id: int, db: Database | None = None, **fields: Any) -> DeviceInfo:
    """Admin only: rename, re-pin and set the behaviour of a device. Raises NotAllowed, SignedOut, InvalidInput,
    NotFound."""
    clean = _settings(fields)
    db = db or database()

    def unit(session: Session) -> DeviceInfo:
        admin = require_admin(session, actor)
        row = _device(session, device_id)
        before = _info(session, row)
        wc_ids = clean.pop('work_center_ids')
        for key, value in clean.items():
            setattr(row, key, value)
        session.add(row)
        _pin(session, device_id, wc_ids)
        session.flush()
        old = {key: getattr(before, key) for key in clean} | {'work_center_ids': list(before.work_center_ids)}
        audit.record_changes(
            session,
            actor_id=admin.id,
            action='device.update',
            entity='kiosk_device',
            entity_id=device_id,
            before=old,
            after={**clean, 'work_center_ids': wc_ids},
        )
        return _info(session, row)

    # A 'masters' change: open kiosks re-read their work centers, so a re-pinned device shows its new set at once.
    return write_announced(db, unit, MASTERS)


def issue_enroll_code(actor: Actor, *, device_id: int, db: Database | None = None) -> IssuedCode:
    """Admin only: a new one-time code for a device (a new browser, a lost cookie); the old code stops working.

    The browser enrolled so far keeps working until the new code is used. Raises NotAllowed, SignedOut,
    NotFound, InvalidInput (a revoked device: create a new one).
    """
    db = db or database()

    def unit(session: Session) -> IssuedCode:
        admin = require_admin(session, actor)
        row = _device(session, device_id)
        if row.revoked_at is not None:
            raise InvalidInput('This device is revoked. Create a new device instead.')
        code, expires = _new_code(row)
        session.add(row)
        audit.record(session, actor_id=admin.id, action='device.new_code', entity='kiosk_device', entity_id=device_id)
        return IssuedCode(_info(session, row), code, expires)

    return write_announced(db, unit, USERS)


def revoke_device(actor: Actor, *, device_id: int, db: Database | None = None) -> DeviceInfo:
    """Admin only: the device's credential and code stop working and its operators are signed out, at once.

    Raises NotAllowed, SignedOut, NotFound.
    """
    db = db or database()

    def unit(session: Session) -> DeviceInfo:
        admin = require_admin(session, actor)
        row = _device(session, device_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        row.credential_hash = row.enroll_code_hash = row.enroll_expires_at = None
        session.add(row)
        session.execute(
            update(UserSession)
            .where(col(UserSession.device_id) == device_id, col(UserSession.ended_at).is_(None))
            .values(ended_at=utcnow(), end_reason='device revoked')
        )
        audit.record(session, actor_id=admin.id, action='device.revoke', entity='kiosk_device', entity_id=device_id)
        return _info(session, row)

    return write_announced(db, unit, USERS)


def list_devices(actor: Actor, *, search: str = '', db: Database | None = None) -> list[DeviceInfo]:
    """Admin only: every device (revoked ones last), by name; `search` matches the name.

    Raises NotAllowed, SignedOut."""
    db = db or database()
    needle = search_text(search)
    with db.read() as session:
        require_admin(session, actor)
        query = select(KioskDevice)
        if needle:
            query = query.where(col(KioskDevice.name).icontains(needle, autoescape=True))
        rows = session.exec(query.order_by(col(KioskDevice.revoked_at).is_not(None), col(KioskDevice.name))).all()
        return [_info(session, row) for row in rows]
