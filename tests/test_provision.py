"""First start: an empty database gets the admin, the five work centers and six departments, once only."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select

from potrack.accounts.security import verify_password
from potrack.accounts.users import insert_user
from potrack.config import reset_settings
from potrack.db import Database, use_database
from potrack.db.models import Department, User, WorkCenter, WorkCenterDepartment
from potrack.errors import InvalidInput
from potrack.masters.catalog import insert_department, insert_work_center
from potrack.ops.provision import default_password_active, provision
from tests.conftest import _fresh_postgres

WORK_CENTERS = [
    ('WC001', 'Assembly'),
    ('WC002', 'Machining'),
    ('WC003', 'Welding'),
    ('WC004', 'Painting'),
    ('WC005', 'Quality Control'),
]
ALL = {'WC001', 'WC002', 'WC003', 'WC004', 'WC005'}
DEPARTMENT_WORK_CENTERS = {
    'Engineering': ALL,
    'Production': {'WC001', 'WC002', 'WC003', 'WC004'},
    'Quality Control': {'WC005'},
    'Maintenance': {'WC002', 'WC003', 'WC004'},
    'Operations': ALL,
    'Management': ALL,
}


@pytest.fixture(params=['sqlite', pytest.param('postgresql', marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated database with no data at all, as on the very first start."""
    reset_settings()
    if request.param == 'sqlite':
        path = tmp_path / 'potrack.db'
        shutil.copy(sqlite_template, path)
        database = Database(f'sqlite:///{path}')
    else:
        database = _fresh_postgres(request.getfixturevalue('pg_url'))
    use_database(database)
    yield database
    use_database(None)
    database.dispose()


@pytest.fixture
def admin_password_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set POTRACK_ADMIN_PASSWORD for one test; the settings are read again before and after."""

    def set_password(value: str) -> None:
        monkeypatch.setenv('POTRACK_ADMIN_PASSWORD', value)
        reset_settings()

    yield set_password
    monkeypatch.undo()
    reset_settings()


def dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order."""
    with db.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(t.select())), key=repr) for t in SQLModel.metadata.sorted_tables}


def the_admin(db: Database) -> User:
    with db.read() as s:
        return s.exec(select(User).where(User.username == 'admin')).one()


def test_first_start_provisions_the_admin_work_centers_and_departments(empty: Database) -> None:
    assert provision(empty) is True
    with empty.read() as s:
        users = s.exec(select(User)).all()
        work_centers = s.exec(select(WorkCenter).order_by(WorkCenter.code)).all()
        departments = s.exec(select(Department)).all()
        links = s.exec(select(WorkCenterDepartment)).all()
    assert [u.username for u in users] == ['admin']
    admin = users[0]
    assert (admin.is_admin, admin.is_active, admin.must_change_password) == (True, True, True)
    assert admin.full_name == 'Administrator'
    assert verify_password('admin123', admin.password_hash)
    assert not verify_password('admin1234', admin.password_hash)
    assert [(w.code, w.name, w.is_active) for w in work_centers] == [(c, n, True) for c, n in WORK_CENTERS]
    code_of = {w.id: w.code for w in work_centers}
    name_of = {d.id: d.name for d in departments}
    assert name_of[admin.department_id] == 'Management'
    assert all(d.is_active for d in departments)
    seen: dict[str, set[str]] = {name: set() for name in name_of.values()}
    for link in links:
        seen[name_of[link.department_id]].add(code_of[link.work_center_id])
    assert seen == DEPARTMENT_WORK_CENTERS
    assert default_password_active(empty)


def test_provisioning_again_changes_nothing(empty: Database) -> None:
    assert provision(empty) is True
    before = dump(empty)
    assert provision(empty) is False
    assert provision(empty) is False
    assert dump(empty) == before
    assert len(before['user']) == 1 and len(before['work_center']) == 5 and len(before['department']) == 6


def _one_department(s: Session) -> None:
    insert_department(s, name='Tooling')


def _one_work_center(s: Session) -> None:
    insert_work_center(s, code='WC900', name='Press')


def _one_user(s: Session) -> None:
    insert_user(s, username='owner', password='Own-Factory-2026', must_change_password=False)


@pytest.mark.parametrize('existing', [_one_department, _one_work_center, _one_user], ids=['department', 'wc', 'user'])
def test_a_database_that_holds_anything_is_not_touched(empty: Database, existing: Callable[[Session], None]) -> None:
    empty.write(existing)
    before = dump(empty)
    assert provision(empty) is False
    assert dump(empty) == before
    with empty.read() as s:
        assert s.exec(select(User).where(User.username == 'admin')).first() is None
    assert not default_password_active(empty)


def test_admin_password_from_the_environment_is_used_and_need_not_be_changed(
    empty: Database, admin_password_env: Callable[[str], None]
) -> None:
    admin_password_env('Plant-Start-2026')
    assert provision(empty) is True
    admin = the_admin(empty)
    assert verify_password('Plant-Start-2026', admin.password_hash)
    assert not verify_password('admin123', admin.password_hash)
    assert admin.must_change_password is False
    assert not default_password_active(empty)


def test_a_weak_admin_password_from_the_environment_is_refused_and_nothing_is_written(
    empty: Database, admin_password_env: Callable[[str], None]
) -> None:
    before = dump(empty)
    admin_password_env('admin123')
    with pytest.raises(InvalidInput) as err:
        provision(empty)
    assert err.value.message == 'That password is too common; choose another.'
    assert dump(empty) == before
