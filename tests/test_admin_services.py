"""The admin console's rules on user accounts and the audit trail, as an administrator meets them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from potrack.accounts.sessions import create_session, validate_session
from potrack.accounts.signin import SignInFailed, sign_in
from potrack.accounts.throttle import ACCOUNT_FREE_FAILURES
from potrack.accounts.user_admin import (
    clear_signin_delay,
    create_account,
    reset_password,
    set_user_active,
    update_user,
)
from potrack.accounts.user_list import list_users, user_choices
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.db.models import Department, User, UserSession
from potrack.errors import Conflict, InvalidFields, InvalidInput, NotAllowed, NotFound, SignedOut
from potrack.live import feed
from potrack.masters.audit_trail import AuditFilter, audit_actions, describe_changes, list_events
from potrack.masters.catalog import list_work_centers
from potrack.timeutil import local_today
from tests.conftest import TEST_PASSWORD


def fail_signins(username: str, times: int) -> None:
    """Wrong passwords for `username`, each from an address of its own (no address is slowed down)."""
    for i in range(times):
        with pytest.raises(SignInFailed):
            sign_in(username, 'not-the-password', source=f'10.9.0.{i}')


def dept_id(db: Database, name: str) -> int:
    with db.read() as s:
        return s.exec(select(Department).where(Department.name == name)).one().id or 0


def signed_in(db: Database, actor: Actor) -> tuple[Actor, str]:
    """The actor as a browser session would carry it, and that browser's token."""

    def unit(s):  # type: ignore[no-untyped-def]
        return create_session(s, s.get(User, actor.user_id), 'test')

    token = db.write(unit)
    return validate_session(token).actor, token


@contextmanager
def heard(db: Database) -> Iterator[list[feed.Change]]:
    """The live changes announced while the block runs (PostgreSQL: NOTIFYs actually committed)."""
    got: list[feed.Change] = []
    if not db.is_postgres:
        unsubscribe = feed.subscribe(got.append)
        yield got
        unsubscribe()
        return
    import select as io_select

    raw = db.engine.raw_connection()
    conn = raw.driver_connection
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'LISTEN {feed.CHANNEL}')
    yield got
    io_select.select([conn], [], [], 2)
    conn.poll()
    got.extend(feed.Change.from_json(n.payload) for n in conn.notifies)
    conn.notifies.clear()  # the pool hands this connection out again: leave no old notices on it
    with conn.cursor() as cur:
        cur.execute('UNLISTEN *')
    raw.close()


def events(admin: Actor, **filters) -> list:  # type: ignore[no-untyped-def]
    return list_events(admin, AuditFilter(**filters)).rows


def test_admin_creates_a_user_with_a_generated_password_shown_once(db: Database, admin: Actor) -> None:
    with heard(db) as changes:
        info, password = create_account(
            admin,
            username=' Anita ',
            full_name='Anita Rao',
            email='Anita@Example.COM',
            department_id=dept_id(db, 'Production'),
        )
    assert (info.username, info.full_name, info.email, info.role) == (
        'anita',
        'Anita Rao',
        'Anita@example.com',
        'operator',
    )
    assert info.must_change_password and len(password) == 14
    assert sign_in('anita', password, source='t').user.must_change_password
    assert [c.kind for c in changes] == ['users']
    [event] = events(admin, action='user.create', actor_id=admin.user_id)
    assert (event.actor_username, event.record, event.after['username']) == ('admin', 'anita', 'anita')


def test_typed_initial_password_follows_the_password_rules(db: Database, admin: Actor) -> None:
    with pytest.raises(InvalidInput, match='too common') as err:
        create_account(
            admin, username='anita', full_name='Anita', department_id=None, is_admin=True, password='password1'
        )
    assert err.value.field == 'password'
    _, password = create_account(admin, username='anita', full_name='Anita', is_admin=True, password='Line-Two-2026')
    assert password == 'Line-Two-2026'


