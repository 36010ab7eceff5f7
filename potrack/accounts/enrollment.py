"""The device side of kiosk devices: enrolling a browser with its one-time code, and recognising it after.

Enrolling trades the code for a credential: 256 random bits the browser keeps in an HttpOnly cookie
(pages/auth_routes.py sets it), of which only the SHA-256 is stored. The code works once and until it
expires. Wrong codes count against the address they came from, like failed sign-ins (throttle.py), so
that the 8-character code cannot be guessed at the speed of the network.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlmodel import Session, col, select

from potrack.accounts import throttle
from potrack.accounts.device_view import DeviceView, credential_digest, device_by_credential, view_of
from potrack.accounts.devices import code_digest, normalize_code
from potrack.db.engine import Database, database
from potrack.db.models import KioskDevice
from potrack.db.types import utcnow
from potrack.errors import InvalidInput
from potrack.i18n import N_

WRONG_CODE = N_('That code is wrong, used or expired. Ask an administrator for a new one.')
ENROLL_THROTTLE_KEY = 'enroll'  # failures from an address are counted against this key
SEEN_EVERY_S = 60  # writing last_seen_at on every page load would turn a read into a write


@dataclass(frozen=True)
class Enrolled:
    device: DeviceView
    credential: str  # for the browser's cookie only; never stored, never logged


def enroll_delay_s(source: str, *, db: Database | None = None) -> float:
    """How long the next enrollment attempt from `source` is held back (pages wait it out with asyncio)."""
    return throttle.source_delay_s(db or database(), source)


def enroll(code: object, *, source: str, waited_s: float = 0.0, db: Database | None = None) -> Enrolled:
    """Trade a one-time enrollment code for the device's credential. Raises InvalidInput (WRONG_CODE)."""
    db = db or database()
    hold_s = enroll_delay_s(source, db=db) - waited_s
    if hold_s > 0:
        time.sleep(hold_s)
    typed = normalize_code(code)
    if not typed or len(typed) > 32:
        raise InvalidInput(N_('Type or scan the enrollment code.'), field='code')
    credential = secrets.token_urlsafe(32)

    def unit(session: Session) -> DeviceView | None:
        query = select(KioskDevice).where(col(KioskDevice.enroll_code_hash) == code_digest(typed)).with_for_update()
        row = session.exec(query).first()
        now = utcnow()
        if row is None or row.revoked_at is not None or row.enroll_expires_at is None or row.enroll_expires_at <= now:
            throttle.failed_from(session, source, ENROLL_THROTTLE_KEY, now)
            return None
        # One use: the code is gone in the same transaction that hands out the credential.
        row.credential_hash = credential_digest(credential)
        row.enroll_code_hash = row.enroll_expires_at = None
        row.enrolled_at = row.last_seen_at = now
        session.add(row)
        return view_of(session, row)

    device = db.write(unit)
    if device is None:
        throttle.prune_now_and_then(db)
        raise InvalidInput(WRONG_CODE, field='code')
    return Enrolled(device, credential)


def recognise_device(credential: str | None, *, db: Database | None = None) -> DeviceView | None:
    """The enrolled device of a browser's credential; None for none, an unknown or garbled one, or a revoked device."""
    db = db or database()

    def unit(session: Session) -> DeviceView | None:
        row = device_by_credential(session, credential)
        if row is None:
            return None
        now = utcnow()
        if row.last_seen_at is None or (now - row.last_seen_at).total_seconds() >= SEEN_EVERY_S:
            row.last_seen_at = now
            session.add(row)
        return view_of(session, row)

    with db.read() as session:
        row = device_by_credential(session, credential)
        if row is None:
            return None
        if row.last_seen_at is not None and (utcnow() - row.last_seen_at).total_seconds() < SEEN_EVERY_S:
            return view_of(session, row)
    return db.write(unit)
