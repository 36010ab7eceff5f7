"""Kiosk devices in the app, as an admin and an operator at the device use them (NiceGUI `user` fixture).

Admin → Devices creates a device and shows its code; /enroll takes the code; the device opens to its operator
sign-in; a PIN (or a badge) lands on the kiosk with only the pinned work center and the operator's name;
Switch operator returns to the device's sign-in; a revoked device returns to enrollment.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nicegui.testing import User

from potrack.accounts.device_view import DEVICE_COOKIE
from potrack.accounts.devices import create_device, revoke_device
from potrack.accounts.enrollment import recognise_device
from potrack.accounts.operator_codes import set_operator_codes
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import User as UserRow
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ledger.writer import record_movement
from tests.admin_ui_helpers import (
    choose,
    click,
    element,
    field_error,
    fill,
    open_admin,
    present,
    row_where,
    text,
)
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, handled, navigating_as, see, sign_in


async def enroll_here(user: User, code: str) -> None:
    """On the kiosk browser: open /enroll, type the code, press Enroll; the device's sign-in opens."""
    with navigating_as(user):
        await user.open('/enroll')
        user.find(marker='enroll-code').type(code)
        async with handled():
            user.find(marker='enroll-button').click()
        await see(user, marker='device-title')


async def pin_sign_in(user: User, actor: Actor, pin: str, *, pick: bool = True) -> None:
    """Pick the name (unless still picked after a wrong PIN), key the PIN on the pad, press OK."""
    with navigating_as(user):
        if pick:
            async with handled():
                user.find(marker=f'pick-{actor.user_id}').click()
        for digit in pin:
            user.find(marker=f'pin-key-{digit}').click()
        async with handled():
            user.find(marker='pin-key-OK').click()
        await eventually(lambda: present(user, 'operator-name') or present(user, 'device-signin-error'))


def device_with_code(admin: Actor, wc: Callable[[str], int], **fields: object) -> str:
    return create_device(admin, name='Line 2 – Welding', work_center_ids=[wc('WC003')], **fields).code


async def test_admin_creates_a_device_and_sees_its_code(user: User, sqlite_db: Database, make_user, wc) -> None:
    await open_admin(user, make_user, 'devices')
    await click(user, 'device-new')
    await click(user, 'device-dialog-save')
    assert field_error(user, 'device-name') == 'The device name is required.'
    fill(user, device_name='Line 2 – Welding', device_work_centers=[wc('WC003')], device_action='OUT')
    await click(user, 'device-dialog-save')
    code = text(user, 'enroll-code-shown')
    assert re.fullmatch(r'[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}', code), code
    await click(user, 'enroll-code-done')
    row = row_where(user, 'devices-table', name='Line 2 – Welding')
    assert (row['work_centers'], row['default_action'], row['status']) == ('WC003', 'OUT', 'code issued')
    assert code.replace('-', '') not in str(row)

    # The code enrolls a browser (here the admin's own simulated one, which then shows the device sign-in).
    await enroll_here(user, code)
    assert text(user, 'device-title') == 'Line 2 – Welding'


async def test_enroll_then_pin_sign_in_lands_on_the_pinned_kiosk_and_switch_returns(
    user: User, sqlite_db: Database, make_user, admin: Actor, wc
) -> None:
    anita = make_user('anita', 'Production')  # Production sees WC001-WC004; the device shows WC003 only
    set_operator_codes(admin, user_id=anita.user_id, pin='2580')
    await user.open('/enroll')
    user.find(marker='enroll-code').type('WRONG-CODE')
    async with handled():
        user.find(marker='enroll-button').click()
    await see(user, marker='enroll-error')
    await enroll_here(user, device_with_code(admin, wc).lower())  # typed in lower case: still the code
    assert user.http_client.cookies.get(DEVICE_COOKIE)

    await pin_sign_in(user, anita, '1111')
    assert 'Wrong PIN' in text(user, 'device-signin-error')
    await pin_sign_in(user, anita, '2580', pick=False)  # the name stays picked for another try
    assert text(user, 'operator-name') == 'Anita'
    assert text(user, 'device-name') == 'Line 2 – Welding'
    await see(user, marker='wc-WC003')
    for hidden in ('WC001', 'WC002', 'WC004'):
        assert not present(user, f'wc-{hidden}')

    with navigating_as(user):
        async with handled():
            user.find(marker='switch-operator').click()
        await see(user, marker='device-title')
    with navigating_as(user):
        await user.open('/kiosk')  # that session is over: the kiosk sends the device back to its sign-in
        await see(user, marker='device-title')


