"""Operators on enrolled devices: badges and PINs (accounts/operator_codes.py, operator_signin.py).

A badge names one user; a PIN has 4-6 digits; wrong PINs slow the name and the device down with a doubling
delay and never lock: the owner's right PIN opens once the delay is over, whoever failed before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from potrack.accounts import throttle
from potrack.accounts.devices import create_device
from potrack.accounts.enrollment import enroll
from potrack.accounts.operator_codes import change_own_pin, check_pin, set_operator_codes
from potrack.accounts.operator_signin import (
    UNKNOWN_BADGE,
    WRONG_PIN,
    OperatorSignInFailed,
    device_delay_s,
    device_operators,
    kiosk_work_center_ids,
    sign_in_by_badge,
    sign_in_by_pin,
)
from potrack.accounts.sessions import validate_session
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import SigninAccount
from potrack.db.types import utcnow
from potrack.errors import Conflict, InvalidInput, NotAllowed, SignedOut
from potrack.ledger.writer import record_movement
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def slow(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Delays long enough to observe: 100 ms doubling up to 400 ms."""
    monkeypatch.setenv('POTRACK_SIGNIN_SLOWDOWN_MS', '100')
    monkeypatch.setenv('POTRACK_SIGNIN_MAX_DELAY_MS', '400')
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


def device(admin: Actor, wc, code: str = 'WC003', name: str = 'Line 2 – Welding') -> str:
    issued = create_device(admin, name=name, work_center_ids=[wc(code)] if code else [])
    return enroll(issued.code, source='10.0.0.9').credential


@pytest.mark.parametrize('pin', ['123', '1234567', '12a4', '', '  ', '1111', '1234', '98765'])
def test_pin_format(pin: str) -> None:
    with pytest.raises(InvalidInput):
        check_pin(pin)


@pytest.mark.parametrize('pin', ['2580', '40917', '731946'])
def test_good_pins(pin: str) -> None:
    assert check_pin(pin) == pin


def test_badge_must_be_unique(db: Database, admin: Actor, make_user) -> None:
    anita, bob = make_user('anita'), make_user('bob')
    set_operator_codes(admin, user_id=anita.user_id, badge='EMP-00017')
    with pytest.raises(Conflict, match='Another user already has this badge') as refused:
        set_operator_codes(admin, user_id=bob.user_id, badge=' emp-00017 ')  # the same card, scanned with Caps Lock
    assert refused.value.field == 'badge'
    set_operator_codes(admin, user_id=anita.user_id, badge='EMP-00017')  # again on its owner: fine
    set_operator_codes(admin, user_id=anita.user_id, remove_badge=True)
    info = set_operator_codes(admin, user_id=bob.user_id, badge='EMP-00017')
    assert info.has_badge and not info.has_pin


def test_badge_signs_its_owner_in_on_the_device(db: Database, admin: Actor, wc, make_user) -> None:
    credential = device(admin, wc)
    anita = make_user('anita')
    set_operator_codes(admin, user_id=anita.user_id, badge='EMP-00017')
    result = sign_in_by_badge(credential, 'EMP-00017\r')
    assert result.user.id == anita.user_id and result.device.name == 'Line 2 – Welding'
    seat = validate_session(result.token)
    assert seat.device is not None and seat.device.name == 'Line 2 – Welding'
    with pytest.raises(OperatorSignInFailed, match=UNKNOWN_BADGE):
        sign_in_by_badge(credential, 'EMP-99999')
    with pytest.raises(SignedOut):
        sign_in_by_badge('not-a-device', 'EMP-00017')


def test_pin_sign_in_and_the_device_list(db: Database, admin: Actor, wc, make_user) -> None:
    credential = device(admin, wc)  # WC003 Welding
    anita = make_user('anita', 'Production')
    nopin = make_user('nopin', 'Production')
    quality = make_user('qadir', 'Quality Control')  # sees WC005 only
    for who in (anita, quality):
        set_operator_codes(admin, user_id=who.user_id, pin='2580')
    listed = dict(device_operators(credential))
    assert anita.user_id in listed and nopin.user_id not in listed and quality.user_id not in listed
    assert dict(device_operators(credential, search='ANI')) == {anita.user_id: 'Anita'}
    result = sign_in_by_pin(credential, anita.user_id, '2580')
    assert result.user.username == 'anita'
    assert kiosk_work_center_ids(validate_session(result.token).actor) == {wc('WC003')}
    with pytest.raises(OperatorSignInFailed):  # their department does not see the device's work centers
        sign_in_by_pin(credential, quality.user_id, '2580')


def test_a_password_session_has_no_device_scope(db: Database, admin: Actor) -> None:
    assert kiosk_work_center_ids(admin) is None


