"""Fixtures: a fresh, migrated and provisioned database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL tests run when POTRACK_TEST_DATABASE_URL points at a server; the suite then creates its own
database there for the run and drops it at the end. Without the variable they are skipped, and pytest
says so in its summary.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

# Each test process its own temporary folder (the export workers it spawns inherit it): the export tests
# clean up the export folders that appeared while they ran, and must not take another pytest-xdist worker's
# workbook from under it mid-write (seen in CI: "No such file or directory" and no download).
os.environ['TMPDIR'] = tempfile.mkdtemp(prefix=f'potrack-tests-{os.environ.get("PYTEST_XDIST_WORKER", "main")}-')
tempfile.tempdir = None  # gettempdir() reads TMPDIR again
# Settings are read once: make them test-friendly before any potrack module reads them.
_DATA_DIR = tempfile.mkdtemp(prefix='potrack-test-')
os.environ['POTRACK_DATA_DIR'] = _DATA_DIR
os.environ['POTRACK_BCRYPT_ROUNDS'] = '4'
os.environ['POTRACK_SIGNIN_SLOWDOWN_MS'] = '1'
# The suite's journeys type any order number (today's behaviour); the order-book tests set the site's
# policy themselves, and tests/test_order_book.py checks a new install's default (confirm).
os.environ['POTRACK_UNKNOWN_ORDERS'] = 'allow'
os.environ.pop('DATABASE_URL', None)
os.environ.pop('POTRACK_ADMIN_PASSWORD', None)
os.environ.pop('POTRACK_TIMEZONE', None)

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from sqlmodel import SQLModel, select  # noqa: E402

from potrack.accounts.users import insert_user  # noqa: E402
from potrack.common.actors import Actor  # noqa: E402
from potrack.config import normalize_database_url, reset_settings  # noqa: E402
from potrack.db import Database, use_database  # noqa: E402
from potrack.db.models import Department, User, WorkCenter  # noqa: E402
from potrack.ops.provision import provision  # noqa: E402
from potrack.ops.upgrade import upgrade  # noqa: E402

PG_URL = os.environ.get('POTRACK_TEST_DATABASE_URL', '').strip()
PG_SKIP_REASON = 'needs PostgreSQL: set POTRACK_TEST_DATABASE_URL=postgresql://user@host/db to run them'
TEST_PASSWORD = 'Kiosk-Pass-2026'


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Every skip states its reason: one line per reason, with how many tests it skipped."""
    reasons = Counter(_skip_reason(report) for report in terminalreporter.stats.get('skipped', []))
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f'{count} skipped: {reason}', yellow=True, bold=True)


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):  # (file, line, 'Skipped: reason')
        return str(report.longrepr[2]).removeprefix('Skipped: ')
    return str(report.longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture(scope='session')
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this test run, migrated; dropped at the end."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    server = make_url(normalize_database_url(PG_URL))
    name = f'potrack_test_{os.getpid()}_{uuid.uuid4().hex[:6]}'
    admin = create_engine(server, isolation_level='AUTOCOMMIT')
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE {name}'))
    except OperationalError as exc:  # configured but unreachable: a failure, never a skip
        pytest.fail(f'POTRACK_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc.orig}')
    url = server.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    _PG_STATES[url] = {'migrated': _rows_of(db)}
    provision(db)
    _PG_STATES[url]['provisioned'] = _rows_of(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope='session')
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file brought to the head revision, not provisioned."""
    path = tmp_path_factory.mktemp('template') / 'potrack.db'
    db = Database(f'sqlite:///{path}')
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope='session')
def sqlite_provisioned(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """The template, provisioned (admin, departments, work centers): each test copies it."""
    path = tmp_path_factory.mktemp('provisioned') / 'potrack.db'
    shutil.copy(sqlite_template, path)
    db = Database(f'sqlite:///{path}')
    provision(db)
    db.dispose()
    return path


# Per PostgreSQL database of the run: every table's rows as migrated, and as provisioned. A test's database is
# put back to one of them by deleting and inserting a few rows in one transaction: TRUNCATE of every table and
# provisioning again cost 0.6 s a test; this costs a tenth of it.
_PG_STATES: dict[str, dict[str, dict[str, list[dict[str, object]]]]] = {}


def _rows_of(db: Database) -> dict[str, list[dict[str, object]]]:
    with db.engine.connect() as conn:
        return {
            table.name: [dict(row._mapping) for row in conn.execute(table.select())]
            for table in SQLModel.metadata.sorted_tables
        }


def _serials_sql() -> str:
    """One statement that sets every id sequence after the rows in its table (RESTART IDENTITY's effect)."""
    parts = []
    for table in SQLModel.metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        quoted = f'"{table.name}"'
        highest = f'(SELECT max({column.name}) FROM {quoted})'  # noqa: S608 (the models' names, not input)
        sequence = f"pg_get_serial_sequence('{quoted}', '{column.name}')"
        parts.append(f'setval({sequence}, COALESCE({highest}, 1), {highest} IS NOT NULL)')
    return 'SELECT ' + ', '.join(parts)


def _reset_postgres(url: str, state: str) -> Database:
    """The run's PostgreSQL database, holding exactly the rows of `state` ('migrated' or 'provisioned')."""
    rows = _PG_STATES[url][state]
    db = Database(url, pool_size=20)
    with db.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
        for table in SQLModel.metadata.sorted_tables:
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
        conn.execute(text(_serials_sql()))
    return db


def _fresh_postgres(url: str) -> Database:
    """Migrated, not provisioned: as a new install finds its database (with the reasons 0007 seeds)."""
    return _reset_postgres(url, 'migrated')


def _installed(database: Database) -> Iterator[Database]:
    use_database(database)
    yield database
    use_database(None)
    database.dispose()


@pytest.fixture(params=['sqlite', pytest.param('postgresql', marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_provisioned: Path) -> Iterator[Database]:
    """A migrated, provisioned database, installed as the process's database for the test."""
    reset_settings()
    if request.param == 'sqlite':
        path = tmp_path / 'potrack.db'
        shutil.copy(sqlite_provisioned, path)
        yield from _installed(Database(f'sqlite:///{path}'))
    else:
        yield from _installed(_reset_postgres(request.getfixturevalue('pg_url'), 'provisioned'))


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_provisioned: Path) -> Iterator[Database]:
    """SQLite only: UI tests, whose behaviour does not depend on the database."""
    reset_settings()
    path = tmp_path / 'potrack.db'
    shutil.copy(sqlite_provisioned, path)
    yield from _installed(Database(f'sqlite:///{path}'))


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only, for behaviour SQLite does not have (row locks, NOTIFY, killed connections)."""
    reset_settings()
    yield from _installed(_reset_postgres(pg_url, 'provisioned'))


@pytest.fixture
def current_db(request: pytest.FixtureRequest) -> Database:
    """Whichever database fixture the test asked for (sqlite_db, pg_db or the parametrized db)."""
    for name in ('sqlite_db', 'pg_db', 'db'):
        if name in request.fixturenames:
            return request.getfixturevalue(name)
    return request.getfixturevalue('db')


@pytest.fixture
def admin(current_db: Database) -> Actor:
    db = current_db
    with db.read() as s:
        user = s.exec(select(User).where(User.username == 'admin')).one()
        return Actor(user.id or 0)


@pytest.fixture
def wc(current_db: Database) -> Callable[[str], int]:
    """Work center id by code."""
    db = current_db

    def lookup(code: str) -> int:
        with db.read() as s:
            return s.exec(select(WorkCenter).where(WorkCenter.code == code)).one().id or 0

    return lookup


@pytest.fixture
def make_user(current_db: Database) -> Callable[..., Actor]:
    """Create a user in a department (by name) and return it as an actor."""
    db = current_db

    def create(username: str, department: str | None = 'Production', *, is_admin: bool = False) -> Actor:
        def unit(s):  # type: ignore[no-untyped-def]
            dept_id = None
            if department:
                dept_id = s.exec(select(Department).where(Department.name == department)).one().id
            user = insert_user(
                s,
                username=username,
                password=TEST_PASSWORD,
                department_id=dept_id,
                is_admin=is_admin,
                must_change_password=False,
                full_name=username.title(),
            )
            return Actor(user.id)

        return db.write(unit)

    return create


@pytest.fixture
def empty_target(db: Database, tmp_path: Path) -> Iterator[Database]:
    """A brand-new, empty database of the same kind as `db` (nothing migrated, nothing provisioned)."""
    if not db.is_postgres:
        target = Database(f'sqlite:///{tmp_path / "restored" / "potrack.db"}')
        yield target
        target.dispose()
        return
    server = make_url(db.url)
    name = f'potrack_restore_{uuid.uuid4().hex[:8]}'
    admin_engine = create_engine(server, isolation_level='AUTOCOMMIT', poolclass=NullPool)
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE {name}'))
    target = Database(server.set(database=name).render_as_string(hide_password=False))
    yield target
    target.dispose()
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
    admin_engine.dispose()
