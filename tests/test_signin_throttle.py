"""Failed sign-ins slow guessing down and never lock anyone out (accounts/throttle.py).

As the person signing in, a stranger trying their name from other kiosks, and an admin observe it:
one answer for every failure, a delay that doubles up to a cap, the right password working once the
delay is over, counts kept in the database (every instance, and after a restart, sees them).
The delays are configured short here so that tests can wait them out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from potrack.accounts import throttle
from potrack.accounts.signin import WRONG_CREDENTIALS, SignInFailed, sign_in, signin_delay_s
from potrack.accounts.throttle import (
    ACCOUNT_FREE_FAILURES,
    SOURCE_FREE_FAILURES,
    SOURCE_MAX_DELAY_S,
    account_delay_s,
    source_delay_for,
)
from potrack.accounts.user_list import list_users
from potrack.common.actors import Actor
from potrack.config import reset_settings
from potrack.db import Database
from potrack.masters.audit_trail import AuditFilter, list_events
from tests.conftest import TEST_PASSWORD

BASE_MS = 100  # the first delay; it doubles with each further failure
CAP_MS = 400
MINUTE_MS = 60_000  # a delay no test waits out: what is observed is that it is there
Configure = Callable[..., None]


@pytest.fixture
def delays(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """The throttle's settings for this test: BASE_MS doubling up to CAP_MS, unless the test says otherwise
    (a longer first delay is its own cap)."""

    def configure(base_ms: int = BASE_MS, cap_ms: int | None = None, window_s: int = 900) -> None:
        monkeypatch.setenv('POTRACK_SIGNIN_SLOWDOWN_MS', str(base_ms))
        monkeypatch.setenv('POTRACK_SIGNIN_MAX_DELAY_MS', str(cap_ms or max(CAP_MS, base_ms)))
        monkeypatch.setenv('POTRACK_SIGNIN_WINDOW_S', str(window_s))
        reset_settings()

    configure()
    yield configure
    monkeypatch.undo()
    reset_settings()


def answer(name: str, password: str, source: str, *, db: Database | None = None, waited_s: float = 0.0) -> str:
    """What the sign-in page would show: the refusal's message, or 'signed in'."""
    try:
        sign_in(name, password, source=source, db=db, waited_s=waited_s)
    except SignInFailed as exc:
        return exc.message
    return 'signed in'


def fail(name: str, times: int, *, already: int = 0, source: str = '') -> None:
    """`times` wrong passwords for `name`, each after the name's delay, so that each one counts.

    Each from an address of its own unless `source` is given (an address's own slowdown stays out of it).
    `already`: the failures counted against the name before.
    """
    for n in range(already, already + times):
        time.sleep(account_delay_s(n))
        assert answer(name, f'wrong-guess-{n}', source or f'10.{n}.77.1') == WRONG_CREDENTIALS


def failed_signins(admin: Actor, username: str) -> int:
    [info] = [u for u in list_users(admin, search=username).rows if u.username == username]
    return info.failed_signins


def test_a_strangers_failures_delay_the_owner_at_most_the_cap_and_never_lock(
    db: Database, delays: Configure, make_user
) -> None:
    make_user('anita')
    delays(base_ms=100, cap_ms=800)
    fail('anita', ACCOUNT_FREE_FAILURES + 4)  # a stranger, from other kiosks; uncapped, the next would wait 1.6 s
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == WRONG_CREDENTIALS  # too early, even the right one
    time.sleep(0.8)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == 'signed in'


def test_one_answer_with_one_bcrypt_check_for_unknown_names_wrong_passwords_and_early_attempts(
    db: Database, delays: Configure, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bcrypt

    make_user('anita')
    make_user('bob')
    delays(base_ms=MINUTE_MS)
    fail('anita', ACCOUNT_FREE_FAILURES)
    checks: list[bytes] = []
    real_checkpw = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed: bytes) -> bool:
        checks.append(hashed[:7])
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, 'checkpw', counting_checkpw)
    answers, costs = [], []
    for name, password in [('nobody', 'any-password'), ('bob', 'wrong-password'), ('anita', TEST_PASSWORD)]:
        checks.clear()
        answers.append(answer(name, password, f'10.5.0.{len(answers)}'))
        costs.append(checks[:])
    assert answers == [WRONG_CREDENTIALS] * 3
    assert WRONG_CREDENTIALS == 'Wrong user name or password, or too many attempts: wait a moment and try again.'
    assert costs == [[b'$2b$04$']] * 3  # the same one check at the configured cost: the same time