async def test_badge_on_the_device_sign_in(user: User, sqlite_db: Database, make_user, admin: Actor, wc) -> None:
    bob = make_user('bob', 'Maintenance')
    set_operator_codes(admin, user_id=bob.user_id, badge='EMP-00042')
    await enroll_here(user, device_with_code(admin, wc))
    # Nobody has a PIN: the empty list says so and points to the badge, not "no name found".
    await eventually(lambda: present(user, 'no-names'))
    assert text(user, 'no-names') == 'Nobody on this kiosk has a PIN yet: scan your badge.'
    with navigating_as(user):
        user.find(marker='badge').type('EMP-00042')
        async with handled():
            user.find(marker='badge').trigger('keydown.enter')
        await see(user, marker='operator-name')
    assert text(user, 'operator-name') == 'Bob'


async def test_no_common_work_center_says_so(user: User, sqlite_db: Database, make_user, admin: Actor, wc) -> None:
    qa = make_user('qadir', 'Quality Control')  # sees WC005 only
    set_operator_codes(admin, user_id=qa.user_id, badge='EMP-QA-1')
    await enroll_here(user, device_with_code(admin, wc))
    with navigating_as(user):
        user.find(marker='badge').type('EMP-QA-1')
        async with handled():
            user.find(marker='badge').trigger('keydown.enter')
        await see(user, marker='no-work-centers')
    assert "None of this device's work centers" in text(user, 'no-work-centers')
    assert present(user, 'switch-operator')


async def test_revoked_or_unknown_device_goes_to_enrollment(
    user: User, sqlite_db: Database, make_user, admin: Actor, wc
) -> None:
    await user.open('/device')  # never enrolled
    await see(user, marker='enroll-code')
    anita = make_user('anita')
    set_operator_codes(admin, user_id=anita.user_id, pin='2580')
    await enroll_here(user, device_with_code(admin, wc))
    await pin_sign_in(user, anita, '2580')
    credential = user.http_client.cookies.get(DEVICE_COOKIE)
    device = recognise_device(credential)
    assert device is not None
    with navigating_as(user):
        revoke_device(admin, device_id=device.id)  # the open kiosk hears of it and leaves for enrollment
        await see(user, marker='enroll-reason')
    assert not user.http_client.cookies.get(DEVICE_COOKIE)  # the worthless credential is forgotten
    user.http_client.cookies.set(DEVICE_COOKIE, 'garbled')
    with navigating_as(user):
        await user.open('/kiosk')  # its session is over, and the device credential is garbage: enrollment
        await see(user, marker='enroll-reason')


async def test_admin_sets_badge_and_pin_and_a_taken_badge_is_refused(
    user: User, sqlite_db: Database, make_user, admin: Actor
) -> None:
    anita, bob = make_user('anita'), make_user('bob')
    set_operator_codes(admin, user_id=bob.user_id, badge='EMP-7')
    await open_admin(user, make_user)
    await choose(user, 'users-table', username='anita')
    await click(user, 'user-codes')
    fill(user, codes_badge='emp-7', codes_pin='12')
    await click(user, 'codes-dialog-save')
    assert field_error(user, 'codes-pin') == 'A PIN has 4 to 6 digits.'
    fill(user, codes_pin='2580')
    await click(user, 'codes-dialog-save')
    assert field_error(user, 'codes-badge') == 'Another user already has this badge. Remove it there first.'
    fill(user, codes_badge='EMP-8')
    await click(user, 'codes-dialog-save')
    await see(user, 'Badge and PIN of anita saved.')
    assert row_where(user, 'users-table', username='anita')['status'].endswith('badge and PIN')
    with sqlite_db.read() as s:
        row = s.get(UserRow, anita.user_id)
        assert row is not None and row.badge_hash and row.pin_hash and 'EMP-8' not in row.badge_hash


