"""The `potrack` command as the person installing the app uses it: what it prints, and its exit status."""

from __future__ import annotations

import importlib.metadata
import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlmodel import select

import potrack as potrack_package
import potrack.db.engine as engine_module
from potrack.accounts.security import verify_password
from potrack.accounts.signin import SignInFailed, sign_in
from potrack.cli import main
from potrack.common.actors import Actor
from potrack.config import normalize_database_url, reset_settings
from potrack.db import Database, use_database
from potrack.db.migrate import head_revision
from potrack.db.models import User
from potrack.ledger.writer import record_movement

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f'sqlite:///{tmp_path / "x.db"}'


@pytest.fixture
def potrack(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Run]:
    """Run `potrack ARGS…` in this process against a fresh SQLite file; gives (exit status, stdout, stderr)."""
    monkeypatch.setenv('DATABASE_URL', db_url)
    monkeypatch.setenv('POTRACK_DATA_DIR', str(tmp_path))
    # `serve` hands the root logger to this test's stdout (app.configure_logging): later tests must not log there.
    root = logging.getLogger()
    monkeypatch.setattr(root, 'handlers', list(root.handlers))
    monkeypatch.setattr(root, 'level', root.level)

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, 'stdin', io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    if engine_module._database is not None:
        engine_module._database.dispose()
    use_database(None)
    monkeypatch.undo()
    reset_settings()


@pytest.fixture
def opened(db_url: str) -> Iterator[Database]:
    """The same database, opened by the test to look inside and to record movements."""
    database = Database(db_url)
    yield database
    database.dispose()


def user(db: Database, username: str) -> User | None:
    with db.read() as s:
        return s.exec(select(User).where(User.username == username)).first()