def test_unknown_names_are_slowed_down_like_known_ones_and_never_stored(
    db: Database, delays: Configure, make_user, caplog: pytest.LogCaptureFixture
) -> None:
    make_user('anita')
    delays(base_ms=MINUTE_MS)
    reasons: dict[str, list[str]] = {}
    for name in ('anita', 'ghost-name'):
        caplog.clear()
        with caplog.at_level('INFO', logger='potrack.auth'):
            for i in range(ACCOUNT_FREE_FAILURES + 2):
                answer(name, f'wrong-{i}', f'10.6.{i}.{len(reasons)}')
        reasons[name] = [r.getMessage().rsplit('reason=', 1)[1] for r in caplog.records if 'signin_failed' in r.msg]
    assert reasons['anita'] == ['wrong_password'] * ACCOUNT_FREE_FAILURES + ['too_early'] * 2
    assert reasons['ghost-name'] == ['unknown_user'] * ACCOUNT_FREE_FAILURES + ['too_early'] * 2
    with db.read() as s:
        keys = s.exec(text('SELECT account_key FROM signin_account UNION SELECT account_key FROM signin_source')).all()  # type: ignore[call-overload]
    assert keys and not [k for (k,) in keys if 'ghost' in k]


def test_the_right_password_works_once_the_delay_is_over_and_the_delay_doubles(
    db: Database, delays: Configure, make_user
) -> None:
    make_user('anita')
    delays(base_ms=300, cap_ms=2000)
    fail('anita', ACCOUNT_FREE_FAILURES)  # from here on: wait 300 ms, then 600 ms, ...
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == WRONG_CREDENTIALS
    time.sleep(0.3)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == 'signed in'
    fail('anita', ACCOUNT_FREE_FAILURES + 1)  # the success started the count again
    time.sleep(0.3)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == WRONG_CREDENTIALS  # 300 ms is not enough now
    time.sleep(0.3)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == 'signed in'


def test_the_caps_hold(db: Database, delays: Configure, make_user) -> None:
    make_user('anita')
    delays(base_ms=50, cap_ms=200)
    fail('anita', ACCOUNT_FREE_FAILURES + 5)  # uncapped, the next attempt would wait 1.6 s
    time.sleep(0.2)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == 'signed in'
    for i in range(SOURCE_FREE_FAILURES + 8):  # from one address; a page that waited its slowdown each time
        answer(f'name-{i}', 'wrong-password', '10.0.0.66', waited_s=60)
    assert signin_delay_s('10.0.0.66') == 0.2  # uncapped: 12.8 s


def test_a_success_resets_the_accounts_count(db: Database, delays: Configure, make_user) -> None:
    make_user('anita')
    fail('anita', ACCOUNT_FREE_FAILURES)
    time.sleep(BASE_MS / 1000)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == 'signed in'
    delays(base_ms=MINUTE_MS)
    time.sleep(2 * BASE_MS / 1000)  # whatever delay the success left behind is over
    # Free failures again: without the reset, the first of them would earn a wait of minutes.
    fail('anita', ACCOUNT_FREE_FAILURES - 1)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == 'signed in'


def test_a_success_forgives_only_that_name_and_only_from_that_address(
    db: Database, delays: Configure, admin: Actor, make_user
) -> None:
    make_user('anita')
    make_user('bob')
    delays(base_ms=200, cap_ms=1000)
    kiosk, elsewhere = '10.4.0.1', '10.4.0.2'
    fail('bob', SOURCE_FREE_FAILURES, source=kiosk)  # a stranger at the kiosk tries bob's name
    fail('bob', 1, already=SOURCE_FREE_FAILURES)  # and from another one: bob is slowed down
    fail('anita', 1, source=kiosk)  # anita mistypes once at the kiosk
    fail('anita', SOURCE_FREE_FAILURES, source=elsewhere)  # a stranger elsewhere tries hers
    assert (signin_delay_s(kiosk), signin_delay_s(elsewhere)) == (0.4, 0.2)
    assert answer('anita', TEST_PASSWORD, kiosk) == 'signed in'  # held back 0.4 s by the kiosk's slowdown
    assert signin_delay_s(kiosk) == source_delay_for(SOURCE_FREE_FAILURES) == 0.2  # bob's failures there stay
    assert signin_delay_s(elsewhere) == 0.2  # another address's failures against anita stay
    assert (failed_signins(admin, 'anita'), failed_signins(admin, 'bob')) == (0, ACCOUNT_FREE_FAILURES)