async def test_operator_chooses_own_pin_on_account(user: User, sqlite_db: Database, make_user) -> None:
    make_user('anita')
    await sign_in(user, 'anita', TEST_PASSWORD, next_path='/account')
    await see(user, marker='pin-card')
    fill(user, pin_current='not-my-password', pin_new='2580', pin_repeat='2580')
    await click(user, 'save-pin')
    assert field_error(user, 'pin-current') == 'The password is not right.'
    fill(user, pin_current=TEST_PASSWORD)
    await click(user, 'save-pin')
    await see(user, 'PIN saved.')
    assert element(user, 'pin-current').value == ''


async def test_device_ways_enter_presses_out_and_signs_out_after_the_entry(
    user: User, sqlite_db: Database, make_user, admin: Actor, wc
) -> None:
    anita = make_user('anita', 'Production')
    set_operator_codes(admin, user_id=anita.user_id, pin='2580')
    record_movement(anita, work_center_id=wc('WC003'), order_number='PO-7', quantity=10, movement_type='IN')
    await enroll_here(user, device_with_code(admin, wc, default_action='OUT', sign_out_after='entry'))
    await pin_sign_in(user, anita, '2580')
    badge = user.find(marker='enter-badge').elements.pop()
    assert badge.parent_slot is not None and badge.parent_slot.parent.props.get('aria-keyshortcuts') == 'Enter'
    assert user.find(marker='out').elements.pop() is badge.parent_slot.parent  # OUT is what Enter presses here
    with navigating_as(user):
        user.find(marker='order').type('PO-7').trigger('keydown.enter')
        user.find(marker='quantity').type('4')
        async with handled():
            user.find(marker='quantity').trigger('keydown.enter')
        assert text(user, 'status').startswith('Saved: 4 of PO-7 sent on at WC003.')
        await see(user, marker='device-signin-reason')  # a moment later: the next operator's sign-in
    assert text(user, 'device-signin-reason') == 'Entry saved. Next operator, please sign in.'
    assert [m.quantity for m in search_movements(admin, MovementFilter(order='PO-7', movement_type='OUT')).rows] == [4]


async def test_signing_out_on_a_device_returns_to_its_sign_in(
    user: User, sqlite_db: Database, make_user, admin: Actor, wc
) -> None:
    anita = make_user('anita')
    set_operator_codes(admin, user_id=anita.user_id, pin='2580')
    await enroll_here(user, device_with_code(admin, wc))
    await pin_sign_in(user, anita, '2580')
    # What idle.js does at the idle limit: a POST from a page of this site.
    answer = await user.http_client.post('/auth/signout?reason=idle', headers={'Origin': 'http://test'})
    assert answer.status_code == 303 and answer.headers['location'] == '/device?reason=idle'
    with navigating_as(user):
        await user.open('/')  # no session any more: the device's sign-in, not the password sign-in
        await see(user, marker='device-title')


def scan_badge_on_the_page(user: User, badge: str) -> None:
    """What the kiosk's badge listener (operator_bar._BADGE_LISTENER_JS) sends for a burst typed outside the
    fields: the page-wide event with the badge typed."""
    from nicegui import events

    from potrack.pages.kiosk.operator_bar import BADGE_EVENT

    assert user.client is not None
    layout = user.client.layout
    with user.client:
        for listener in list(layout._event_listeners.values()):
            if listener.type == BADGE_EVENT:
                args = events.GenericEventArguments(sender=layout, client=user.client, args=badge)
                events.handle_event(listener.handler, args)


async def test_a_badge_scanned_on_the_kiosk_switches_operator(
    user: User, sqlite_db: Database, make_user, admin: Actor, wc
) -> None:
    anita, bob = make_user('anita'), make_user('bob', 'Maintenance')
    set_operator_codes(admin, user_id=anita.user_id, badge='EMP-1')
    set_operator_codes(admin, user_id=bob.user_id, badge='EMP-2')
    await enroll_here(user, device_with_code(admin, wc))
    with navigating_as(user):
        user.find(marker='badge').type('EMP-1')
        async with handled():
            user.find(marker='badge').trigger('keydown.enter')
        await see(user, marker='operator-name')
        assert text(user, 'operator-name') == 'Anita'
        async with handled():
            scan_badge_on_the_page(user, 'EMP-404')
        assert 'not known' in text(user, 'badge-error')
        async with handled():
            scan_badge_on_the_page(user, 'EMP-2')
        await eventually(lambda: text(user, 'operator-name') == 'Bob')
