"""A kiosk device as the pages on it need it: its name and how it behaves; read by the session check.

Its own small module so that sessions (which names a session's device) and devices (which manages them)
both read it without importing each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlmodel import Session, col, select

from potrack.db.models import KioskDevice, KioskDeviceWorkCenter

DEVICE_COOKIE = 'potrack_device'


@dataclass(frozen=True)
class DeviceView:
    """An enrolled, not revoked device: who it is and the behaviour an admin chose for it."""

    id: int
    name: str
    language: str
    default_action: str  # 'IN' or 'OUT': what Enter in the kiosk's quantity presses
    muted: bool
    sign_out_after: str  # 'entry' or 'idle'
    work_center_ids: frozenset[int]  # pinned; empty: every work center the operator's department sees


def credential_digest(credential: str) -> str:
    """What is stored for a device credential: its SHA-256 (the credential is 256 random bits)."""
    return hashlib.sha256(credential.encode('utf-8', 'replace')).hexdigest()


def pinned_ids(session: Session, device_id: int) -> frozenset[int]:
    query = select(KioskDeviceWorkCenter.work_center_id).where(col(KioskDeviceWorkCenter.device_id) == device_id)
    return frozenset(session.exec(query).all())


def view_of(session: Session, row: KioskDevice) -> DeviceView:
    assert row.id is not None
    return DeviceView(
        row.id, row.name, row.language, row.default_action, row.muted, row.sign_out_after, pinned_ids(session, row.id)
    )


def live_device(session: Session, device_id: int | None) -> KioskDevice | None:
    """The device by id while it is enrolled and not revoked; None otherwise."""
    row = session.get(KioskDevice, device_id) if device_id is not None else None
    if row is None or row.revoked_at is not None or row.credential_hash is None:
        return None
    return row


def device_by_credential(session: Session, credential: str | None) -> KioskDevice | None:
    """The live device whose credential this is; None for none, an unknown, garbled or revoked one."""
    if not credential or len(credential) > 200:
        return None
    query = select(KioskDevice).where(col(KioskDevice.credential_hash) == credential_digest(credential))
    row = session.exec(query).first()
    return row if row is not None and row.revoked_at is None else None