@pytest.mark.parametrize(
    ('fields', 'field', 'message'),
    [
        ({'username': 'ADMIN'}, 'username', 'The user name "admin" is already taken.'),
        ({'username': 'a b'}, 'username', 'A user name has 3 to 40 characters'),
        ({'username': ''}, 'username', 'A user name has 3 to 40 characters'),
        ({'full_name': '  '}, 'full_name', 'The full name is required.'),
        ({'full_name': 'x' * 101}, 'full_name', 'The full name has at most 100 characters; this has 101.'),
        ({'email': 'anita@'}, 'email', 'That e-mail address is not valid'),
        ({'department_id': None}, 'department', 'Choose the department whose work centers this operator uses.'),
        ({'department_id': 999}, 'department', 'That department does not exist.'),
    ],
)
def test_create_refuses_bad_fields_and_saves_nothing(db: Database, admin: Actor, fields, field, message) -> None:
    base = {'username': 'anita', 'full_name': 'Anita Rao', 'email': '', 'department_id': dept_id(db, 'Production')}
    with pytest.raises((InvalidInput, Conflict, NotFound), match=message) as err:
        create_account(admin, **{**base, **fields})
    assert err.value.field == field
    assert list_users(admin).total == 1
    assert events(admin, action='user.create', actor_id=admin.user_id) == []


def test_deactivated_department_cannot_get_new_users(db: Database, admin: Actor) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(Department).where(Department.name == 'Maintenance').values(is_active=False))
    with pytest.raises(InvalidInput, match='The department Maintenance is deactivated; choose an active one.'):
        create_account(admin, username='anita', full_name='Anita', department_id=dept_id(db, 'Maintenance'))


def test_user_list_searches_filters_and_pages(db: Database, admin: Actor, make_user) -> None:
    for name in ('anita', 'anil', 'bob'):
        make_user(name)
    make_user('quinn', 'Quality Control')
    make_user('boss', 'Management', is_admin=True)
    with db.engine.begin() as conn:
        conn.execute(update(User).where(User.username == 'bob').values(is_active=False))
    fail_signins('anil', ACCOUNT_FREE_FAILURES)
    fail_signins('anita', ACCOUNT_FREE_FAILURES - 1)
    names = lambda **kw: [u.username for u in list_users(admin, **kw).rows]  # noqa: E731
    assert names(search='AN') == ['anil', 'anita']
    assert names(department_id=dept_id(db, 'Quality Control')) == ['quinn']
    assert names(role='admin') == ['admin', 'boss']
    assert names(active=False) == ['bob']
    assert names(slowed=True) == ['anil']
    assert 'anil' not in names(slowed=False) and 'anita' in names(slowed=False)
    assert [u.failed_signins for u in list_users(admin, search='ani').rows] == [5, 4]
    page = list_users(admin, offset=2, limit=2)
    assert (page.total, [u.username for u in page.rows]) == (6, ['anita', 'bob'])
    assert names(search='100%_') == []
    assert (user_choices(admin)[0][1]) == 'admin (Administrator)'


def test_edit_changes_fields_and_audits_only_what_changed(db: Database, admin: Actor, make_user) -> None:
    anita = make_user('anita')
    info = update_user(
        admin,
        user_id=anita.user_id,
        full_name='Anita Rao',
        email='',
        department_id=dept_id(db, 'Quality Control'),
        is_admin=False,
    )
    assert (info.full_name, info.department_name) == ('Anita Rao', 'Quality Control')
    [event] = events(admin, action='user.update')
    assert event.before == {'full_name': 'Anita', 'department': 'Production'}
    assert event.changes == ['department: Production → Quality Control', 'full name: Anita → Anita Rao']
    assert [wc.code for wc in list_work_centers(anita)] == ['WC005']


def test_a_new_department_or_role_ends_the_users_sessions(db: Database, admin: Actor, make_user) -> None:
    anita, token = signed_in(db, make_user('anita'))
    profile = {'user_id': anita.user_id, 'full_name': 'Anita', 'email': None}
    update_user(admin, **profile, department_id=dept_id(db, 'Quality Control'), is_admin=False)
    with pytest.raises(SignedOut):  # her open kiosk must not keep showing Production's work centers
        list_work_centers(anita)
    anita, token = signed_in(db, anita)
    update_user(admin, **profile, department_id=dept_id(db, 'Quality Control'), is_admin=True)
    with pytest.raises(SignedOut):
        validate_session(token)
    with db.read() as s:
        reasons = s.exec(select(UserSession.end_reason).where(UserSession.user_id == anita.user_id)).all()
    assert reasons == ['department or role changed'] * 2