def delay_passes(db: Database, user_id: int) -> None:
    """The user's sign-in delay runs out: its next turn moved into the past, as waiting it out would (no sleep)."""
    with db.engine.begin() as conn:
        conn.execute(
            update(SigninAccount)
            .where(col(SigninAccount.account_key) == throttle.user_key(user_id))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_wrong_pins_slow_the_user_and_the_device_but_never_lock(
    db: Database, admin: Actor, wc, make_user, slow: None
) -> None:
    credential = device(admin, wc)
    other = device(admin, wc, name='Line 2 – second')
    anita = make_user('anita')
    set_operator_codes(admin, user_id=anita.user_id, pin='2580')
    # A colleague keys wrong PINs under Anita's name, each after the delay so that each one counts.
    for n in range(throttle.ACCOUNT_FREE_FAILURES + 2):
        delay_passes(db, anita.user_id)
        with pytest.raises(OperatorSignInFailed, match=WRONG_PIN):
            sign_in_by_pin(credential, anita.user_id, f'{4000 + n}', waited_s=60)
    # The device is slowed down too: its next attempt is held back, growing with its failures.
    assert device_delay_s(credential) > 0
    assert device_delay_s(other) == 0
    # Too early, even the right PIN is refused (a progressive delay) ...
    with pytest.raises(OperatorSignInFailed, match=WRONG_PIN):
        sign_in_by_pin(other, anita.user_id, '2580')
    # ... and once the (capped) delay has passed it opens: no lock a colleague could trigger.
    delay_passes(db, anita.user_id)
    assert sign_in_by_pin(other, anita.user_id, '2580').user.id == anita.user_id
    # A badge is not slowed by a colleague's wrong PINs.
    set_operator_codes(admin, user_id=anita.user_id, badge='EMP-1')
    assert sign_in_by_badge(other, 'EMP-1').user.id == anita.user_id


def test_unknown_badges_slow_the_device_down(db: Database, admin: Actor, wc, slow: None) -> None:
    credential = device(admin, wc)
    for n in range(throttle.SOURCE_FREE_FAILURES + 1):
        with pytest.raises(OperatorSignInFailed):
            sign_in_by_badge(credential, f'GUESS-{n}', waited_s=60)
    assert device_delay_s(credential) >= 0.1


def test_operator_changes_own_pin(db: Database, make_user) -> None:
    anita = make_user('anita')
    with pytest.raises(InvalidInput) as refused:
        change_own_pin(anita, current='wrong', new='2580', repeat='2580')
    assert refused.value.field == 'current'
    info = change_own_pin(anita, current=TEST_PASSWORD, new='2580', repeat='2580')  # no PIN yet: the password
    assert info.has_pin
    with pytest.raises(InvalidInput) as refused:
        change_own_pin(anita, current='2580', new='1357', repeat='1358')
    assert refused.value.field == 'repeat'
    change_own_pin(anita, current='2580', new='1357', repeat='1357')  # now the current PIN


def test_non_admins_cannot_set_badges_or_pins(db: Database, make_user) -> None:
    anita, bob = make_user('anita'), make_user('bob')
    with pytest.raises(NotAllowed):
        set_operator_codes(anita, user_id=bob.user_id, badge='EMP-2')
    with pytest.raises(NotAllowed):
        set_operator_codes(anita, user_id=anita.user_id, pin='2580')


def test_a_device_session_books_only_at_the_devices_work_centers(db: Database, admin: Actor, wc, make_user) -> None:
    """The ledger holds to the device's pins whatever a page sends: Production sees WC001-WC004, the device only
    WC003; a password session of the same user is not bound by it."""
    anita = make_user('anita')
    set_operator_codes(admin, user_id=anita.user_id, badge='EMP-31')
    on_device = validate_session(sign_in_by_badge(device(admin, wc), 'EMP-31').token).actor
    saved = record_movement(
        on_device, work_center_id=wc('WC003'), order_number='PO-PIN-1', quantity=5, movement_type='IN'
    )
    assert saved.balance == 5
    with pytest.raises(NotAllowed) as refused:
        record_movement(on_device, work_center_id=wc('WC001'), order_number='PO-PIN-1', quantity=5, movement_type='IN')
    assert refused.value.message == "WC001 Assembly is not one of this kiosk's work centers; nothing was recorded."
    assert record_movement(anita, work_center_id=wc('WC001'), order_number='PO-PIN-1', quantity=5, movement_type='IN')
    unpinned = validate_session(sign_in_by_badge(device(admin, wc, code=''), 'EMP-31').token).actor
    assert record_movement(
        unpinned, work_center_id=wc('WC002'), order_number='PO-PIN-1', quantity=1, movement_type='IN'
    )
