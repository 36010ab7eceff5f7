"""Every setting potrack has, read from the environment once.

Tests and the CLI call `reset_settings()` after changing the environment; everything else calls
`settings()`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytz
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Limits of the ledger's input; pages read them from here instead of repeating numbers.
ORDER_NUMBER_MAX_LEN = 40
QUANTITY_MAX = 1_000_000
REQUEST_ID_MAX_LEN = 64
REASON_MAX_LEN = 200


def cpu_cores() -> int:
    """The cores this process may run on (its affinity, e.g. in a container), not the machine's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1


class ConfigError(Exception):
    """A setting cannot be used; the message is one line for the person starting potrack."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, '').strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f'{name} must be a whole number, got {raw!r}') from None
    if value < minimum:
        raise ConfigError(f'{name} must be at least {minimum}, got {value}')
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, '').strip().lower()
    if not raw:
        return default
    if raw in {'1', 'true', 'yes', 'on'}:
        return True
    if raw in {'0', 'false', 'no', 'off'}:
        return False
    raise ConfigError(f'{name} must be true or false, got {raw!r}')


# FULL syncs the WAL at every commit, so a movement the kiosk saw saved survives a power cut; NORMAL
# syncs only at checkpoints and may lose the last commits then (a killed process loses nothing either way).
SQLITE_SYNCHRONOUS = ('FULL', 'NORMAL')


def _sqlite_synchronous(env: Mapping[str, str]) -> str:
    raw = env.get('POTRACK_SQLITE_SYNCHRONOUS', '').strip()
    if not raw:
        return 'FULL'
    if raw.upper() not in SQLITE_SYNCHRONOUS:
        raise ConfigError(
            f'POTRACK_SQLITE_SYNCHRONOUS must be FULL (the default: a power cut loses no saved entry) '
            f'or NORMAL (faster; a power cut may lose the last saved entries), got {raw!r}'
        )
    return raw.upper()


UNKNOWN_ORDER_POLICIES = ('refuse', 'confirm', 'allow')


def _unknown_orders(env: Mapping[str, str]) -> str:
    # Only the default: admins choose the site's policy in Admin → Settings (stored in the database).
    raw = env.get('POTRACK_UNKNOWN_ORDERS', '').strip().lower() or 'confirm'
    if raw not in UNKNOWN_ORDER_POLICIES:
        raise ConfigError(f'POTRACK_UNKNOWN_ORDERS must be refuse, confirm or allow, got {raw!r}')
    return raw


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    raw = env.get('DATABASE_URL', '').strip()
    if not raw:
        return f'sqlite:///{(data_dir / "potrack.db").as_posix()}'
    try:
        url = make_url(normalize_database_url(raw))
    except ArgumentError:
        raise ConfigError(
            'DATABASE_URL is not a database URL; expected postgresql://user@host/db or sqlite:///path'
        ) from None
    if url.get_backend_name() not in {'postgresql', 'sqlite'}:
        raise ConfigError(f'DATABASE_URL must be PostgreSQL or SQLite, not {url.get_backend_name()!r}')
    return normalize_database_url(raw)


def normalize_database_url(raw: str) -> str:
    """Pin PostgreSQL URLs to psycopg2, the driver potrack installs (SQLAlchemy 2.1 defaults to psycopg 3)."""
    if raw.startswith('postgres://'):
        raw = 'postgresql://' + raw.removeprefix('postgres://')
    if raw.startswith('postgresql://'):
        raw = 'postgresql+psycopg2://' + raw.removeprefix('postgresql://')
    return raw


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    timezone: str
    host: str
    port: int
    https: bool
    bcrypt_rounds: int
    admin_password: str | None
    idle_timeout_admin_s: int
    idle_timeout_user_s: int
    session_lifetime_s: int
    lock_timeout_ms: int
    statement_timeout_ms: int
    idle_in_transaction_timeout_ms: int
    sqlite_busy_timeout_ms: int
    sqlite_synchronous: str
    write_attempts: int
    signin_slowdown_ms: int
    signin_max_delay_ms: int
    signin_window_s: int
    bcrypt_threads: int
    api_threads: int
    api_read_threads: int
    api_turn_wait_ms: int
    session_secret_env: str | None
    unknown_orders: str

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith('sqlite')

    @property
    def tz(self) -> pytz.BaseTzInfo:
        return pytz.timezone(self.timezone)

    @cached_property
    def session_secret(self) -> str:
        """The secret that signs browser cookies: from the environment or generated once beside the data."""
        if self.session_secret_env:
            return self.session_secret_env
        path = self.data_dir / 'session_secret'
        stored = path.read_text().strip() if path.exists() else ''
        if stored:
            return stored
        # Missing, or left empty by a crash: an empty secret would sign cookies anyone can forge.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
        with os.fdopen(fd, 'w') as f:
            f.write(secret)
        path.chmod(0o600)
        return secret

    def database_label(self) -> str:
        """The database URL without its password, fit to print."""
        return make_url(self.database_url).render_as_string(hide_password=True)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from `env` (default: the process environment); raises ConfigError."""
    env = os.environ if env is None else env
    data_dir = Path(env.get('POTRACK_DATA_DIR', '').strip() or 'data').resolve()
    timezone = env.get('POTRACK_TIMEZONE', '').strip() or 'Asia/Kolkata'
    try:
        pytz.timezone(timezone)
    except pytz.UnknownTimeZoneError:
        raise ConfigError(f'POTRACK_TIMEZONE {timezone!r} is not a known time zone (e.g. Asia/Kolkata)') from None
    return Settings(
        data_dir=data_dir,
        database_url=_database_url(env, data_dir),
        timezone=timezone,
        host=env.get('POTRACK_HOST', '').strip() or '127.0.0.1',
        port=_int(env, 'POTRACK_PORT', 8080, minimum=1),
        https=_bool(env, 'POTRACK_HTTPS', False),
        bcrypt_rounds=_int(env, 'POTRACK_BCRYPT_ROUNDS', 12, minimum=4),
        admin_password=env.get('POTRACK_ADMIN_PASSWORD') or None,
        idle_timeout_admin_s=_int(env, 'POTRACK_IDLE_TIMEOUT_ADMIN_S', 30 * 60, minimum=10),
        idle_timeout_user_s=_int(env, 'POTRACK_IDLE_TIMEOUT_USER_S', 10 * 60, minimum=10),
        session_lifetime_s=_int(env, 'POTRACK_SESSION_LIFETIME_S', 12 * 3600, minimum=10),
        lock_timeout_ms=_int(env, 'POTRACK_LOCK_TIMEOUT_MS', 3000, minimum=1),
        statement_timeout_ms=_int(env, 'POTRACK_STATEMENT_TIMEOUT_MS', 30000, minimum=1),
        idle_in_transaction_timeout_ms=_int(env, 'POTRACK_IDLE_IN_TRANSACTION_TIMEOUT_MS', 60000, minimum=1),
        sqlite_busy_timeout_ms=_int(env, 'POTRACK_SQLITE_BUSY_TIMEOUT_MS', 5000, minimum=1),
        sqlite_synchronous=_sqlite_synchronous(env),
        write_attempts=_int(env, 'POTRACK_WRITE_ATTEMPTS', 5, minimum=1),
        # Sign-in throttling (accounts/throttle.py): the first delay once an address or an account name has
        # had its free failures, doubled with each further failure, up to the cap; failures older than the
        # window stop counting.
        signin_slowdown_ms=_int(env, 'POTRACK_SIGNIN_SLOWDOWN_MS', 500),
        signin_max_delay_ms=_int(env, 'POTRACK_SIGNIN_MAX_DELAY_MS', 30_000, minimum=1),
        signin_window_s=_int(env, 'POTRACK_SIGNIN_WINDOW_S', 15 * 60, minimum=1),
        # bcrypt's low-priority threads (accounts/password_work.py); bench/signin.py and bench/signin_burst.py
        # measure the choice.
        bcrypt_threads=_int(env, 'POTRACK_BCRYPT_THREADS', cpu_cores(), minimum=1),
        # Threads of the API's writes (POST of a movement, its token check included).
        # Measured (bench/api.py, 2 cores): 4 threads 670-725 movements/s, 6 threads 480-545, 8 threads 510;
        # more threads than that only contend for the GIL, fewer leave the database idle.
        api_threads=_int(env, 'POTRACK_API_THREADS', 2 * cpu_cores(), minimum=1),
        # Threads of the API's reads (GET), apart from the writes above, so writes waiting on a locked row
        # cannot take every thread a read needs. The same size, for the same reason.
        api_read_threads=_int(env, 'POTRACK_API_READ_THREADS', 2 * cpu_cores(), minimum=1),
        # How long a POST of a movement waits for its turn behind another POST of the same order at the same
        # work center on this instance (one at a time: they would wait on the same balance row) before it
        # answers 503 busy, nothing recorded. A turn normally comes within milliseconds; one that takes
        # seconds means the row is locked elsewhere, and the first in line waits on it for the client.
        api_turn_wait_ms=_int(env, 'POTRACK_API_TURN_WAIT_MS', 5000, minimum=1),
        session_secret_env=env.get('SESSION_SECRET') or None,
        unknown_orders=_unknown_orders(env),
    )


_settings: Settings | None = None


def settings() -> Settings:
    """The settings of this process, read on first use."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def reset_settings() -> None:
    """Forget the cached settings so the next `settings()` reads the environment again."""
    global _settings
    _settings = None