def test_a_name_or_email_edit_keeps_the_users_sessions(db: Database, admin: Actor, make_user) -> None:
    anita, token = signed_in(db, make_user('anita'))
    update_user(
        admin,
        user_id=anita.user_id,
        full_name='Anita Rao',
        email='anita@factory.example',
        department_id=dept_id(db, 'Production'),
        is_admin=False,
    )
    assert validate_session(token).actor == anita
    assert [wc.code for wc in list_work_centers(anita)] == ['WC001', 'WC002', 'WC003', 'WC004']


def test_an_admin_moving_themselves_keeps_this_session_only(db: Database, admin: Actor, make_user) -> None:
    here, _ = signed_in(db, admin)
    _, elsewhere = signed_in(db, admin)
    keep = {'user_id': admin.user_id, 'full_name': 'Administrator', 'email': None, 'is_admin': True}
    update_user(here, **keep, department_id=dept_id(db, 'Production'))
    assert list_users(here).total == 1
    with pytest.raises(SignedOut):
        validate_session(elsewhere)


def test_nobody_demotes_or_deactivates_themselves(db: Database, admin: Actor, make_user) -> None:
    keep = {'full_name': 'Administrator', 'email': None, 'department_id': dept_id(db, 'Management')}
    with pytest.raises(Conflict, match='You cannot remove your own administrator role') as err:
        update_user(admin, user_id=admin.user_id, is_admin=False, **keep)
    assert err.value.field == 'role'
    with pytest.raises(Conflict, match='You cannot deactivate your own account'):
        set_user_active(admin, user_id=admin.user_id, active=False)
    boss = make_user('boss', 'Management', is_admin=True)
    update_user(boss, user_id=admin.user_id, is_admin=False, **keep)
    with pytest.raises(NotAllowed):  # no longer an admin: refused at once
        update_user(admin, user_id=boss.user_id, is_admin=False, **keep)
    assert [u.username for u in list_users(boss, role='admin', active=True).rows] == ['boss']


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db: Database, admin: Actor, make_user) -> None:
    boss = make_user('boss', 'Management', is_admin=True)
    keep = {'full_name': 'X', 'email': None, 'department_id': dept_id(db, 'Management')}
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor: Actor, target: Actor) -> None:
        barrier.wait()
        try:
            update_user(actor, user_id=target.user_id, is_admin=False, **keep)
            outcomes.append('done')
        except (NotAllowed, Conflict) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=demote, args=pair) for pair in ((admin, boss), (boss, admin))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ['NotAllowed', 'done']
    with db.read() as s:
        assert len(s.exec(select(User).where(User.is_admin, User.is_active)).all()) == 1


def test_deactivation_ends_sessions_so_the_next_action_is_signed_out(db: Database, admin: Actor, make_user) -> None:
    anita, _ = signed_in(db, make_user('anita'))
    assert list_work_centers(anita)
    set_user_active(admin, user_id=anita.user_id, active=False)
    with pytest.raises(SignedOut):
        list_work_centers(anita)
    assert [u.is_active for u in list_users(admin, search='anita').rows] == [False]
    set_user_active(admin, user_id=anita.user_id, active=True)
    with pytest.raises(SignedOut):  # the ended session stays ended; she signs in again
        list_work_centers(anita)
    assert [e.action for e in events(admin, entity='user')][:2] == ['user.activate', 'user.deactivate']


def test_reset_password_ends_sessions_and_forces_a_change(db: Database, admin: Actor, make_user) -> None:
    anita, token = signed_in(db, make_user('anita'))
    info, password = reset_password(admin, user_id=anita.user_id)
    assert info.must_change_password
    with pytest.raises(SignedOut):
        validate_session(token)
    assert sign_in('anita', password, source='t').user.must_change_password
    with pytest.raises(InvalidInput, match='at least 8 characters'):
        reset_password(admin, user_id=anita.user_id, password='short')
    assert len(events(admin, action='user.reset_password')) == 1