def test_failures_stop_counting_when_the_window_has_passed(db: Database, delays: Configure, make_user) -> None:
    make_user('anita')
    delays(base_ms=MINUTE_MS, window_s=2)
    started = time.monotonic()
    fail('anita', ACCOUNT_FREE_FAILURES)
    for i in range(SOURCE_FREE_FAILURES):
        answer(f'name-{i}', 'wrong-password', '10.0.0.66')
    last_failure = time.monotonic()
    assert signin_delay_s('10.0.0.66') == SOURCE_MAX_DELAY_S
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == WRONG_CREDENTIALS
    assert time.monotonic() - started < 2, 'too slow to observe the window: the failures took its whole length'
    time.sleep(last_failure + 2.05 - time.monotonic())  # every window began by last_failure
    assert signin_delay_s('10.0.0.66') == 0
    assert answer('anita', TEST_PASSWORD, '10.0.0.5') == 'signed in'


def test_the_addresss_slowdown_is_applied_by_sign_in_unless_the_caller_waited_it(
    db: Database, delays: Configure, make_user
) -> None:
    make_user('anita')
    delays(base_ms=500, cap_ms=2000)
    for i in range(SOURCE_FREE_FAILURES + 1):
        answer(f'name-{i}', 'wrong-password', '10.0.0.66', waited_s=60)
    assert signin_delay_s('10.0.0.66') == 1.0
    started = time.monotonic()
    assert answer('anita', TEST_PASSWORD, '10.0.0.66', waited_s=1.0) == 'signed in'  # a page waited already
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    assert answer('anita', TEST_PASSWORD, '10.0.0.66') == 'signed in'  # the success forgave nothing here
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    assert answer('anita', TEST_PASSWORD, '10.0.0.67') == 'signed in'
    assert time.monotonic() - started < 1.0


SECOND_PROCESS = """
import json
from potrack.accounts.signin import SignInFailed, sign_in, signin_delay_s
seen = {'delay': signin_delay_s('10.3.9.9')}
try:
    sign_in('anita', %r, source='10.3.8.8')
    seen['answer'] = 'signed in'
except SignInFailed as exc:
    seen['answer'] = exc.message
print(json.dumps(seen))
"""


