"""Kiosk devices as admins manage them and as the device sees them (accounts/devices.py, enrollment.py).

The enrollment code works once and only while it is fresh; revoking a device makes its credential worthless
and ends its operators' sessions; only admins manage devices.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from potrack.accounts.device_view import credential_digest
from potrack.accounts.devices import (
    ENROLL_ALPHABET,
    create_device,
    issue_enroll_code,
    list_devices,
    revoke_device,
    update_device,
)
from potrack.accounts.enrollment import WRONG_CODE, enroll, recognise_device
from potrack.accounts.sessions import validate_session
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import KioskDevice
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotAllowed, SignedOut
from potrack.masters.audit_trail import AuditFilter, list_events


def make_device(admin: Actor, wc: Callable[[str], int], name: str = 'Line 2 – Welding', **fields: object):
    return create_device(admin, name=name, work_center_ids=[wc('WC003')], **fields)


def test_code_is_short_unambiguous_and_only_its_hash_is_stored(db: Database, admin: Actor, wc) -> None:
    issued = make_device(admin, wc)
    plain = issued.code.replace('-', '')
    assert len(plain) == 8 and set(plain) <= set(ENROLL_ALPHABET)
    assert not set(plain) & set('01OIL')
    with db.read() as s:
        row = s.get(KioskDevice, issued.info.id)
        assert row is not None and row.enroll_code_hash and plain not in row.enroll_code_hash
        assert row.credential_hash is None
    assert issued.info.work_center_ids == (wc('WC003'),)
    assert issued.info.status == 'code issued'


def test_enrollment_code_works_once(db: Database, admin: Actor, wc) -> None:
    issued = make_device(admin, wc)
    enrolled = enroll(issued.code.lower().replace('-', ' '), source='10.0.0.9')  # typed loosely
    assert enrolled.device.name == 'Line 2 – Welding'
    assert enrolled.device.work_center_ids == frozenset({wc('WC003')})
    with db.read() as s:
        row = s.get(KioskDevice, issued.info.id)
        assert row is not None and row.credential_hash == credential_digest(enrolled.credential)
    with pytest.raises(InvalidInput, match=WRONG_CODE):
        enroll(issued.code, source='10.0.0.9')
    assert recognise_device(enrolled.credential) is not None


def test_enrollment_code_expires(db: Database, admin: Actor, wc) -> None:
    issued = make_device(admin, wc)
    with db.engine.begin() as conn:
        conn.execute(update(KioskDevice).values(enroll_expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(InvalidInput, match=WRONG_CODE):
        enroll(issued.code, source='10.0.0.9')


def test_a_new_code_replaces_the_old_and_moves_the_device(db: Database, admin: Actor, wc) -> None:
    issued = make_device(admin, wc)
    first = enroll(issued.code, source='10.0.0.9')
    again = issue_enroll_code(admin, device_id=issued.info.id)
    with pytest.raises(InvalidInput):
        enroll(issued.code, source='10.0.0.9')
    assert recognise_device(first.credential) is not None  # the old browser works until the new one enrolls
    second = enroll(again.code, source='10.0.0.10')
    assert recognise_device(second.credential) is not None
    assert recognise_device(first.credential) is None


def test_revoked_device_credential_no_longer_validates_and_its_sessions_end(
    db: Database, admin: Actor, wc, make_user
) -> None:
    from potrack.accounts.operator_codes import set_operator_codes
    from potrack.accounts.operator_signin import sign_in_by_badge

    issued = make_device(admin, wc)
    enrolled = enroll(issued.code, source='10.0.0.9')
    anita = make_user('anita')
    set_operator_codes(admin, user_id=anita.user_id, badge='B-0001')
    session = sign_in_by_badge(enrolled.credential, 'B-0001')
    assert validate_session(session.token).device is not None
    revoke_device(admin, device_id=issued.info.id)
    assert recognise_device(enrolled.credential) is None
    with pytest.raises(SignedOut):
        validate_session(session.token)
    with pytest.raises(SignedOut):
        sign_in_by_badge(enrolled.credential, 'B-0001')
    with pytest.raises(InvalidInput):
        issue_enroll_code(admin, device_id=issued.info.id)
    assert [d.status for d in list_devices(admin)] == ['revoked']


def test_garbled_or_unknown_credentials_are_no_device(db: Database) -> None:
    for credential in (None, '', 'garbage', 'x' * 5000, '\x00\x01'):
        assert recognise_device(credential) is None


def test_admin_changes_name_pins_and_behaviour_audited(db: Database, admin: Actor, wc) -> None:
    issued = make_device(admin, wc)
    info = update_device(
        admin,
        device_id=issued.info.id,
        name='Line 3 – Paint',
        work_center_ids=[wc('WC004'), wc('WC003')],
        default_action='OUT',
        muted=True,
        sign_out_after='entry',
        language='hi',
    )
    assert (info.name, info.default_action, info.muted, info.sign_out_after, info.language) == (
        'Line 3 – Paint',
        'OUT',
        True,
        'entry',
        'hi',
    )
    assert set(info.work_center_ids) == {wc('WC003'), wc('WC004')}
    assert [d.name for d in list_devices(admin, search='paint')] == ['Line 3 – Paint']
    assert list_devices(admin, search='weld') == []
    events = list_events(admin, AuditFilter(entity='kiosk_device')).rows
    assert {e.action for e in events} >= {'device.create', 'device.update'}


@pytest.mark.parametrize(
    ('field', 'fields'),
    [
        ('name', {'name': '   '}),
        ('default_action', {'default_action': 'SIDEWAYS'}),
        ('sign_out_after', {'sign_out_after': 'never'}),
        ('language', {'language': 'xx'}),
    ],
)
def test_bad_settings_are_refused_by_field(db: Database, admin: Actor, wc, field: str, fields: dict) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_device(admin, **{'name': 'Kiosk', 'work_center_ids': [wc('WC001')], **fields})
    assert refused.value.field == field


def test_non_admins_are_refused(db: Database, admin: Actor, wc, make_user) -> None:
    issued = make_device(admin, wc)
    operator = make_user('anita')
    with pytest.raises(NotAllowed):
        create_device(operator, name='Mine', work_center_ids=[])
    with pytest.raises(NotAllowed):
        update_device(operator, device_id=issued.info.id, name='Mine', work_center_ids=[])
    with pytest.raises(NotAllowed):
        issue_enroll_code(operator, device_id=issued.info.id)
    with pytest.raises(NotAllowed):
        revoke_device(operator, device_id=issued.info.id)
    with pytest.raises(NotAllowed):
        list_devices(operator)
