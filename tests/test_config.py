"""Settings as the person starting potrack writes them in the environment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from potrack.config import ConfigError, load_settings, normalize_database_url


def test_defaults_need_nothing_but_a_data_folder(tmp_path: Path) -> None:
    s = load_settings({'POTRACK_DATA_DIR': str(tmp_path)})
    assert s.data_dir == tmp_path.resolve()
    assert s.database_url == f'sqlite:///{tmp_path.resolve()}/potrack.db'
    assert s.is_sqlite
    assert (s.timezone, str(s.tz)) == ('Asia/Kolkata', 'Asia/Kolkata')
    assert (s.host, s.port, s.https) == ('127.0.0.1', 8080, False)
    assert s.bcrypt_rounds == 12
    assert s.admin_password is None
    assert s.session_secret_env is None


def test_with_an_empty_environment_the_data_folder_is_data_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.data_dir == tmp_path.resolve() / 'data'
    assert s.database_url == f'sqlite:///{tmp_path.resolve()}/data/potrack.db'


def test_values_are_read_and_trimmed(tmp_path: Path) -> None:
    s = load_settings(
        {
            'POTRACK_DATA_DIR': f' {tmp_path} ',
            'POTRACK_PORT': ' 9000 ',
            'POTRACK_HOST': '192.168.1.20',
            'POTRACK_HTTPS': 'Yes',
            'POTRACK_BCRYPT_ROUNDS': '10',
            'POTRACK_TIMEZONE': 'Europe/Berlin',
            'POTRACK_IDLE_TIMEOUT_USER_S': '300',
            'POTRACK_ADMIN_PASSWORD': 'Plant-Start-2026',
        }
    )
    assert (s.data_dir, s.port, s.host, s.https, s.bcrypt_rounds) == (
        tmp_path.resolve(),
        9000,
        '192.168.1.20',
        True,
        10,
    )
    assert (s.timezone, s.idle_timeout_user_s, s.admin_password) == ('Europe/Berlin', 300, 'Plant-Start-2026')


@pytest.mark.parametrize(
    ('raw', 'expected'), [('1', True), ('true', True), ('ON', True), ('0', False), ('no', False), ('Off', False)]
)
def test_yes_and_no_are_understood(tmp_path: Path, raw: str, expected: bool) -> None:
    assert load_settings({'POTRACK_DATA_DIR': str(tmp_path), 'POTRACK_HTTPS': raw}).https is expected


@pytest.mark.parametrize(
    ('name', 'value', 'message'),
    [
        ('POTRACK_PORT', 'eighty', "POTRACK_PORT must be a whole number, got 'eighty'"),
        ('POTRACK_PORT', '80.5', "POTRACK_PORT must be a whole number, got '80.5'"),
        ('POTRACK_PORT', '0', 'POTRACK_PORT must be at least 1, got 0'),
        ('POTRACK_BCRYPT_ROUNDS', '3', 'POTRACK_BCRYPT_ROUNDS must be at least 4, got 3'),
        ('POTRACK_IDLE_TIMEOUT_ADMIN_S', '-5', 'POTRACK_IDLE_TIMEOUT_ADMIN_S must be at least 10, got -5'),
        ('POTRACK_HTTPS', 'maybe', "POTRACK_HTTPS must be true or false, got 'maybe'"),
        (
            'POTRACK_TIMEZONE',
            'Mars/Olympus',
            "POTRACK_TIMEZONE 'Mars/Olympus' is not a known time zone (e.g. Asia/Kolkata)",
        ),
        ('POTRACK_TIMEZONE', 'IST', "POTRACK_TIMEZONE 'IST' is not a known time zone (e.g. Asia/Kolkata)"),
        ('DATABASE_URL', 'mysql://u@h/db', "DATABASE_URL must be PostgreSQL or SQLite, not 'mysql'"),
        (
            'DATABASE_URL',
            'not a url',
            'DATABASE_URL is not a database URL; expected postgresql://user@host/db or sqlite:///path',
        ),
    ],
)
def test_a_bad_value_is_refused_with_a_clear_message(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({'POTRACK_DATA_DIR': str(tmp_path), name: value})
    assert str(err.value) == message


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        ('postgres://u:pw@db.local/plant', 'postgresql+psycopg2://u:pw@db.local/plant'),
        ('postgresql://u:pw@db.local:5433/plant', 'postgresql+psycopg2://u:pw@db.local:5433/plant'),
        ('postgresql+psycopg2://u@db.local/plant', 'postgresql+psycopg2://u@db.local/plant'),
        ('  postgres://u@db.local/plant\n', 'postgresql+psycopg2://u@db.local/plant'),
        ('sqlite:////var/lib/potrack/potrack.db', 'sqlite:////var/lib/potrack/potrack.db'),
    ],
)
def test_database_urls_are_pinned_to_the_installed_driver(tmp_path: Path, raw: str, expected: str) -> None:
    s = load_settings({'POTRACK_DATA_DIR': str(tmp_path), 'DATABASE_URL': raw})
    assert s.database_url == expected
    assert s.is_sqlite is expected.startswith('sqlite')
    assert normalize_database_url(raw.strip()) == expected


def test_the_printable_database_label_hides_the_password(tmp_path: Path) -> None:
    s = load_settings({'POTRACK_DATA_DIR': str(tmp_path), 'DATABASE_URL': 'postgres://plant:s3cret@db.local/plant'})
    assert s.database_label() == 'postgresql+psycopg2://plant:***@db.local/plant'


def test_the_session_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    data = tmp_path / 'fresh' / 'data'
    first = load_settings({'POTRACK_DATA_DIR': str(data)}).session_secret
    stored = data / 'session_secret'
    assert stored.read_text() == first
    assert len(first) >= 32
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert load_settings({'POTRACK_DATA_DIR': str(data)}).session_secret == first
    other = load_settings({'POTRACK_DATA_DIR': str(tmp_path / 'elsewhere')}).session_secret
    assert other != first


def test_a_session_secret_from_the_environment_wins(tmp_path: Path) -> None:
    s = load_settings({'POTRACK_DATA_DIR': str(tmp_path), 'SESSION_SECRET': 'from-the-environment'})
    assert s.session_secret == 'from-the-environment'
    assert not (tmp_path / 'session_secret').exists()
    load_settings({'POTRACK_DATA_DIR': str(tmp_path)}).session_secret  # noqa: B018  (creates the file)
    assert load_settings({'POTRACK_DATA_DIR': str(tmp_path), 'SESSION_SECRET': 'env'}).session_secret == 'env'


def test_an_empty_session_secret_file_is_replaced_not_used(tmp_path: Path) -> None:
    stored = tmp_path / 'session_secret'
    stored.write_text('\n')  # e.g. left behind by a crash between creating and writing it
    secret = load_settings({'POTRACK_DATA_DIR': str(tmp_path)}).session_secret
    assert len(secret) >= 32
    assert stored.read_text() == secret
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert load_settings({'POTRACK_DATA_DIR': str(tmp_path)}).session_secret == secret


def _pragmas(tmp_path: Path, **env: str) -> tuple[int, str]:
    """PRAGMA synchronous and journal_mode as a connection of potrack's SQLite engine reads them back."""
    from sqlalchemy import text

    from potrack.db import Database

    cfg = load_settings({'POTRACK_DATA_DIR': str(tmp_path), **env})
    db = Database(cfg=cfg)
    try:
        with db.engine.connect() as conn:
            return conn.execute(text('PRAGMA synchronous')).scalar_one(), conn.execute(
                text('PRAGMA journal_mode')
            ).scalar_one()
    finally:
        db.dispose()


def test_sqlite_is_durable_by_default(tmp_path: Path) -> None:
    """Finding 12: every commit is synced (FULL = 2), so a power cut loses no saved movement."""
    assert load_settings({'POTRACK_DATA_DIR': str(tmp_path)}).sqlite_synchronous == 'FULL'
    assert _pragmas(tmp_path) == (2, 'wal')


def test_a_site_may_choose_normal_for_speed(tmp_path: Path) -> None:
    assert _pragmas(tmp_path, POTRACK_SQLITE_SYNCHRONOUS=' normal ') == (1, 'wal')
    assert _pragmas(tmp_path, POTRACK_SQLITE_SYNCHRONOUS='FULL') == (2, 'wal')


@pytest.mark.parametrize('value', ['OFF', 'EXTRA', '1', 'full; DROP TABLE user'])
def test_another_synchronous_mode_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r'POTRACK_SQLITE_SYNCHRONOUS must be FULL .* or NORMAL .*, got'):
        load_settings({'POTRACK_DATA_DIR': str(tmp_path), 'POTRACK_SQLITE_SYNCHRONOUS': value})