def test_counts_are_shared_by_instances_and_survive_a_restart(db: Database, delays: Configure, make_user) -> None:
    make_user('anita')
    delays(base_ms=MINUTE_MS)
    fail('anita', ACCOUNT_FREE_FAILURES)
    for i in range(SOURCE_FREE_FAILURES):
        answer(f'name-{i}', 'wrong-password', '10.3.9.9')
    other = Database(db.url)  # a second instance on the same database
    assert signin_delay_s('10.3.9.9', db=other) == SOURCE_MAX_DELAY_S
    assert answer('anita', TEST_PASSWORD, '10.3.8.8', db=other) == WRONG_CREDENTIALS
    other.dispose()
    db.dispose()
    restarted = Database(db.url)
    assert signin_delay_s('10.3.9.9', db=restarted) == SOURCE_MAX_DELAY_S
    assert answer('anita', TEST_PASSWORD, '10.3.8.8', db=restarted) == WRONG_CREDENTIALS
    restarted.dispose()
    # Another process: nothing of this one's memory, only the database.
    env = {**os.environ, 'DATABASE_URL': db.url}
    done = subprocess.run(
        [sys.executable, '-c', SECOND_PROCESS % TEST_PASSWORD],
        env=env,
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {'delay': SOURCE_MAX_DELAY_S, 'answer': WRONG_CREDENTIALS}


def test_repeated_failures_reach_the_audit_trail_for_known_accounts_only(
    db: Database, delays: Configure, admin: Actor, make_user
) -> None:
    make_user('anita')
    delays(base_ms=1)
    fail('anita', ACCOUNT_FREE_FAILURES - 1)
    fail('ghost-name', ACCOUNT_FREE_FAILURES + 2)
    assert list_events(admin, AuditFilter(action='user.signin_failures')).rows == []
    fail('anita', 3, already=ACCOUNT_FREE_FAILURES - 1, source='10.0.0.9')
    [event] = list_events(admin, AuditFilter(action='user.signin_failures')).rows  # once, as the delay begins
    assert (event.record, event.actor_username) == ('anita', None)
    assert event.changes == ['failed signins: 5', 'source: 10.0.0.9']
    assert failed_signins(admin, 'anita') == ACCOUNT_FREE_FAILURES + 2


def test_attempts_arriving_together_take_one_turn_and_every_failure_counts(
    db: Database,
    delays: Configure,
    admin: Actor,
    make_user,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_user('anita')
    delays(base_ms=BASE_MS, cap_ms=MINUTE_MS)
    fail('anita', ACCOUNT_FREE_FAILURES)
    time.sleep(BASE_MS / 1000)  # anita's turn is open: one attempt may come
    delays(base_ms=MINUTE_MS)  # and after it, none for a minute
    real_delay_s = throttle.account_delay_s

    def slow_delay_s(failures: int) -> float:
        time.sleep(0.05)  # a slow moment between reading the count and writing it: others come meanwhile
        return real_delay_s(failures)

    monkeypatch.setattr(throttle, 'account_delay_s', slow_delay_s)
    together = threading.Barrier(8)

    def attempt(i: int) -> None:
        together.wait()
        answer('anita', f'wrong-{i}', f'10.8.0.{i}')

    with caplog.at_level('INFO', logger='potrack.auth'):
        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    reasons = sorted(r.getMessage().rsplit('reason=', 1)[1] for r in caplog.records if 'signin_failed' in r.msg)
    assert reasons == ['too_early'] * 7 + ['wrong_password']
    assert failed_signins(admin, 'anita') == ACCOUNT_FREE_FAILURES + 1
    delays(base_ms=BASE_MS, cap_ms=MINUTE_MS)
    together = threading.Barrier(10)

    def from_one_address(i: int) -> None:
        together.wait()
        answer('ghost-name', f'wrong-{i}', '10.8.1.1')  # one name: the same row, written ten times at once

    threads = [threading.Thread(target=from_one_address, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert signin_delay_s('10.8.1.1') == source_delay_for(10) == 6.4  # all ten counted (nine: 3.2 s)


def test_old_rows_are_pruned(db: Database, delays: Configure, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(base_ms=1, window_s=1)
    fail('ghost-name', 2)
    time.sleep(1.05)
    monkeypatch.setattr(throttle, '_pruned_at', 0.0)
    fail('other-name', 1)
    with db.read() as s:
        left = s.exec(text('SELECT COUNT(*) FROM signin_account')).one()[0]  # type: ignore[call-overload]
        sources = s.exec(text('SELECT COUNT(*) FROM signin_source')).one()[0]  # type: ignore[call-overload]
    assert (left, sources) == (1, 1)  # only other-name's, from its one address


def test_upgrading_a_database_in_use_lifts_the_old_locks(empty_target: Database) -> None:
    # Migration 0006 drops the user's lock columns: a user locked then, with movements, signs in after it.
    from alembic import command

    from potrack.accounts.security import hash_password
    from potrack.db.migrate import alembic_config
    from potrack.ops.upgrade import upgrade

    cfg = alembic_config()
    with empty_target.engine.begin() as conn:
        cfg.attributes['connection'] = conn
        command.upgrade(cfg, '0005')
    with empty_target.engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO "user" (username, full_name, password_hash, is_admin, is_active, must_change_password,'
                ' failed_signins, locked_until, created_at) VALUES'
                " ('anita', '', :h, false, true, false, 5, :until, :t)"
            ),
            {'h': hash_password(TEST_PASSWORD), 'until': '2099-01-01 00:00:00', 't': '2026-01-01 00:00:00'},
        )
        conn.execute(
            text(
                'INSERT INTO work_center (code, name, description, is_active, created_at)'
                " VALUES ('WC001', 'A', '', true, :t)"
            ),
            {'t': '2026-01-01 00:00:00'},
        )
        conn.execute(
            text(
                'INSERT INTO production_order (order_number, work_center_id, quantity, movement_type, user_id,'
                " created_at, request_id) SELECT 'PO-1', w.id, 3, 'IN', u.id, :t, 'r-1' FROM work_center w, \"user\" u"
            ),
            {'t': '2026-01-01 00:00:00'},
        )
    upgrade(empty_target)
    assert answer('anita', TEST_PASSWORD, '10.0.0.5', db=empty_target) == 'signed in'
    with empty_target.read() as s:
        assert s.exec(text('SELECT COUNT(*) FROM production_order')).one()[0] == 1  # type: ignore[call-overload]