def test_help_lists_the_commands(potrack: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        potrack('--help')
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: potrack')
    for command in ('migrate', 'create-admin', 'demo', 'check'):
        assert f'    {command}' in out


def test_module_entry_point_shows_the_help(tmp_path: Path) -> None:
    env = {**os.environ, 'POTRACK_DATA_DIR': str(tmp_path)}
    done = subprocess.run(
        [sys.executable, '-m', 'potrack', '--help'], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, '')
    assert 'create-admin' in done.stdout and 'check' in done.stdout


def test_migrate_prints_the_revision_and_can_run_again(potrack: Run, db_url: str, opened: Database) -> None:
    expected = f'database {db_url} is at schema revision {head_revision()}\n'
    assert potrack('migrate') == (0, expected, '')
    assert potrack('migrate') == (0, expected, '')
    assert user(opened, 'admin') is None  # migrating does not provision


def test_create_admin_reads_the_password_from_stdin(potrack: Run, opened: Database) -> None:
    code, out, err = potrack('create-admin', 'Boss', '--password-stdin', stdin='Night-Shift-2026\r\nignored\n')
    assert (code, out, err) == (0, 'created admin boss: active, unlocked, may sign in now\n', '')
    boss = user(opened, 'boss')
    assert boss is not None
    assert (boss.is_admin, boss.is_active, boss.must_change_password) == (True, True, False)
    assert verify_password('Night-Shift-2026', boss.password_hash)
    assert user(opened, 'admin') is not None  # the first start provisioned the database too


@pytest.mark.parametrize(
    ('password', 'message'),
    [
        ('admin123', 'That password is too common; choose another.'),
        ('Sh0rt!', 'A password needs at least 8 characters.'),
        ('', 'A password needs at least 8 characters.'),
        ('bossman', 'A password needs at least 8 characters.'),
    ],
)
def test_create_admin_refuses_a_weak_password(potrack: Run, tmp_path: Path, password: str, message: str) -> None:
    assert potrack('create-admin', 'boss', '--password-stdin', stdin=password + '\n') == (
        1,
        '',
        f'potrack: {message}\n',
    )
    assert not (tmp_path / 'x.db').exists()  # refused before the database was opened, let alone provisioned


def test_create_admin_refuses_a_bad_user_name(potrack: Run) -> None:
    code, out, err = potrack('create-admin', 'a b', '--password-stdin', stdin='Night-Shift-2026\n')
    assert (code, out) == (1, '')
    assert (
        err
        == 'potrack: A user name has 3 to 40 characters: letters, digits and . _ - , starting with a letter or digit.\n'
    )


def test_create_admin_with_an_empty_stdin_says_so(potrack: Run, tmp_path: Path) -> None:
    assert potrack('create-admin', 'bob', '--password-stdin', stdin='') == (
        1,
        '',
        'potrack: no password on stdin (--password-stdin reads its first line); nothing changed\n',
    )
    assert not (tmp_path / 'x.db').exists()


def test_create_admin_fed_by_a_pipe_without_password_stdin_says_to_add_it(tmp_path: Path) -> None:
    # `echo PASS | potrack create-admin bob`, with no terminal to ask on (a new session has none).
    env = {**os.environ, 'POTRACK_DATA_DIR': str(tmp_path), 'DATABASE_URL': f'sqlite:///{tmp_path / "x.db"}'}
    done = subprocess.run(
        [sys.executable, '-m', 'potrack', 'create-admin', 'bob'],
        input='Night-Shift-2026\n',
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        start_new_session=True,
    )
    assert (done.returncode, done.stdout) == (1, '')
    assert done.stderr == (
        'potrack: stdin is not a terminal: to pipe the password in, add --password-stdin; nothing changed\n'
    )
    assert not (tmp_path / 'x.db').exists()


def test_create_admin_for_an_existing_user_resets_it(
    potrack: Run, opened: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('POTRACK_SIGNIN_SLOWDOWN_MS', '60000')  # once slowed down, an attempt would wait a minute
    reset_settings()
    potrack('create-admin', 'boss', '--password-stdin', stdin='Night-Shift-2026\n')
    for i in range(7):  # someone has been guessing: boss's next attempt would wait
        with pytest.raises(SignInFailed):
            sign_in('boss', 'a-wrong-guess', source=f'10.7.0.{i}', db=opened)
    with opened.engine.begin() as conn:
        conn.execute(
            update(User)
            .where(User.username == 'boss')
            .values(is_admin=False, is_active=False, must_change_password=True)
        )
    code, out, err = potrack('create-admin', 'BOSS', '--password-stdin', stdin='Day-Shift-2027\n')
    assert (code, out, err) == (0, 'reset admin boss: active, unlocked, may sign in now\n', '')
    boss = user(opened, 'boss')
    assert boss is not None
    assert (boss.is_admin, boss.is_active, boss.must_change_password) == (True, True, False)
    assert verify_password('Day-Shift-2027', boss.password_hash)
    assert not verify_password('Night-Shift-2026', boss.password_hash)
    assert sign_in('boss', 'Day-Shift-2027', source='10.7.1.1', db=opened).user.failed_signins == 0  # at once


def test_check_passes_on_good_data_and_reports_a_tampered_balance(potrack: Run, opened: Database) -> None:
    flow = 'flow: 0 transit rows match what was sent and received; scrap and rework agree\n'
    assert potrack('check') == (0, 'consistent: 0 balance rows match 0 movements; none negative\n' + flow, '')
    potrack('create-admin', 'boss', '--password-stdin', stdin='Night-Shift-2026\n')
    boss = user(opened, 'boss')
    assert boss is not None and boss.id is not None
    for qty, kind in [(5, 'IN'), (2, 'OUT')]:
        record_movement(
            Actor(boss.id), work_center_id=1, order_number='PO-1', quantity=qty, movement_type=kind, db=opened
        )
    assert potrack('check') == (0, 'consistent: 1 balance rows match 2 movements; none negative\n' + flow, '')

    with opened.engine.begin() as conn:
        conn.execute(text("UPDATE order_balance SET qty_in = 9 WHERE order_number = 'PO-1'"))
    code, out, err = potrack('check')
    assert (code, err) == (1, '')
    assert out.splitlines() == [
        'INCONSISTENT: 1 mismatch(es) found (first ones below)',
        '  work center 1 order PO-1: balance IN 9 OUT 2, movements IN 5 OUT 2',
    ]


@pytest.mark.parametrize('command', ['migrate', 'check'])
@pytest.mark.parametrize(
    ('url', 'message'),
    [
        ('mysql://x/y', "potrack: DATABASE_URL must be PostgreSQL or SQLite, not 'mysql'"),
        (
            'not a url',
            'potrack: DATABASE_URL is not a database URL; expected postgresql://user@host/db or sqlite:///path',
        ),
    ],
)
def test_a_wrong_database_url_is_one_line_and_exit_2(
    potrack: Run, monkeypatch: pytest.MonkeyPatch, command: str, url: str, message: str
) -> None:
    monkeypatch.setenv('DATABASE_URL', url)
    assert potrack(command) == (2, '', message + '\n')


def test_a_bad_setting_is_one_line_and_exit_2(potrack: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('POTRACK_PORT', 'eighty')
    assert potrack('migrate') == (2, '', "potrack: POTRACK_PORT must be a whole number, got 'eighty'\n")


def test_an_unreachable_postgresql_is_one_line_without_the_password(
    potrack: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('DATABASE_URL', 'postgresql://postgres:s3cret@127.0.0.1:1/x')
    with pytest.raises(SystemExit) as done:
        potrack('migrate')
    assert str(done.value.code).startswith(
        'potrack: cannot reach the database postgresql+psycopg2://postgres:***@127.0.0.1:1/x (Connection refused'
    )
    assert 's3cret' not in str(done.value.code)


def test_an_unreachable_postgresql_exits_non_zero_with_one_line_on_stderr(tmp_path: Path) -> None:
    env = {**os.environ, 'POTRACK_DATA_DIR': str(tmp_path), 'DATABASE_URL': 'postgresql://postgres@127.0.0.1:1/x'}
    done = subprocess.run(
        [sys.executable, '-m', 'potrack', 'check'], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode != 0
    assert done.stdout == ''
    assert done.stderr.splitlines() == [
        'potrack: cannot reach the database postgresql+psycopg2://postgres@127.0.0.1:1/x '
        '(Connection refused; is the server running on that host and accepting TCP/IP connections?)'
    ]


@pytest.mark.parametrize('command', ['migrate', 'serve'])
def test_a_sqlite_file_that_cannot_be_created_is_one_line(
    potrack: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    (tmp_path / 'afile').write_text('not a folder')
    monkeypatch.setenv('DATABASE_URL', f'sqlite:///{tmp_path / "afile" / "x.db"}')
    with pytest.raises(SystemExit) as done:
        potrack(command)
    message = str(done.value.code)
    assert message.startswith(f'potrack: cannot reach the database sqlite:///{tmp_path / "afile" / "x.db"}')
    assert '\n' not in message


def test_version_prints_the_installed_version(potrack: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        potrack('--version')
    assert done.value.code == 0
    assert capsys.readouterr() == (f'potrack {importlib.metadata.version("potrack")}\n', '')
    assert importlib.metadata.version('potrack') == potrack_package.__version__ == '0.1.0'


@pytest.mark.parametrize(
    ('count', 'message'),
    [
        ('-5', "potrack demo: argument --movements: '-5' is not a whole number from 0 to 10,000,000"),
        ('lots', "potrack demo: argument --movements: 'lots' is not a whole number from 0 to 10,000,000"),
        ('10000001', "potrack demo: argument --movements: '10000001' is not a whole number from 0 to 10,000,000"),
    ],
)
def test_demo_refuses_a_bad_count_before_touching_the_database(
    potrack: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path, count: str, message: str
) -> None:
    with pytest.raises(SystemExit) as done:
        potrack('demo', '--movements', count)
    assert done.value.code == 2
    assert capsys.readouterr() == ('', f'{message} (see potrack demo --help)\n')
    assert not (tmp_path / 'x.db').exists()


def test_a_mistyped_command_is_one_line(potrack: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        potrack('chek')
    assert done.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith("potrack: argument COMMAND: invalid choice: 'chek' (choose from ")
    assert err.endswith(' (see potrack --help)\n') and err.count('\n') == 1


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_named(pg_url: str, tmp_path: Path) -> None:
    missing = make_url(pg_url).set(database='potrack_no_such_db')
    env = {**os.environ, 'POTRACK_DATA_DIR': str(tmp_path), 'DATABASE_URL': missing.render_as_string(False)}
    done = subprocess.run(
        [sys.executable, '-m', 'potrack', 'check'], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    label = make_url(normalize_database_url(missing.render_as_string(False))).render_as_string(hide_password=True)
    assert (done.returncode, done.stdout) == (1, '')
    assert done.stderr == (
        f'potrack: cannot reach the database {label} (database "potrack_no_such_db" does not exist)\n'
    )


def test_an_sqlite_path_that_is_a_folder_says_why(potrack: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv('DATABASE_URL', f'sqlite:///{tmp_path}')
    with pytest.raises(SystemExit) as done:
        potrack('check')
    assert done.value.code == f'potrack: cannot reach the database sqlite:///{tmp_path} (unable to open database file)'


def test_a_database_of_a_newer_potrack_is_one_line_and_left_alone(potrack: Run, opened: Database, tmp_path: Path):
    potrack('migrate')
    with opened.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    opened.dispose()
    before = (tmp_path / 'x.db').read_bytes()
    with pytest.raises(SystemExit) as done:
        potrack('check')
    assert done.value.code == (
        f'potrack: cannot upgrade the database sqlite:///{tmp_path / "x.db"} '
        "(Can't locate revision identified by '9999'); "
        'it may come from a newer potrack than 0.1.0, and nothing was changed'
    )
    assert (tmp_path / 'x.db').read_bytes() == before


@pytest.mark.parametrize('out', ['missing-folder/report.xlsx', '/proc/report.xlsx'])
def test_export_refuses_an_out_it_cannot_write_before_exporting(potrack: Run, tmp_path: Path, out: str) -> None:
    target = out if out.startswith('/') else str(tmp_path / out)
    code, stdout, stderr = potrack('export', '--out', target)
    assert code == 1
    assert stderr.strip().splitlines()[-1].startswith(f'potrack: Cannot write {target}: ')
    assert 'movements' not in stderr + stdout  # refused before any row was read
    assert 'Traceback' not in stderr