@pytest.fixture
def minute_delays(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Once slowed down, an account's next attempt waits a minute (so a test never waits it out)."""
    monkeypatch.setenv('POTRACK_SIGNIN_SLOWDOWN_MS', '60000')
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


def test_clearing_the_sign_in_delay_lets_the_right_password_in_at_once_and_is_audited(
    db: Database, admin: Actor, make_user, minute_delays
) -> None:
    anita = make_user('anita')
    fail_signins('anita', ACCOUNT_FREE_FAILURES)
    with pytest.raises(SignInFailed):
        sign_in('anita', TEST_PASSWORD, source='t')  # too early: refused
    assert list_users(admin, slowed=True).total == 1
    clear_signin_delay(admin, user_id=anita.user_id)
    assert list_users(admin, slowed=True).total == 0
    assert sign_in('anita', TEST_PASSWORD, source='t').user.username == 'anita'
    [event] = events(admin, action='user.clear_signin_delay')
    assert (event.record, event.before, event.after) == ('anita', {'failed_signins': 5}, {'failed_signins': 0})


def test_every_user_service_refuses_an_operator(db: Database, make_user) -> None:
    anita = make_user('anita')
    for call in (
        lambda: list_users(anita),
        lambda: user_choices(anita),
        lambda: create_account(anita, username='x-1', full_name='X', department_id=1),
        lambda: update_user(anita, user_id=anita.user_id, full_name='A', email='', department_id=1, is_admin=True),
        lambda: set_user_active(anita, user_id=anita.user_id, active=True),
        lambda: reset_password(anita, user_id=anita.user_id, password='Line-Two-2026'),
        lambda: clear_signin_delay(anita, user_id=anita.user_id),
        lambda: list_events(anita, AuditFilter()),
        lambda: audit_actions(anita),
    ):
        with pytest.raises(NotAllowed, match='Only an administrator can do this.'):
            call()


def test_audit_trail_filters_and_pages(db: Database, admin: Actor, make_user) -> None:
    boss = make_user('boss', 'Management', is_admin=True)
    for name in ('anita', 'bob', 'chen'):
        create_account(boss, username=name, full_name=name.title(), department_id=dept_id(db, 'Production'))
    clear_signin_delay(admin, user_id=boss.user_id)
    assert [e.record for e in events(admin, actor_id=boss.user_id, action='user.create')] == ['chen', 'bob', 'anita']
    assert [e.actor_username for e in events(admin, action='user.clear_signin_delay')] == ['admin']
    page = list_events(admin, AuditFilter(entity='user'), offset=1, limit=2)
    assert page.total == 6 and len(page.rows) == 2  # admin and boss at first start / fixture, then 4 changes
    assert events(admin, date_from=local_today() + timedelta(days=1)) == []
    assert len(events(admin, date_from=local_today(), date_to=local_today())) == 17
    with pytest.raises(InvalidInput, match='The start date is after the end date.'):
        events(admin, date_from=local_today(), date_to=local_today() - timedelta(days=1))
    assert {'user.create', 'user.clear_signin_delay', 'department.create'} <= set(audit_actions(admin))
    [created] = events(admin, action='user.create', actor_id=boss.user_id)[-1:]
    assert created.changes == ['department: Production', 'is admin: no', 'username: anita']


def test_change_lines_read_like_sentences() -> None:
    assert describe_changes({'is_active': True}, {'is_active': False}) == ['is active: yes → no']
    assert describe_changes({'work_centers': ['WC001']}, {'work_centers': []}) == ['work centers: WC001 → —']
    assert describe_changes({'locked_until': '2026-01-05T04:30:00+00:00'}, None) == ['locked until: 05 Jan 2026 10:00']


def test_every_bad_field_of_a_form_is_reported_at_once(db: Database, admin: Actor) -> None:
    with pytest.raises(InvalidFields) as err:
        create_account(admin, username='a', full_name='', email='x@', department_id=None, password='short')
    assert [(e.field, e.message[:20]) for e in err.value.errors] == [
        ('username', 'A user name has 3 to'),
        ('full_name', 'The full name is req'),
        ('email', 'That e-mail address '),
        ('password', 'A password needs at '),
    ]
    assert err.value.field == 'username'
